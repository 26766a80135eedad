/**
 * Two checks on secret config that run before the first resource exists:
 * - a key the project treats as secret must arrive as a Pulumi secret; a plain-text value means it
 *   sits in the stack file (and so in git) or in ESC without fn::secret;
 * - a secret must not still hold the ESC template's placeholder, or a deploy would hand
 *   `REPLACE_ME_…` to Fly, Lambda or Vercel as a credential.
 * Messages name keys and where to fix them, never a value.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE } from "../platform";
import { escEnvironmentOf, PROVIDER_SECRETS, SECRETS, secretConfigKeys, whereToSet, type ProviderSecretKey, type SecretHome, type SecretKey, type SecretSpec } from "./secrets";

/** How every secret in environments/esc/*.yaml starts until someone fills it in. */
export const ESC_PLACEHOLDER_PREFIX = "REPLACE_ME_";

/**
 * The SDK's own record of which config keys are secret (set by the CLI from the stack file's
 * `secure:` values and ESC's fn::secret, and by the mock engine). It is exported at runtime but
 * marked internal, so it is missing from the typings.
 */
function isConfigSecret(key: string): boolean {
  const check = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
  if (typeof check !== "function") {
    throw new Error("This version of @pulumi/pulumi no longer exports runtime.isConfigSecret, so plain-text secrets cannot be detected; pin @pulumi/pulumi to a version that does");
  }
  return check(key);
}

function plainTextMessage(key: string, spec: SecretSpec, home: SecretHome): string {
  const file = `Pulumi.${home.stack}.yaml`;
  const where = home.environments.length > 0 ? `in ${file} or in ESC without fn::secret` : `in ${file}`;
  return (
    `${key} (${spec.description}) is set in plain text, ${where}. ` +
    `Remove it from ${file} and set it ${whereToSet(key, spec, home)}. If the file was ever committed, rotate the credential.`
  );
}

function placeholderMessage(key: string, spec: SecretSpec, home: SecretHome): string {
  const esc = escEnvironmentOf(spec, home.environments);
  const fill = esc
    ? `Set the real value in the ESC environment ${esc.name}: esc env set <your-org>/${esc.name} 'pulumiConfig["${key}"]' <value> --secret`
    : `Set the real value with: pulumi config set --secret ${key} <value> --stack ${home.stack}`;
  return `${key} (${spec.description}) still holds the ESC template placeholder ${ESC_PLACEHOLDER_PREFIX}…. ${fill}`;
}

/** Refuses every secret key whose value arrives in plain text. Checks all secret keys, needed or not. */
export function assertNoPlainTextSecrets(home: SecretHome): void {
  const config = pulumi.runtime.allConfig();
  // A blank line holds no secret; reading the secrets names it with its own fix (delete the line).
  const plain = secretConfigKeys().filter(({ key }) => config[key] !== undefined && config[key] !== "" && !isConfigSecret(key));
  if (plain.length > 0) {
    throw new Error(`Secrets in plain text (nothing was created):\n${plain.map(({ key, spec }) => `  - ${plainTextMessage(key, spec, home)}`).join("\n")}`);
  }
}

/**
 * Stops the run if any needed secret still holds an ESC placeholder. A key a provider package reads
 * itself is also checked in its env var, the provider's fallback.
 */
export function assertNoPlaceholderSecrets(needed: Iterable<SecretKey>, providerNeeded: Iterable<ProviderSecretKey>, home: SecretHome): void {
  const isPlaceholder = (value: string | undefined) => value?.startsWith(ESC_PLACEHOLDER_PREFIX) === true;
  const unfilled = [
    ...[...needed].map((key) => ({ key: `${CONFIG_NAMESPACE}:${key}`, spec: SECRETS[key] as SecretSpec })),
    ...[...providerNeeded].map((key) => ({ key, spec: PROVIDER_SECRETS[key] as SecretSpec })),
  ].filter(({ key, spec }) => isPlaceholder(pulumi.runtime.getConfig(key)) || (key in PROVIDER_SECRETS && isPlaceholder(process.env[spec.envName])));
  if (unfilled.length > 0) {
    throw new Error(`Secrets not filled in (nothing was created):\n${unfilled.map(({ key, spec }) => `  - ${placeholderMessage(key, spec, home)}`).join("\n")}`);
  }
}
