/**
 * Every secret the program reads, in one place. Values come from the stack's ESC
 * environment (`values.pulumiConfig`) or `pulumi config set --secret`, and stay Pulumi secrets:
 * nothing here ever reads a value into a plain string.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE } from "../platform";

export interface SecretSpec {
  /** Environment variable name the value is delivered under, where it reaches a service. */
  envName: string;
  /** What it is, for error messages and the ESC templates. */
  description: string;
  /**
   * The ESC environment that holds it when every stack shares one value (environments/esc/<name>.yaml,
   * imported by each stack's own). @default the environment the stack file imports (sophia/<stack> in the templates)
   */
  sharedIn?: string;
  /** Puts the value in the form its users need, inside the secret (e.g. a header's scheme). @default as given */
  normalize?: (value: string) => string;
}

/** The ESC project of the stacks' environments: sophia/dev, sophia/prod, sophia/common. */
export const ESC_PROJECT = "sophia";

export const SECRETS = {
  flyApiToken: { envName: "FLY_API_TOKEN", description: "Fly.io API token (fly tokens create org)" },
  lambdaApiKey: { envName: "LAMBDA_API_KEY", description: "Lambda Cloud API key" },
  openaiApiKey: { envName: "OPENAI_API_KEY", description: "OpenAI API key", sharedIn: "common" },
  anthropicApiKey: { envName: "ANTHROPIC_API_KEY", description: "Anthropic API key", sharedIn: "common" },
  databaseUrl: { envName: "DATABASE_URL", description: "Neon Postgres connection string" },
  redisUrl: { envName: "REDIS_URL", description: "Redis connection string" },
  uiSessionSecret: { envName: "SESSION_SECRET", description: "agent UI server-side session secret" },
  // Monitoring (sophia:monitoring.enabled): read only by the stacks that turn it on.
  flyPrometheusToken: {
    envName: "FLY_PROMETHEUS_AUTHORIZATION",
    description: "read-only Fly token for the metrics API (fly tokens create readonly)",
    // Delivered as the Authorization header's value: `fly tokens create` prints "FlyV1 fm2_…",
    // and a token pasted without its scheme gets it.
    normalize: (token: string) => (/^(FlyV1|Bearer) /.test(token.trim()) ? token.trim() : `FlyV1 ${token.trim()}`),
  },
  pagerdutyRoutingKey: { envName: "PAGERDUTY_ROUTING_KEY", description: "PagerDuty Events API v2 integration key (routing key) for P0/P1 pages" },
  slackWebhookUrl: { envName: "SLACK_WEBHOOK_URL", description: "Slack incoming webhook URL the alerts are posted to" },
  alertHeartbeatUrl: { envName: "ALERT_HEARTBEAT_URL", description: "dead man's switch URL the always-firing watchdog pings (e.g. a healthchecks.io check)" },
  backupAccessKeyId: { envName: "BACKUP_ACCESS_KEY_ID", description: "access key id of the backup bucket (Tigris: fly storage create)" },
  backupSecretAccessKey: { envName: "BACKUP_SECRET_ACCESS_KEY", description: "secret access key of the backup bucket" },
} as const satisfies Record<string, SecretSpec>;

export type SecretKey = keyof typeof SECRETS;
export const SECRET_KEYS = Object.keys(SECRETS) as SecretKey[];

export function isSecretKey(key: string): key is SecretKey {
  return Object.prototype.hasOwnProperty.call(SECRETS, key);
}

/**
 * Secret config keys that a provider package reads by itself, never through `readSecrets`.
 * Keyed by full name because they live outside the `sophia:` namespace.
 */
export const PROVIDER_SECRETS = {
  "vercel:apiToken": { envName: "VERCEL_API_TOKEN", description: "Vercel API token, read by @pulumiverse/vercel" },
} as const satisfies Record<string, SecretSpec>;

export type ProviderSecretKey = keyof typeof PROVIDER_SECRETS;
export const PROVIDER_SECRET_KEYS = Object.keys(PROVIDER_SECRETS) as ProviderSecretKey[];

/**
 * Every secret config key the program and its providers read, fully qualified: the one list that
 * each stack's ESC environment must provide.
 */
export function secretConfigKeys(): { key: string; spec: SecretSpec }[] {
  return [
    ...SECRET_KEYS.map((key) => ({ key: `${CONFIG_NAMESPACE}:${key}`, spec: SECRETS[key] })),
    ...PROVIDER_SECRET_KEYS.map((key) => ({ key, spec: PROVIDER_SECRETS[key] })),
  ];
}

/** Where a stack's secrets are set, for messages: the stack, and the ESC environments its stack file imports. */
export interface SecretHome {
  stack: string;
  /** As the stack file lists them (src/config/stack-environments.ts); none when it imports none. */
  environments: readonly string[];
}

/**
 * The ESC environment that holds a secret, for a stack whose file imports `environments`: the
 * shared one (sophia/common, for the LLM keys) or the file's own, its `name` for `esc env set` and
 * its `text` for a sentence. Undefined when the file imports none: the secret is then set with
 * `pulumi config set --secret` alone.
 */
export function escEnvironmentOf(spec: SecretSpec, environments: readonly string[]): { name: string; text: string } | undefined {
  // A version pin (sophia/dev@stable) reads a fixed revision; values are set on the environment itself.
  const own = [...new Set(environments.map((e) => e.replace(/@.*$/, "")))];
  if (own.length === 0) return undefined;
  if (spec.sharedIn !== undefined) {
    const shared = `${ESC_PROJECT}/${spec.sharedIn}`;
    return { name: shared, text: own.includes(shared) ? shared : `${shared} (shared by every stack; ${own.join(" or ")} imports it)` };
  }
  // Of several, the last takes precedence in Pulumi's merge.
  return { name: own.at(-1)!, text: own.join(" or ") };
}

/**
 * Where to set a secret, to follow "set it": in the stack's ESC environment when its file imports
 * one, else with `pulumi config set --secret` alone.
 */
export function whereToSet(fullKey: string, spec: SecretSpec, home: SecretHome): string {
  const esc = escEnvironmentOf(spec, home.environments);
  const configSet = `pulumi config set --secret ${fullKey} <value> --stack ${home.stack}`;
  return esc ? `in the ESC environment ${esc.text} under values.pulumiConfig."${fullKey}" with fn::secret, or run: ${configSet}` : `with: ${configSet}`;
}

/** The message for a needed secret that is not set: names the key and where to set it, never a value. */
function missingSecretMessage(fullKey: string, spec: SecretSpec, home: SecretHome, neededBy: string, envFallback: boolean): string {
  return `${fullKey} (${spec.description}) is not set; needed by ${neededBy}. Set it ${whereToSet(fullKey, spec, home)}${envFallback ? `, or export ${spec.envName}` : ""}`;
}

/** A blank line in the stack file sets the key to "": refused, never deployed. With ESC, it would also hide ESC's value. */
function blankSecretMessage(fullKey: string, spec: SecretSpec, home: SecretHome): string {
  const esc = escEnvironmentOf(spec, home.environments);
  const file = `Pulumi.${home.stack}.yaml`;
  return esc
    ? `${fullKey} (${spec.description}) is blank in ${file}, which would hide its value from the ESC environment ${esc.text}; delete that line`
    : `${fullKey} (${spec.description}) is blank in ${file}; delete that line and set it ${whereToSet(fullKey, spec, home)}`;
}

/**
 * Reads every needed secret as a Pulumi secret, failing once with every missing key named and
 * where to set it (never a value). `needed` maps each key to what needs it; `providerNeeded` does
 * the same for keys a provider package reads itself, which may also come from its env var.
 */
export function readSecrets(
  needed: Map<SecretKey, string[]>,
  home: SecretHome,
  providerNeeded: Map<ProviderSecretKey, string[]> = new Map(),
): Record<SecretKey, pulumi.Output<string>> {
  const cfg = new pulumi.Config(CONFIG_NAMESPACE);
  const missing: string[] = [];
  const values = {} as Record<SecretKey, pulumi.Output<string>>;
  const isBlank = (fullKey: string) => pulumi.runtime.getConfig(fullKey) === "";
  for (const [key, users] of needed) {
    const value = cfg.getSecret(key);
    if (isBlank(`${CONFIG_NAMESPACE}:${key}`)) missing.push(blankSecretMessage(`${CONFIG_NAMESPACE}:${key}`, SECRETS[key], home));
    else if (value === undefined) missing.push(missingSecretMessage(`${CONFIG_NAMESPACE}:${key}`, SECRETS[key], home, users.join(", "), false));
    else {
      const normalize = (SECRETS[key] as SecretSpec).normalize;
      values[key] = normalize ? value.apply(normalize) : value;
    }
  }
  for (const [fullKey, users] of providerNeeded) {
    const [namespace, name] = fullKey.split(":");
    const spec = PROVIDER_SECRETS[fullKey];
    if (isBlank(fullKey)) missing.push(blankSecretMessage(fullKey, spec, home));
    else if (new pulumi.Config(namespace).getSecret(name) === undefined && !process.env[spec.envName]) {
      missing.push(missingSecretMessage(fullKey, spec, home, users.join(", "), true));
    }
  }
  if (missing.length > 0) throw new Error(`Missing secrets (nothing was created):\n${missing.map((m) => `  - ${m}`).join("\n")}`);
  return values;
}
