/**
 * Reads `Pulumi.<stack>.yaml` the way the Pulumi CLI hands it to the program: YAML merge keys and
 * anchors resolve (Pulumi parses with go-yaml), a blank or null top-level value is the empty
 * string, any other top-level scalar is its text as written, and a mapping or list is JSON. What the
 * plan cannot do offline (decrypt `secure:` values, evaluate ESC) it leaves out and says so in `notes`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isMap, isScalar, parseDocument, Scalar } from "yaml";
import { nearestName } from "../config/nearest";
import { environmentsOf } from "../config/stack-environments";

export interface StackFile {
  path: string;
  /** ESC environments the stack imports, as written (a version pin such as `@stable` included). */
  environments: string[];
  /** Config as the engine passes it: structured values JSON-encoded, keyed `namespace:key`. */
  config: Record<string, string>;
  /** Keys whose whole value is encrypted in the file (`secure:`); the plan never has their value. */
  secureKeys: string[];
  /** Where this offline reading differs from a real run, in plain sentences. */
  notes: string[];
}

/** Top-level keys Pulumi reads from a stack file; it ignores any other. */
const STACK_FILE_KEYS = ["config", "environment", "mainEnvironment", "secretsprovider", "encryptedkey", "encryptionsalt"];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (v: unknown): v is { [key: string]: Json } => typeof v === "object" && v !== null && !Array.isArray(v);
/** Pulumi's encrypted value: a mapping with the single string key `secure`. */
const isSecure = (v: unknown): boolean => isObject(v) && Object.keys(v).length === 1 && typeof v.secure === "string";

/** Drops encrypted leaves, which the plan cannot decrypt, and records where they were. */
function withoutSecureLeaves(value: Json, at: string, removed: string[]): Json {
  if (Array.isArray(value)) {
    return value.flatMap((item, i) => (isSecure(item) ? (removed.push(`${at}[${i}]`), []) : [withoutSecureLeaves(item, `${at}[${i}]`, removed)]));
  }
  if (!isObject(value)) return value;
  const out: { [key: string]: Json } = {};
  for (const [key, inner] of Object.entries(value)) {
    if (isSecure(inner)) removed.push(`${at}.${key}`);
    else out[key] = withoutSecureLeaves(inner, `${at}.${key}`, removed);
  }
  return out;
}

/** A top-level key Pulumi ignores: refused when it looks like a mistake, noted otherwise (e.g. a key that only holds anchors). */
function checkTopLevelKey(key: string, file: string, notes: string[]): void {
  if (key.includes(":")) throw new Error(`${file}: "${key}" is at the top level, where Pulumi ignores it; indent it under config:`);
  const near = nearestName(key, STACK_FILE_KEYS);
  if (near !== undefined) throw new Error(`${file}: unknown top-level key "${key}", which Pulumi would silently ignore; did you mean "${near}"?`);
  notes.push(`${file}: Pulumi ignores the top-level key "${key}" (fine if it only holds YAML anchors).`);
}

export function readStackFile(projectDir: string, stack: string): StackFile {
  const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) {
    const known = fs.readdirSync(projectDir).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f)).map((f) => f.split(".")[1]);
    throw new Error(`No stack file ${path.basename(file)}. Known stacks: ${known.join(", ") || "none"}`);
  }
  const name = path.basename(file);
  // go-yaml resolves `<<` merge keys; a YAML 1.2 parser does only when asked.
  const doc = parseDocument(fs.readFileSync(file, "utf8"), { merge: true });
  if (doc.errors.length > 0) throw new Error(`${name} is not valid YAML: ${doc.errors[0].message}`);
  const top: unknown = doc.toJS() ?? {};
  if (!isObject(top)) throw new Error(`${name} must be a YAML mapping with a config: section`);

  const notes: string[] = [];
  for (const key of Object.keys(top).filter((k) => !STACK_FILE_KEYS.includes(k))) checkTopLevelKey(key, name, notes);
  const environments = environmentsOf(top, name, notes);
  if (top.config !== undefined && top.config !== null && !isObject(top.config)) {
    throw new Error(`${name}: config must be a mapping of "namespace:key: value" lines`);
  }
  const configNode = doc.get("config", true);
  const config: Record<string, string> = {};
  const secureKeys: string[] = [];
  for (const [key, value] of Object.entries(top.config ?? {})) {
    if (!key.includes(":")) throw new Error(`${name}: config key "${key}" needs a namespace, e.g. "sophia:${key}"`);
    if (isSecure(value)) {
      secureKeys.push(key);
    } else if (value === null) {
      // Pulumi reads a blank or null value as the empty string.
      config[key] = "";
    } else if (typeof value === "object") {
      const removed: string[] = [];
      config[key] = JSON.stringify(withoutSecureLeaves(value, key, removed));
      if (removed.length > 0) {
        notes.push(`${removed.join(", ")} ${removed.length === 1 ? "is" : "are"} encrypted in ${name}; the plan cannot decrypt it and plans as if it were not set.`);
      }
    } else {
      // A plain scalar reaches the program as written (`1.50` stays "1.50"), a quoted one as its value.
      const node = isMap(configNode) ? configNode.get(key, true) : undefined;
      config[key] = isScalar(node) && node.type === Scalar.PLAIN && typeof node.source === "string" ? node.source : String(value);
    }
  }
  return { path: file, environments, config, secureKeys, notes };
}
