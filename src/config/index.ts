/**
 * Reads the stack config: merges the stack file's `sophia:` keys onto the chosen profile and
 * validates the result against the one schema (./schema.ts). Parsed once, before any resource.
 */
import * as pulumi from "@pulumi/pulumi";
import { profiles } from "../../environments/profiles";
import { CONFIG_NAMESPACE } from "../platform";
import { isSecretKey } from "./secrets";
import { PROFILE_NAMES, stackConfigSchema, type ProfileName, type StackConfig } from "./schema";

export * from "./schema";

/** A config problem, with every issue on its own line. Thrown before any resource exists. */
export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid stack config (nothing was created):\n${issues.map((i) => `  - ${i}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Objects merge key by key; arrays and scalars replace; `null` removes a profile value (e.g. a volume). */
function deepMerge(base: Json | undefined, override: Json | undefined): Json | undefined {
  if (override === undefined) return base;
  const isObject = (v: Json | undefined): v is { [key: string]: Json } => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(base) || !isObject(override)) return override;
  const out: { [key: string]: Json } = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === null) delete out[key];
    else out[key] = deepMerge(base[key], value) as Json;
  }
  return out;
}

function formatPath(path: PropertyKey[]): string {
  const [first, ...rest] = path;
  if (first === undefined) return CONFIG_NAMESPACE;
  return rest.reduce<string>((acc, part) => (typeof part === "number" ? `${acc}[${part}]` : `${acc}.${String(part)}`), `${CONFIG_NAMESPACE}:${String(first)}`);
}

function describeValue(value: unknown): string {
  if (value === undefined) return "missing";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>((node, key) => (node !== null && typeof node === "object" ? (node as Record<PropertyKey, unknown>)[key] : undefined), root);
}

/**
 * Merges the stack's overrides onto its profile and validates the result.
 * `overrides` holds the non-secret `sophia:` keys without their namespace, already JSON-decoded.
 */
export function parseStackConfig(overrides: Record<string, unknown>, stack: string): StackConfig {
  const profileName = overrides.profile;
  if (!PROFILE_NAMES.includes(profileName as ProfileName)) {
    throw new ConfigError([
      `sophia:profile: ${describeValue(profileName)} is not a profile; allowed: ${PROFILE_NAMES.join(", ")}. Set it in Pulumi.${stack}.yaml`,
    ]);
  }
  const defaults = { ...profiles[profileName as ProfileName], appPrefix: `sophia-${stack}` };
  const merged = deepMerge(defaults as unknown as Json, overrides as Json);
  const result = stackConfigSchema.safeParse(merged);
  if (result.success) return result.data;
  // A service the profile does not size is a typo far more often than a new service: one line for
  // it, rather than one per size key it lacks.
  const profileServices = Object.keys(defaults.services);
  const strangers = new Set<string>();
  const issues = result.error.issues.filter((issue) => {
    const [section, service] = issue.path;
    if (section !== "services" || typeof service !== "string" || profileServices.includes(service)) return true;
    strangers.add(service);
    return false;
  });
  throw new ConfigError([
    ...[...strangers].map(
      (service) =>
        `sophia:services: unknown key "${service}"; the profile's services are ${profileServices.join(", ")}. ` +
        "A new service needs its definition in components/services.ts and every size key (cpuKind, cpus, memoryMb, ...)",
    ),
    ...issues.map((issue) => {
      const path = formatPath(issue.path);
      if (issue.code === "unrecognized_keys" || issue.code === "custom") return `${path}: ${issue.message}`;
      return `${path}: ${issue.message} (got ${describeValue(valueAt(merged, issue.path))})`;
    }),
  ]);
}

/** Decodes one raw config string the way `pulumi.Config.getObject` would, keeping plain strings as they are. */
export function decodeConfigValue(raw: string): unknown {
  const trimmed = raw.trim();
  if (/^[[{]/.test(trimmed) || /^(true|false|-?\d+(\.\d+)?)$/.test(trimmed)) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return raw;
    }
  }
  return raw;
}

/** Reads the stack's `sophia:` config (secrets excluded) and parses it. Call once, before any resource. */
export function loadStackConfig(): StackConfig {
  const overrides: Record<string, unknown> = {};
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const [fullKey, raw] of Object.entries(pulumi.runtime.allConfig())) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    if (!isSecretKey(key)) overrides[key] = decodeConfigValue(raw);
  }
  return parseStackConfig(overrides, pulumi.getStack());
}
