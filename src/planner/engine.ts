/**
 * Runs the real program under Pulumi's mock engine and records every resource it registers.
 * No Pulumi CLI, no credentials, no network. The Pulumi runtime is global: one run per process,
 * unless a run reloads the program (`reload`, as the rehearsal does for each of its phases).
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { maskSecrets, SECRET_MASK } from "../estimate/masking";
import { mockOutputs } from "./mock-outputs";
import { readStackFile } from "./stack-file";
import { valueOf } from "../output-value";
import { secretConfigKeys } from "../config/secrets";
import { STACK_FILE_ENV } from "../config/stack-environments";
import type { SecretValue } from "../policies/types";
import { CONFIG_NAMESPACE } from "../platform";
import { ConfigError, decodeConfigValue, parseStackConfig } from "../stack-config";
import { prepareOfflineProcess } from "./offline-process";
import { messageOf } from "../providers/dynamic/errors";

export const PROJECT_NAME = "sophia";
export { SECRET_MASK, maskSecrets };

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
  /** Inputs whose changes are ignored (e.g. machines in a region lost to an outage). */
  ignoreChanges?: string[];
}

export interface PlanRun {
  stack: string;
  environments: string[];
  resources: RecordedResource[];
  /** Stack outputs, secrets masked. */
  outputs: Record<string, unknown>;
  /** The secret config values the program ran with (placeholders unless a test gave some), for the secrets policy. */
  secretValues: SecretValue[];
  /** Where this offline plan differs from a real run, in plain sentences. */
  notes: string[];
  /** The config keys the stack file itself sets (the rest come from the profile or ESC). */
  stackFileKeys: string[];
}

/** Placeholder that stands in for an ESC-supplied secret. Tests scan plans for these. */
export function placeholderFor(key: string): string {
  return `plan-placeholder-${key.replace(/[^a-zA-Z0-9]/g, "-")}-7f3a9c`;
}

interface RegisterRequest {
  getAdditionalsecretoutputsList(): string[];
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProtect(): boolean | undefined;
  getRetainondelete(): boolean | undefined;
  getDependenciesList(): string[];
  getIgnorechangesList(): string[];
  getObject(): { toJavaScript(): unknown } | undefined;
}
type Callback = (err: unknown, response: unknown) => void;
type Wire = Record<string, unknown>;

/** What a resource hook learns about one registration: the mock engine's arguments and the options it drops. */
export interface Registration {
  type: string;
  name: string;
  custom: boolean;
  /** Inputs as the engine would receive them: secrets wrapped, a dynamic resource's `__provider` included. */
  inputs: Record<string, unknown>;
  dependencies: string[];
  protect: boolean;
  retainOnDelete: boolean;
  additionalSecretOutputs: string[];
  /** Inputs whose changes the engine ignores: their values stay those in state. */
  ignoreChanges: string[];
}

/** Answers a registration in place of the mock outputs, e.g. by running the resource's real provider. */
export type ResourceHook = (registration: Registration) => Promise<{ id: string | undefined; state: Record<string, unknown> }>;


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
 * gives the same wire form back (secrets, unknowns and references stay marked), only slower. With a
 * resource hook (the rehearsal) registrations go through the standard path to the hook instead.
 */
class RecordingMonitor extends MockMonitor {
  readonly recorded: RecordedResource[] = [];
  /** Options of registrations in flight, by type and name, for the resource hook. */
  readonly pending = new Map<string, Omit<Registration, "inputs">>();
  /** Registrations go to a resource hook (the rehearsal) rather than the plan's fast answer. */
  hooked = false;

  override async registerResource(req: RegisterRequest, callback: Callback): Promise<void> {
    if (this.hooked) return this.registerThroughHook(req, callback);
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
        ...(req.getIgnorechangesList().length > 0 ? { ignoreChanges: req.getIgnorechangesList() } : {}),
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

  private registerThroughHook(req: RegisterRequest, callback: Callback): Promise<void> {
    this.pending.set(`${req.getType()}::${req.getName()}`, {
      type: req.getType(),
      name: req.getName(),
      custom: req.getCustom(),
      dependencies: req.getDependenciesList(),
      protect: req.getProtect() ?? false,
      retainOnDelete: req.getRetainondelete() ?? false,
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      ignoreChanges: req.getIgnorechangesList(),
    });
    return super.registerResource(req, (err: unknown, response: unknown) => {
      if (!err && response) {
        const urn = (response as { getUrn(): string }).getUrn();
        this.recorded.push({
          urn,
          type: req.getType(),
          name: req.getName(),
          parent: req.getParent() || undefined,
          custom: req.getCustom(),
          inputs: (maskSecrets(req.getObject()?.toJavaScript() ?? {}) ?? {}) as Record<string, unknown>,
          protect: req.getProtect() ?? false,
          retainOnDelete: req.getRetainondelete() ?? false,
          dependencies: req.getDependenciesList(),
        });
      }
      callback(err, response);
    });
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
  /**
   * Answers each registration instead of the plan's mock outputs. With a hook, dynamic providers
   * are serialized as for a real deployment and the program's real-world checks run.
   * @default the plan's mock outputs
   */
  resourceHook?: ResourceHook;
  /**
   * Loads the project's modules afresh, so that one process can run the program more than once.
   * @default true on every run in a process after its first
   */
  reload?: boolean;
}

/**
 * Drops the program's modules (not the providers') from the require cache: the program registers
 * its resources when loaded, and keeping the providers keeps their serialized form cached. The
 * program is the one beside this file: the project's sources, or the plan's compiled copy of them.
 */
function forgetProgramModules(): void {
  const programRoot = path.resolve(__dirname, "..", "..");
  for (const file of Object.keys(require.cache)) {
    const rel = path.relative(programRoot, file);
    const parts = rel.split(path.sep);
    if (rel.startsWith("..") || path.isAbsolute(rel) || parts.includes("node_modules") || (parts[0] === "src" && parts[1] === "providers")) continue;
    delete require.cache[file];
  }
}

/** Runs of the program in this process so far: a run after the first loads the program afresh. */
let runs = 0;

/**
 * Validates the user's own values of the keys the plan overrides, as the program's config parse
 * would, and throws its ConfigError (only for those keys: the program reports the rest itself).
 */
function assertOverriddenKeysValid(config: Record<string, string>, keys: string[], stack: string): void {
  const given = keys.filter((key) => key in config);
  if (given.length === 0) return;
  const prefix = `${CONFIG_NAMESPACE}:`;
  const overrides = Object.fromEntries(
    Object.entries(config)
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, raw]) => [key.slice(prefix.length), decodeConfigValue(raw)]),
  );
  try {
    parseStackConfig(overrides, stack);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const issues = err.issues.filter((issue) => given.some((key) => issue.startsWith(`${key}:`) || issue.startsWith(`${key}.`)));
    if (issues.length > 0) throw new ConfigError(issues);
  }
}

/** Runs the program once under mocks and returns what it registered. */
export async function runPlan(options: PlanOptions): Promise<PlanRun> {
  const stackFile = readStackFile(options.stackDir ?? options.projectDir, options.stack);
  const fileName = path.basename(stackFile.path);
  const hook = options.resourceHook;
  // The plan has no cloud to check against, whatever the stack file says; a rehearsal (a resource
  // hook) has the emulators, so its checks run.
  const preflight: Record<string, string> = hook ? {} : { [`${CONFIG_NAMESPACE}:preflightChecks`]: "false" };
  const requested = { ...stackFile.config, ...options.configOverrides };
  // A real run reads the user's value of every key the plan replaces: refuse here what it would refuse.
  assertOverriddenKeysValid(requested, Object.keys(preflight), options.stack);
  const config: Record<string, string> = { ...requested, ...preflight };
  const notes = [...stackFile.notes];
  if (stackFile.environments.length > 0) {
    const several = stackFile.environments.length > 1;
    notes.push(`The ESC environment${several ? "s" : ""} ${stackFile.environments.join(", ")} ${several ? "are" : "is"} not opened offline: the secrets ${several ? "they supply" : "it supplies"} are placeholders, shown as [secret].`);
  }
  const secretKeys = secretConfigKeys().map((s) => s.key);
  const placeheld: string[] = [];
  const secretValues: SecretValue[] = [];
  // A real run gets a secret from the stack's ESC environment or from the file's own `secure:`
  // value; with neither, it has none, and the program says so. The plan stands in a placeholder
  // only where a real run would have a value.
  const escSupplies = stackFile.environments.length > 0;
  const unsupplied: string[] = [];
  for (const key of secretKeys) {
    if (key in config) {
      // As in a real run, the file's value wins over ESC and reaches the program as plain text, so
      // the program's own guard refuses it; the plan never hides it behind a placeholder.
      notes.push(`${key} is written in plain text in ${fileName}, so the value is in your git history. Keep it in the stack's ESC environment or set it with: pulumi config set --secret ${key}`);
    } else if (options.omitSecrets?.includes(key)) {
      continue;
    } else if (options.secretOverrides?.[key] !== undefined || escSupplies || stackFile.secureKeys.includes(key)) {
      config[key] = options.secretOverrides?.[key] ?? placeholderFor(key);
      placeheld.push(key);
      secretValues.push({ key, value: config[key] });
    } else {
      unsupplied.push(key);
    }
  }
  const encryptedSecrets = stackFile.secureKeys.filter((k) => secretKeys.includes(k));
  if (encryptedSecrets.length > 0) {
    notes.push(`${encryptedSecrets.join(", ")} ${encryptedSecrets.length === 1 ? "is" : "are"} encrypted (secure:) in ${fileName}; a real run decrypts ${encryptedSecrets.length === 1 ? "it" : "them"}, the plan uses placeholders.`);
  }
  if (unsupplied.length > 0 && !escSupplies) {
    notes.push(`${fileName} imports no ESC environment, so a real run has only the secrets the file itself holds (secure:); the plan leaves ${unsupplied.join(", ")} unset as well.`);
  }
  for (const key of stackFile.secureKeys.filter((k) => !secretKeys.includes(k))) {
    notes.push(`${key} is encrypted (secure:) in ${fileName}; the plan cannot decrypt it and plans as if it were not set.`);
  }
  pulumi.runtime.setAllConfig(config, placeheld);
  if (!hook) prepareOfflineProcess();
  if (options.reload ?? runs > 0) forgetProgramModules();
  runs++;

  const monitor: RecordingMonitor = new RecordingMonitor({
    call: () => ({}),
    // With a hook, registrations reach it here; without, only reads do (RecordingMonitor answers registrations itself).
    newResource: (args) => {
      const inputs = args.inputs as Record<string, unknown>;
      const registration = monitor.pending.get(`${args.type}::${args.name}`);
      if (hook && registration) return hook({ ...registration, inputs });
      return { id: mockId(args.name, args.custom ?? true), state: { ...inputs, ...mockOutputs(args.type, args.name, inputs) } };
    },
  });
  monitor.hooked = hook !== undefined;
  pulumi.runtime.setMockOptions(monitor, PROJECT_NAME, options.stack, false);

  // A static path, so that it resolves to index.ts under tsx and to index.js in the compiled plan.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = options.load ?? (async () => require("../index") as unknown);
  // The program's own outputs, Outputs and all: runInPulumiStack hands back resolved values, which
  // no longer say which of them are secrets.
  let stackOutputs: Record<string, unknown> | undefined;
  // The program names the ESC environments of the file planned, which --stack-dir may put elsewhere.
  const stackFileBefore = process.env[STACK_FILE_ENV];
  process.env[STACK_FILE_ENV] = stackFile.path;
  try {
    await pulumi.runtime.runInPulumiStack(async () => {
      const loaded = (await load()) as { default?: unknown };
      // `export =` of a promise arrives as the module itself (require) or as `default` (import).
      const exported = await (loaded.default ?? loaded);
      stackOutputs = { ...(exported as Record<string, unknown>) };
      return stackOutputs;
    });
    await pulumi.runtime.disconnect();
  } catch (err) {
    throw new PlanError(messageOf(err), monitor.recorded.filter((r) => r.type !== "pulumi:pulumi:Stack"));
  } finally {
    if (stackFileBefore === undefined) delete process.env[STACK_FILE_ENV];
    else process.env[STACK_FILE_ENV] = stackFileBefore;
  }

  return {
    stack: options.stack,
    environments: stackFile.environments,
    resources: monitor.recorded,
    outputs: (await resolveOutputs(stackOutputs ?? {})) as Record<string, unknown>,
    secretValues,
    notes,
    stackFileKeys: [...Object.keys(stackFile.config), ...stackFile.secureKeys],
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
