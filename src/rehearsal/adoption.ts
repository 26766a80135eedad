/**
 * The adoption rehearsal: a deployment made outside the stack, directly against the Fly API (an app
 * named by hand, its volumes holding data and the machines that mount them, as a team runs a
 * service before it has a stack), is taken over by listing it under `sophia:adopt`. The next `up`
 * adopts the app, the volumes and the machines and creates the rest; the volumes stay exactly as
 * they were (same id, size and creation time, mounted by the same machines); a second `up` changes
 * nothing and sends only reads.
 */
import { FlyClient, isVolumeGone } from "../providers/fly/api/client";
import type { FlyVolumeInfo } from "../providers/fly/api/schemas";
import { decodeConfigValue, parseStackConfig, serviceRegions } from "../stack-config";
import { CONFIG_NAMESPACE } from "../platform";
import { readStackFile } from "../planner/stack-file";
import { up, type OperationEvent, type ProgramSettings, type UpResult } from "./deploy";
import type { Endpoints } from "./emulators";
import { ProviderHost } from "./provider-host";
import type { DeploymentState } from "./state";
import type { CountingProxy } from "./traffic";

/** APIs with a counting proxy in front, as the rehearsal's other phases use them. */
export interface AdoptionTarget {
  apis: Endpoints;
  proxied: Endpoints;
  proxies: CountingProxy[];
  close(): Promise<void>;
}

/** What the adoption phase borrows from the rehearsal around it. */
export interface AdoptionContext {
  stack: string;
  projectDir: string;
  appPrefix: string;
  /** Fresh APIs for this phase, or the shared external ones (then `shared` is true). */
  target: AdoptionTarget;
  shared: boolean;
  /** The program's settings against these APIs, under this app prefix. */
  settings(target: AdoptionTarget, host: ProviderHost, appPrefix: string): ProgramSettings;
  /** What is on the APIs and not in state, or in state and not on the APIs. */
  inventoryProblems(target: AdoptionTarget, state: DeploymentState, appPrefix: string): Promise<string[]>;
  /** Platform seconds of a run's longest chain of operations. */
  simulatedSeconds(result: UpResult): number;
  /**
   * On shared APIs: deletes what this phase made (the apps in state or registered, and `apps`,
   * with everything in them; Lambda resources under the app prefix), data included.
   */
  clear(state: DeploymentState, registered: UpResult["registered"], apps: string[]): Promise<void>;
  onEvent?: (event: OperationEvent) => void;
}

type Counter = "created" | "updated" | "replaced" | "unchanged" | "deleted" | "adopted" | "retained" | "dropped";

/** What the phase showed; the rehearsal reports it as its fifth phase. */
export interface AdoptionOutcome {
  expectation: string;
  problems: string[];
  counts: Record<Counter, number>;
  /** API requests the providers sent, by API and method, over both runs. */
  apiCalls: Record<string, Record<string, number>>;
  simulatedSeconds: number;
  realMs: number;
}

const COUNTERS = { create: "created", update: "updated", replace: "replaced", same: "unchanged", delete: "deleted", adopt: "adopted", retain: "retained", dropped: "dropped" } as const;

/** What a volume must still be after its adoption: the same volume, with its data where it was. */
type VolumeBefore = Pick<FlyVolumeInfo, "id" | "size_gb" | "created_at"> & { machineId: string };

type StatefulService = NonNullable<ReturnType<typeof statefulService>>;

/** The first service with a volume, from the stack's own config: the one whose data matters. */
function statefulService(options: Pick<AdoptionContext, "stack" | "projectDir">) {
  const file = readStackFile(options.projectDir, options.stack);
  const overrides: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(file.config)) if (key.startsWith(`${CONFIG_NAMESPACE}:`)) overrides[key.slice(CONFIG_NAMESPACE.length + 1)] = decodeConfigValue(raw);
  const config = parseStackConfig(overrides, options.stack);
  const found = Object.entries(config.services).find(([, s]) => s.volumeGb !== undefined);
  if (!found) return undefined;
  const [name, service] = found;
  return { name, service, org: config.flyOrg, region: serviceRegions(config, service)[0]!, image: service.image };
}

export async function rehearseAdoption(ctx: AdoptionContext): Promise<AdoptionOutcome> {
  const started = performance.now();
  const counts: Record<Counter, number> = { created: 0, updated: 0, replaced: 0, unchanged: 0, deleted: 0, adopted: 0, retained: 0, dropped: 0 };
  const onEvent = (event: OperationEvent) => {
    counts[COUNTERS[event.action]]++;
    ctx.onEvent?.(event);
  };
  const expectation = "an app made outside the stack, with its volumes and machines, is adopted through sophia:adopt: the volumes untouched, no duplicate, and a second up changes nothing";
  const report = (problems: string[], apiCalls: AdoptionOutcome["apiCalls"], simulatedSeconds: number): AdoptionOutcome => ({
    expectation, problems, counts, apiCalls, simulatedSeconds, realMs: Math.round(performance.now() - started),
  });

  const stateful = statefulService(ctx);
  if (!stateful) return report([], {}, 0);
  const { target } = ctx;
  const fly = new FlyClient({ apiUrl: target.apis.flyApiUrl, apiToken: target.apis.flyApiToken, context: "rehearsal: the deployment made by hand" });
  const appPrefix = ctx.shared ? `${ctx.appPrefix}-a` : ctx.appPrefix;
  const app = `${appPrefix}-existing-${stateful.name}`;

  const state: DeploymentState = new Map();
  const registered: UpResult["registered"] = [];
  // A run before this one that stopped half-way may have left the app made by hand.
  if (ctx.shared) await ctx.clear(state, registered, [app]);
  try {
    return await adopt(stateful);
  } finally {
    // What the stack adopted it keeps on delete; on shared APIs, clear it all, uncounted.
    if (ctx.shared) {
      await ctx.clear(state, registered, [app]).catch(() => undefined);
      for (const proxy of target.proxies) proxy.take();
    }
  }

  async function adopt(stateful: StatefulService): Promise<AdoptionOutcome> {
    // The deployment as a team made it by hand, with names of its own, straight against the API. On
    // APIs that lose answers (a lossy proxy in front), each create looks for what it made, by name.
    await fly.createApp({ name: app, org_slug: stateful.org }, async () => fly.getApp(app));
    const before: VolumeBefore[] = [];
    for (let i = 0; i < stateful.service.maxMachines; i++) {
      const volumeName = `data_${i}`;
      const volume = await fly.createVolume(app, { name: volumeName, region: stateful.region, size_gb: stateful.service.volumeGb! }, async () =>
        (await fly.listVolumes(app)).find((v) => v.name === volumeName),
      );
      const machineName = `by-hand-${i}`;
      const machine = await fly.createMachine(
        app,
        {
          name: machineName,
          region: stateful.region,
          config: { image: stateful.image ?? "cr.weaviate.io/semitechnologies/weaviate:1.30.0", mounts: [{ volume: volume.id, path: "/data" }] },
        },
        async () => (await fly.listMachines(app)).find((m) => m.name === machineName),
      );
      before.push({ id: volume.id, size_gb: volume.size_gb, created_at: volume.created_at, machineId: machine.id });
    }
    for (const proxy of target.proxies) proxy.take(); // what this phase sends starts here

    const host = new ProviderHost({ "sophia:flyApiToken": target.proxied.flyApiToken, "sophia:lambdaApiKey": target.proxied.lambdaApiKey });
    const settings = ctx.settings(target, host, appPrefix);
    const adopt = { [stateful.name]: { app, volumes: before.map((v) => v.id), machines: before.map((v) => v.machineId) } };
    const program = { ...settings, configOverrides: { ...settings.configOverrides, [`${CONFIG_NAMESPACE}:adopt`]: JSON.stringify(adopt) } };
    const existing = new Set([app, ...before.flatMap((v) => [v.id, v.machineId])]);

    const problems: string[] = [];
    const first = await up({ ...program, state, onEvent, existingIds: existing });
    registered.push(...first.registered);
    const firstCalls = Object.fromEntries(target.proxies.map((p) => [p.api, p.take()]));
    if (first.error) problems.push(`The run that adopts failed: ${first.error}`);
    else {
      const expected = 1 + 2 * before.length;
      if (counts.adopted !== expected) problems.push(`${counts.adopted} resources were adopted, not ${expected} (the app, ${before.length} volume(s) and ${before.length} machine(s)).`);
      problems.push(...(await ctx.inventoryProblems(target, state, appPrefix)));
      problems.push(...(await volumesUntouched(fly, app, before)));
    }

    let againCalls: AdoptionOutcome["apiCalls"] = {};
    if (!first.error) {
      const adoptedCounts = { ...counts };
      const again = await up({ ...program, state, onEvent });
      againCalls = Object.fromEntries(target.proxies.map((p) => [p.api, p.take()]));
      if (again.error) problems.push(`The second run failed: ${again.error}`);
      const changed = counts.created + counts.updated + counts.replaced + counts.adopted + counts.deleted - (adoptedCounts.created + adoptedCounts.updated + adoptedCounts.replaced + adoptedCounts.adopted + adoptedCounts.deleted);
      if (changed > 0) problems.push(`The second run changed ${changed} resource(s), although nothing changed.`);
      for (const [api, calls] of Object.entries(againCalls)) {
        for (const [method, n] of Object.entries(calls)) if (method !== "GET") problems.push(`The second run sent ${n} ${method} request(s) to the ${api} API; a run with no change may only read.`);
      }
    }

    const apiCalls = mergeCalls(firstCalls, againCalls);
    return report(problems, apiCalls, first.error ? 0 : ctx.simulatedSeconds(first));
  }
}

/** Each pre-made volume is the same volume it was, mounted by the machine that mounted it. */
async function volumesUntouched(fly: FlyClient, app: string, before: VolumeBefore[]): Promise<string[]> {
  const problems: string[] = [];
  for (const volume of before) {
    const now = await fly.getVolume(app, volume.id);
    if (isVolumeGone(now)) {
      problems.push(`Volume ${volume.id} is gone: an adopted volume must never be deleted or recreated.`);
      continue;
    }
    const seen = now as FlyVolumeInfo;
    if (seen.size_gb !== volume.size_gb || seen.created_at !== volume.created_at) {
      problems.push(`Volume ${volume.id} changed: ${seen.size_gb} GB created ${seen.created_at}, was ${volume.size_gb} GB created ${volume.created_at}.`);
    }
    if (seen.attached_machine_id !== volume.machineId) {
      problems.push(`Volume ${volume.id} is mounted by ${seen.attached_machine_id ?? "no machine"}, not by machine ${volume.machineId}, which held its data.`);
    }
  }
  return problems;
}

function mergeCalls(...all: AdoptionOutcome["apiCalls"][]): AdoptionOutcome["apiCalls"] {
  const out: AdoptionOutcome["apiCalls"] = {};
  for (const calls of all) {
    for (const [api, byMethod] of Object.entries(calls)) {
      for (const [method, n] of Object.entries(byMethod)) (out[api] ??= {})[method] = (out[api]![method] ?? 0) + n;
    }
  }
  return out;
}
