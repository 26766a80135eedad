/**
 * What the Fly dynamic providers share beyond the kit (../../dynamic): connection inputs, a client
 * per operation, name rules. Nothing here may hold a socket, timer or zod instance at module
 * level, because Pulumi serializes the providers' closures (see schemas.ts).
 */
import { FlyClient } from "../api/client";
import type { FlyConnectionInputs } from "../api/connection";

export { containsUnknown, isUnknown, UNKNOWN } from "../../dynamic/unknown";
export { validate, type Failure } from "../../dynamic/check";
export { changedKeys, sameValue } from "../../dynamic/diff";

/** Only the connection inputs, to carry into outputs so that read and delete can reach the API later. */
export function connectionOf(inputs: FlyConnectionInputs): FlyConnectionInputs {
  return {
    ...(inputs.apiToken ? { apiToken: inputs.apiToken } : {}),
    ...(inputs.apiUrl ? { apiUrl: inputs.apiUrl } : {}),
  };
}

/** A client for one provider operation; explicit inputs win over the environment. */
export function flyClient(inputs: FlyConnectionInputs, context: string, redact: string[] = []): FlyClient {
  return new FlyClient({ apiToken: inputs.apiToken, apiUrl: inputs.apiUrl, context, redact });
}

/** Drops undefined values so outputs and request bodies stay clean. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Fly names (apps) are lowercase letters, digits and dashes. */
export const APP_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const REGION = /^[a-z]{3}$/;
