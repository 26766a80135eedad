/**
 * What a newcomer runs first fits their terminal: `npm run plan` (dev, prod, --compare) and
 * `npm run rehearse` print no line wider than the width they are given, both the default (100,
 * for a pipe or a CI log with no COLUMNS) and a narrow COLUMNS=80, and a long list is counted
 * rather than printed whole (the JSON keeps every item). Slow: two rehearsals.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_WIDTH, displayWidth } from "../src/planner/text-layout";
import { projectDir, runPlanCliAsync } from "./helpers/cli";

/** Each width the output is checked at, and the COLUMNS that asks for it (undefined: none set). */
const WIDTHS = [
  { label: "without COLUMNS (the default)", columns: undefined, width: DEFAULT_WIDTH },
  { label: "with COLUMNS=80", columns: "80", width: 80 },
];
const COMMANDS = ["npm run plan", "npm run plan -- --stack prod", "npm run plan -- --compare", "npm run rehearse"];
const outputs: Record<string, Record<string, string>> = {};

function rehearse(args: string[], columns: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, COLUMNS: columns, FLY_API_URL: "", LAMBDA_API_URL: "", FLY_API_TOKEN: "", LAMBDA_API_KEY: "" };
    const child = spawn(process.execPath, ["--require", "@pulumi/pulumi", "--require", "tsx/cjs", "src/rehearsal/cli.ts", ...args], { cwd: projectDir, env });
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(text) : reject(new Error(`rehearse exited ${String(code)}:\n${text.slice(-3000)}`))));
  });
}

async function runAll(columns: string | undefined): Promise<Record<string, string>> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "width-"));
  const plan = async (args: string[]) => {
    // An undefined COLUMNS is left out of the child's environment.
    const result = await runPlanCliAsync(["--out", out, ...args], { COLUMNS: columns });
    if (result.status !== 0) throw new Error(`plan ${args.join(" ")} exited ${String(result.status)}: ${result.stderr}`);
    return result.stdout + result.stderr;
  };
  const texts = await Promise.all([plan([]), plan(["--stack", "prod"]), plan(["--compare"]), rehearse(["--time-scale", "0.001"], columns)]);
  return Object.fromEntries(COMMANDS.map((command, i) => [command, texts[i]!]));
}

beforeAll(async () => {
  // One width at a time: two rehearsals at once would only queue on a small machine.
  for (const { label, columns } of WIDTHS) outputs[label] = await runAll(columns);
}, 300_000);

describe.each(WIDTHS)("$label", ({ label, width }) => {
  it.each(COMMANDS)(`%s prints no line wider than ${width} columns`, (command) => {
    const lines = outputs[label]![command]!.split("\n");
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.filter((line) => displayWidth(line) > width)).toEqual([]);
  });

  it("the plan's cost table wraps its formulas inside their column rather than past the edge", () => {
    const row = outputs[label]!["npm run plan"]!.split("\n").find((line) => line.startsWith("weaviate      compute"));
    expect(row).toBeDefined();
    expect(displayWidth(row!)).toBeLessThanOrEqual(width);
  });
});

it("the rehearsal counts the resources an interrupted run made but never recorded, by kind, and points to --json for the list", () => {
  const text = outputs[WIDTHS[0]!.label]!["npm run rehearse"]!;
  expect(text).toMatch(/made but never recorded: \d+ resources: \d+ fly:\w+/);
  expect(text).toContain("Lists above are counted by kind; --json lists every resource.");
});
