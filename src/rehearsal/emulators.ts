/**
 * The APIs a rehearsal runs against: the in-repo Fly and Lambda emulators started in-process with
 * realistic timings scaled by the time scale, or external ones from FLY_API_URL / LAMBDA_API_URL
 * (with FLY_API_TOKEN / LAMBDA_API_KEY), e.g. behind a validating proxy.
 */
import { FlyEmulator } from "../emulators/fly/emulator";
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
  close(): Promise<void>;
}

type Env = Record<string, string | undefined>;

const scaled = (ms: number, scale: number) => Math.max(0, Math.round(ms * scale));

/**
 * The providers' waits, polls and rate budgets at the same scale as the emulators. Fly's tuning is
 * module state that Pulumi's serializer captures, so it must be set before the program runs.
 */
export function scaleClients(scale: number): void {
  setFlyClientTuning({
    retry: { maxAttempts: 6, maxTotalMs: Math.max(2_000, scaled(60_000, scale)), baseDelayMs: Math.max(1, scaled(250, scale)), maxDelayMs: Math.max(5, scaled(10_000, scale)) },
    rateLimit: { intervalMs: scaled(1_000, scale), burst: 3 },
    pollIntervalMs: Math.max(1, scaled(2_000, scale)),
    waitRequestSeconds: 60,
  });
  setLambdaClientOverrides({
    requestIntervalMs: scaled(LAMBDA_DEFAULTS.requestIntervalMs, scale),
    launchIntervalMs: scaled(LAMBDA_DEFAULTS.launchIntervalMs, scale),
    pollIntervalMs: Math.max(1, scaled(LAMBDA_DEFAULTS.pollIntervalMs, scale)),
    // A GPU that never boots fails at the scaled timeout, well inside the phase's bound.
    activeTimeoutMs: Math.max(5_000, scaled(LAMBDA_DEFAULTS.activeTimeoutMs, scale)),
    terminateTimeoutMs: Math.max(5_000, scaled(LAMBDA_DEFAULTS.terminateTimeoutMs, scale)),
    retry: { maxAttempts: 6, maxTotalMs: Math.max(2_000, scaled(60_000, scale)), baseDelayMs: Math.max(1, scaled(250, scale)), maxDelayMs: Math.max(5, scaled(10_000, scale)) },
  });
}

/** Fresh emulators (or the external endpoints, which the caller must reset between phases). */
export async function startApis(scale: number, env: Env = process.env): Promise<Endpoints> {
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
    close: async () => {
      await fly.close();
      await running.close();
    },
  };
}
