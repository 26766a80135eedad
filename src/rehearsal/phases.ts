/**
 * The phases of a rehearsal and what each must show: a first `up` that creates everything, as
 * concurrently as dependencies allow; a second `up` that changes nothing and sends only reads; for
 * a stack that judges releases on metrics, a bad release that rolls itself back (bad-release.ts);
 * an `up` interrupted after some creates and run again on fresh APIs, which must leave no duplicate
 * and no orphan; a `destroy` that leaves only what the stack retains; the adoption of a deployment
 * made by hand (adoption.ts); and the extra phases the CLI adds (the region-loss drill).
 */
import { messageOf } from "../providers/dynamic/errors";
import { readStackFile } from "../planner/stack-file";
import { decodeConfigValue, parseStackConfig } from "../stack-config";
import { isSecretKey } from "../config/secrets";
import type { RecordedResource } from "../planner/engine";
import { customDependencies, destroy, up, type Action, type OperationEvent, type ProgramSettings, type UpResult } from "./deploy";
import { startApis, type Endpoints } from "./emulators";
import type { JobRunner } from "../emulators/fly/emulator";
import { rehearseAdoption } from "./adoption";
import { rehearseBadRelease, ROLLBACK_LIMIT_SECONDS } from "./bad-release";
import { clearScope, compare, intended, inventory, type InventoryScope, type Item } from "./inventory";
import { ProviderHost } from "./provider-host";
import type { DeploymentState, ResourceState } from "./state";
import { CountingProxy } from "./traffic";
import { Watchdog } from "./watchdog";

export type PhaseName = "up" | "up again" | "bad release" | "interrupted up" | "destroy" | "adopt existing" | "region lost";

export interface PhaseReport {
  phase: PhaseName;
  ok: boolean;
  /** What the phase had to show, in a sentence. */
  expectation: string;
  /** Why it did not, one sentence each. */
  problems: string[];
  counts: Record<"created" | "updated" | "replaced" | "unchanged" | "deleted" | "adopted" | "retained" | "dropped", number>;
  /** API requests the providers sent, by API and method. */
  apiCalls: Record<string, Record<string, number>>;
  /** Longest chain of operations, in platform time (real time ÷ time scale). */
  simulatedSeconds: number;
  realMs: number;
  /** Dependent stages: the longest chain of resources that wait for one another (first `up` only). */
  stages?: number;
  /** Creates recorded before the interruption, and what the API made but the run never recorded. */
  interruption?: { after: number; dropped: string[] };
  /** What destroy left in place on purpose (protected data). */
  retained?: Item[];
  /** The phase's bound in real seconds: it ends within it, or fails saying what it was waiting for. */
  boundSeconds: number;
  /** Bad release: platform seconds from the breach being seen to the canary on its previous release. */
  rollbackSeconds?: number;
  /** Region lost: loss to every service healthy in the failover region, in platform seconds. */
  rtoSeconds?: number;
  /** Region lost: the loss's time minus that of the oldest of the newest backups restored, in platform seconds. */
  rpoSeconds?: number;
  /** Region lost: each restore, with the backup it used. */
  restores?: { service: string; restore: string; backup: string; backupTime: string }[];
}

export interface RehearsalReport {
  stack: string;
  timeScale: number;
  apis: "in-process" | "external";
  phases: PhaseReport[];
  /** Resources that are not dynamic (random, command, docker, Vercel): answered with the plan's outputs. */
  notRehearsed: { kind: string; name: string }[];
  /** Phases the stack has that this rehearsal could not run, each with why. */
  skipped: { phase: PhaseName; reason: string }[];
  /** Per rehearsed kind: whether some resource of it was created, diffed and deleted through its serialized provider. */
  coverage: Record<string, { created: boolean; diffed: boolean; deleted: boolean }>;
  ok: boolean;
}

export interface RehearsalOptions {
  stack: string;
  projectDir: string;
  /** Real time per platform time: 0.1 runs a 3-minute GPU boot in 18 s. */
  timeScale: number;
  /** Creates recorded before phase 3's interruption. @default half the resources */
  interruptAfter?: number;
  onEvent?: (phase: PhaseName, event: OperationEvent) => void;
  env?: Record<string, string | undefined>;
  /** Real seconds each phase may take before the watchdog stops it. @default phaseBoundSeconds(timeScale) */
  phaseTimeoutSeconds?: number;
  /**
   * Phases after the adoption, each on APIs of its own, that report nothing where they do not apply:
   * the region-loss drill (src/rehearsal/region-lost.ts), which the CLI adds. @default none
   */
  extraPhases?: ((ctx: ExtraPhaseContext) => Promise<PhaseReport | SkippedPhase | undefined>)[];
}

/** A phase the stack has that this rehearsal could not run, and why: reported, never silent. */
export interface SkippedPhase {
  phase: PhaseName;
  skipped: string;
}

/** What an extra phase is given. */
export interface ExtraPhaseContext {
  options: RehearsalOptions;
  appPrefix: string;
  /** The APIs are shared with the other phases (started elsewhere), not the rehearsal's own. */
  external: boolean;
  /** The phase's bound in real seconds (see phaseBoundSeconds). */
  boundSeconds: number;
}

/**
 * A phase's bound: the rehearsal's own work (loading the program, serializing providers) plus an
 * hour of platform time, scaled. The slowest real step, a GPU boot, takes minutes; the providers'
 * own timeouts end a stuck operation well inside this, so the watchdog is the last resort.
 */
export function phaseBoundSeconds(timeScale: number): number {
  return Math.round(300 + 3600 * timeScale);
}

/** APIs with a counting proxy in front of each. */
export interface Target {
  apis: Endpoints;
  proxied: Endpoints;
  proxies: CountingProxy[];
  close(): Promise<void>;
}

export async function openTarget(scale: number, env: Record<string, string | undefined>, jobRunner?: JobRunner): Promise<Target> {
  const apis = await startApis(scale, env, jobRunner);
  const fly = new CountingProxy("fly", new URL(apis.flyApiUrl));
  const lambda = new CountingProxy("lambda", new URL(apis.lambdaApiUrl));
  const proxied = { ...apis, flyApiUrl: await fly.listen(), lambdaApiUrl: await lambda.listen() };
  return {
    apis,
    proxied,
    proxies: [fly, lambda],
    close: async () => {
      await fly.close();
      await lambda.close();
      await apis.close();
    },
  };
}

const ACTION_COUNT: Partial<Record<Action, keyof PhaseReport["counts"]>> = {
  create: "created",
  update: "updated",
  replace: "replaced",
  same: "unchanged",
  delete: "deleted",
  adopt: "adopted",
  retain: "retained",
  dropped: "dropped",
};

/** Length of the longest path through `deps`, each node weighing `weight(node)`. */
export function longestPath(nodes: Iterable<string>, deps: (node: string) => string[], weight: (node: string) => number): number {
  const memo = new Map<string, number>();
  const visit = (node: string): number => {
    let value = memo.get(node);
    if (value === undefined) {
      memo.set(node, 0); // a cycle cannot happen in a Pulumi graph; this only guards the recursion
      value = weight(node) + Math.max(0, ...deps(node).map(visit));
      memo.set(node, value);
    }
    return value;
  };
  return Math.max(0, ...[...nodes].map(visit));
}

export class PhaseRecorder {
  readonly counts: PhaseReport["counts"] = { created: 0, updated: 0, replaced: 0, unchanged: 0, deleted: 0, adopted: 0, retained: 0, dropped: 0 };
  readonly events: OperationEvent[] = [];
  readonly started = performance.now();
  /** Bounds every run of the phase (see Watchdog). */
  readonly watchdog: Watchdog;

  constructor(
    readonly phase: PhaseName,
    boundSeconds: number,
    private readonly forward?: (phase: PhaseName, event: OperationEvent) => void,
  ) {
    this.watchdog = new Watchdog(`the "${phase}" phase`, boundSeconds * 1000);
  }

  readonly onEvent = (event: OperationEvent) => {
    this.events.push(event);
    const counter = ACTION_COUNT[event.action];
    if (counter) this.counts[counter]++;
    this.forward?.(this.phase, event);
  };

  finish(target: Target, fields: Omit<PhaseReport, "phase" | "counts" | "apiCalls" | "realMs" | "ok" | "boundSeconds">): PhaseReport {
    this.watchdog.stop();
    const apiCalls = Object.fromEntries(target.proxies.map((p) => [p.api, p.take()]));
    return {
      phase: this.phase,
      ok: fields.problems.length === 0,
      counts: this.counts,
      apiCalls,
      realMs: Math.round(performance.now() - this.started),
      boundSeconds: this.watchdog.boundMs / 1000,
      ...fields,
    };
  }
}

/** Where the rehearsal runs, standing in for the operator's egress address that SSH readiness checks come from. */
export const REHEARSAL_OPERATOR_CIDR = "127.0.0.1/32";

/**
 * The stack's own config, pointed at the APIs under test. The operator address a stack file
 * holds is the operator's (or an example, which the program rightly refuses), so the rehearsal
 * puts its own in its place. `edge` replaces the edge settings (phase 3 on shared APIs); `recovery`
 * adds to the stack's recovery settings (a failover).
 */
function configOverrides(stackConfig: Record<string, string>, target: Target, appPrefix: string, edge: unknown, recovery: Record<string, unknown>): Record<string, string> {
  const overrides: Record<string, string> = {
    "sophia:flyApiUrl": target.proxied.flyApiUrl,
    "sophia:lambdaApiUrl": target.proxied.lambdaApiUrl,
    "sophia:appPrefix": appPrefix,
  };
  // The backup bucket lives on the rehearsal's S3 server.
  const stackRecovery = JSON.parse(stackConfig["sophia:recovery"] ?? "{}") as Record<string, unknown>;
  const bucket = { ...(stackRecovery.bucket as object | undefined), endpoint: target.apis.s3Endpoint, useSsl: false };
  overrides["sophia:recovery"] = JSON.stringify({ ...stackRecovery, ...recovery, bucket });
  const gpu = stackConfig["sophia:gpu"];
  if (gpu !== undefined) {
    const parsed = JSON.parse(gpu) as Record<string, unknown>;
    if (Array.isArray(parsed.sshAllowedCidrs)) overrides["sophia:gpu"] = JSON.stringify({ ...parsed, sshAllowedCidrs: [REHEARSAL_OPERATOR_CIDR] });
  }
  if (edge !== undefined) overrides["sophia:edge"] = JSON.stringify(edge);
  return overrides;
}

/** Where a run deploys: its app prefix and, on shared APIs, its own domain. */
export interface Deployment {
  appPrefix: string;
  edge?: unknown;
}

export function settings(options: RehearsalOptions, target: Target, host: ProviderHost, deployment: Deployment, recovery: Record<string, unknown> = {}): ProgramSettings {
  return {
    stack: options.stack,
    projectDir: options.projectDir,
    configOverrides: configOverrides(readStackFile(options.projectDir, options.stack).config, target, deployment.appPrefix, deployment.edge, recovery),
    secretOverrides: {
      "sophia:flyApiToken": target.proxied.flyApiToken,
      "sophia:lambdaApiKey": target.proxied.lambdaApiKey,
      "sophia:backupAccessKeyId": target.apis.s3AccessKeyId,
      "sophia:backupSecretAccessKey": target.apis.s3SecretAccessKey,
    },
    host,
  };
}

/** The labels that set a phase's names apart when it shares the APIs with the other phases. */
const INTERRUPTED_LABEL = "i";
const ADOPTION_LABEL = "a";

/**
 * A phase's deployment on APIs it shares with the others: apps under `<prefix>-<label>`, and the
 * edge's hostnames under `<label>.<domain>`, because a hostname's certificate belongs to one app on
 * the whole platform and phase 1's apps still hold theirs.
 */
export function sharedApisDeployment(options: RehearsalOptions, appPrefix: string, label = INTERRUPTED_LABEL): Deployment {
  const raw = readStackFile(options.projectDir, options.stack).config;
  const overrides: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const name = key.slice("sophia:".length);
    if (key.startsWith("sophia:") && !isSecretKey(name)) overrides[name] = decodeConfigValue(value);
  }
  const { edge } = parseStackConfig(overrides, options.stack);
  const domain = `${label}.${edge.domain}`;
  const moved = (host: string) => (host === edge.domain ? domain : `${host.slice(0, -edge.domain.length)}${domain}`);
  const hostnames = Object.fromEntries(Object.entries(edge.hostnames).map(([service, hosts]) => [service, hosts.map(moved)]));
  return { appPrefix: `${appPrefix}-${label}`, edge: { ...edge, domain, hostnames } };
}

export function scopeOf(state: Iterable<ResourceState>, appPrefix: string, otherPrefixes: string[] = []): InventoryScope {
  const entries = [...state];
  const apps = new Set<string>();
  for (const r of entries) if (r.type.includes("dynamic/fly:")) apps.add(String(r.type.endsWith(":App") ? r.id : r.inputs.app));
  return {
    apps: [...apps],
    lambdaPrefix: appPrefix,
    // Another run's names begin with this one's prefix too (`sophia-prod-i-…`): never count them here.
    lambdaExcludedPrefixes: otherPrefixes,
    certificates: entries.filter((r) => r.type.endsWith("fly:Certificate")).map((r) => ({ app: String(r.inputs.app), hostname: r.id })),
    rulesetIds: entries.filter((r) => r.type.endsWith("lambda:FirewallRuleset")).map((r) => r.id),
    buckets: entries.filter((r) => r.type.endsWith("s3:Bucket")).map((r) => r.id),
  };
}

export function inventoryProblems(expected: Item[], actual: Item[]): string[] {
  const { extra, missing } = compare(expected, actual);
  return [
    ...extra.map((i) => `${i.kind} "${i.name}" (${i.id}) exists on the API but not in state: a duplicate or an orphan.`),
    ...missing.map((i) => `${i.kind} "${i.name}" (${i.id}) is in state but not on the API.`),
  ];
}

export function simulatedSeconds(result: Pick<UpResult, "durations">, deps: Map<string, string[]>, scale: number): number {
  const ms = longestPath(result.durations.keys(), (k) => (deps.get(k) ?? []).filter((d) => result.durations.has(d)), (k) => result.durations.get(k) ?? 0);
  return Math.round(ms / scale / 1000);
}

/**
 * Every Fly app a run registered or recorded, by name: a run that failed half-way may have made
 * apps it never recorded, and clearing shared APIs must find those too.
 */
function appsOf(state: Iterable<ResourceState>, registered: RecordedResource[]): string[] {
  const named = registered.filter((r) => r.type.endsWith("dynamic/fly:App")).map((r) => String(r.inputs.name));
  return [...new Set([...scopeOf(state, "").apps, ...named])];
}

export async function rehearse(options: RehearsalOptions): Promise<RehearsalReport> {
  const env = options.env ?? process.env;
  const scale = options.timeScale;
  const bound = options.phaseTimeoutSeconds ?? phaseBoundSeconds(scale);
  const stackFile = readStackFile(options.projectDir, options.stack);
  const appPrefix = stackFile.config["sophia:appPrefix"] ?? `sophia-${options.stack}`;
  const phases: PhaseReport[] = [];
  const skipped: RehearsalReport["skipped"] = [];
  let notRehearsed: RehearsalReport["notRehearsed"] = [];
  const coverage: RehearsalReport["coverage"] = {};
  const cover = (events: OperationEvent[], field: "created" | "diffed" | "deleted", actions: Action[]) => {
    for (const e of events) if (actions.includes(e.action)) (coverage[e.kind] ??= { created: false, diffed: false, deleted: false })[field] = true;
  };
  const timedOut = (results: { timedOut?: boolean }[]) => results.some((r) => r.timedOut);

  const main = await openTarget(scale, env);
  const external = main.apis.source === "external";
  const deployment: Deployment = { appPrefix };
  const host = new ProviderHost({ "sophia:flyApiToken": main.proxied.flyApiToken, "sophia:lambdaApiKey": main.proxied.lambdaApiKey });
  const state: DeploymentState = new Map();
  let fresh: Target | undefined;
  let rec: PhaseRecorder | undefined;
  // Set once every phase the stack has ran: a run that stopped early is not a pass.
  let completed = false;
  try {
    // 1. up
    rec = new PhaseRecorder("up", bound, options.onEvent);
    const first = await up({ ...settings(options, main, host, deployment), state, onEvent: rec.onEvent, watchdog: rec.watchdog });
    notRehearsed = first.notRehearsed;
    const deps = customDependencies(first.registered);
    const problems: string[] = first.error ? [`The run failed: ${first.error}`] : [];
    const dynamicCount = state.size;
    if (!first.error) problems.push(...inventoryProblems(intended(state.values()), await rec.watchdog.within(inventory(main.apis, scopeOf(state.values(), appPrefix)))));
    if (!first.error && rec.counts.created !== dynamicCount) problems.push(`${rec.counts.created} of ${dynamicCount} resources were created.`);
    cover(rec.events, "created", ["create"]);
    phases.push(
      rec.finish(main, {
        expectation: "every resource created, in dependency order, as concurrently as dependencies allow",
        problems,
        simulatedSeconds: simulatedSeconds(first, deps, scale),
        stages: longestPath(deps.keys(), (k) => deps.get(k) ?? [], () => 1),
      }),
    );
    if (first.error) return finish();

    // 2. up again
    rec = new PhaseRecorder("up again", bound, options.onEvent);
    const second = await up({ ...settings(options, main, host, deployment), state, onEvent: rec.onEvent, watchdog: rec.watchdog });
    const changed = rec.events.filter((e) => e.action !== "same");
    const again = rec.finish(main, {
      expectation: "every provider's diff reports no change, and nothing is sent but reads",
      problems: second.error ? [`The run failed: ${second.error}`] : changed.map((e) => `${e.kind} "${e.name}" was ${e.action}d although nothing changed.`),
      simulatedSeconds: simulatedSeconds(second, deps, scale),
    });
    for (const [api, calls] of Object.entries(again.apiCalls)) {
      for (const [method, n] of Object.entries(calls)) if (method !== "GET") again.problems.push(`${n} ${method} request(s) to the ${api} API; a run with no change may only read.`);
    }
    again.ok = again.problems.length === 0;
    cover(rec.events, "diffed", ["same", "update", "replace"]);
    phases.push(again);
    if (second.timedOut) return finish();

    // 2b. bad release, for a stack that judges its releases on metrics (bad-release.ts)
    rec = new PhaseRecorder("bad release", bound, options.onEvent);
    const base = settings(options, main, host, deployment);
    const recBad = rec;
    const release = await rehearseBadRelease({
      state,
      flyApiUrl: main.apis.flyApiUrl,
      flyApiToken: main.apis.flyApiToken,
      stackConfig: stackFile.config,
      timeScale: scale,
      up: (overrides) => up({ ...base, configOverrides: { ...base.configOverrides, ...overrides }, state, onEvent: recBad.onEvent, watchdog: recBad.watchdog }),
    });
    if (release) {
      phases.push(
        rec.finish(main, {
          expectation: `a release of ${release.service} that passes its health checks but fails a fifth of its requests is rolled back on its own within ${ROLLBACK_LIMIT_SECONDS} s of the breach; a good release goes through`,
          problems: release.problems,
          simulatedSeconds: Math.round((performance.now() - rec.started) / scale / 1000),
          rollbackSeconds: release.rollbackSeconds,
        }),
      );
    } else rec.watchdog.stop();

    // 3. interrupted up, on fresh APIs (or, on shared ones, under names of its own)
    rec = new PhaseRecorder("interrupted up", bound, options.onEvent);
    fresh = external ? main : await openTarget(scale, env);
    const deployment3 = external ? sharedApisDeployment(options, appPrefix) : deployment;
    const host3 = external ? host : new ProviderHost({ "sophia:flyApiToken": fresh.proxied.flyApiToken, "sophia:lambdaApiKey": fresh.proxied.lambdaApiKey });
    const state3: DeploymentState = new Map();
    const after = options.interruptAfter ?? Math.floor(dynamicCount / 2);
    const watchdog3 = rec.watchdog;
    const cut = await up({ ...settings(options, fresh, host3, deployment3), state: state3, onEvent: rec.onEvent, interruptAfterCreates: after, watchdog: watchdog3 });
    const dropped = rec.events.filter((e) => e.action === "dropped").map((e) => `${e.kind} "${e.name}"`);
    const problems3: string[] = [];
    const scope3 = () => scopeOf(state3.values(), deployment3.appPrefix);
    if (!cut.interrupted) problems3.push(cut.error ? `The interrupted run failed otherwise: ${cut.error}` : `The run finished before ${after} creates; choose a smaller --interrupt-after.`);
    let resumed: UpResult | undefined;
    if (!cut.timedOut) {
      const existing = new Set((await watchdog3.within(inventory(fresh.apis, scope3()))).map((i) => i.id));
      resumed = await up({ ...settings(options, fresh, host3, deployment3), state: state3, onEvent: rec.onEvent, existingIds: existing, watchdog: watchdog3 });
      if (resumed.error) problems3.push(`The run after the interruption failed: ${resumed.error}`);
      else problems3.push(...inventoryProblems(intended(state3.values()), await watchdog3.within(inventory(fresh.apis, scope3()))));
    }
    if (external && !timedOut([cut, resumed ?? {}])) {
      // The same APIs serve phase 4: clear what phase 3 made (retained data too, and whatever a
      // failed run left unrecorded), uncounted.
      const registered3 = [...cut.registered, ...(resumed?.registered ?? [])];
      const clear3 = { ...scope3(), apps: appsOf(state3.values(), registered3), lambdaPrefix: `${deployment3.appPrefix}-` };
      await watchdog3.within(clearScope(fresh.apis, clear3)).catch((err: unknown) =>
        problems3.push(`Clearing phase 3's resources from the shared APIs failed (phase 4 does not count them): ${messageOf(err)}`),
      );
      fresh.proxies.forEach((p) => p.take());
    }
    phases.push(
      rec.finish(fresh, {
        expectation: "after an interrupted run and a second run, the API holds exactly what the plan intends: no duplicate, no orphan",
        problems: cut.timedOut ? [`The interrupted run stopped: ${cut.error}`] : problems3,
        simulatedSeconds: resumed ? simulatedSeconds(resumed, deps, scale) : 0,
        interruption: { after, dropped },
      }),
    );
    if (timedOut([cut, resumed ?? {}])) return finish();

    // 4. destroy
    rec = new PhaseRecorder("destroy", bound, options.onEvent);
    // Phase 3's names, on shared APIs, begin with this prefix too: they are not this stack's.
    const scope = scopeOf(state.values(), appPrefix, external ? [`${deployment3.appPrefix}-`] : []);
    const problems4: string[] = [];
    let retained: ResourceState[] = [];
    const destroyDurations = new Map<string, number>();
    try {
      retained = await destroy({ state, host, onEvent: rec.onEvent, watchdog: rec.watchdog });
    } catch (err) {
      problems4.push(`Destroy failed: ${messageOf(err)}`);
    }
    for (const e of rec.events) destroyDurations.set(e.key, e.ms);
    problems4.push(...inventoryProblems(intended(retained), await rec.watchdog.within(inventory(main.apis, scope))));
    cover(rec.events, "deleted", ["delete"]);
    const dependents = new Map<string, string[]>();
    for (const [key, ds] of deps) for (const d of ds) dependents.set(d, [...(dependents.get(d) ?? []), key]);
    const destroyMs = longestPath(destroyDurations.keys(), (k) => (dependents.get(k) ?? []).filter((d) => destroyDurations.has(d)), (k) => destroyDurations.get(k) ?? 0);
    phases.push(
      rec.finish(main, {
        expectation: "everything deleted in reverse dependency order; only what the stack retains is left",
        problems: problems4,
        simulatedSeconds: Math.round(destroyMs / scale / 1000),
        retained: intended(retained),
      }),
    );
    if (external) {
      // Leave shared APIs as they were, so that the next rehearsal finds no leftovers: the report
      // above already saw what the stack retains. Best effort: the phases are judged already.
      const clearing = new Watchdog("clearing what the stack retained", bound * 1000);
      await clearing.within(clearScope(main.apis, { ...scope, apps: appsOf(retained, first.registered) })).catch(() => undefined);
      clearing.stop();
    }

    // 5. adoption of a deployment made by hand, on fresh APIs (or, on shared ones, under names of its own)
    const adoptTarget = external ? main : await openTarget(scale, env);
    const adoptDeployment = external ? sharedApisDeployment(options, appPrefix, ADOPTION_LABEL) : deployment;
    rec = new PhaseRecorder("adopt existing", bound, options.onEvent);
    try {
      const adoption = await rec.watchdog.within(
        rehearseAdoption({
          stack: options.stack,
          projectDir: options.projectDir,
          // On shared APIs the phase names its apps `<prefix>-a`, and its hostnames live under `a.<domain>`.
          appPrefix,
          target: adoptTarget,
          shared: external,
          settings: (t, h, prefix) => settings(options, t as Target, h, { ...adoptDeployment, appPrefix: prefix }),
          inventoryProblems: async (t, st, prefix) => inventoryProblems(intended(st.values()), await inventory(t.apis, scopeOf(st.values(), prefix))),
          simulatedSeconds: (result) => simulatedSeconds(result, customDependencies(result.registered), scale),
          clear: (st, registered, apps) =>
            clearScope(adoptTarget.apis, { ...scopeOf(st.values(), `${appPrefix}-a`), apps: [...appsOf(st.values(), registered), ...apps], lambdaPrefix: `${appPrefix}-a-` }),
          onEvent: (event) => options.onEvent?.("adopt existing", event),
        }),
      );
      rec.watchdog.stop();
      phases.push({ phase: "adopt existing", ok: adoption.problems.length === 0, boundSeconds: rec.watchdog.boundMs / 1000, ...adoption });
    } finally {
      if (adoptTarget !== main) await adoptTarget.close();
    }

    // 6. and on: the extra phases (the region-loss drill), where they apply
    for (const extra of options.extraPhases ?? []) {
      const report = await extra({ options, appPrefix, external, boundSeconds: bound });
      if (report && "skipped" in report) skipped.push({ phase: report.phase, reason: report.skipped });
      else if (report) phases.push(report);
    }
    completed = true;
    return finish();
  } catch (err) {
    // A phase that cannot even finish its checks (its bound passed, an API became unreachable)
    // still ends with a report that says where it stopped.
    if (rec && !phases.some((p) => p.phase === rec!.phase)) {
      phases.push(rec.finish(main, { expectation: "the phase finishes within its bound", problems: [messageOf(err)], simulatedSeconds: 0 }));
    } else throw err;
    return finish();
  } finally {
    rec?.watchdog.stop();
    if (fresh && fresh !== main) await fresh.close();
    await main.close();
  }

  function finish(): RehearsalReport {
    return {
      stack: options.stack,
      timeScale: scale,
      apis: main.apis.source,
      phases,
      skipped,
      notRehearsed,
      coverage,
      ok: completed && phases.every((p) => p.ok),
    };
  }
}
