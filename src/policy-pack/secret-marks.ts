/**
 * Keeps the engine's secret marks in what the stack policies see.
 *
 * The engine sends the analyzer every resource with its secrets marked (MarshalOptions{KeepSecrets:
 * true} in pulumi/pulumi's analyzer plugin), but @pulumi/policy 1.21 unwraps them before a stack
 * policy runs (`deserializeProperties(props, false)` in its server.js), so no policy could tell a
 * secret from a plain string. This replaces that one step for validations: secrets read "[secret]"
 * and unknown values "[unknown]", exactly as the offline plan records them. Remediations keep the
 * library's own handling. package.json pins @pulumi/policy to the version this was written for, and
 * test/policy-pack/pack.test.ts drives the library's real analyzeStack through it.
 */
import { maskSecrets } from "../estimate/masking";

interface Struct {
  toJavaScript(): Record<string, unknown>;
}
interface DeserializeModule {
  deserializeProperties(struct: Struct, proxySecrets: boolean): Record<string, unknown>;
}

let installed = false;

export function keepSecretMarks(): void {
  if (installed) return;
  // An internal module of @pulumi/policy, with no typings: the library calls it through this
  // exports object at every analysis, so replacing the property here is what it will call.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const deserialize = require("@pulumi/policy/deserialize") as DeserializeModule;
  const original = deserialize.deserializeProperties;
  if (typeof original !== "function") {
    throw new Error("@pulumi/policy has changed: deserializeProperties is gone. Pin @pulumi/policy to 1.21.0 (src/policy-pack/package.json).");
  }
  deserialize.deserializeProperties = (struct, proxySecrets) => {
    if (proxySecrets) return original(struct, proxySecrets);
    const props: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(struct.toJavaScript())) {
      // As the library does: a property whose value is undefined does not exist.
      if (value !== undefined) props[key] = maskSecrets(value);
    }
    return props;
  };
  installed = true;
}
