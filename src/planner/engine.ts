/**
 * Runs the real program under Pulumi's mock engine (D11) and records every resource it registers.
 * No Pulumi CLI, no credentials, no network. One run per process: the Pulumi runtime is global.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { mockOutputs } from "./mock-outputs";
import { readStackFile } from "./stack-file";
import { valueOf } from "../output-value";
import { secretConfigKeys } from "../config/secrets";
import { OFFLINE_PLAN_ENV } from "../config";
import { prepareOfflineProcess } from "./offline-process";

export const PROJECT_NAME = "sophia";
export const SECRET_MASK = "[secret]";
const UNKNOWN_MASK = "[unknown]";
// How the engine's wire format marks secrets, resource references and unknowns.
const { specialSigKey, specialSecretSig, specialResourceSig, unknownValue } = pulumi.runtime;

export interface RecordedResource {
  urn: string;
  type: string;
  name: string;
  /** URN of the parent; the stack itself has none. */
  parent?: string;
  custom: boolean;
  /** Inputs with every secret replaced by "[secret]" and dynamic-provider internals removed. */
  inputs: Record<string, unknown>;
  protect: boolean;
  retainOnDelete: boolean;
  dependencies: string[];
}

export interface PlanRun {
  stack: string;
  environments: string[];
  resources: RecordedResource[];
  /** Stack outputs, secrets masked. */
  outputs: Record<string, unknown>;
}

/** Placeholder that stands in for an ESC-supplied secret. Tests scan plans for these. */
export function placeholderFor(key: string): string {
  return `plan-placeholder-${key.replace(/[^a-zA-Z0-9]/g, "-")}-7f3a9c`;
}

/** Replaces secrets with a mask and unwraps the mock engine's wire encoding. */
export function maskSecrets(value: unknown): unknown {
  if (value === unknownValue) return UNKNOWN_MASK;
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value === null || typeof value !== "object") return value;
  const obj = value as Record<string, unknown>;
  if (obj[specialSigKey] === specialSecretSig) return SECRET_MASK;
  if (obj[specialSigKey] === specialResourceSig) return obj.urn;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(obj)) {
    if (key === "__provider") continue; // the serialized dynamic provider's code
    out[key] = maskSecrets(inner);
  }
  return out;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProtect(): boolean | undefined;
  getRetainondelete(): boolean | undefined;
  getDependenciesList(): string[];
  getObject(): { toJavaScript(): unknown } | undefined;
}
type Callback = (err: unknown, response: unknown) => void;
type Wire = Record<string, unknown>;

// The engine's protobuf messages, from the copies @pulumi/pulumi itself uses.
const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi"));
/* eslint-disable @typescript-eslint/no-require-imports */
const { Struct } = require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [pulumiDir] })) as {
  Struct: { fromJavaScript(value: Wire): unknown };
};
const { RegisterResourceResponse } = require("@pulumi/pulumi/proto/resource_pb") as {
  RegisterResourceResponse: new () => { setUrn(urn: string): void; setId(id: string): void; setObject(object: unknown): void };
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** The id the mock engine gives a custom resource; components have none. */
const mockId = (name: string, custom: boolean) => (custom ? `${name}-id` : undefined);

/**
 * A mock monitor that records what the standard mocks don't pass on (parents and options), and
 * answers a registration with the inputs as they arrived in the engine's wire form plus the mock
 * outputs. The standard monitor decodes the inputs and encodes them again for the answer, which
 * gives the same wire form back (secrets, unknowns and references stay marked), only slower.
 */
class RecordingMonitor extends MockMonitor {
  readonly recorded: RecordedResource[] = [];

  override async registerResource(req: RegisterRequest, callback: Callback): Promise<void> {
    try {
      const type = req.getType();
      const name = req.getName();
      const custom = req.getCustom();
      const inputs = (req.getObject()?.toJavaScript() ?? {}) as Wire;
      const urn = (this as unknown as { newUrn(parent: string, type: string, name: string): string }).newUrn(req.getParent(), type, name);
      const id = mockId(name, custom);
      const state = { ...inputs, ...mockOutputs(type, name, inputs) };
      this.resources.set(urn, { urn, id: id ?? null, state });
      this.recorded.push({
        urn,
        type,
        name,
        parent: req.getParent() || undefined,
        custom,
        inputs: (maskSecrets(inputs) ?? {}) as Wire,
        protect: req.getProtect() ?? false,
        retainOnDelete: req.getRetainondelete() ?? false,
        dependencies: req.getDependenciesList(),
      });
      const response = new RegisterResourceResponse();
      response.setUrn(urn);
      response.setId(id ?? "");
      response.setObject(Struct.fromJavaScript(state));
      callback(null, response);
    } catch (err) {
      callback(err, undefined);
    }
  }
}

/** The program failed; `registered` lists what it had registered by then (the stack itself excluded). */
export class PlanError extends Error {
  constructor(
    message: string,
    readonly registered: RecordedResource[],
  ) {
    super(message);
    this.name = "PlanError";
  }
}

export interface PlanOptions {
  stack: string;
  projectDir: string;
  /** Directory holding `Pulumi.<stack>.yaml`. @default projectDir */
  stackDir?: string;
  /** Loads the program. @default require("../index"), the program beside this plan tool; tests pass a dynamic import */
  load?: () => Promise<unknown>;
  /** Extra config, e.g. from tests; wins over the stack file. */
  configOverrides?: Record<string, string>;
  /** Secret values to use instead of placeholders, e.g. from tests. */
  secretOverrides?: Record<string, string>;
  /** Secret keys to leave unset, as if ESC did not provide them. */
  omitSecrets?: string[];
}

/** Runs the program once under mocks and returns what it registered. */
export async function runPlan(options: PlanOptions): Promise<PlanRun> {
  const stackFile = readStackFile(options.stackDir ?? options.projectDir, options.stack);
  const secretKeys = secretConfigKeys().map((s) => s.key);
  const config: Record<string, string> = { ...stackFile.config, ...options.configOverrides };
  for (const key of secretKeys) {
    if (!options.omitSecrets?.includes(key)) config[key] = options.secretOverrides?.[key] ?? placeholderFor(key);
  }
  pulumi.runtime.setAllConfig(config, secretKeys);
  process.env[OFFLINE_PLAN_ENV] = "1";
  prepareOfflineProcess();

  const monitor = new RecordingMonitor({
    call: () => ({}),
    // Reads only (registrations are answered by RecordingMonitor itself).
    newResource: (args) => ({
      id: mockId(args.name, args.custom ?? true),
      state: { ...args.inputs, ...mockOutputs(args.type, args.name, args.inputs as Record<string, unknown>) },
    }),
  });
  pulumi.runtime.setMockOptions(monitor, PROJECT_NAME, options.stack, false);

  // A static path, so that it resolves to index.ts under tsx and to index.js in the compiled plan.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = options.load ?? (async () => require("../index") as unknown);
  let stackOutputs: Record<string, unknown> | undefined;
  try {
    stackOutputs = await pulumi.runtime.runInPulumiStack(async () => {
      const loaded = (await load()) as { default?: unknown };
      // `export =` of a promise arrives as the module itself (require) or as `default` (import).
      const exported = await (loaded.default ?? loaded);
      return { ...(exported as Record<string, unknown>) };
    });
    await pulumi.runtime.disconnect();
  } catch (err) {
    throw new PlanError(err instanceof Error ? err.message : String(err), monitor.recorded.filter((r) => r.type !== "pulumi:pulumi:Stack"));
  }

  return {
    stack: options.stack,
    environments: stackFile.environments,
    resources: monitor.recorded,
    outputs: (await resolveOutputs(stackOutputs ?? {})) as Record<string, unknown>,
  };
}

/** Resolves exported Outputs to plain values, masking secrets. */
async function resolveOutputs(outputs: Record<string, unknown>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(outputs)) {
    if (key === "__esModule" || typeof value === "function") continue;
    const output = pulumi.output(value);
    const [resolved, secret] = await Promise.all([valueOf(output), pulumi.isSecret(output)]);
    out[key] = secret ? SECRET_MASK : maskSecrets(resolved);
  }
  return out;
}
