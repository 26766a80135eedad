/**
 * The README's sample outputs and figures come from the real commands, so they cannot drift: each
 * block between `<!-- generated: <id> -->` and `<!-- end generated: <id> -->` must be what the
 * producer of <id> below makes from a run today. After a change that moves them, write them in with
 *
 *   UPDATE_README=1 npx vitest run test/readme-samples.slow.test.ts
 *
 * Slow: it plans both stacks and rehearses dev.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { usd, type CostEstimate } from "../src/estimate/cost";
import type { RehearsalReport } from "../src/rehearsal/phases";
import { renderReport } from "../src/rehearsal/report";
import { projectDir, runPlanCliAsync } from "./helpers/cli";

const README_PATH = path.join(projectDir, "README.md");
/** The width the samples are laid out for: what a CI log or a pipe gets. */
const SAMPLE_WIDTH = 100;

interface Runs {
  compare: { stack: string; profile: string; cost: CostEstimate }[];
  planText: string;
  rehearsal: RehearsalReport;
}

const range = (low: number, high: number) => (low === 0 ? `≤ ${usd(high)}` : `${usd(low)}–${usd(high)}`);

/** Each generated block, from the runs. */
const PRODUCERS: Record<string, (runs: Runs) => string> = {
  /** What each stack costs, its target and its GPU spend, from `npm run plan -- --compare --json`. */
  costs: ({ compare }) =>
    [
      "| stack | estimate a month | target (the project's requirements) | GPU instances (target) | GPU pool, with its filesystem |",
      "|---|---|---|---|---|",
      ...compare.map(({ stack, cost }) => {
        const seed = cost.seedReference;
        const target = seed ? range(seed.low, seed.high) : "—";
        const gpuTarget = seed?.gpu ? ` (${range(seed.gpu.low, seed.gpu.high)})` : "";
        return `| \`${stack}\` | ${usd(cost.total)} | ${target} | ${usd(cost.gpuTotal)}${gpuTarget} | ${usd(cost.byService["gpu-pool"] ?? 0)} |`;
      }),
    ].join("\n"),

  /** The start of `npm run plan`, its services, its total against the target, its guardrails and notes. */
  "plan-dev": ({ planText }) => {
    const lines = planText.split("\n");
    const from = (start: (l: string) => boolean, stop: (l: string) => boolean) => {
      const at = lines.findIndex(start);
      if (at === -1) throw new Error("a section of the plan's output is missing");
      const end = lines.findIndex((l, i) => i > at && stop(l));
      const section = lines.slice(at, end === -1 ? undefined : end);
      while (section.at(-1) === "") section.pop();
      return section;
    };
    const blank = (l: string) => l === "";
    return [
      "```text",
      ...from((l) => l.startsWith("Plan for stack"), blank),
      "…",
      ...from((l) => l === "Services", (l) => l === "GPU pool"),
      "…",
      ...from((l) => l.startsWith("Monthly cost estimate"), (l) => !l.startsWith("Monthly")),
      "…",
      ...from((l) => l.startsWith("Target:"), (l) => !l.startsWith("  ") && !l.startsWith("Target:")),
      "…",
      ...from((l) => l.startsWith("policies:"), blank),
      "",
      ...from((l) => l.startsWith("Where this offline plan differs"), blank),
      "```",
    ].join("\n");
  },

  /** The rehearsal's report, without what changes from run to run (API call counts, simulated times, the interrupted run's split). */
  "rehearse-dev": ({ rehearsal }) => {
    const lines = renderReport(rehearsal, SAMPLE_WIDTH).split("\n");
    let phase = "";
    const kept = lines.slice(lines.findIndex((l) => /^(PASS|FAIL) /.test(l))).filter((line) => {
      phase = /^(PASS|FAIL) {2}([^:]+):/.exec(line)?.[2] ?? phase;
      if (/^ {6}(API calls:|simulated wall time|interrupted after)/.test(line) || /^ {8}/.test(line) || line.startsWith("Lists above")) return false;
      return !(phase === "interrupted up" && /^ {6}\d/.test(line));
    });
    return ["```text", ...kept, "```"].join("\n");
  },
};

function run(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: projectDir, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${args.join(" ")} exited ${String(code)}: ${stderr.slice(-2000)}`))));
  });
}

const runs = {} as Runs;

beforeAll(async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "readme-samples-"));
  const plan = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const result = await runPlanCliAsync(["--out", out, ...args], env);
    if (result.status !== 0) throw new Error(`plan ${args.join(" ")}: ${result.stderr}`);
    return result.stdout;
  };
  const [compare, planText, rehearsal] = await Promise.all([
    plan(["--compare", "--json"]),
    plan([], { COLUMNS: String(SAMPLE_WIDTH) }),
    run(["--require", "@pulumi/pulumi", "--require", "tsx/cjs", "src/rehearsal/cli.ts", "--time-scale", "0.001", "--json", "--quiet"], {
      FLY_API_URL: "",
      LAMBDA_API_URL: "",
      FLY_API_TOKEN: "",
      LAMBDA_API_KEY: "",
    }),
  ]);
  Object.assign(runs, { compare: JSON.parse(compare) as Runs["compare"], planText, rehearsal: JSON.parse(rehearsal) as RehearsalReport });
}, 300_000);

const BLOCK = /<!-- generated: ([\w-]+) -->\n([\s\S]*?)<!-- end generated: \1 -->/g;

describe("the README's generated samples", () => {
  it("marks a block for every producer, and every block has one", () => {
    const ids = [...fs.readFileSync(README_PATH, "utf8").matchAll(BLOCK)].map((m) => m[1]);
    expect(ids.sort()).toEqual(Object.keys(PRODUCERS).sort());
  });

  it.each(Object.keys(PRODUCERS))("the %s block is what the commands print today", (id) => {
    const readme = fs.readFileSync(README_PATH, "utf8");
    const expected = PRODUCERS[id]!(runs);
    if (process.env.UPDATE_README === "1") {
      fs.writeFileSync(README_PATH, readme.replace(BLOCK, (whole, blockId: string) => (blockId === id ? `<!-- generated: ${id} -->\n${expected}\n<!-- end generated: ${id} -->` : whole)));
      return;
    }
    const found = [...readme.matchAll(BLOCK)].find((m) => m[1] === id);
    expect(found?.[2]?.replace(/\n$/, ""), `README block ${id}; run UPDATE_README=1 npx vitest run test/readme-samples.slow.test.ts to write it`).toBe(expected);
  });
});
