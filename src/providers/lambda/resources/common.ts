/**
 * Pieces every Lambda dynamic provider shares: credentials, unknown values, check failures
 * and diffs. Nothing here holds state of its own, so the providers stay serializable.
 */
import type * as pulumi from "@pulumi/pulumi";
import { ApiError } from "../../http";
import { containsUnknown } from "../../dynamic/unknown";
import { ambientApiKey, lambdaClient, LAMBDA_DEFAULTS, setConfiguredApiKey, type LambdaClient } from "../api/client";

/** Inputs every Lambda resource accepts. */
export interface LambdaAccessArgs {
  /** API key; a secret. @default stack config `sophia:lambdaApiKey`, then env `LAMBDA_API_KEY` */
  apiKey?: pulumi.Input<string>;
  /** API base URL. @default env `LAMBDA_API_URL`, then https://cloud.lambda.ai/api/v1 */
  apiUrl?: pulumi.Input<string>;
}

/** The same, as the provider sees them. */
export interface LambdaAccess {
  apiKey?: string;
  apiUrl?: string;
}

export { containsUnknown } from "../../dynamic/unknown";

/** `configure` shared by all providers: picks up `sophia:lambdaApiKey` from stack config. */
export async function configureFromStack(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
  setConfiguredApiKey(req.config.get(LAMBDA_DEFAULTS.configKey));
}

/**
 * Runs `fn` with a client for the stored credentials. Read and delete only see the key stored at
 * creation; after a key rotation (which deliberately causes no update) that key is revoked, so on
 * `global/invalid-api-key` they retry once with the current key from config or env.
 */
export async function withClient<T>(access: LambdaAccess, fn: (client: LambdaClient) => Promise<T>, rotationFallback = false): Promise<T> {
  try {
    return await fn(lambdaClient(access));
  } catch (err) {
    const current = ambientApiKey();
    const rotated = rotationFallback && access.apiKey && current && current !== access.apiKey;
    if (rotated && err instanceof ApiError && err.code === "global/invalid-api-key") {
      return fn(lambdaClient({ ...access, apiKey: current }));
    }
    throw err;
  }
}

/** Only the access properties of a bag of inputs, without undefined ones. */
export function accessOf(props: LambdaAccess): LambdaAccess {
  const out: LambdaAccess = {};
  if (props.apiKey) out.apiKey = props.apiKey;
  if (props.apiUrl) out.apiUrl = props.apiUrl;
  return out;
}

/** Collects check failures; a value not yet known is never checked. */
export class Checker {
  readonly failures: pulumi.dynamic.CheckFailure[];

  // Assigned in the constructor: Pulumi's closure serializer drops class field initializers.
  constructor() {
    this.failures = [];
  }

  /** Runs `test` unless the value is unknown; records `reason` when it fails. */
  check(property: string, value: unknown, test: boolean | (() => boolean), reason: string): void {
    if (containsUnknown(value)) return;
    const ok = typeof test === "function" ? test() : test;
    if (!ok) this.failures.push({ property, reason });
  }

  requiredString(property: string, value: unknown, maxLength: number): value is string {
    if (containsUnknown(value)) return false;
    if (typeof value !== "string" || value.length === 0) {
      this.failures.push({ property, reason: `${property} is required and must be a non-empty string.` });
      return false;
    }
    if (value.length > maxLength) {
      this.failures.push({ property, reason: `${property} must be at most ${maxLength} characters (got ${value.length}).` });
      return false;
    }
    return true;
  }

  oneOf(property: string, value: unknown, allowed: readonly string[], what: string): void {
    this.check(
      property,
      value,
      () => typeof value === "string" && allowed.includes(value),
      `Unknown ${what} "${String(value)}". Use one of: ${allowed.join(", ")}.`,
    );
  }
}

/** Compares inputs with the stored outputs, property by property; unknown new values count as changed. */
export function diffProps<T extends object>(
  olds: T,
  news: T,
  props: { replace: readonly (keyof T & string)[]; update: readonly (keyof T & string)[] },
): { changed: string[]; replaces: string[] } {
  const changed: string[] = [];
  for (const prop of [...props.replace, ...props.update]) {
    const next = news[prop];
    if (containsUnknown(next) || !sameValue(olds[prop], next)) changed.push(prop);
  }
  return { changed, replaces: changed.filter((prop) => (props.replace as readonly string[]).includes(prop)) };
}

/** Deep equality where undefined, null, [] and {} all mean "not set". */
export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

function normalize(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.map(normalize);
  if (typeof value === "object") {
    const entries = Object.entries(value)
      .map(([k, v]) => [k, normalize(v)] as const)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b));
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  }
  return value;
}

/** Merges resource options so that the given outputs are always stored as secrets. */
export function withSecretOutputs<O extends pulumi.CustomResourceOptions>(opts: O | undefined, outputs: string[]): O {
  return { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...outputs] } as O;
}
