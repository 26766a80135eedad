/**
 * The rehearsal's stand-in for Pulumi state: what each resource's provider returned, keyed by the
 * resource's type and name, plus the options destroy needs. Secrets are held in memory only.
 */
import * as pulumi from "@pulumi/pulumi";
import { PROVIDER_KEY } from "./provider-host";

type Props = Record<string, unknown>;

export interface ResourceState {
  type: string;
  name: string;
  id: string;
  /** Inputs after `check`, secrets unwrapped, `__provider` included. */
  inputs: Props;
  /** Outputs as the provider returned them, `__provider` included. */
  outputs: Props;
  /** Keys of resources this one depends on. */
  dependsOn: string[];
  protect: boolean;
  retainOnDelete: boolean;
}

export type DeploymentState = Map<string, ResourceState>;

export function stateKey(type: string, name: string): string {
  return `${type}::${name}`;
}

/** "fly:Machine" from "pulumi-nodejs:dynamic/fly:Machine"; "random:RandomPassword" from "random:index/randomPassword:RandomPassword". */
export function shortKind(type: string): string {
  const [pkg, , member] = type.split(":");
  return `${(pkg === "pulumi-nodejs" ? type.split(":")[1]?.replace(/^dynamic\//, "") : pkg) ?? pkg}:${member ?? ""}`;
}

const { specialSigKey, specialSecretSig } = pulumi.runtime;

function isSecretWrapper(value: unknown): value is { value: unknown } {
  return value !== null && typeof value === "object" && (value as Props)[specialSigKey] === specialSecretSig;
}

/**
 * Secrets removed, as the engine hands inputs to a dynamic provider (the host does not accept
 * secrets); returns the top-level keys that held one, so the outputs can be marked again.
 */
export function unwrapSecrets(inputs: Props): { plain: Props; secretKeys: string[] } {
  const secretKeys: string[] = [];
  const strip = (value: unknown): { value: unknown; secret: boolean } => {
    if (isSecretWrapper(value)) return { value: strip(value.value).value, secret: true };
    if (Array.isArray(value)) {
      const items = value.map(strip);
      return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
    }
    if (value !== null && typeof value === "object") {
      let secret = false;
      const out: Props = {};
      for (const [k, v] of Object.entries(value)) {
        const inner = strip(v);
        out[k] = inner.value;
        secret ||= inner.secret;
      }
      return { value: out, secret };
    }
    return { value, secret: false };
  };
  const plain: Props = {};
  for (const [key, value] of Object.entries(inputs)) {
    const stripped = strip(value);
    plain[key] = stripped.value;
    if (stripped.secret) secretKeys.push(key);
  }
  return { plain, secretKeys };
}

/** Outputs for the program, with secret inputs and `additionalSecretOutputs` marked secret again, as the engine does. */
export function markSecrets(outputs: Props, secretKeys: readonly string[]): Props {
  const out: Props = {};
  for (const [key, value] of Object.entries(outputs)) {
    out[key] = secretKeys.includes(key) && key !== PROVIDER_KEY && value !== undefined ? { [specialSigKey]: specialSecretSig, value } : value;
  }
  return out;
}
