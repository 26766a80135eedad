/**
 * The prod rehearsal, every phase, with its "bad release": a release of unified-api whose
 * machines pass their health checks but fail a fifth of their requests is rolled back on its own,
 * within the seed's 30 s of the breach being seen, and a good release goes through. At the CLI's
 * own time scale (a tenth of real time), so that simulated durations stay close to what a
 * deployment would see: at much smaller scales the rehearsal's own work dominates them. Runs the
 * CLI in a child process, as the dev rehearsal test does.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { profiles } from "../../environments/profiles";
import type { PhaseReport, RehearsalReport } from "../../src/rehearsal/phases";

const root = path.resolve(__dirname, "../..");
let report: RehearsalReport;
let exitCode: number | null;

beforeAll(async () => {
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ["--require", "@pulumi/pulumi", "--require", "tsx/cjs", "src/rehearsal/cli.ts", "--stack", "prod", "--json", "--quiet"],
      { cwd: root, timeout: 590_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, FLY_API_URL: "", LAMBDA_API_URL: "", FLY_API_TOKEN: "", LAMBDA_API_KEY: "" } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
  if (!result.stdout.trim().startsWith("{")) throw new Error(`the rehearsal printed no report: ${result.stderr.slice(-2000)}`);
  report = JSON.parse(result.stdout) as RehearsalReport;
  exitCode = result.code;
}, 600_000);

const phase = (name: PhaseReport["phase"]): PhaseReport => {
  const found = report.phases.find((p) => p.phase === name);
  if (!found) throw new Error(`no phase "${name}" in the report`);
  return found;
};

describe("prod rehearsal", () => {
  it("runs the bad release after the second up, and every phase passes", () => {
    expect(report.phases.map((p) => [p.phase, p.ok, p.problems])).toEqual([
      ["up", true, []],
      ["up again", true, []],
      ["bad release", true, []],
      ["interrupted up", true, []],
      ["destroy", true, []],
      ["adopt existing", true, []],
    ]);
    expect(exitCode).toBe(0);
  });

  it("rolls the bad canary back within 30 simulated seconds of the breach, and says how long it took", () => {
    const seconds = phase("bad release").rollbackSeconds;
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(30);
  });

  it("the good release updates every machine of unified-api", () => {
    const api = profiles["enterprise-multi-region"].services["unified-api"]!;
    expect(phase("bad release").counts.updated).toBe(api.maxMachines * profiles["enterprise-multi-region"].regions.length);
  });
});
