/**
 * The APIs a rehearsal runs against: the in-repo Fly and Lambda emulators started in-process with
 * realistic timings scaled by the time scale, or external ones from FLY_API_URL / LAMBDA_API_URL
 * (with FLY_API_TOKEN / LAMBDA_API_KEY), e.g. behind a validating proxy.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import S3rver from "s3rver";
import { FlyEmulator, type JobRunner } from "../emulators/fly/emulator";
import { setS3ClientTuning } from "../providers/s3";
import { DEFAULT_EMULATOR_KEY, LambdaEmulator } from "../emulators/lambda/emulator";
import { setFlyClientTuning } from "../providers/fly/api/connection";
import { LAMBDA_DEFAULTS, setLambdaClientOverrides } from "../providers/lambda/api/client";

/** What the real platforms take, in ms, before scaling: a rehearsal's simulated time comes from these. */
export const REAL_TIMINGS = {
  flyLatencyMs: 60,
  machineStartMs: 4_000,
  machineStopMs: 2_000,
  checksPassAfterMs: 8_000,
  lambdaLatencyMs: 150,
  gpuBootMs: 3 * 60_000,
  gpuTerminateMs: 30_000,
} as const;

export interface Endpoints {
  flyApiUrl: string;
  flyApiToken: string;
  lambdaApiUrl: string;
  lambdaApiKey: string;
  /** "in-process" or "external". */
  source: "in-process" | "external";
  /** An S3-compatible server (s3rver, in-process) for the backup bucket: host:port, no TLS. */
  s3Endpoint: string;
  s3AccessKeyId: string;
  s3SecretAccessKey: string;
  /** The in-process Fly emulator (a bad release misbehaves and a region is lost through it); absent for external APIs. */
  fly?: FlyEmulator;
  close(): Promise<void>;
}

/** s3rver's built-in account. */
const S3RVER_KEYS = { s3AccessKeyId: "S3RVER", s3SecretAccessKey: "S3RVER" };

/** s3rver on a free loopback port, its files in a temporary directory removed on close. */
async function startS3(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "sophia-rehearsal-s3-"));
  const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory, resetOnClose: true });
  const { port } = await server.run();
  return {
    endpoint: `127.0.0.1:${port}`,
    close: async () => {
      await server.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

type Env = Record<string, string | undefined>;

const scaled = (ms: number, scale: number) => Math.max(0, Math.round(ms * scale));

/**
 * The providers' waits, polls and rate budgets at the same scale as the emulators. Fly's tuning is
 * module state that Pulumi's serializer captures, so it must be set before the program runs.
 */
export function scaleClients(scale: number): void {
  // Retries get at least 10 s whatever the scale: on a loaded machine one request alone can take seconds.
  setFlyClientTuning({
    retry: { maxAttempts: 6, maxTotalMs: Math.max(10_000, scaled(60_000, scale)), baseDelayMs: Math.max(1, scaled(250, scale)), maxDelayMs: Math.max(5, scaled(10_000, scale)) },
    rateLimit: { intervalMs: scaled(1_000, scale), burst: 3 },
    pollIntervalMs: Math.max(1, scaled(2_000, scale)),
    waitRequestSeconds: 60,
    timeScale: scale,
  });
  setLambdaClientOverrides({
    requestIntervalMs: scaled(LAMBDA_DEFAULTS.requestIntervalMs, scale),
    launchIntervalMs: scaled(LAMBDA_DEFAULTS.launchIntervalMs, scale),
    pollIntervalMs: Math.max(1, scaled(LAMBDA_DEFAULTS.pollIntervalMs, scale)),
    // A GPU that never boots fails at the scaled timeout, well inside the phase's bound.
    activeTimeoutMs: Math.max(5_000, scaled(LAMBDA_DEFAULTS.activeTimeoutMs, scale)),
    terminateTimeoutMs: Math.max(5_000, scaled(LAMBDA_DEFAULTS.terminateTimeoutMs, scale)),
    retry: { maxAttempts: 6, maxTotalMs: Math.max(10_000, scaled(60_000, scale)), baseDelayMs: Math.max(1, scaled(250, scale)), maxDelayMs: Math.max(5, scaled(10_000, scale)) },
  });
  // The S3 server runs in this process, whose event loop the program's provider serialization can
  // hold for seconds at a time: an S3 request gets minutes, which the few bucket calls can afford.
  setS3ClientTuning({ retry: { maxAttempts: 6, maxTotalMs: 300_000, baseDelayMs: 50, maxDelayMs: 2_000 }, requestTimeoutMs: 120_000 });
}

/** Fresh emulators (or the external endpoints, which the caller must reset between phases), and an S3 server. */
export async function startApis(scale: number, env: Env = process.env, jobRunner?: JobRunner): Promise<Endpoints> {
  const s3 = await startS3();
  try {
    const apis = await startFlyAndLambda(scale, env, jobRunner);
    return { ...apis, s3Endpoint: s3.endpoint, ...S3RVER_KEYS, close: async () => (await apis.close(), await s3.close()) };
  } catch (err) {
    await s3.close();
    throw err;
  }
}

async function startFlyAndLambda(scale: number, env: Env, jobRunner?: JobRunner): Promise<Omit<Endpoints, "s3Endpoint" | "s3AccessKeyId" | "s3SecretAccessKey">> {
  if (env.FLY_API_URL || env.LAMBDA_API_URL) {
    const missing = ["FLY_API_URL", "FLY_API_TOKEN", "LAMBDA_API_URL", "LAMBDA_API_KEY"].filter((k) => !env[k]);
    if (missing.length > 0) {
      throw new Error(`To rehearse against external emulators set all of FLY_API_URL, FLY_API_TOKEN, LAMBDA_API_URL and LAMBDA_API_KEY; missing: ${missing.join(", ")}.`);
    }
    return { flyApiUrl: env.FLY_API_URL!, flyApiToken: env.FLY_API_TOKEN!, lambdaApiUrl: env.LAMBDA_API_URL!, lambdaApiKey: env.LAMBDA_API_KEY!, source: "external", close: async () => {} };
  }
  const fly = new FlyEmulator({
    machineStartMs: scaled(REAL_TIMINGS.machineStartMs, scale),
    machineStopMs: scaled(REAL_TIMINGS.machineStopMs, scale),
    checksPassAfterMs: scaled(REAL_TIMINGS.checksPassAfterMs, scale),
    faults: { rate429: 0, rate503: 0, resetRate: 0, latencyMs: scaled(REAL_TIMINGS.flyLatencyMs, scale), retryAfterSeconds: 1, lostAnswerRate: 0 },
    // Its Prometheus's clock runs at the same scale as the providers' analysis.
    timeScale: scale,
    jobRunner,
  });
  const lambda = new LambdaEmulator({
    bootMs: scaled(REAL_TIMINGS.gpuBootMs, scale),
    terminateMs: scaled(REAL_TIMINGS.gpuTerminateMs, scale),
    launchIntervalMs: scaled(LAMBDA_DEFAULTS.launchIntervalMs, scale),
    faults: { errorRate: 0, resetRate: 0, lostAnswerRate: 0, latencyMs: scaled(REAL_TIMINGS.lambdaLatencyMs, scale) },
  });
  const flyApiUrl = await fly.listen(0);
  const running = await lambda.listen(0);
  return {
    flyApiUrl,
    flyApiToken: "rehearsal-fly-token",
    lambdaApiUrl: running.url,
    lambdaApiKey: DEFAULT_EMULATOR_KEY,
    source: "in-process",
    fly,
    close: async () => {
      await fly.close();
      await running.close();
    },
  };
}
