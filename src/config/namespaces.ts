/**
 * Config namespaces something actually reads. Pulumi hands every key to the program and to each
 * provider, and each reads only its own, so a key in any other namespace (`sopiha:appPrefix`) is
 * silently ignored and the defaults deploy. The program refuses such keys instead.
 */
import { CONFIG_NAMESPACE } from "../platform";
import { nearestName } from "./nearest";

/**
 * Each namespace and the keys read there; `undefined` where the keys are checked elsewhere (the
 * program's own, by the schema) or belong to Pulumi itself (`pulumi:tags`, ...). The provider lists
 * are the settings of the installed packages (test/config.test.ts keeps them in step).
 */
export const CONFIG_NAMESPACES: Record<string, { reader: string; keys?: readonly string[] }> = {
  [CONFIG_NAMESPACE]: { reader: "this program" },
  vercel: { reader: "the Vercel provider (@pulumiverse/vercel)", keys: ["apiToken", "team"] },
  docker: {
    reader: "the Docker provider (@pulumi/docker), which builds images",
    keys: ["caMaterial", "certMaterial", "certPath", "context", "disableDockerDaemonCheck", "host", "keyMaterial", "registryAuth", "sshOpts"],
  },
  pulumi: { reader: "Pulumi itself" },
};

/** A problem with a config key's name (namespace, provider setting, dotted path), or undefined. */
export function configKeyProblem(fullKey: string, value?: unknown): string | undefined {
  const colon = fullKey.indexOf(":");
  const namespace = fullKey.slice(0, colon);
  const name = fullKey.slice(colon + 1);
  const known = CONFIG_NAMESPACES[namespace];
  if (known === undefined) {
    const namespaces = Object.keys(CONFIG_NAMESPACES);
    const near = nearestName(namespace, namespaces);
    const fix = near !== undefined ? `Did you mean ${near}:${name}?` : `Rename it to ${CONFIG_NAMESPACE}:${name} if it is this program's setting, or remove it.`;
    return `${fullKey}: nothing reads the config namespace "${namespace}", so this value would be ignored and the default deployed. ${fix} Namespaces read here: ${namespaces.join(", ")}.`;
  }
  if (namespace === CONFIG_NAMESPACE && /[.[]/.test(name)) {
    const [top] = name.split(/[.[]/);
    const example = Array.isArray(value) ? `'${fullKey}[0]' ${String(value[0] ?? "<value>")}` : `'${fullKey}' ${typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? String(value) : "<value>"}`;
    return (
      `${fullKey}: in a stack file, a dot or bracket is part of the key's name, not a path, so this value would be ignored. ` +
      `Nest it under ${namespace}:${top} instead, or let Pulumi write it: pulumi config set --path ${example}`
    );
  }
  if (known.keys !== undefined && !known.keys.includes(name)) {
    const near = nearestName(name, known.keys);
    return `${fullKey}: ${known.reader} has no setting "${name}", so this value would be ignored.${near !== undefined ? ` Did you mean ${namespace}:${near}?` : ""} Its settings: ${known.keys.join(", ")}.`;
  }
  return undefined;
}
