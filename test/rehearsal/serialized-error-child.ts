/**
 * Run by serialized-errors.test.ts under tsx (the closure serializer needs CommonJS modules in
 * require.cache). Finds every Error class that a module under src/providers exports, serializes
 * them as a deployed dynamic provider would capture them, loads the text back as Pulumi's
 * dynamic-provider host does, and prints, per class, whether its copy is still an Error; then
 * throws each error class the providers throw from the copy and prints what it carries (the host
 * passes only `message` on to the engine).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ApiError } from "../../src/providers/http";
import { InsufficientCapacityError } from "../../src/providers/lambda/api/capacity";
import { MissingApiKeyError, WaitTimeoutError } from "../../src/providers/lambda/api/client";

type ErrorClass = new (...args: never[]) => Error;

function providerErrorClasses(): Record<string, ErrorClass> {
  const found: Record<string, ErrorClass> = {};
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
  for (const file of walk(path.resolve(__dirname, "../../src/providers"))) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    for (const value of Object.values(require(file) as Record<string, unknown>)) {
      if (typeof value === "function" && value.prototype instanceof Error) found[value.name] = value as ErrorClass;
    }
  }
  return found;
}

const throwers: Record<string, () => never> = {
  ApiError: () => {
    throw new ApiError("create app: 422 name taken", 422, undefined, "create app", "app", "name taken");
  },
  InsufficientCapacityError: () => {
    throw new InsufficientCapacityError("gpu_1x_gh200", "us-west-1", ["us-east-1"]);
  },
  MissingApiKeyError: () => {
    throw new MissingApiKeyError();
  },
  WaitTimeoutError: () => {
    throw new WaitTimeoutError("i-1", ["active"], "booting", 60_000);
  },
};

function load<T>(text: string): T {
  const module = { exports: {} as { handler: () => T } };
  new Function("exports", "require", "module", text)(module.exports, require, module);
  return module.exports.handler();
}

async function main(): Promise<void> {
  const classes = providerErrorClasses();
  const copies = load<Record<string, ErrorClass>>((await pulumi.runtime.serializeFunction(() => classes, { allowSecrets: true })).text);
  const stillErrors = Object.fromEntries(Object.entries(copies).map(([name, copy]) => [name, copy.prototype instanceof Error]));
  const loaded = load<typeof throwers>((await pulumi.runtime.serializeFunction(() => throwers, { allowSecrets: true })).text);
  const thrown: Record<string, { message: unknown; isError: boolean; text: string }> = {};
  for (const [name, thrower] of Object.entries(loaded)) {
    try {
      thrower();
    } catch (err) {
      thrown[name] = { message: (err as { message?: unknown }).message, isError: err instanceof Error, text: String(err) };
    }
  }
  console.log(JSON.stringify({ stillErrors, thrown }));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
