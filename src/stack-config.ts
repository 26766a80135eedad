/**
 * Reads the stack config: merges the stack file's `sophia:` keys onto the chosen profile and
 * validates the result against the one schema (config/schema.ts). Parsed once, before any resource.
 * It reads the profiles, so it sits above environments/ rather than in config/.
 */
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { profiles } from "../environments/profiles";
import { CONFIG_NAMESPACE, FLY_REGIONS, FLY_REGIONS_NEAR_LAMBDA } from "./platform";
import { configKeyProblem } from "./config/namespaces";
import { nearestName } from "./config/nearest";
import { isSecretKey, SECRET_KEYS, SECRETS, whereToSet } from "./config/secrets";
import { stackEnvironments } from "./config/stack-environments";
import { PROFILE_NAMES, stackConfigSchema, type ProfileName, type StackConfig } from "./config/schema";

export * from "./config/schema";

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

const TYPE_NAMES: Record<string, string> = {
  string: "text",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "a mapping of keys to values",
  record: "a mapping of names to values",
};

/**
 * Plain sentences for zod's generic issues; the schema's own messages take precedence over these.
 * The path and the value are added around them by parseStackConfig.
 */
function plainMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type": {
      if (issue.input === undefined) return "is missing";
      const want = TYPE_NAMES[issue.expected] ?? issue.expected;
      const input = issue.input;
      let hint = "";
      if (typeof input === "string" && issue.expected !== "array" && /^(-?\d+(\.\d+)?|true|false)$/.test(input.trim())) hint = "; write it without quotes";
      else if (issue.expected === "string" && (typeof input === "number" || typeof input === "boolean")) hint = `; put it in quotes: "${String(input)}"`;
      else if (issue.expected === "array" && (typeof input === "string" || typeof input === "number")) hint = `; write it as a list: [${String(input)}]`;
      return `must be ${want}${hint}`;
    }
    case "too_small":
      if (issue.origin === "string") return "is blank; give it a value";
      if (issue.origin === "array") return `needs at least ${String(issue.minimum)} item${issue.minimum === 1 ? "" : "s"}`;
      return `must be ${issue.inclusive === false ? "more than" : "at least"} ${String(issue.minimum)}`;
    case "too_big":
      if (issue.origin === "array") return `may have at most ${String(issue.maximum)} items`;
      return `must be ${issue.inclusive === false ? "less than" : "at most"} ${String(issue.maximum)}`;
    case "invalid_value": {
      const allowed = issue.values.map((v) => JSON.stringify(v));
      const lambdaRegion = typeof issue.input === "string" && issue.values.includes(FLY_REGIONS[0]) ? lambdaRegionHint(issue.input) : undefined;
      if (lambdaRegion !== undefined) return `${lambdaRegion}; Fly regions: ${allowed.join(", ")}`;
      const near = typeof issue.input === "string" ? nearestName(issue.input, issue.values.map(String)) : undefined;
      return `must be one of ${allowed.join(", ")}${near !== undefined ? `; did you mean "${near}"?` : ""}`;
    }
    case "invalid_format":
      return issue.format === "starts_with" ? `must start with "${(issue as { prefix?: string }).prefix ?? ""}"` : `is not a valid ${issue.format}`;
    case "not_multiple_of":
      return `must be a multiple of ${String(issue.divisor)}`;
    case "unrecognized_keys":
      return `unknown key ${issue.keys.map((k) => `"${k}"`).join(", ")}, which would be ignored; check its spelling`;
    default:
      return undefined;
  }
}

/** A Lambda region where a Fly region belongs: says so, and names the Fly regions near it. */
function lambdaRegionHint(input: string): string | undefined {
  const near = (FLY_REGIONS_NEAR_LAMBDA as Record<string, readonly string[] | undefined>)[input];
  if (near === undefined) return undefined;
  return `"${input}" is a Lambda region (it belongs in sophia:gpu.region), not a Fly one; the Fly region${near.length === 1 ? "" : "s"} near it: ${near.map((r) => `"${r}"`).join(", ")}`;
}

/** What to do about a required value that is absent: a null in the stack file may have removed the profile's. */
function missingMessage(overrides: Record<string, unknown>, path: PropertyKey[], stack: string): string {
  const removedByNull = path.some((_, i) => valueAt(overrides, path.slice(0, i + 1)) === null);
  return removedByNull
    ? `is required, and a null (or blank) value in Pulumi.${stack}.yaml removed the profile's value; give it a value there, or delete that line to keep the profile's`
    : `is required and neither the profile nor Pulumi.${stack}.yaml sets it; add it to Pulumi.${stack}.yaml`;
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
  const defaults: Record<string, unknown> = { ...profiles[profileName as ProfileName], appPrefix: `sophia-${stack}` };
  // Pulumi reads a blank top-level value as "": refused, since it would become a name like "-weaviate".
  const blanks = Object.keys(overrides).filter((key) => overrides[key] === "");
  const present = Object.fromEntries(Object.entries(overrides).filter(([key]) => !blanks.includes(key)));
  const blankIssues = blanks.map((key) => {
    const fallback = defaults[key] !== undefined ? `, or delete the line to use the default ${describeValue(defaults[key])}` : ", or delete the line";
    return `${formatPath([key])}: is blank in Pulumi.${stack}.yaml; give it a value${fallback}`;
  });
  const merged = deepMerge(defaults as Json, present as Json);
  const result = stackConfigSchema.safeParse(merged, { error: plainMessage });
  if (result.success && blankIssues.length === 0) return result.data;
  // A service the profile does not size is a typo far more often than a new service: one line for
  // it, rather than one per size key it lacks.
  const profileServices = Object.keys((defaults as { services: object }).services);
  const strangers = new Set<string>();
  const kept = (result.error?.issues ?? []).filter((issue) => {
    const [section, service] = issue.path;
    if (section !== "services" || typeof service !== "string" || profileServices.includes(service)) return true;
    strangers.add(service);
    return false;
  });
  const strangerIssues = [...strangers].map(
    (service) =>
      `sophia:services: unknown key "${service}"; allowed keys here: ${profileServices.join(", ")}.` +
      (nearestName(service, profileServices) ? ` Did you mean "${nearestName(service, profileServices)}"?` : "") +
      " Adding a service? " +
      "It needs its definition in components/services.ts and every size key (cpuKind, cpus, memoryMb, ...)",
  );
  const issues = kept.map((issue) => {
    const path = formatPath(issue.path);
    if (issue.code === "unrecognized_keys" || issue.code === "custom") return `${path}: ${issue.message}`;
    const value = valueAt(merged, issue.path);
    if (value === undefined) return `${path}: ${missingMessage(present, issue.path, stack)}`;
    return `${path}: ${issue.message} (got ${describeValue(value)})`;
  });
  throw new ConfigError([...blankIssues, ...strangerIssues, ...issues]);
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

/** A misspelled secret key (`sophia:databaseURL`) would be refused as unknown; this names the secret meant and where it belongs. */
function secretKeyTypo(name: string, stack: string): string | undefined {
  if (isSecretKey(name) || name in stackConfigSchema.shape) return undefined;
  const near = nearestName(name, SECRET_KEYS);
  if (near === undefined || !isSecretKey(near)) return undefined;
  return (
    `${CONFIG_NAMESPACE}:${name}: unknown key, which would be ignored. Did you mean ${CONFIG_NAMESPACE}:${near}? ` +
    `That is a secret: remove it from the stack file and set it ${whereToSet(`${CONFIG_NAMESPACE}:${near}`, SECRETS[near], { stack, environments: stackEnvironments(stack) })}`
  );
}

/** Reads the stack's `sophia:` config (secrets excluded) and parses it. Call once, before any resource. */
export function loadStackConfig(): StackConfig {
  const overrides: Record<string, unknown> = {};
  const keyProblems: string[] = [];
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const [fullKey, raw] of Object.entries(pulumi.runtime.allConfig())) {
    const sophiaKey = fullKey.startsWith(prefix) ? fullKey.slice(prefix.length) : undefined;
    const problem = configKeyProblem(fullKey, decodeConfigValue(raw)) ?? (sophiaKey !== undefined ? secretKeyTypo(sophiaKey, pulumi.getStack()) : undefined);
    if (problem !== undefined) keyProblems.push(problem);
    else if (sophiaKey !== undefined && !isSecretKey(sophiaKey)) overrides[sophiaKey] = decodeConfigValue(raw);
  }
  let config: StackConfig | undefined;
  let issues = keyProblems;
  try {
    config = parseStackConfig(overrides, pulumi.getStack());
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    issues = [...keyProblems, ...err.issues];
  }
  if (config === undefined || issues.length > 0) throw new ConfigError(issues);
  return config;
}
