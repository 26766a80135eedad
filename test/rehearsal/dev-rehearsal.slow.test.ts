/**
 * The dev rehearsal, all five phases, at a small time scale. It runs the CLI in a child
 * process: Pulumi's closure serializer needs CommonJS modules in require.cache, which vitest's
 * module runner does not provide. Most of its time is that serialization (about 2 s per provider).
 *
 * Phase 3 interrupts after 0 recorded creates, so the creates then in flight (the GPU pool's key,
 * filesystem and ruleset, and every app) are made on the API but never recorded: a run with every
 * create safe to repeat adopts them all (a generated SSH key, whose private half was lost, is made again).
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { PhaseReport, RehearsalReport } from "../../src/rehearsal/phases";

const root = path.resolve(__dirname, "../..");
let report: RehearsalReport;
let exitCode: number | null;
let log: string;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--require", "@pulumi/pulumi", "--require", "tsx/cjs", "src/rehearsal/cli.ts", ...args],
      // In-process emulators, whatever the developer's shell points at.
      { cwd: root, timeout: 170_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, FLY_API_URL: "", LAMBDA_API_URL: "", FLY_API_TOKEN: "", LAMBDA_API_KEY: "" } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const phase = (name: PhaseReport["phase"]): PhaseReport => {
  const found = report.phases.find((p) => p.phase === name);
  if (!found) throw new Error(`no phase "${name}" in the report`);
  return found;
};

beforeAll(async () => {
  const result = await run(["--stack", "dev", "--time-scale", "0.001", "--interrupt-after", "0", "--json", "--quiet"]);
  if (!result.stdout.trim().startsWith("{")) throw new Error(`the rehearsal printed no report: ${result.stderr.slice(-2000)}`);
  report = JSON.parse(result.stdout) as RehearsalReport;
  exitCode = result.code;
  log = result.stderr;
}, 180_000);

describe("dev rehearsal", () => {
  it("reports all five phases, in order", () => {
    expect(report.phases.map((p) => p.phase)).toEqual(["up", "up again", "interrupted up", "destroy", "adopt existing"]);
  });

  it("adopts an app made outside the stack with its volume and machine, leaves the volume untouched, and a second up changes nothing", () => {
    const adopt = phase("adopt existing");
    expect(adopt.problems).toEqual([]);
    // weaviate's app, its one volume and the machine that mounts it; everything else is created.
    expect(adopt.counts.adopted).toBe(3);
    expect(adopt.counts.created + adopt.counts.adopted).toBe(phase("up").counts.created);
    expect(adopt.counts.unchanged).toBe(phase("up").counts.created);
  });

  it("never offers an emulator's price as Lambda's", () => {
    expect(log).not.toMatch(/Lambda lists/);
  });

  it("first up creates every dynamic resource through its serialized provider, and the API then holds exactly those", () => {
    const up = phase("up");
    expect(up.problems).toEqual([]);
    expect(up.counts.created).toBeGreaterThan(20);
    expect(up.apiCalls.fly?.POST).toBeGreaterThan(0);
    expect(up.apiCalls.lambda?.POST).toBeGreaterThan(0);
  });

  it("first up takes at most 4 dependent stages", () => {
    expect(phase("up").stages).toBeGreaterThan(0);
    expect(phase("up").stages).toBeLessThanOrEqual(4);
  });

  it("a second up finds no change in any provider's diff and sends nothing but reads", () => {
    const again = phase("up again");
    expect(again.problems).toEqual([]);
    expect(again.counts.unchanged).toBe(phase("up").counts.created);
    for (const calls of Object.values(again.apiCalls)) expect(Object.keys(calls).filter((m) => m !== "GET")).toEqual([]);
  });

  it("the interrupted up stops with creates the API made but the run never recorded", () => {
    const interrupted = phase("interrupted up");
    expect(interrupted.interruption?.after).toBe(0);
    expect(interrupted.interruption?.dropped.length).toBeGreaterThan(0);
  });

  it("after the interrupted up, a second up leaves exactly what the plan intends: no duplicate, no orphan", () => {
    expect(phase("interrupted up").problems).toEqual([]);
  });

  it("destroy deletes everything in reverse dependency order and leaves the emulators empty (dev retains nothing)", () => {
    const destroy = phase("destroy");
    expect(destroy.problems).toEqual([]);
    expect(destroy.counts.deleted).toBe(phase("up").counts.created);
    expect(destroy.retained).toEqual([]);
  });

  it("every Fly and Lambda kind dev uses is created, diffed and deleted through its serialized provider", () => {
    const kinds = Object.keys(report.coverage).sort();
    expect(kinds).toEqual(["fly:App", "fly:IpAddress", "fly:Machine", "fly:Secrets", "fly:Volume", "lambda:Filesystem", "lambda:FirewallRuleset", "lambda:SshKey", "recovery:Region"]);
    for (const kind of kinds) expect(report.coverage[kind], kind).toEqual({ created: true, diffed: true, deleted: true });
  });

  it("lists the resources that are not dynamic as not rehearsed", () => {
    expect(report.notRehearsed.map((r) => r.kind)).toContain("random:RandomPassword");
    expect(report.notRehearsed.every((r) => !r.kind.startsWith("fly:") && !r.kind.startsWith("lambda:"))).toBe(true);
  });

  it("exits non-zero exactly when a phase fails its expectation", () => {
    expect(exitCode).toBe(report.phases.every((p) => p.ok) ? 0 : 1);
  });
});
