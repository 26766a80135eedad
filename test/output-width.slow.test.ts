/**
 * What a newcomer runs first fits their terminal: `npm run plan` (dev, prod, --compare) and
 * `npm run rehearse` print no line wider than COLUMNS (here 120, as a terminal would set it), and a
 * long list is counted rather than printed whole (the JSON keeps every item). Slow: a rehearsal.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { displayWidth } from "../src/planner/text-layout";
import { projectDir, runPlanCliAsync } from "./helpers/cli";

const COLUMNS = 120;
const outputs: Record<string, string> = {};

function rehearse(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--require", "@pulumi/pulumi", "--require", "tsx/cjs", "src/rehearsal/cli.ts", ...args], {
      cwd: projectDir,
      env: { ...process.env, COLUMNS: String(COLUMNS), FLY_API_URL: "", LAMBDA_API_URL: "", FLY_API_TOKEN: "", LAMBDA_API_KEY: "" },
    });
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(text) : reject(new Error(`rehearse exited ${String(code)}:\n${text.slice(-3000)}`))));
  });
}

beforeAll(async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "width-"));
  const plan = async (args: string[]) => {
    const result = await runPlanCliAsync(["--out", out, ...args], { COLUMNS: String(COLUMNS) });
    if (result.status !== 0) throw new Error(`plan ${args.join(" ")} exited ${String(result.status)}: ${result.stderr}`);
    return result.stdout + result.stderr;
  };
  const [dev, prod, compare, rehearsal] = await Promise.all([plan([]), plan(["--stack", "prod"]), plan(["--compare"]), rehearse(["--time-scale", "0.001"])]);
  Object.assign(outputs, { "npm run plan": dev, "npm run plan -- --stack prod": prod, "npm run plan -- --compare": compare, "npm run rehearse": rehearsal });
}, 300_000);

describe(`with COLUMNS=${COLUMNS}`, () => {
  it.each(["npm run plan", "npm run plan -- --stack prod", "npm run plan -- --compare", "npm run rehearse"])("%s prints no line wider than the terminal", (command) => {
    const lines = outputs[command]!.split("\n");
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.filter((line) => displayWidth(line) > COLUMNS)).toEqual([]);
  });

  it("the rehearsal counts the resources an interrupted run made but never recorded, by kind, and points to --json for the list", () => {
    expect(outputs["npm run rehearse"]).toMatch(/made but never recorded: \d+ resources: \d+ fly:\w+/);
    expect(outputs["npm run rehearse"]).toContain("Lists above are counted by kind; --json lists every resource.");
  });

  it("the plan's cost table wraps its formulas inside their column rather than past the edge", () => {
    const row = outputs["npm run plan"]!.split("\n").find((line) => line.startsWith("weaviate      compute"));
    expect(row).toBeDefined();
    expect(displayWidth(row!)).toBeLessThanOrEqual(COLUMNS);
  });
});
