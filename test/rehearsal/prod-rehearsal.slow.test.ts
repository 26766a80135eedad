/**
 * The prod rehearsal, every phase, through the CLI as a user runs it. Slow (minutes): the whole
 * prod stack goes up, again, through a bad release (a release of unified-api whose machines pass
 * their health checks but fail a fifth of their requests is rolled back on its own, within the
 * seed's 30 s of the breach being seen, and a good release goes through), interrupted, down, the
 * adoption of a deployment made by hand, and the region-loss drill.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { profiles } from "../../environments/profiles";
import type { PhaseReport, RehearsalReport } from "../../src/rehearsal/phases";
import { expectEach } from "../helpers/expect-each";

const root = path.resolve(__dirname, "../..");
let report: RehearsalReport;
let exitCode: number | null;

const phase = (name: PhaseReport["phase"]): PhaseReport => {
  const found = report.phases.find((p) => p.phase === name);
  if (!found) throw new Error(`no phase "${name}" in the report`);
  return found;
};

beforeAll(async () => {
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ["--require", "@pulumi/pulumi", "--require", "tsx/cjs", "src/rehearsal/cli.ts", "--stack", "prod", "--time-scale", "0.05", "--json", "--quiet"],
      { cwd: root, timeout: 580_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, FLY_API_URL: "", LAMBDA_API_URL: "", FLY_API_TOKEN: "", LAMBDA_API_KEY: "" } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
  if (!result.stdout.trim().startsWith("{")) throw new Error(`the rehearsal printed no report: ${result.stderr.slice(-2000)}`);
  report = JSON.parse(result.stdout) as RehearsalReport;
  exitCode = result.code;
}, 600_000);

describe("prod rehearsal", () => {
  it("runs every phase, the bad release after the second up and the region-loss drill last", () => {
    expect(report.phases.map((p) => p.phase)).toEqual(["up", "up again", "bad release", "interrupted up", "destroy", "adopt existing", "region lost"]);
  });

  it("passes every phase", () => {
    expectEach(report.phases, (p) => expect(p.problems, p.phase).toEqual([]));
    expect(report.phases.every((p) => p.ok)).toBe(true);
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

  it("fails over within the seed's 15 minutes, losing at most 15 minutes of data", () => {
    const drill = phase("region lost");
    expect(drill.rtoSeconds).toBeGreaterThan(0);
    expect(drill.rtoSeconds).toBeLessThanOrEqual(900);
    expect(drill.rpoSeconds).toBeGreaterThan(0);
    expect(drill.rpoSeconds).toBeLessThanOrEqual(900);
  });

  it("restores every stateful service, and each volume of the SQLite ones, from a backup", () => {
    const restores = phase("region lost").restores ?? [];
    expect(restores.filter((r) => r.service === "weaviate")).toHaveLength(1);
    expect(restores.filter((r) => r.service === "mcp-memory")).toHaveLength(8);
    expect(restores.filter((r) => r.service === "vector-store")).toHaveLength(12);
    expectEach(restores, (r) => expect(r.backup, r.restore).not.toBe(""));
  });

  it("destroy leaves the backup bucket, as it leaves the volumes", () => {
    expect(phase("destroy").retained?.map((r) => r.kind)).toContain("s3:Bucket");
  });
});
