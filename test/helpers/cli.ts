/** Runs the plan CLI exactly as `npm run plan` does, minus npm itself. */
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const projectDir = path.resolve(__dirname, "..", "..");

/**
 * How long a test may wait for one plan process: a guard against a hang, not a speed target (that
 * is `npm run bench`). A plan takes seconds alone and many times that on a shared, loaded machine.
 */
export const PLAN_PROCESS_TIMEOUT_MS = 120_000;

/** The `plan` script from package.json, with `node` resolved to this Node binary. */
export function planCommand(): { command: string; args: string[] } {
  const scripts = (JSON.parse(fs.readFileSync(path.join(projectDir, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
  const [command, ...args] = scripts.plan.split(/\s+/);
  if (command !== "node") throw new Error(`the plan script should start with node, not ${command}`);
  return { command: process.execPath, args };
}

/**
 * The environment without any cloud credential, as on a machine with no account at all. Text is
 * laid out for a terminal wide enough that no line wraps, so that tests read content whatever the
 * developer's terminal; test/output-width.slow.test.ts checks the layout at a set width.
 */
function credentialFreeEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, COLUMNS: "1000" };
  for (const name of ["FLY_API_TOKEN", "FLY_ACCESS_TOKEN", "LAMBDA_API_KEY", "VERCEL_API_TOKEN", "PULUMI_ACCESS_TOKEN"]) delete env[name];
  return { ...env, ...extra };
}

export function runPlanCli(args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  const { command, args: base } = planCommand();
  return spawnSync(command, [...base, ...args], { cwd: projectDir, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, env: credentialFreeEnv(env) });
}

/** CLI processes this test file runs at once: one per core, so concurrent tests queue instead of starving each other. */
const MAX_RUNNING = Math.max(1, os.availableParallelism());
let running = 0;
const waiting: (() => void)[] = [];

async function withSlot<T>(run: () => Promise<T>): Promise<T> {
  if (running >= MAX_RUNNING) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await run();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** The same, without blocking the test worker: for commands that spawn children of their own, and for concurrent tests. */
export function runPlanCliAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return withSlot(() => spawnPlanCli(args, env));
}

function spawnPlanCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const { command, args: base } = planCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...base, ...args], { cwd: projectDir, env: credentialFreeEnv(env) });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}
