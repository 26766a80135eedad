/** Reads `Pulumi.<stack>.yaml` the way the Pulumi CLI would hand it to the program. */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

export interface StackFile {
  path: string;
  /** ESC environments the stack imports. */
  environments: string[];
  /** Config as the engine passes it: structured values JSON-encoded, keyed `namespace:key`. */
  config: Record<string, string>;
  /** Keys stored encrypted in the file (`secure:`); their ciphertext is never used offline. */
  secureKeys: string[];
}

export function readStackFile(projectDir: string, stack: string): StackFile {
  const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) {
    const known = fs.readdirSync(projectDir).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f)).map((f) => f.split(".")[1]);
    throw new Error(`No stack file ${path.basename(file)}. Known stacks: ${known.join(", ") || "none"}`);
  }
  const doc = (parse(fs.readFileSync(file, "utf8")) ?? {}) as { environment?: unknown; config?: Record<string, unknown> };
  const environments = Array.isArray(doc.environment)
    ? doc.environment.map(String)
    : typeof doc.environment === "object" && doc.environment !== null && Array.isArray((doc.environment as { imports?: unknown }).imports)
      ? ((doc.environment as { imports: unknown[] }).imports).map(String)
      : [];
  const config: Record<string, string> = {};
  const secureKeys: string[] = [];
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    if (!key.includes(":")) throw new Error(`${path.basename(file)}: config key "${key}" needs a namespace, e.g. "sophia:${key}"`);
    if (value !== null && typeof value === "object" && "secure" in value) {
      secureKeys.push(key);
      continue;
    }
    config[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { path: file, environments, config, secureKeys };
}
