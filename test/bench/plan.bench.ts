/**
 * `npm run bench`: how long the offline plan takes, as ratios against a baseline measured in the
 * same run (a bare `node` that only loads @pulumi/pulumi), so that a noisy machine cancels out.
 * Each command runs in a fresh process, several times; the median counts.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { planCommand } from "../helpers/cli";

const root = path.resolve(__dirname, "..", "..");
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TARGET_RATIO = 2;
/** A plan that ran exits 0, or 3 when it holds a mandatory policy violation; either is timed. */
const RAN = [0, 3];
const out = fs.mkdtempSync(path.join(os.tmpdir(), "bench-plan-"));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function time(label: string, args: string[]): number {
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    const result = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8" });
    if (!RAN.includes(result.status ?? -1)) throw new Error(`${label} failed:\n${result.stderr}`);
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(samples);
}

/** A prod stack file whose region list is tripled (2 → 6), to show how plan time grows. */
function tripledRegionsStackDir(): string {
  const doc = parse(fs.readFileSync(path.join(root, "Pulumi.prod.yaml"), "utf8"));
  doc.config["sophia:regions"] = ["sjc", "lax", "ord", "dfw", "iad", "ewr"];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-stack-"));
  fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), stringify(doc));
  return dir;
}

function resourceCount(stack: string, extra: string[] = []): number {
  const result = spawnSync(process.execPath, [...PLAN_ARGS, "--stack", stack, "--json", "--out", out, ...extra], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (!RAN.includes(result.status ?? -1)) throw new Error(result.stderr);
  return (JSON.parse(result.stdout) as { resources: unknown[] }).resources.length;
}

// Exactly what `npm run plan` runs.
const PLAN_ARGS = planCommand().args;
const plan = (stack: string, extra: string[] = []) => [...PLAN_ARGS, "--stack", stack, "--out", out, ...extra];
const tripled = ["--stack-dir", tripledRegionsStackDir()];

const baseline = time("baseline", ["-e", 'require("@pulumi/pulumi")']);
const rows = [
  { name: "dev plan", ms: time("dev plan", plan("dev")), resources: resourceCount("dev") },
  { name: "prod plan", ms: time("prod plan", plan("prod")), resources: resourceCount("prod") },
  { name: "prod plan, regions ×3", ms: time("prod ×3", plan("prod", tripled)), resources: resourceCount("prod", tripled) },
];

console.log(`Offline plan timings: median of ${RUNS} fresh processes each, on ${os.cpus().length} cores`);
console.log(`baseline (node loading @pulumi/pulumi): ${baseline.toFixed(0)} ms`);
for (const row of rows) {
  console.log(`${row.name.padEnd(24)} ${row.ms.toFixed(0).padStart(6)} ms  ${(row.ms / baseline).toFixed(2)}× baseline  ${row.resources} resources`);
}
const [dev, prod, prodTripled] = rows;
const msPerResource = (a: (typeof rows)[number], b: (typeof rows)[number]) => (b.ms - a.ms) / (b.resources - a.resources);
console.log(`prod plan: ${(prod.ms / baseline).toFixed(2)}× baseline (target ≤ ${TARGET_RATIO}×): ${prod.ms / baseline <= TARGET_RATIO ? "met" : "NOT met"}`);
// Linear growth shows as the same cost per added resource from dev to prod and from prod to ×3.
console.log(
  `cost per added resource: dev→prod ${msPerResource(dev, prod).toFixed(2)} ms, prod→regions ×3 ${msPerResource(prod, prodTripled).toFixed(2)} ms`,
);
