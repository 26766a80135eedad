/**
 * Where an S3-compatible endpoint is and how the providers reach it: the defaults (Tigris), the
 * endpoint rule (a host, never a URL) and the tuning tests may turn.
 */
import type { RetryPolicy } from "../../http";

export const s3Defaults = {
  /** Tigris, Fly's object storage, which replicates across regions. */
  endpoint: "fly.storage.tigris.dev",
  region: "auto",
  retry: { maxAttempts: 6, maxTotalMs: 60_000, baseDelayMs: 250, maxDelayMs: 10_000 } satisfies RetryPolicy,
  requestTimeoutMs: 30_000,
} as const;

/** host or host:port, the form Weaviate's BACKUP_S3_ENDPOINT and our inputs take. */
export const S3_ENDPOINT = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/i;

/** Why `endpoint` is not a host[:port], or undefined when it is one. */
export function endpointProblem(endpoint: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) {
    const host = endpoint.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/.*$/, "");
    return `"${endpoint}" has a scheme; give the host alone ("${host}") and say TLS with useSsl (true for https, false for http)`;
  }
  if (!S3_ENDPOINT.test(endpoint)) return `"${endpoint}" is not a host or host:port such as "${s3Defaults.endpoint}" or "127.0.0.1:4568"`;
  return undefined;
}

/** What every S3 resource accepts for reaching its endpoint. Keys are secrets. */
export interface S3ConnectionInputs {
  /** host[:port], no scheme. @default fly.storage.tigris.dev */
  endpoint?: string;
  /** https when true. @default true */
  useSsl?: boolean;
  /** Signing region. @default "auto" (Tigris) */
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

export interface S3Tuning {
  retry?: RetryPolicy;
  requestTimeoutMs?: number;
}

// Plain data only: Pulumi captures module state when it serializes a provider.
let tuningOverride: S3Tuning | undefined;

/** Shorter retries for tests and the rehearsal. Never called by the program. */
export function setS3ClientTuning(tuning: S3Tuning | undefined): void {
  tuningOverride = tuning;
}

export function s3Tuning(): Required<S3Tuning> {
  return { retry: tuningOverride?.retry ?? s3Defaults.retry, requestTimeoutMs: tuningOverride?.requestTimeoutMs ?? s3Defaults.requestTimeoutMs };
}
