/**
 * The ESC templates in environments/esc/ and the program agree: each stack's environment,
 * with its imports, provides exactly the secret config keys the program reads, every one of them
 * as a secret, and the stack files import the matching environment. Offline: only YAML is read.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { readStackFile } from "../src/planner/stack-file";
import { escEnvironmentOf, secretConfigKeys, type SecretSpec } from "../src/config/secrets";
import { decodeConfigValue, parseStackConfig } from "../src/stack-config";
import { usesVercel } from "../components/edge";
import { planServices } from "../components/platform-services";
import { SERVICE_DEFINITIONS } from "../components/services";
import { neededSecrets } from "../src/program";

const ROOT = path.resolve(__dirname, "..");
const ESC_DIR = path.join(ROOT, "environments", "esc");
/** ESC project that holds the environments: `sophia/<file name>`. */
const ESC_PROJECT = "sophia";
const STACKS = ["dev", "prod"] as const;
/** Keys whose values CI tools and the providers' env fallbacks need as environment variables. */
const CI_CREDENTIAL_KEYS = ["sophia:flyApiToken", "sophia:lambdaApiKey", "vercel:apiToken"];
const PLACEHOLDER = /^REPLACE_ME_/;

type Values = Record<string, unknown>;
interface EscTemplate {
  imports: string[];
  values: Values;
}
type Templates = Map<string, EscTemplate>;

/** Asserts an empty list of problems; on failure the headline lists them, names included. */
function expectNone(problems: string[]): void {
  expect(problems, problems.join("\n")).toEqual([]);
}

const isObject = (v: unknown): v is Values => typeof v === "object" && v !== null && !Array.isArray(v);
/** A single-key `fn::…` object is a value, not a map to merge or walk into. */
const fnName = (v: unknown): string | undefined => {
  if (!isObject(v)) return undefined;
  const keys = Object.keys(v);
  return keys.length === 1 && keys[0].startsWith("fn::") ? keys[0] : undefined;
};

function parseTemplate(name: string, text: string): EscTemplate {
  const doc: unknown = parse(text) ?? {};
  if (!isObject(doc)) throw new Error(`${name}: not a YAML mapping`);
  const unknownTop = Object.keys(doc).filter((k) => k !== "imports" && k !== "values");
  if (unknownTop.length > 0) throw new Error(`${name}: unknown top-level key(s) ${unknownTop.join(", ")}; ESC allows imports and values`);
  const rawImports = doc.imports ?? [];
  if (!Array.isArray(rawImports)) throw new Error(`${name}: imports must be a list`);
  // An import is a name, or `{ name: { merge: false } }`.
  const imports = rawImports.map((entry: unknown) => (isObject(entry) ? Object.keys(entry)[0] : String(entry)));
  const values = doc.values ?? {};
  if (!isObject(values)) throw new Error(`${name}: values must be a mapping`);
  return { imports, values };
}

function loadTemplates(dir: string): Templates {
  const templates: Templates = new Map();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort()) {
    const name = `${ESC_PROJECT}/${path.basename(file, ".yaml")}`;
    templates.set(name, parseTemplate(name, fs.readFileSync(path.join(dir, file), "utf8")));
  }
  return templates;
}

/** The environment's imports (depth first, in order) followed by the environment itself. */
function importChain(env: string, templates: Templates, seen: string[] = []): string[] {
  if (seen.includes(env)) throw new Error(`import cycle: ${[...seen, env].join(" -> ")}`);
  const template = templates.get(env);
  if (template === undefined) {
    const by = seen.length > 0 ? `${seen[seen.length - 1]} imports ${env}, but` : "";
    throw new Error(`${by} there is no template for ${env} (expected environments/esc/${env.split("/").pop()}.yaml)`.trim());
  }
  const chain = template.imports.flatMap((imported) => importChain(imported, templates, [...seen, env]));
  return [...chain.filter((e, i) => chain.indexOf(e) === i && e !== env), env];
}

/** ESC merges imported values under the importer's own: maps merge, anything else is replaced. */
function deepMerge(base: unknown, override: unknown): unknown {
  if (!isObject(base) || !isObject(override) || fnName(base) || fnName(override)) return override;
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = deepMerge(base[key], value);
  return out;
}

function mergedValues(env: string, templates: Templates): Values {
  return importChain(env, templates).reduce<Values>((acc, e) => deepMerge(acc, templates.get(e)?.values) as Values, {});
}

/** Which environment in the chain supplies each pulumiConfig key (the last one wins). */
function providedConfig(env: string, templates: Templates): Map<string, string> {
  const provided = new Map<string, string>();
  for (const e of importChain(env, templates)) {
    const config = templates.get(e)?.values.pulumiConfig;
    if (isObject(config)) for (const key of Object.keys(config)) provided.set(key, e);
  }
  return provided;
}

/** `${a.b["c:d"][0]}` as a whole value → ["a", "b", "c:d", "0"]; anything else → undefined. */
function bareReference(value: unknown): string[] | undefined {
  if (typeof value !== "string") return undefined;
  const whole = /^\$\{(.+)\}$/.exec(value);
  if (whole === null) return undefined;
  const parts: string[] = [];
  const token = /^(?:\.?([A-Za-z_][\w-]*)|\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\])/;
  let rest = whole[1];
  while (rest.length > 0) {
    const m = token.exec(rest);
    if (m === null) return undefined;
    parts.push(m[1] ?? m[2] ?? m[3]);
    rest = rest.slice(m[0].length);
  }
  return parts;
}

type Resolved = { kind: "secret" } | { kind: "open"; provider: string } | { kind: "plain"; value: unknown } | { kind: "missing"; at: string };

/** Follows references until a value; a path that enters an `fn::open::…` call is that provider's output. */
function resolve(value: unknown, root: Values, depth = 0): Resolved {
  const fn = fnName(value);
  if (fn === "fn::secret") return { kind: "secret" };
  if (fn?.startsWith("fn::open")) return { kind: "open", provider: fn };
  const ref = bareReference(value);
  if (ref === undefined || depth > 10) return { kind: "plain", value };
  let node: unknown = root;
  for (const [i, part] of ref.entries()) {
    const inner = fnName(node);
    if (inner?.startsWith("fn::open")) return { kind: "open", provider: inner };
    if (!isObject(node) && !Array.isArray(node)) return { kind: "missing", at: ref.slice(0, i + 1).join(".") };
    node = (node as Record<string, unknown>)[part];
    if (node === undefined) return { kind: "missing", at: ref.slice(0, i + 1).join(".") };
  }
  return resolve(node, root, depth + 1);
}

const READ = new Map<string, SecretSpec>(secretConfigKeys().map(({ key, spec }) => [key, spec]));

function stackConfigOf(stack: string) {
  const overrides = Object.fromEntries(
    Object.entries(readStackFile(ROOT, stack).config).filter(([key]) => key.startsWith("sophia:")).map(([key, raw]) => [key.slice("sophia:".length), decodeConfigValue(raw)]),
  );
  return parseStackConfig(overrides, stack);
}

/** The secret keys a stack's program run reads, as the program itself works them out from the stack's config. */
function neededBy(stack: string): Map<string, SecretSpec> {
  const config = stackConfigOf(stack);
  const { needed, vercel } = neededSecrets(SERVICE_DEFINITIONS, config, planServices(config, SERVICE_DEFINITIONS));
  const keys = new Set([...[...needed.keys()].map((key) => `sophia:${key}`), ...vercel.keys()]);
  return new Map([...READ].filter(([key]) => keys.has(key)));
}

/** Keys the program reads that the environment does not provide, and keys it provides that nobody reads. */
function coverageProblems(env: string, templates: Templates, read: Map<string, SecretSpec> = READ): string[] {
  const provided = providedConfig(env, templates);
  const missing = [...read].filter(([key]) => !provided.has(key)).map(
    ([key, spec]) => `${key} (${spec.description}) is read by the program but ${env} does not provide it under values.pulumiConfig`,
  );
  const orphaned = [...provided].filter(([key]) => !READ.has(key)).map(
    ([key, from]) => `${key} is provided by ${from} but the program never reads it: remove it, or move non-secret stack config to Pulumi.<stack>.yaml`,
  );
  return [...missing, ...orphaned];
}

/** Each pulumiConfig value, as the environment evaluates it, must be fn::secret or come from fn::open. */
function secrecyProblems(env: string, templates: Templates): string[] {
  const root = mergedValues(env, templates);
  const config = isObject(root.pulumiConfig) ? root.pulumiConfig : {};
  return Object.entries(config).flatMap(([key, value]) => {
    const r = resolve(value, root);
    if (r.kind === "secret" || r.kind === "open") return [];
    if (r.kind === "missing") return [`${key} in ${env} refers to ${r.at}, which is not defined`];
    return [`${key} in ${env} is not wrapped in fn::secret (or taken from an fn::open provider)`];
  });
}

/** environmentVariables mirror pulumiConfig secrets, under the env name the catalog gives them. */
function environmentVariableProblems(env: string, templates: Templates, read: Map<string, SecretSpec> = READ): string[] {
  const root = mergedValues(env, templates);
  const vars = isObject(root.environmentVariables) ? root.environmentVariables : {};
  const problems = Object.entries(vars).flatMap(([name, value]) => {
    const ref = bareReference(value);
    const key = ref?.length === 2 && ref[0] === "pulumiConfig" ? ref[1] : undefined;
    if (key === undefined) return [`${name} in ${env} must be a reference like \${pulumiConfig["sophia:…"]}, so the value lives in one place`];
    const spec = READ.get(key);
    if (spec === undefined) return [`${name} in ${env} refers to ${key}, which the program does not read`];
    return spec.envName === name ? [] : [`${name} in ${env} carries ${key}, whose variable is ${spec.envName}`];
  });
  const needed = CI_CREDENTIAL_KEYS.filter((key) => read.has(key)).map((key) => READ.get(key)?.envName ?? key).filter((name) => !(name in vars));
  return [...problems, ...needed.map((name) => `${env} does not export ${name}, which CI needs`)];
}

/** Every fn::secret literal anywhere in a template. */
function secretLiterals(node: unknown, at = "values"): { at: string; value: unknown }[] {
  if (Array.isArray(node)) return node.flatMap((v, i) => secretLiterals(v, `${at}[${i}]`));
  if (!isObject(node)) return [];
  if (fnName(node) === "fn::secret") return [{ at, value: node["fn::secret"] }];
  return Object.entries(node).flatMap(([k, v]) => secretLiterals(v, `${at}.${k}`));
}

const templates = loadTemplates(ESC_DIR);
const fixture = (text: string): Templates => new Map([["sophia/test", parseTemplate("sophia/test", text)]]);

describe("ESC templates (environments/esc)", () => {
  it("holds one template per environment: common, dev and prod", () => {
    expect([...templates.keys()].sort()).toEqual(["sophia/common", "sophia/dev", "sophia/prod"]);
  });

  it("dev uses no Vercel, so its environment asks for no Vercel token; prod does", () => {
    expect([usesVercel(stackConfigOf("dev").edge), usesVercel(stackConfigOf("prod").edge)]).toEqual([false, true]);
    expect(providedConfig("sophia/dev", templates).has("vercel:apiToken")).toBe(false);
  });

  it("dev runs no monitoring, so its environment asks for no alerting secret; prod does", () => {
    const alerting = ["sophia:flyPrometheusToken", "sophia:slackWebhookUrl", "sophia:alertHeartbeatUrl"];
    expect([stackConfigOf("dev").monitoring.enabled, stackConfigOf("prod").monitoring.enabled]).toEqual([false, true]);
    expect(alerting.filter((key) => providedConfig("sophia/dev", templates).has(key))).toEqual([]);
    expect(alerting.filter((key) => providedConfig("sophia/prod", templates).has(key))).toEqual(alerting);
  });

  it.each(STACKS)("sophia/%s with its imports provides every secret key its stack reads, and no other", (stack) => {
    expectNone(coverageProblems(`sophia/${stack}`, templates, neededBy(stack)));
  });

  it.each(STACKS)("for %s, every secret's missing-secret message names the environment that holds it", (stack) => {
    const provided = providedConfig(`sophia/${stack}`, templates);
    const named = (spec: SecretSpec) => escEnvironmentOf(spec, readStackFile(ROOT, stack).environments)?.name;
    const wrong = [...neededBy(stack)]
      .filter(([key, spec]) => provided.get(key) !== named(spec))
      .map(([key, spec]) => `${key}: the message names ${named(spec) ?? "none"}, the templates keep it in ${provided.get(key) ?? "none"}`);
    expect(READ.size).toBeGreaterThan(0);
    expectNone(wrong);
  });

  it.each(STACKS)("sophia/%s imports sophia/common for the shared values", (stack) => {
    expect(importChain(`sophia/${stack}`, templates)).toEqual(["sophia/common", `sophia/${stack}`]);
  });

  it.each(STACKS)("sophia/%s wraps every pulumiConfig value in fn::secret or takes it from fn::open", (stack) => {
    expectNone(secrecyProblems(`sophia/${stack}`, templates));
  });

  it.each(STACKS)("sophia/%s exports the CI credentials as environment variables mapped from pulumiConfig", (stack) => {
    expectNone(environmentVariableProblems(`sophia/${stack}`, templates, neededBy(stack)));
  });

  it("the templates hold placeholders, never a real secret", () => {
    const literals = [...templates].flatMap(([name, t]) => secretLiterals(t.values).map((l) => ({ ...l, name })));
    expect(literals.length).toBeGreaterThan(0);
    const real = literals.filter((l) => typeof l.value !== "string" || !PLACEHOLDER.test(l.value)).map((l) => `${l.name} ${l.at}`);
    expectNone(real);
  });
});

describe("stack files and ESC", () => {
  it.each(STACKS)("Pulumi.%s.yaml imports the matching environment, which has a template", (stack) => {
    const environments = readStackFile(ROOT, stack).environments;
    expect(environments).toContain(`sophia/${stack}`);
    for (const env of environments) expect(templates.has(env), `no template for ${env}`).toBe(true);
  });

  it.each(STACKS)("Pulumi.%s.yaml sets no secret key, so it cannot shadow the ESC value", (stack) => {
    const file = readStackFile(ROOT, stack);
    const keys = [...Object.keys(file.config), ...file.secureKeys].filter((key) => READ.has(key));
    expectNone(keys);
  });
});

describe("the agreement check itself", () => {
  const allKeys = (except: string) =>
    [...READ.keys()].filter((k) => k !== except).map((k) => `    ${k}:\n      fn::secret: REPLACE_ME_x`).join("\n");

  it("a missing key fails with its name", () => {
    const problems = coverageProblems("sophia/test", fixture(`values:\n  pulumiConfig:\n${allKeys("sophia:redisUrl")}\n`));
    expect(problems).toEqual([expect.stringMatching(/^sophia:redisUrl \(Redis connection string\) is read by the program but sophia\/test does not provide it/)]);
  });

  it("an orphaned key fails with its name", () => {
    const text = `values:\n  pulumiConfig:\n${allKeys("")}\n    sophia:profile: single-user-lax\n`;
    expect(coverageProblems("sophia/test", fixture(text))).toEqual([expect.stringMatching(/^sophia:profile is provided by sophia\/test but the program never reads it/)]);
  });

  it("a plain value for a secret key fails with its name", () => {
    const problems = secrecyProblems("sophia/test", fixture(`values:\n  pulumiConfig:\n    sophia:databaseUrl: REPLACE_ME_x\n`));
    expect(problems).toEqual(["sophia:databaseUrl in sophia/test is not wrapped in fn::secret (or taken from an fn::open provider)"]);
  });

  it("a reference into an fn::open provider counts as a secret", () => {
    const text = [
      "values:",
      "  store:",
      "    fn::open::aws-secrets:",
      "      region: us-west-2",
      "      get:",
      "        fly:",
      "          secretId: sophia/fly",
      "  pulumiConfig:",
      "    sophia:flyApiToken: ${store.fly}",
    ].join("\n");
    expectNone(secrecyProblems("sophia/test", fixture(text)));
  });

  it("an import with no template fails with the import's name", () => {
    expect(() => importChain("sophia/test", fixture("imports:\n  - sophia/shared\nvalues: {}\n"))).toThrow(
      "sophia/test imports sophia/shared, but there is no template for sophia/shared",
    );
  });
});
