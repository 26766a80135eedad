/**
 * Pieces every Lambda dynamic provider shares: credentials, unknown values, check failures
 * and diffs. Nothing here holds state of its own, so the providers stay serializable.
 */
import type * as pulumi from "@pulumi/pulumi";
import { ApiError } from "../../http";
import { pickCredential, withCredentialFallback } from "../../dynamic/clients";
import { ambientApiKey, lambdaClient, LAMBDA_DEFAULTS, setConfiguredApiKey, type LambdaClient } from "../api/client";

export { Checker } from "../../dynamic/check";
export { diffProps, sameValue } from "../../dynamic/diff";
export { withSecretOutputs, resourceMarker } from "../../dynamic/resource";

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
  const credential = rotationFallback ? pickCredential(access.apiKey, ambientApiKey()) : undefined;
  if (!credential) return fn(lambdaClient(access));
  const rejected = (err: unknown) => err instanceof ApiError && err.code === "global/invalid-api-key";
  return withCredentialFallback(credential, rejected, (apiKey) => fn(lambdaClient({ ...access, apiKey })));
}

/** Only the access properties of a bag of inputs, without undefined ones. */
export function accessOf(props: LambdaAccess): LambdaAccess {
  const out: LambdaAccess = {};
  if (props.apiKey) out.apiKey = props.apiKey;
  if (props.apiUrl) out.apiUrl = props.apiUrl;
  return out;
}

