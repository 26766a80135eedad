/**
 * The engine's placeholder for an input not known until apply (pulumi.runtime.unknownValue). A
 * literal rather than an import: it is captured when Pulumi serializes a dynamic provider.
 */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** The value itself is not known yet. */
export function isUnknown(value: unknown): boolean {
  return value === UNKNOWN;
}

/** The value, or anything inside it, is not known yet. */
export function containsUnknown(value: unknown): boolean {
  if (isUnknown(value)) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}
