/**
 * Where the Fly providers' defaults live, and how an operation finds its endpoint and token.
 */
import type { RateLimit, RetryPolicy } from "../../http";

/** Every default of the Fly provider layer, in one place. */
export const flyDefaults = {
  apiUrl: "https://api.machines.dev/v1",
  /** Fly allows about 1 request per second per action per app or machine, with bursts of 3. */
  rateLimit: { intervalMs: 1_000, burst: 3 } satisfies RateLimit,
  retry: { maxAttempts: 6, maxTotalMs: 60_000, baseDelayMs: 250, maxDelayMs: 10_000 } satisfies RetryPolicy,
  requestTimeoutMs: 30_000,
  /** Fly's /wait blocks for at most 60 s per call; we loop until the overall timeout. */
  waitRequestSeconds: 60,
  /** How long a machine may take to reach its intended state (and pass checks when asked). */
  machineTimeoutSeconds: 300,
  /** Poll interval while waiting for health checks. */
  pollIntervalMs: 2_000,
  /** Fly scrapes metrics every 15 s: a release is judged on evaluations this far apart, over windows no shorter. */
  scrapeIntervalSeconds: 15,
  /** Lease held while a machine is updated; long enough for an update, short if we crash. */
  leaseTtlSeconds: 120,
  /** Fly's own volume defaults, applied at check so that state and drift compare like with like. */
  volume: { encrypted: true, snapshotRetention: 5, autoBackupEnabled: true },
} as const;

/** Knobs tests (and recording proxies) may turn; production uses flyDefaults. */
export interface FlyClientTuning {
  retry?: RetryPolicy;
  /** `null` turns client-side rate limiting off. */
  rateLimit?: RateLimit | null;
  requestTimeoutMs?: number;
  pollIntervalMs?: number;
  waitRequestSeconds?: number;
  /**
   * Real seconds per platform second for waits the inputs state in platform time (a release's
   * analysis window and its evaluations), and for the durations messages report. 1 in a deployment;
   * a rehearsal or test runs minutes of analysis in seconds. @default 1
   */
  timeScale?: number;
}

// Module state is captured by Pulumi's closure serializer at deployment time; it stays undefined in
// real programs, so only plain data may ever be stored here.
let tuningOverride: FlyClientTuning | undefined;

/** Shortens backoff, polling and rate limits for tests. Never called by the program. */
export function setFlyClientTuning(tuning: FlyClientTuning | undefined): void {
  tuningOverride = tuning;
}

export function flyTuning(): Required<Omit<FlyClientTuning, "rateLimit">> & { rateLimit: RateLimit | null } {
  const t = tuningOverride ?? {};
  return {
    retry: t.retry ?? flyDefaults.retry,
    rateLimit: t.rateLimit === undefined ? flyDefaults.rateLimit : t.rateLimit,
    requestTimeoutMs: t.requestTimeoutMs ?? flyDefaults.requestTimeoutMs,
    pollIntervalMs: t.pollIntervalMs ?? flyDefaults.pollIntervalMs,
    waitRequestSeconds: t.waitRequestSeconds ?? flyDefaults.waitRequestSeconds,
    timeScale: t.timeScale ?? 1,
  };
}

/** What every Fly resource accepts for reaching the API, resolved, as a provider receives them. */
export interface FlyConnectionInputs {
  apiToken?: string;
  apiUrl?: string;
}

export interface FlyConnection {
  apiUrl: string;
  token: string;
  /** Tried once if `token` is rejected with 401, so that a rotated token in state doesn't strand deletes. */
  fallbackToken?: string;
}

type Env = Record<string, string | undefined>;

/**
 * Explicit input wins over the environment, which wins over the default. Tokens are read as flyctl
 * reads them: FLY_API_TOKEN, then FLY_ACCESS_TOKEN.
 */
export function resolveFlyConnection(inputs: FlyConnectionInputs, context: string, env: Env = process.env): FlyConnection {
  const apiUrl = nonEmpty(inputs.apiUrl) ?? nonEmpty(env.FLY_API_URL) ?? flyDefaults.apiUrl;
  if (!/^https?:\/\/[^\s/]+/.test(apiUrl)) {
    throw new Error(
      `${context}: the Fly API URL "${apiUrl}" is not an http(s) URL. Fix \`sophia:flyApiUrl\` or FLY_API_URL, or unset both to use ${flyDefaults.apiUrl}.`,
    );
  }
  const envToken = nonEmpty(env.FLY_API_TOKEN) ?? nonEmpty(env.FLY_ACCESS_TOKEN);
  const explicit = nonEmpty(inputs.apiToken);
  const token = explicit ?? envToken;
  if (!token) {
    throw new Error(
      `${context}: no Fly API token. Set the secret config \`sophia:flyApiToken\` ` +
        "(pulumi config set --secret sophia:flyApiToken, or through the stack's ESC environment) " +
        "or the FLY_API_TOKEN environment variable (a token from `fly tokens create org`).",
    );
  }
  return { apiUrl, token, fallbackToken: explicit && envToken && envToken !== explicit ? envToken : undefined };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
