/**
 * Run by serialized-errors.test.ts under tsx (the closure serializer needs CommonJS modules in
 * require.cache). Serializes a provider-shaped object that throws each error class the providers
 * throw, loads the text back as Pulumi's dynamic-provider host would, and prints what each error
 * carries: the host passes only `message` on to the engine.
 */
import * as pulumi from "@pulumi/pulumi";
import { ApiError } from "../../src/providers/http";
import { InsufficientCapacityError } from "../../src/providers/lambda/api/capacity";
import { MissingApiKeyError, WaitTimeoutError } from "../../src/providers/lambda/api/client";

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

async function main(): Promise<void> {
  const serialized = await pulumi.runtime.serializeFunction(() => throwers, { allowSecrets: true });
  const module = { exports: {} as { handler: () => typeof throwers } };
  new Function("exports", "require", "module", serialized.text)(module.exports, require, module);
  const loaded = module.exports.handler();
  const messages: Record<string, unknown> = {};
  for (const [name, thrower] of Object.entries(loaded)) {
    try {
      thrower();
    } catch (err) {
      messages[name] = (err as { message?: unknown }).message;
    }
  }
  console.log(JSON.stringify(messages));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
