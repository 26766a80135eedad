/**
 * Pulumi's wire format (as the mock engine and the policy analyzer both receive resources) turned
 * into plain data: secrets become "[secret]", unknown values "[unknown]", resource references their
 * URN. The offline plan and the policy pack read resources through this one function.
 */
import * as pulumi from "@pulumi/pulumi";

export const SECRET_MASK = "[secret]";
export const UNKNOWN_MASK = "[unknown]";
// How the engine's wire format marks secrets, resource references and unknowns.
const { specialSigKey, specialSecretSig, specialResourceSig, unknownValue } = pulumi.runtime;

/** Replaces secrets with a mask and unwraps the engine's wire encoding. */
export function maskSecrets(value: unknown): unknown {
  if (value === unknownValue) return UNKNOWN_MASK;
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value === null || typeof value !== "object") return value;
  const obj = value as Record<string, unknown>;
  if (obj[specialSigKey] === specialSecretSig) return SECRET_MASK;
  if (obj[specialSigKey] === specialResourceSig) return obj.urn;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(obj)) {
    if (key === "__provider") continue; // the serialized dynamic provider's code
    out[key] = maskSecrets(inner);
  }
  return out;
}
