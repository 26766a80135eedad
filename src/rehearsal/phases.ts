/**
 * The phases of a rehearsal and what each must show: a first `up` that creates
 * everything, as concurrently as dependencies allow; a second `up` that changes nothing and sends
 * only reads; an `up` interrupted after some creates and run again on fresh APIs, which must leave
 * no duplicate and no orphan; a `destroy` that leaves only what the stack retains; and, on fresh
 * APIs, the adoption of a deployment made outside the stack (./adoption.ts).
 */
import { readStackFile } from "../planner/stack-file";
import { customDependencies, destroy, up, type Action, type OperationEvent, type ProgramSettings, type UpResult } from "./deploy";
import { startApis, type Endpoints } from "./emulators";
import type { JobRunner } from "../emulators/fly/emulator";
import { compare, intended, inventory, type Item } from "./inventory";
import { ProviderHost } from "./provider-host";
import type { DeploymentState, ResourceState } from "./state";
import { CountingProxy } from "./traffic";
import { rehearseBadRelease, ROLLBACK_LIMIT_SECONDS } from "./bad-release";
import { rehearseAdoption } from "./adoption";

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
  /**
   * Phases after destroy, each on APIs of its own, that report nothing where they do not apply:
   * the region-loss drill (src/rehearsal/region-lost.ts), which the CLI adds. @default none
   */
  extraPhases?: ((ctx: { options: RehearsalOptions; appPrefix: string; external: boolean }) => Promise<PhaseReport | undefined>)[];
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

  constructor(
    readonly phase: PhaseName,
    private readonly forward?: (phase: PhaseName, event: OperationEvent) => void,
  ) {}

  readonly onEvent = (event: OperationEvent) => {
    this.events.push(event);
    const counter = ACTION_COUNT[event.action];
    if (counter) this.counts[counter]++;
    this.forward?.(this.phase, event);
  };

  finish(target: Target, fields: Omit<PhaseReport, "phase" | "counts" | "apiCalls" | "realMs" | "ok">): PhaseReport {
    const apiCalls = Object.fromEntries(target.proxies.map((p) => [p.api, p.take()]));
    return { phase: this.phase, ok: fields.problems.length === 0, counts: this.counts, apiCalls, realMs: Math.round(performance.now() - this.started), ...fields };
  }
}

/** Where the rehearsal runs, standing in for the operator's egress address that SSH readiness checks come from. */
export const REHEARSAL_OPERATOR_CIDR = "127.0.0.1/32";

/**
 * The stack's own config, pointed at the APIs under test. The operator address a stack file
 * holds is the operator's (or an example, which the program rightly refuses), so the rehearsal
 * puts its own in its place.
 */
function configOverrides(stackConfig: Record<string, string>, target: Target, appPrefix: string, extra: Record<string, unknown>): Record<string, string> {
  const overrides: Record<string, string> = {
    "sophia:flyApiUrl": target.proxied.flyApiUrl,
    "sophia:lambdaApiUrl": target.proxied.lambdaApiUrl,
    "sophia:appPrefix": appPrefix,
  };
  // The backup bucket lives on the rehearsal's S3 server; `extra` adds to the stack's recovery settings (a failover).
  const recovery = JSON.parse(stackConfig["sophia:recovery"] ?? "{}") as Record<string, unknown>;
  const bucket = { ...(recovery.bucket as object | undefined), endpoint: target.apis.s3Endpoint, useSsl: false };
  overrides["sophia:recovery"] = JSON.stringify({ ...recovery, ...extra, bucket });
  const gpu = stackConfig["sophia:gpu"];
  if (gpu !== undefined) {
    const parsed = JSON.parse(gpu) as Record<string, unknown>;
    if (Array.isArray(parsed.sshAllowedCidrs)) overrides["sophia:gpu"] = JSON.stringify({ ...parsed, sshAllowedCidrs: [REHEARSAL_OPERATOR_CIDR] });
  }
  return overrides;
}

export function settings(options: RehearsalOptions, target: Target, host: ProviderHost, appPrefix: string, recovery: Record<string, unknown> = {}): ProgramSettings {
  return {
    stack: options.stack,
    projectDir: options.projectDir,
    configOverrides: configOverrides(readStackFile(options.projectDir, options.stack).config, target, appPrefix, recovery),
    secretOverrides: {
      "sophia:flyApiToken": target.proxied.flyApiToken,
      "sophia:lambdaApiKey": target.proxied.lambdaApiKey,
      "sophia:backupAccessKeyId": target.apis.s3AccessKeyId,
      "sophia:backupSecretAccessKey": target.apis.s3SecretAccessKey,
    },
    host,
  };
}

export function scopeOf(state: Iterable<ResourceState>, appPrefix: string) {
  const entries = [...state];
  const apps = new Set<string>();
  for (const r of entries) if (r.type.includes("dynamic/fly:")) apps.add(String(r.type.endsWith(":App") ? r.id : r.inputs.app));
  return {
    apps: [...apps],
    lambdaPrefix: appPrefix,
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

export async function rehearse(options: RehearsalOptions): Promise<RehearsalReport> {
  const env = options.env ?? process.env;
  const scale = options.timeScale;
  const stackFile = readStackFile(options.projectDir, options.stack);
  const appPrefix = stackFile.config["sophia:appPrefix"] ?? `sophia-${options.stack}`;
  const phases: PhaseReport[] = [];
  let notRehearsed: RehearsalReport["notRehearsed"] = [];
  const coverage: RehearsalReport["coverage"] = {};
  const cover = (events: OperationEvent[], field: "created" | "diffed" | "deleted", actions: Action[]) => {
    for (const e of events) if (actions.includes(e.action)) (coverage[e.kind] ??= { created: false, diffed: false, deleted: false })[field] = true;
  };

  const main = await openTarget(scale, env);
  const host = new ProviderHost({ "sophia:flyApiToken": main.proxied.flyApiToken, "sophia:lambdaApiKey": main.proxied.lambdaApiKey });
  const state: DeploymentState = new Map();
  let fresh: Target | undefined;
  // Set once every phase the stack has ran: a run that stopped early is not a pass.
  let completed = false;
  try {
    // 1. up
    let rec = new PhaseRecorder("up", options.onEvent);
    const first = await up({ ...settings(options, main, host, appPrefix), state, onEvent: rec.onEvent });
    notRehearsed = first.notRehearsed;
    const deps = customDependencies(first.registered);
    const problems: string[] = first.error ? [`The run failed: ${first.error}`] : [];
    const dynamicCount = state.size;
    if (!first.error) problems.push(...inventoryProblems(intended(state.values()), await inventory(main.apis, scopeOf(state.values(), appPrefix))));
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
    rec = new PhaseRecorder("up again", options.onEvent);
    const second = await up({ ...settings(options, main, host, appPrefix), state, onEvent: rec.onEvent });
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

    // 2b. bad release, for a stack that judges its releases on metrics (bad-release.ts)
    rec = new PhaseRecorder("bad release", options.onEvent);
    const base = settings(options, main, host, appPrefix);
    const release = await rehearseBadRelease({
      state,
      emulator: main.apis.fly,
      flyApiUrl: main.proxied.flyApiUrl,
      stackConfig: stackFile.config,
      up: (overrides) => up({ ...base, configOverrides: { ...base.configOverrides, ...overrides }, state, onEvent: rec.onEvent }),
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
    }

    // 3. interrupted up, on fresh APIs (or, on external ones, under a fresh name prefix)
    rec = new PhaseRecorder("interrupted up", options.onEvent);
    const external = main.apis.source === "external";
    fresh = external ? main : await openTarget(scale, env);
    const prefix3 = external ? `${appPrefix}-i` : appPrefix;
    const host3 = external ? host : new ProviderHost({ "sophia:flyApiToken": fresh.proxied.flyApiToken, "sophia:lambdaApiKey": fresh.proxied.lambdaApiKey });
    const state3: DeploymentState = new Map();
    const after = options.interruptAfter ?? Math.floor(dynamicCount / 2);
    const cut = await up({ ...settings(options, fresh, host3, prefix3), state: state3, onEvent: rec.onEvent, interruptAfterCreates: after });
    const dropped = rec.events.filter((e) => e.action === "dropped").map((e) => `${e.kind} "${e.name}"`);
    const problems3: string[] = [];
    if (!cut.interrupted) problems3.push(cut.error ? `The interrupted run failed otherwise: ${cut.error}` : `The run finished before ${after} creates; choose a smaller --interrupt-after.`);
    const existing = new Set((await inventory(fresh.apis, scopeOf(state3.values(), prefix3))).map((i) => i.id));
    const resumed = await up({ ...settings(options, fresh, host3, prefix3), state: state3, onEvent: rec.onEvent, existingIds: existing });
    if (resumed.error) problems3.push(`The run after the interruption failed: ${resumed.error}`);
    else problems3.push(...inventoryProblems(intended(state3.values()), await inventory(fresh.apis, scopeOf(state3.values(), prefix3))));
    phases.push(
      rec.finish(fresh, {
        expectation: "after an interrupted run and a second run, the API holds exactly what the plan intends: no duplicate, no orphan",
        problems: problems3,
        simulatedSeconds: simulatedSeconds(resumed, deps, scale),
        interruption: { after, dropped },
      }),
    );
    if (external) {
      // The same account serves phase 4: clear what phase 3 made, uncounted.
      await destroy({ state: state3, host: host3, onEvent: () => {} });
      fresh.proxies.forEach((p) => p.take());
    }

    // 4. destroy
    rec = new PhaseRecorder("destroy", options.onEvent);
    const scope = scopeOf(state.values(), appPrefix);
    const problems4: string[] = [];
    let retained: ResourceState[] = [];
    const destroyDurations = new Map<string, number>();
    try {
      retained = await destroy({ state, host, onEvent: rec.onEvent });
    } catch (err) {
      problems4.push(`Destroy failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    for (const e of rec.events) destroyDurations.set(e.key, e.ms);
    problems4.push(...inventoryProblems(intended(retained), await inventory(main.apis, scope)));
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

    // 5. adoption of a deployment made by hand, on fresh APIs (or, on external ones, under a fresh name prefix)
    const adoptTarget = external ? main : await openTarget(scale, env);
    try {
      const adoption = await rehearseAdoption({
        stack: options.stack,
        projectDir: options.projectDir,
        appPrefix,
        target: adoptTarget,
        shared: external,
        settings: (t, h, prefix) => settings(options, t as Target, h, prefix),
        inventoryProblems: async (t, st, prefix) => inventoryProblems(intended(st.values()), await inventory(t.apis, scopeOf(st.values(), prefix))),
        simulatedSeconds: (result) => simulatedSeconds(result, customDependencies(result.registered), scale),
        onEvent: (event) => options.onEvent?.("adopt existing", event),
      });
      phases.push({ phase: "adopt existing", ok: adoption.problems.length === 0, ...adoption });
    } finally {
      if (adoptTarget !== main) await adoptTarget.close();
    }

    // 6. and on: the extra phases (the region-loss drill), where they apply
    for (const extra of options.extraPhases ?? []) {
      const report = await extra({ options, appPrefix, external });
      if (report) phases.push(report);
    }
    completed = true;
    return finish();
  } finally {
    if (fresh && fresh !== main) await fresh.close();
    await main.close();
  }

  function finish(): RehearsalReport {
    return {
      stack: options.stack,
      timeScale: scale,
      apis: main.apis.source,
      phases,
      notRehearsed,
      coverage,
      ok: completed && phases.every((p) => p.ok),
    };
  }
}

