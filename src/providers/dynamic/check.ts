/**
 * Input checks for every dynamic provider. A value not known yet (preview) is never checked, and
 * no reason quotes an input value: it may be a secret.
 */
import type { z } from "zod";
import { containsUnknown, isUnknown } from "./unknown";

export interface Failure {
  property: string;
  reason: string;
}

/** Validates inputs with a schema, ignoring problems in values that are still unknown. */
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

/** Collects failures one rule at a time, for checks a schema cannot express. */
export class Checker {
  readonly failures: Failure[];

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
