/**
 * Secrets stay Pulumi secrets: every field that carries a credential is a secret, and no
 * secret config value appears in plain text in any resource, wherever it travelled.
 */
import { describe, isUnknown, POLICY_TYPES, SECRET_MASK } from "./inspect";
import type { PolicyResource, SophiaPolicy, Violation } from "./types";

/** Shorter values match too much by accident (a secret "true" would be "found" everywhere). */
const MIN_SCANNED_LENGTH = 8;

const VERCEL_ENV = "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable";

/** The fields of a resource that carry a credential, by dotted path. */
function credentialFields(resource: PolicyResource): [string, unknown][] {
  const inputs = resource.inputs as Record<string, Record<string, unknown> | undefined>;
  const { type } = resource;
  if (type.startsWith("pulumi-nodejs:dynamic/fly:")) {
    const fields: [string, unknown][] = [["apiToken", inputs.apiToken]];
    if (type === POLICY_TYPES.secrets && inputs.values && typeof inputs.values === "object") {
      fields.push(...Object.entries(inputs.values).map(([key, value]): [string, unknown] => [`values.${key}`, value]));
    }
    return fields;
  }
  if (type.startsWith("pulumi-nodejs:dynamic/lambda:")) return [["apiKey", inputs.apiKey]];
  if (type === POLICY_TYPES.dockerImage) return [["registry.password", inputs.registry?.password]];
  if (type === POLICY_TYPES.remoteCommand) return [["connection.privateKey", inputs.connection?.privateKey], ["connection.password", inputs.connection?.password]];
  if (type === VERCEL_ENV && (inputs.sensitive as unknown) === true) return [["value", inputs.value]];
  return [];
}

/** Every string in a value, with its dotted path. */
function strings(value: unknown, path: string): [string, string][] {
  if (typeof value === "string") return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${path}[${i}]`));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => strings(v, path === "" ? k : `${path}.${k}`));
  }
  return [];
}

const FIX = "pass it as a Pulumi secret (pulumi.secret(), config.requireSecret(), or a secret from src/config/secrets.ts), never as a plain string";

export const secretsStaySecret: SophiaPolicy = {
  name: "secrets-stay-secret",
  description: "Every credential a resource receives is a Pulumi secret, and no secret config value appears in plain text in any resource.",
  enforcement: () => "mandatory",
  check({ resources, secretValues }) {
    const scanned = secretValues.filter((s) => s.value.length >= MIN_SCANNED_LENGTH);
    return resources.flatMap((resource): Violation[] => {
      const plainPaths = credentialFields(resource)
        .filter(([, value]) => typeof value === "string" && value !== "" && value !== SECRET_MASK && !isUnknown(value))
        .map(([path]) => path);
      const plainCredentials = plainPaths.map((path) => ({
        urn: resource.urn,
        message: `${describe(resource)} receives ${path} as plain text, so it would be stored unencrypted in the state and shown in previews. Fix: ${FIX}.`,
      }));
      // A plain credential field that holds a config secret is one problem, said once (above).
      const leaks = strings(resource.inputs, "")
        .filter(([path]) => !plainPaths.includes(path))
        .flatMap(([path, text]) =>
          scanned
            .filter((secret) => text.includes(secret.value))
            .map((secret) => ({
              urn: resource.urn,
              message:
                `${describe(resource)} carries the value of ${secret.key} in plain text at ${path}, so it would be stored ` +
                `unencrypted in the state and shown in previews. Fix: ${FIX}.`,
            })),
        );
      return [...plainCredentials, ...leaks];
    });
  },
};
