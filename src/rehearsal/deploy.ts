/**
 * One `pulumi up` or `pulumi destroy`, the way the engine would run it, with the program under the
 * mock engine (src/planner/engine.ts) and every dynamic resource's serialized provider called for
 * real: check, then create, or diff and update/replace against the state. A registration is
 * answered only when its operation is done, so the program's own dependencies order the
 * operations and independent ones run at once, as in a deployment.
 */
import { mockOutputs } from "../planner/mock-outputs";
import { PlanError, runPlan, type RecordedResource, type Registration, type ResourceHook } from "../planner/engine";
import { messageOf } from "../providers/dynamic/errors";
import { PROVIDER_KEY, type ProviderHost } from "./provider-host";
import { markSecrets, shortKind, stateKey, unwrapSecrets, type DeploymentState, type ResourceState } from "./state";
import { operationLabel, WatchdogExpired, type Watchdog } from "./watchdog";

export type Action = "create" | "update" | "replace" | "same" | "delete" | "retain" | "adopt" | "dropped";

export interface OperationEvent {
  action: Action;
  key: string;
  kind: string;
  name: string;
  /** Real time the operation took. */
  ms: number;
}

export interface ProgramSettings {
  stack: string;
  projectDir: string;
  configOverrides: Record<string, string>;
  secretOverrides: Record<string, string>;
  host: ProviderHost;
}

export interface UpOptions extends ProgramSettings {
  state: DeploymentState;
  onEvent(event: OperationEvent): void;
  /** Stop once this many creates are recorded: the next create acts but is not recorded, later ones never start. */
  interruptAfterCreates?: number;
  /** Ids that existed before this run; a create that returns one of them adopted it. */
  existingIds?: ReadonlySet<string>;
  /** Bounds the run and knows what it waits for; without one the run waits as long as it takes. */
  watchdog?: Watchdog;
}

export interface UpResult {
  /** Every resource the program registered (custom and component), with its dependencies. */
  registered: RecordedResource[];
  /** Resources that are not dynamic: answered with the plan's outputs, not rehearsed. */
  notRehearsed: { kind: string; name: string }[];
  /** Real time of each resource's operation in this run, by state key. */
  durations: Map<string, number>;
  /** Set when the run stopped: the program's or a provider's error, or the watchdog's word that it did not end in time. */
  error?: string;
  interrupted: boolean;
  /** The watchdog stopped the run: `error` says what it was waiting for. */
  timedOut?: boolean;
}

const INTERRUPTED = "the rehearsal interrupted this run";

class Interrupted extends Error {
  constructor() {
    super(INTERRUPTED);
  }
}

/** A delete that did not run because one it waits for failed (reported once, there). */
class Skipped extends Error {}

/**
 * A failed registration rejects promises in the Pulumi SDK that nobody awaits (the CLI would report
 * the error and exit). The run's own result already carries the failure, so while a run is going
 * those rejections are not fatal; anything else still is.
 */
function toleratingFailedRegistrations<T>(run: () => Promise<T>): Promise<T> {
  const existing = process.listeners("unhandledRejection");
  const tolerate = (reason: unknown, promise: Promise<unknown>) => {
    if (reason instanceof Error && reason.message.includes("failed to register new resource")) return;
    if (existing.length === 0) throw reason;
    for (const listener of existing) listener(reason, promise);
  };
  process.removeAllListeners("unhandledRejection");
  process.on("unhandledRejection", tolerate);
  return run().finally(() => {
    // Late rejections of this run arrive within a few turns of the event loop.
    setTimeout(() => {
      process.removeListener("unhandledRejection", tolerate);
      for (const listener of existing) process.on("unhandledRejection", listener);
    }, 100);
  });
}

/** `urn:pulumi:stack::project::parent$type::name` → the state key of that resource. */
export function keyOfUrn(urn: string): string {
  const parts = urn.split("::");
  const type = (parts[2] ?? "").split("$").pop() ?? "";
  return stateKey(type, parts.slice(3).join("::"));
}

/** Dependencies as state keys of custom resources: a component stands for everything under it. */
export function customDependencies(registered: RecordedResource[]): Map<string, string[]> {
  const children = new Map<string, RecordedResource[]>();
  for (const r of registered) if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
  const byUrn = new Map(registered.map((r) => [r.urn, r]));
  const expand = (urn: string): string[] => {
    const r = byUrn.get(urn);
    if (!r) return [];
    if (r.custom) return [keyOfUrn(urn)];
    return (children.get(urn) ?? []).flatMap((c) => expand(c.urn));
  };
  const out = new Map<string, string[]>();
  for (const r of registered) {
    if (!r.custom || r.type === "pulumi:pulumi:Stack") continue;
    out.set(keyOfUrn(r.urn), [...new Set(r.dependencies.flatMap(expand))]);
  }
  return out;
}

export async function up(options: UpOptions): Promise<UpResult> {
  const { state, host, watchdog } = options;
  const notRehearsed: UpResult["notRehearsed"] = [];
  const durations = new Map<string, number>();
  const inflight = new Set<Promise<unknown>>();
  const seen = new Set<string>();
  let recordedCreates = 0;
  let interrupted = false;
  const failures: string[] = [];
  // A failed or interrupted create leaves whatever depends on its outputs waiting forever under the
  // mock engine (Pulumi never settles the outputs of a resource whose inputs failed), and the
  // program with them; the Pulumi CLI ends the update at its first failure, and so does a rehearsal.
  let failRun: (err: Error) => void = () => undefined;
  const firstFailure = new Promise<never>((_, reject) => (failRun = reject));
  firstFailure.catch(() => undefined);

  const operate = async (reg: Registration): Promise<{ id: string | undefined; state: Record<string, unknown> }> => {
    const key = stateKey(reg.type, reg.name);
    const serialized = reg.inputs[PROVIDER_KEY];
    if (!reg.custom || typeof serialized !== "string") {
      if (reg.custom) notRehearsed.push({ kind: shortKind(reg.type), name: reg.name });
      return { id: reg.custom ? `${reg.name}-id` : undefined, state: { ...reg.inputs, ...mockOutputs(reg.type, reg.name, reg.inputs) } };
    }
    seen.add(key);
    if (interrupted) throw new Interrupted();
    const step = (operation: string) => watchdog?.doing(key, operationLabel(reg.type, reg.name, operation));
    step("load provider");
    const provider = await host.load(serialized);
    const { plain, secretKeys } = unwrapSecrets(reg.inputs);
    const old = state.get(key);
    // As the engine does with ignoreChanges: an ignored input keeps its value from state.
    for (const ignored of old ? reg.ignoreChanges : []) if (ignored in old!.inputs) plain[ignored] = old!.inputs[ignored];
    step("check");
    const checked = provider.check ? await provider.check(old?.inputs ?? {}, plain) : {};
    if (checked.failures?.length) {
      throw new Error(`${shortKind(reg.type)} "${reg.name}": ${checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
    }
    const inputs = { ...(checked.inputs ?? plain), [PROVIDER_KEY]: serialized };
    const started = performance.now();
    const record = (id: string, outputs: Record<string, unknown>, action: Action): ResourceState => {
      const entry: ResourceState = {
        type: reg.type,
        name: reg.name,
        id,
        inputs,
        outputs: { ...outputs, [PROVIDER_KEY]: serialized },
        dependsOn: reg.dependencies.map(keyOfUrn),
        protect: reg.protect,
        retainOnDelete: reg.retainOnDelete,
      };
      const ms = performance.now() - started;
      durations.set(key, ms);
      options.onEvent({ action, key, kind: shortKind(reg.type), name: reg.name, ms });
      return entry;
    };

    let entry: ResourceState;
    if (!old) {
      step("create");
      const created = await provider.create(inputs);
      if (interrupted || (options.interruptAfterCreates !== undefined && recordedCreates >= options.interruptAfterCreates)) {
        // The API acted, but the run stops before recording the answer: a cancelled job's lost create.
        interrupted = true;
        record(created.id, created.outs ?? {}, "dropped");
        throw new Interrupted();
      }
      recordedCreates++;
      entry = record(created.id, created.outs ?? {}, options.existingIds?.has(created.id) ? "adopt" : "create");
    } else {
      step("diff");
      const diff = provider.diff ? await provider.diff(old.id, old.outputs, inputs) : { changes: true };
      if (diff.changes === false) {
        entry = { ...old, inputs, dependsOn: reg.dependencies.map(keyOfUrn), protect: reg.protect, retainOnDelete: reg.retainOnDelete };
        durations.set(key, 0);
        options.onEvent({ action: "same", key, kind: shortKind(reg.type), name: reg.name, ms: 0 });
      } else if (diff.replaces?.length) {
        step("replace");
        if (diff.deleteBeforeReplace) await provider.delete?.(old.id, old.outputs);
        const created = await provider.create(inputs);
        if (!diff.deleteBeforeReplace) await (await host.load(String(old.outputs[PROVIDER_KEY]))).delete?.(old.id, old.outputs);
        entry = record(created.id, created.outs ?? {}, "replace");
      } else {
        step("update");
        const updated = (provider.update ? await provider.update(old.id, old.outputs, inputs) : undefined) ?? {};
        entry = record(old.id, updated.outs ?? old.outputs, "update");
      }
    }
    state.set(key, entry);
    return { id: entry.id, state: markSecrets(entry.outputs, [...secretKeys, ...reg.additionalSecretOutputs]) };
  };

  const hook: ResourceHook = (reg) => {
    const key = stateKey(reg.type, reg.name);
    watchdog?.note(`the program registered ${shortKind(reg.type)} "${reg.name}"`);
    const operation = operate(reg).finally(() => watchdog?.done(key)).catch((err: unknown) => {
      if (err instanceof Interrupted) {
        failRun(err);
        throw err;
      }
      const message = messageOf(err);
      failures.push(`${shortKind(reg.type)} "${reg.name}": ${message}`);
      failRun(new Error(`${shortKind(reg.type)} "${reg.name}": ${message}`));
      throw new Error(`${shortKind(reg.type)} "${reg.name}": ${message}`);
    });
    inflight.add(operation);
    void operation.catch(() => undefined).finally(() => inflight.delete(operation));
    return operation;
  };

  let registered: RecordedResource[] = [];
  let error: string | undefined;
  let timedOut = false;
  try {
    const run = await Promise.race([
      toleratingFailedRegistrations(() => runPlan({
        stack: options.stack,
        projectDir: options.projectDir,
        configOverrides: options.configOverrides,
        secretOverrides: options.secretOverrides,
        resourceHook: hook,
        reload: true,
      })),
      firstFailure,
      ...(watchdog ? [watchdog.expired] : []),
    ]);
    registered = run.resources;
  } catch (err) {
    error = messageOf(err);
    timedOut = err instanceof WatchdogExpired;
    if (err instanceof PlanError) registered = err.registered;
  }
  // A stopped engine still waits for the operations it had started, within the bound.
  try {
    while (inflight.size > 0) await (watchdog ? watchdog.within(Promise.allSettled([...inflight])) : Promise.allSettled([...inflight]));
  } catch (err) {
    error = messageOf(err);
    timedOut = true;
  }
  if (timedOut) return { registered, notRehearsed, durations, error, interrupted, timedOut };
  // The provider's own words say what failed; the SDK's wrapping of them does not.
  if (failures.length > 0) error = failures.join("; ");

  if (!error && !interrupted) {
    // Resources in state that the program no longer registers are deleted, as `pulumi up` does.
    const gone = new Set([...state.keys()].filter((key) => !seen.has(key)));
    if (gone.size > 0) {
      try {
        await destroy({ state, host, onEvent: options.onEvent, only: gone, watchdog });
      } catch (err) {
        return { registered, notRehearsed, durations, error: messageOf(err), interrupted, timedOut: err instanceof WatchdogExpired };
      }
    }
    const deps = customDependencies(registered);
    for (const [key, entry] of state) entry.dependsOn = deps.get(key) ?? entry.dependsOn;
  }
  return { registered, notRehearsed, durations, error: interrupted ? undefined : error, interrupted };
}

export interface DestroyOptions {
  state: DeploymentState;
  host: ProviderHost;
  onEvent(event: OperationEvent): void;
  /** Only these resources (what the program no longer declares). @default all */
  only?: ReadonlySet<string>;
  /** Bounds the run: it rejects with what it was waiting for when the bound passes. */
  watchdog?: Watchdog;
}

/**
 * Deletes in reverse dependency order, each resource once everything that depends on it is gone,
 * independent ones at once. Resources with `retainOnDelete` leave state but stay in the cloud.
 * Returns the retained ones.
 */
export async function destroy(options: DestroyOptions): Promise<ResourceState[]> {
  const { state, host, watchdog } = options;
  const targets = [...state.keys()].filter((key) => !options.only || options.only.has(key));
  const dependents = new Map<string, string[]>();
  for (const key of targets) for (const dep of state.get(key)!.dependsOn) dependents.set(dep, [...(dependents.get(dep) ?? []), key]);
  const retained: ResourceState[] = [];
  const failures: string[] = [];
  const done = new Map<string, Promise<void>>();
  const remove = (key: string): Promise<void> => {
    let promise = done.get(key);
    if (!promise) {
      promise = (async () => {
        const waits = await Promise.allSettled((dependents.get(key) ?? []).filter((d) => targets.includes(d)).map(remove));
        // Something that depends on this one is still there: as `pulumi destroy`, leave it too.
        if (waits.some((w) => w.status === "rejected")) throw new Skipped();
        const entry = state.get(key)!;
        const event = { key, kind: shortKind(entry.type), name: entry.name };
        if (entry.retainOnDelete) {
          retained.push(entry);
          state.delete(key);
          options.onEvent({ ...event, action: "retain", ms: 0 });
          return;
        }
        if (entry.protect) {
          failures.push(`${event.kind} "${entry.name}" is protected; \`pulumi destroy\` stops there. Unprotect it (pulumi state unprotect) to delete it.`);
          throw new Skipped();
        }
        const started = performance.now();
        watchdog?.doing(key, operationLabel(entry.type, entry.name, "delete"));
        try {
          const provider = await host.load(String(entry.outputs[PROVIDER_KEY]));
          await provider.delete?.(entry.id, entry.outputs);
        } catch (err) {
          failures.push(`${event.kind} "${entry.name}" (${entry.id}): delete failed: ${messageOf(err)}`);
          throw new Skipped();
        } finally {
          watchdog?.done(key);
        }
        state.delete(key);
        options.onEvent({ ...event, action: "delete", ms: performance.now() - started });
      })();
      done.set(key, promise);
    }
    return promise;
  };
  const all = Promise.allSettled(targets.map(remove));
  await (watchdog ? watchdog.within(all) : all);
  if (failures.length > 0) throw new Error(`${failures.join("; ")}. What they depend on was left in place too.`);
  return retained;
}
