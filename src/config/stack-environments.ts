/**
 * The ESC environments a stack file imports (`environment:` in `Pulumi.<stack>.yaml`). Messages
 * about a secret name them as where to set it, so they must come from the file, not from the stack's
 * name: a file may import none (secrets set with `pulumi config set --secret`), or import
 * sophia/dev under another stack's name. The offline plan reads the same list from its own copy.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";

/**
 * The stack file the program reads its environments from, set by the offline plan to the file it
 * plans (which --stack-dir may put elsewhere). A real run reads Pulumi.<stack>.yaml beside Pulumi.yaml.
 */
export const STACK_FILE_ENV = "SOPHIA_STACK_FILE";

type Json = { [key: string]: unknown };
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The environments of a parsed stack file, from either form Pulumi accepts: a list of names, or an
 * inline environment definition whose `imports` are names or `{name: {merge: false}}`; then
 * `mainEnvironment`, from which newer Pulumi CLIs also take the stack's config. Notes what the plan
 * cannot evaluate (inline values) in `notes`; throws on a shape Pulumi would refuse.
 */
export function environmentsOf(top: Json, file: string, notes: string[] = []): string[] {
  const environments = listedEnvironments(top.environment, file, notes);
  if (typeof top.mainEnvironment === "string") environments.push(top.mainEnvironment);
  return environments;
}

function listedEnvironments(value: unknown, file: string, notes: string[]): string[] {
  if (value === undefined || value === null) return [];
  const name = (entry: unknown): string => (isObject(entry) && Object.keys(entry).length === 1 ? Object.keys(entry)[0] : String(entry));
  if (Array.isArray(value)) return value.map(name);
  if (!isObject(value)) {
    throw new Error(`${file}: environment must be a list of ESC environment names (e.g. "- sophia/dev") or an environment definition with imports:`);
  }
  const imports = value.imports ?? [];
  if (!Array.isArray(imports)) throw new Error(`${file}: environment.imports must be a list of ESC environment names`);
  if (value.values !== undefined) {
    notes.push(`${file} defines environment values inline; the plan does not evaluate ESC, so a real run may see config (values.pulumiConfig) that this plan does not.`);
  }
  return imports.map(name);
}

/**
 * The environments the stack's file imports, for messages. None when the file cannot be read or
 * parsed: Pulumi has read it already, so a message then only leaves out the ESC half.
 */
export function stackEnvironments(stack: string): string[] {
  const file = process.env[STACK_FILE_ENV] || path.resolve(__dirname, "..", "..", `Pulumi.${stack}.yaml`);
  try {
    const top: unknown = parseDocument(fs.readFileSync(file, "utf8"), { merge: true }).toJS();
    return isObject(top) ? environmentsOf(top, path.basename(file)) : [];
  } catch {
    return [];
  }
}
