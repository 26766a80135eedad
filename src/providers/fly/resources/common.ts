/**
 * Helpers shared by the Fly dynamic providers: unknown-aware validation, diffs, and a client per
 * operation. Nothing here may hold a socket, timer or zod instance at module level, because
 * Pulumi serializes the providers' closures (see schemas.ts).
 */
import type { z } from "zod";
import { FlyClient } from "../api/client";
import type { FlyConnectionInputs } from "../api/connection";
import { containsUnknown, isUnknown } from "../../dynamic/unknown";

export { containsUnknown, isUnknown, UNKNOWN } from "../../dynamic/unknown";

export interface Failure {
  property: string;
  reason: string;
}

/**
 * Validates inputs with a schema, ignoring problems in values that are still unknown (preview).
 * Reasons never quote input values: they may be secrets.
 */
export function validate<T>(schema: z.ZodType<T>, input: unknown): { value?: T; failures: Failure[] } {
  const parsed = schema.safeParse(input);
  if (parsed.success) return { value: parsed.data, failures: [] };
  const failures: Failure[] = [];
  for (const issue of parsed.error.issues) {
    const path = issue.path.map(String);
    if (pathTouchesUnknown(input, path)) continue;
    const keys = issue.code === "unrecognized_keys" ? ` (${issue.keys.join(", ")})` : "";
    failures.push({ property: path.join(".") || "(inputs)", reason: `${issue.message}${keys}` });
  }
  return { failures };
}

function pathTouchesUnknown(input: unknown, path: string[]): boolean {
  let current: unknown = input;
  if (isUnknown(current)) return true;
  for (const key of path) {
    if (!current || typeof current !== "object") return false;
    current = (current as Record<string, unknown>)[key];
    if (isUnknown(current)) return true;
  }
  return containsUnknown(current);
}

/** Structural equality for JSON-like values, treating missing and undefined keys alike. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => deepEqual(item, b[i]));
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
    for (const key of keys) if (!deepEqual(ra[key], rb[key])) return false;
    return true;
  }
  return false;
}

/** The properties among `keys` whose new value differs from the old one (or isn't known yet). */
export function changedKeys<T extends object>(olds: Partial<T>, news: Partial<T>, keys: readonly (keyof T)[]): string[] {
  return keys.filter((key) => containsUnknown(news[key]) || !deepEqual(olds[key], news[key])).map(String);
}

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
