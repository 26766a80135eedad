/**
 * Every secret the program reads, in one place (D12). Values come from the stack's ESC
 * environment (`values.pulumiConfig`) or `pulumi config set --secret`, and stay Pulumi secrets:
 * nothing here ever reads a value into a plain string.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE } from "./config";

export interface SecretSpec {
  /** Environment variable name the value is delivered under, where it reaches a service. */
  envName: string;
  /** What it is, for error messages and the ESC templates. */
  description: string;
}

export const SECRETS = {
  flyApiToken: { envName: "FLY_API_TOKEN", description: "Fly.io API token (fly tokens create org)" },
  lambdaApiKey: { envName: "LAMBDA_API_KEY", description: "Lambda Cloud API key" },
  openaiApiKey: { envName: "OPENAI_API_KEY", description: "OpenAI API key" },
  anthropicApiKey: { envName: "ANTHROPIC_API_KEY", description: "Anthropic API key" },
  databaseUrl: { envName: "DATABASE_URL", description: "Neon Postgres connection string" },
  redisUrl: { envName: "REDIS_URL", description: "Redis connection string" },
  uiSessionSecret: { envName: "SESSION_SECRET", description: "agent UI server-side session secret" },
} as const satisfies Record<string, SecretSpec>;

export type SecretKey = keyof typeof SECRETS;
export const SECRET_KEYS = Object.keys(SECRETS) as SecretKey[];

export function isSecretKey(key: string): key is SecretKey {
  return Object.prototype.hasOwnProperty.call(SECRETS, key);
}

/**
 * Secret config keys that a provider package reads by itself, never through `requireSecret`.
 * Keyed by full name because they live outside the `sophia:` namespace.
 */
export const PROVIDER_SECRETS = {
  "vercel:apiToken": { envName: "VERCEL_API_TOKEN", description: "Vercel API token, read by @pulumiverse/vercel" },
} as const satisfies Record<string, SecretSpec>;

export type ProviderSecretKey = keyof typeof PROVIDER_SECRETS;
export const PROVIDER_SECRET_KEYS = Object.keys(PROVIDER_SECRETS) as ProviderSecretKey[];

/**
 * Every secret config key the program and its providers read, fully qualified: the one list that
 * each stack's ESC environment must provide. A function, not a constant, because config.ts and
 * this module import each other and CONFIG_NAMESPACE may not exist yet while this one loads.
 */
export function secretConfigKeys(): { key: string; spec: SecretSpec }[] {
  return [
    ...SECRET_KEYS.map((key) => ({ key: `${CONFIG_NAMESPACE}:${key}`, spec: SECRETS[key] })),
    ...PROVIDER_SECRET_KEYS.map((key) => ({ key, spec: PROVIDER_SECRETS[key] })),
  ];
}

/** The message for a declared secret that is not set: names the key and where to set it, never a value. */
export function missingSecretMessage(key: SecretKey, stack: string, neededBy: string): string {
  const full = `${CONFIG_NAMESPACE}:${key}`;
  return (
    `${full} (${SECRETS[key].description}) is not set, and ${neededBy} needs it. ` +
    `Set it in the ESC environment sophia/${stack} under values.pulumiConfig."${full}" with fn::secret, ` +
    `or run: pulumi config set --secret ${full} <value> --stack ${stack}`
  );
}

/** Reads a secret as a Pulumi secret, failing with a message that says where to set it. */
export function requireSecret(key: SecretKey, neededBy: string): pulumi.Output<string> {
  const value = new pulumi.Config(CONFIG_NAMESPACE).getSecret(key);
  if (value === undefined) throw new Error(missingSecretMessage(key, pulumi.getStack(), neededBy));
  return value;
}
