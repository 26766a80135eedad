/**
 * `npm run bench`: how long the offline plan takes against a baseline, a bare `node` that only
 * loads @pulumi/pulumi. Each round runs the baseline and then every plan, each in a fresh process,
 * so that a plan is compared with the baseline measured just before it and drift on a shared
 * machine cancels out. Reports medians with min–max, and exits 1 when prod misses its target.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { planCommand } from "../helpers/cli";

const root = path.resolve(__dirname, "..", "..");
/** Rounds, at least 7: each is one baseline and one run of every plan. */
const ROUNDS = Math.max(7, Number(process.env.BENCH_ROUNDS ?? 7));
/** prod plan ÷ the baseline measured in the same round, median over the rounds. */
const TARGET_RATIO = 1.5;
const out = fs.mkdtempSync(path.join(os.tmpdir(), "bench-plan-"));

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const spread = (values: number[], digits: number, unit: string) =>
  `${median(values).toFixed(digits)}${unit} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;

function run(label: string, args: string[]): { ms: number; stdout: string } {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  // A plan that ran exits 0, or 3 when it holds a mandatory policy violation; either is timed.
  if (result.status !== 0 && result.status !== 3) throw new Error(`${label} failed:\n${result.stderr}`);
  return { ms, stdout: result.stdout };
}

/** A prod stack file whose region list is tripled (2 → 6), to show how plan time grows. */
function tripledRegionsStackDir(): string {
  const doc = parse(fs.readFileSync(path.join(root, "Pulumi.prod.yaml"), "utf8"));
  doc.config["sophia:regions"] = ["sjc", "lax", "ord", "dfw", "iad", "ewr"];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-stack-"));
  fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), stringify(doc));
  return dir;
}

// Exactly what `npm run plan` runs.
const PLAN_ARGS = planCommand().args;
const plan = (stack: string, extra: string[] = []) => [...PLAN_ARGS, "--stack", stack, "--out", out, ...extra];
const BASELINE = ["-e", 'require("@pulumi/pulumi")'];
const tripled = ["--stack-dir", tripledRegionsStackDir()];
const rows = [
  { name: "dev plan", args: plan("dev"), jsonArgs: [...plan("dev"), "--json"] },
  { name: "prod plan", args: plan("prod"), jsonArgs: [...plan("prod"), "--json"] },
  { name: "prod plan, regions ×3", args: plan("prod", tripled), jsonArgs: [...plan("prod", tripled), "--json"] },
].map((row) => ({ ...row, ms: [] as number[], ratios: [] as number[], resources: 0 }));

const log = (text: string) => process.stderr.write(`${text}\n`);
log(`Offline plan timings on ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
// One untimed run of each: builds the compiled plan if a source changed, and counts resources.
for (const row of rows) {
  log(`warm-up: ${row.name}`);
  row.resources = (JSON.parse(run(row.name, row.jsonArgs).stdout) as { resources: unknown[] }).resources.length;
}
const baselines: number[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  const baseline = run("baseline", BASELINE).ms;
  baselines.push(baseline);
  const parts = [`baseline ${baseline.toFixed(0)} ms`];
  for (const row of rows) {
    const { ms } = run(row.name, row.args);
    row.ms.push(ms);
    row.ratios.push(ms / baseline);
    parts.push(`${row.name} ${ms.toFixed(0)} ms (${(ms / baseline).toFixed(2)}×)`);
  }
  log(`round ${round}/${ROUNDS}: ${parts.join(", ")}`);
}

console.log(`\nOffline plan: ${ROUNDS} rounds, median (min–max); ratios against the baseline of the same round`);
console.log(`baseline (node loading @pulumi/pulumi)  ${spread(baselines, 0, " ms")}`);
for (const row of rows) {
  console.log(`${row.name.padEnd(24)} ${String(row.resources).padStart(4)} resources  ${spread(row.ms, 0, " ms")}  ${spread(row.ratios, 2, "×")}`);
}
const [dev, prod, prodTripled] = rows;
const msPerResource = (a: (typeof rows)[number], b: (typeof rows)[number]) => (median(b.ms) - median(a.ms)) / (b.resources - a.resources);
// Linear growth shows as the same cost per added resource from dev to prod and from prod to ×3.
console.log(`cost per added resource: dev→prod ${msPerResource(dev, prod).toFixed(2)} ms, prod→regions ×3 ${msPerResource(prod, prodTripled).toFixed(2)} ms`);
const ratio = median(prod.ratios);
const met = ratio <= TARGET_RATIO;
console.log(`target: prod plan ≤ ${TARGET_RATIO}× the baseline; measured ${ratio.toFixed(2)}×: ${met ? "met" : "NOT met"}`);
if (!met) process.exitCode = 1;
