/**
 * Process settings for the offline plan, applied before @pulumi/pulumi and zod load where possible (the
 * `npm run plan` launcher does that; the engine applies them again, which is then a no-op).
 * Imports nothing from Pulumi, so that requiring it loads nothing slow.
 */
import Module from "node:module";

/**
 * Installs `exports` as the module at `request`. Best before anything requires it; afterwards it
 * still takes effect for code that requires the module at call time, as Pulumi's dynamic
 * resources do with the serializer.
 */
function stubModule(request: string, exports: Record<string, unknown>): void {
  const modulePath = require.resolve(request);
  const stub = new Module(modulePath);
  stub.filename = modulePath;
  stub.loaded = true;
  stub.exports = exports;
  require.cache[modulePath] = stub;
}

const notOffline = (what: string) => () => {
  throw new Error(`${what} is not available in the offline plan`);
};

/**
 * Pulumi's runtime index loads the closure serializer and the code-path finder eagerly, and they
 * pull in TypeScript and npm's package tooling (about half of a plan's time). The plan never runs
 * a dynamic provider's code and drops it from the report, so serializing it returns empty text;
 * code paths are only for function serialization into cloud functions, which the program has none of.
 */
export function prepareOfflineProcess(): void {
  stubModule("@pulumi/pulumi/runtime/closure/serializeClosure", {
    serializeFunction: async () => ({ text: "", exportName: "handler", containsSecrets: false }),
    serializeFunctionAsync: notOffline("serializeFunctionAsync"),
  });
  stubModule("@pulumi/pulumi/runtime/closure/codePaths", {
    computeCodePaths: notOffline("computeCodePaths"),
    findWorkspaceRoot: notOffline("findWorkspaceRoot"),
  });
  // zod loads all of its ~60 message locales eagerly as `z.locales`, which nothing here reads;
  // its English messages load on their own. Skipped if a zod release moves the file.
  try {
    stubModule("zod/v4/locales", {});
  } catch {
    // not stubbed: slower, same plan
  }
  // Pulumi records a stack trace for every promise and resource, which the plan never reads and
  // which is a third of its time (source-mapped, more).
  process.setSourceMapsEnabled(false);
  Error.stackTraceLimit = 0;
}
