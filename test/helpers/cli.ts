/**
 * Runs the plan CLI as `npm run plan` does, minus npm itself: in a process of its own
 * (`spawnPlanCli`), or, for the many plans a test file makes, through plan workers
 * (`runPlanCliAsync`): processes that each run the same compiled command many times
 * (plan-worker.js), so that starting Node and loading Pulumi is paid per worker, not per plan.
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
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


/** Plan workers per test file: one per core, so concurrent tests queue instead of starving each other. */
const MAX_WORKERS = Math.max(1, os.availableParallelism());

export interface PlanResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

interface Worker {
  child: ChildProcess;
  ready: Promise<void>;
  busy: boolean;
  pending: Map<number, (result: PlanResult) => void>;
}

const workers: Worker[] = [];
const waiting: ((worker: Worker) => void)[] = [];
let nextId = 0;

function startWorker(): Worker {
  const child = fork(path.join(__dirname, "plan-worker.js"), [], { cwd: projectDir, env: credentialFreeEnv(), stdio: ["ignore", "inherit", "inherit", "ipc"] });
  // The worker must not keep the test process alive once the tests are done.
  child.unref();
  (child as unknown as { channel?: { unref(): void } }).channel?.unref();
  const worker: Worker = { child, busy: false, pending: new Map(), ready: Promise.resolve() };
  worker.ready = new Promise((resolve, reject) => {
    child.once("error", reject);
    child.on("message", (message: { ready?: boolean; id?: number } & PlanResult) => {
      if (message.ready) return resolve();
      const answer = worker.pending.get(message.id ?? -1);
      worker.pending.delete(message.id ?? -1);
      answer?.({ status: message.status, stdout: message.stdout, stderr: message.stderr });
    });
    child.once("exit", (code) => {
      for (const answer of worker.pending.values()) answer({ status: code, stdout: "", stderr: `the plan worker exited (${code})` });
      reject(new Error(`the plan worker exited (${code}) before it was ready`));
    });
  });
  workers.push(worker);
  return worker;
}

async function takeWorker(): Promise<Worker> {
  const idle = workers.find((w) => !w.busy) ?? (workers.length < MAX_WORKERS ? startWorker() : undefined);
  const worker = idle ?? (await new Promise<Worker>((resolve) => waiting.push(resolve)));
  worker.busy = true;
  return worker;
}

function release(worker: Worker): void {
  const next = waiting.shift();
  if (next) next(worker);
  else worker.busy = false;
}

/**
 * Runs the plan command with `args` in a plan worker; resolves to its exit code and output. With
 * `env` (e.g. another COLUMNS), in a process of its own, since a worker's environment is fixed.
 * `--compare` plans in child processes of the CLI, so it takes spawnPlanCli too.
 */
export async function runPlanCliAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<PlanResult> {
  if (Object.keys(env).length > 0 || args.includes("--compare")) return spawnPlanCli(args, env);
  const worker = await takeWorker();
  try {
    await worker.ready;
    const id = nextId++;
    return await new Promise<PlanResult>((resolve) => {
      worker.pending.set(id, resolve);
      worker.child.send({ id, args });
    });
  } finally {
    release(worker);
  }
}

/** The plan CLI as its own process, for what only a process shows (the launcher, --compare's children, the exit). */
export function spawnPlanCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<PlanResult> {
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
