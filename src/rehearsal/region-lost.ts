/**
 * The fifth phase, "region lost": the failover drill. On fresh APIs the stack goes up in its home
 * region and its backups run (the backup agent's own cycle, with Weaviate's side played against the
 * S3 server; Litestream's uploads likewise); then the emulator loses the home region (its machines
 * stop answering, API calls for it fail), the drill sets `sophia:recovery.activeRegion` to the
 * other region and runs `up`, whose restore jobs the emulator's job runner plays. It passes when
 * every service is healthy in the failover region, every stateful service was restored from a
 * backup made before the loss, and nothing in the lost region was deleted; it reports the RTO and
 * RPO against the seed's 15 minutes.
 */
import { readStackFile } from "../planner/stack-file";
import { decodeConfigValue, parseStackConfig, type StackConfig } from "../stack-config";
import { CONFIG_NAMESPACE } from "../platform";
import type { JobRunner, MachineJob } from "../emulators/fly/emulator";
import { FlyClient, isMachineGone, isVolumeGone } from "../providers/fly/api/client";
import { S3Client } from "../providers/s3";
import { runBackupCycle, type AgentDeps, type AgentSettings, type AgentState } from "../../components/recovery/backup-agent";
import { JOB_KIND_KEY } from "../../components/recovery/restore-jobs";
import { customDependencies, up, type OperationEvent } from "./deploy";
import { openTarget, PhaseRecorder, scopeOf, settings, simulatedSeconds, type ExtraPhaseContext, type PhaseName, type PhaseReport, type RehearsalOptions, type SkippedPhase, type Target } from "./phases";
import { ProviderHost } from "./provider-host";
import type { DeploymentState, ResourceState } from "./state";

/** The seed's targets, in seconds. */
const TARGET_SECONDS = 15 * 60;
/** Weaviate backups made before the loss, on the agent's schedule. */
const CYCLES_BEFORE_LOSS = 3;
/** Where in a backup interval the region is lost: a fixed point, so that a run repeats. */
const LOSS_PHASE = 0.43;
/** How long a Weaviate backup takes, in platform ms (its completion time is what a restore gets back to). */
const BACKUP_TAKES_MS = 40_000;

/** The stack's config as the program will parse it. */
function stackConfig(options: RehearsalOptions): StackConfig {
  const file = readStackFile(options.projectDir, options.stack);
  const prefix = `${CONFIG_NAMESPACE}:`;
  const overrides = Object.fromEntries(Object.entries(file.config).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), decodeConfigValue(v)]));
  return parseStackConfig(overrides, options.stack);
}

/** A stack with a second region and data to carry there has a failover to rehearse. */
export function regionLossApplies(options: RehearsalOptions): boolean {
  const config = stackConfig(options);
  return config.regions.length > 1;
}

/** What the S3 server and the restores saw: Weaviate's side of the backups, and the jobs' work. */
class SimulatedData {
  readonly jobs: { kind: string; service: string; backup: string; region: string }[] = [];
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly weaviatePrefix: string,
    private readonly nodes: string[],
  ) {}

  /** Weaviate's backup API, as the agent calls it: a backup is its descriptor in the bucket, as backup-s3 writes it. */
  weaviate(now: () => number): AgentDeps["weaviate"] {
    return async (method, path, body) => {
      if (method === "GET" && path === "/v1/backups/s3") {
        const keys = (await this.s3.listObjects(this.bucket, `${this.weaviatePrefix}/`)).map((o) => o.key).filter((k) => k.endsWith("/backup_config.json"));
        const list = await Promise.all(keys.map(async (k) => JSON.parse((await this.s3.getObject(this.bucket, k)) ?? "{}") as { id: string; status: string }));
        return { status: 200, body: list.map((d) => ({ id: d.id, status: d.status })) };
      }
      if (method === "POST" && path === "/v1/backups/s3") {
        const { id } = body as { id: string };
        const at = now();
        const descriptor = { id, status: "SUCCESS", startedAt: new Date(at).toISOString(), completedAt: new Date(at + BACKUP_TAKES_MS).toISOString(), nodes: Object.fromEntries(this.nodes.map((n) => [n, { status: "SUCCESS" }])) };
        await this.s3.putObject(this.bucket, `${this.weaviatePrefix}/${id}/node-0/chunk-1`, "segment data");
        await this.s3.putObject(this.bucket, `${this.weaviatePrefix}/${id}/backup_config.json`, JSON.stringify(descriptor), "application/json");
        return { status: 200, body: { id, status: "STARTED" } };
      }
      const status = /^\/v1\/backups\/s3\/([^/]+)$/.exec(path);
      if (method === "GET" && status) {
        const text = await this.s3.getObject(this.bucket, `${this.weaviatePrefix}/${status[1]}/backup_config.json`);
        return { status: text ? 200 : 404, body: text ? JSON.parse(text) : undefined };
      }
      return { status: 404, body: undefined };
    };
  }

  /** The emulator's job runner: plays a restore job by checking its backup is really in the bucket. */
  readonly runJob: JobRunner = async (job: MachineJob) => {
    const env = (job.config.env ?? {}) as Record<string, string>;
    const kind = ((job.config.metadata ?? {}) as Record<string, string>)[JOB_KIND_KEY];
    const backup = env.SOPHIA_RESTORE_BACKUP_ID ?? "";
    if (kind === "restore-weaviate") {
      const descriptor = await this.s3.getObject(this.bucket, `${this.weaviatePrefix}/${backup}/backup_config.json`);
      if (!descriptor || (JSON.parse(descriptor) as { status?: string }).status !== "SUCCESS") return 4;
    } else if (kind === "restore-litestream") {
      if ((await this.s3.listObjects(this.bucket, `${env.LITESTREAM_PATH}/`)).length === 0) return 4;
    } else {
      return 0;
    }
    this.jobs.push({ kind, service: env.SOPHIA_RESTORE_SERVICE ?? job.app, backup, region: job.region });
    return 0;
  };
}

/** Machines and volumes of the stack's apps in a region, by id, read through app-level lists (which a regional outage spares). */
async function holdings(fly: FlyClient, apps: string[], region: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const app of apps) {
    if (!(await fly.getApp(app))) continue;
    for (const m of await fly.listMachines(app)) if (m.region === region && !isMachineGone(m)) out.add(`machine ${m.id} (${m.name ?? app})`);
    for (const v of await fly.listVolumes(app)) if (v.region === region && !isVolumeGone(v)) out.add(`volume ${v.id} (${app}/${v.name})`);
  }
  return out;
}

/** Apps with no healthy machine in `region` yet: each needs one started with its checks passing, and none failing. */
async function unhealthyIn(fly: FlyClient, apps: string[], region: string): Promise<string[]> {
  const sick: string[] = [];
  for (const app of apps) {
    const machines = (await fly.listMachines(app)).filter((m) => m.region === region && !isMachineGone(m) && (m.config?.restart as { policy?: string } | undefined)?.policy !== "no");
    const healthy = (m: (typeof machines)[number]) => m.state === "started" && (m.checks ?? []).every((c) => c.status === "passing");
    if (machines.length === 0 || !machines.some(healthy) || machines.some((m) => m.state === "started" && !healthy(m))) sick.push(app);
  }
  return sick;
}

function restoresIn(state: DeploymentState): ResourceState[] {
  return [...state.values()].filter((r) => r.type.endsWith("recovery:Restore"));
}

/** The drill as an extra phase of `rehearse`: nothing for a one-region stack or external APIs (it needs the emulator's outage). */
export async function regionLossPhase(ctx: ExtraPhaseContext): Promise<PhaseReport | SkippedPhase | undefined> {
  if (!regionLossApplies(ctx.options)) return undefined;
  if (ctx.external) {
    return { phase: "region lost", skipped: "the drill plays the restore jobs in the emulator's own process (a job runner), which emulators started elsewhere do not have; rehearse without FLY_API_URL to run it" };
  }
  return rehearseRegionLoss({ options: ctx.options, appPrefix: ctx.appPrefix, boundSeconds: ctx.boundSeconds, onEvent: ctx.options.onEvent });
}

export async function rehearseRegionLoss(ctx: { options: RehearsalOptions; appPrefix: string; boundSeconds: number; onEvent?: (phase: PhaseName, event: OperationEvent) => void }): Promise<PhaseReport> {
  const { options, appPrefix } = ctx;
  const scale = options.timeScale;
  const config = stackConfig(options);
  const lost = config.primaryRegion;
  const failover = config.regions.find((r) => r !== lost)!;
  const expectation = `every service healthy in ${failover} after ${lost} is lost, every stateful service restored from a backup made before the loss, nothing in ${lost} deleted; RTO and RPO within 15 min`;
  let data: SimulatedData | undefined;
  const target: Target = await openTarget(scale, options.env ?? process.env, (job) => (data ? data.runJob(job) : 0));
  const rec = new PhaseRecorder("region lost", ctx.boundSeconds, ctx.onEvent);
  const problems: string[] = [];
  try {
    const host = new ProviderHost({ "sophia:flyApiToken": target.proxied.flyApiToken, "sophia:lambdaApiKey": target.proxied.lambdaApiKey });
    const state: DeploymentState = new Map();
    const first = await up({ ...settings(options, target, host, { appPrefix }), state, onEvent: () => {} });
    if (first.error) return report([`The stack did not come up in ${lost} before the drill: ${first.error}`]);
    const fly = new FlyClient({ apiUrl: target.apis.flyApiUrl, apiToken: target.apis.flyApiToken, context: "region-loss drill" });
    const s3 = new S3Client({ endpoint: target.apis.s3Endpoint, useSsl: false, accessKeyId: target.apis.s3AccessKeyId, secretAccessKey: target.apis.s3SecretAccessKey, context: "region-loss drill" });
    const bucket = [...state.values()].find((r) => r.type.endsWith("s3:Bucket"))?.id;
    const agent = [...state.values()].find((r) => r.type.endsWith("fly:Machine") && String(r.inputs.app).endsWith("-backup-agent"));
    if (!bucket || !agent) return report([`The stack has ${bucket ? "no backup agent" : "no backup bucket"}, so nothing backs its data up outside ${lost}.`]);
    const env = ((agent.inputs.config as { env?: Record<string, string> }).env ?? {}) as Record<string, string>;
    const agentSettings = JSON.parse(env.SOPHIA_AGENT_SETTINGS ?? "{}") as AgentSettings;
    const nodes = [...state.values()]
      .filter((r) => r.type.endsWith("fly:Machine") && String(r.inputs.app).endsWith("-weaviate"))
      .map((r) => ((r.inputs.config as { env?: Record<string, string> }).env ?? {}).CLUSTER_HOSTNAME ?? "");
    data = new SimulatedData(s3, bucket, agentSettings.weaviatePrefix, nodes);

    // Backups before the loss: the agent's own cycles, on its schedule, the last one LOSS_PHASE of an interval before the loss.
    const every = agentSettings.everyMinutes * 60_000;
    const lossAt = Date.now();
    const agentState: AgentState = { lastSuccess: {}, runs: {} };
    for (let k = CYCLES_BEFORE_LOSS - 1; k >= 0; k--) {
      const at = lossAt - LOSS_PHASE * every - k * every;
      const deps: AgentDeps = {
        now: () => at,
        sleep: async () => {},
        weaviate: data.weaviate(() => at),
        s3List: (prefix) => s3.listObjects(bucket, prefix),
        s3Delete: (key) => s3.deleteObject(bucket, key),
        log: () => {},
      };
      await runBackupCycle(deps, agentSettings, agentState);
    }
    // Litestream has shipped each database's WAL up to a moment ago.
    for (const replica of agentSettings.litestream) await s3.putObject(bucket, `${replica.prefix}generations/0a1b2c3d4e5f6a7b/wal/00000000/00000001.wal.lz4`, "wal frames");
    const scope = scopeOf(state.values(), appPrefix);
    const before = await holdings(fly, scope.apps, lost);

    // The loss, then the failover: one setting and `up`.
    target.apis.fly?.loseRegion(lost);
    const loss = Date.now();
    target.proxies.forEach((p) => p.take());
    // A delete the failover attempts (of what it should have left alone) throws out of `up`; so does a provider's object.
    const failed = await up({ ...settings(options, target, host, { appPrefix }, { activeRegion: failover }), state, onEvent: rec.onEvent }).catch((err: unknown) => ({
      registered: [],
      notRehearsed: [],
      durations: new Map<string, number>(),
      interrupted: false,
      error: err instanceof Error ? err.message : typeof (err as { message?: unknown })?.message === "string" ? (err as { message: string }).message : JSON.stringify(err),
    }));
    if (failed.error) problems.push(`The failover's \`up\` failed: ${failed.error}`);
    const upDone = Date.now();
    let sick = await unhealthyIn(fly, scope.apps, failover);
    for (let waited = 0; sick.length > 0 && waited < 200; waited++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      sick = await unhealthyIn(fly, scope.apps, failover);
    }
    const healthyAt = Date.now();
    problems.push(...sick.map((app) => `${app} has no healthy machine in ${failover}.`));

    // What each restore used, from the state the failover wrote.
    const restores = restoresIn(state).map((r) => {
      const restored = r.outputs.restored as { id: string; time: string } | undefined;
      return { service: String(r.inputs.service), restore: r.name, backup: restored?.id ?? "", backupTime: restored?.time ?? "", skipped: r.outputs.skipped as string | undefined };
    });
    const statefulNeedingRestore = new Set(restores.map((r) => r.service));
    if (statefulNeedingRestore.size === 0) problems.push("No stateful service has a restore: nothing was recovered.");
    for (const r of restores) {
      if (r.backup === "") problems.push(`${r.restore} restored nothing (${r.skipped ?? "no backup recorded"}).`);
      else if (Date.parse(r.backupTime) >= loss) problems.push(`${r.restore} restored ${r.backup}, made at ${r.backupTime}, after the loss.`);
    }
    if (data.jobs.length !== restores.length) problems.push(`${data.jobs.length} restore jobs ran for ${restores.length} restores.`);
    const after = await holdings(fly, scope.apps, lost);
    const deleted = [...before].filter((item) => !after.has(item));
    problems.push(...deleted.map((item) => `${item} in ${lost} was deleted; the lost region's resources must be left alone.`));

    const deps = customDependencies(failed.registered);
    const rtoSeconds = simulatedSeconds(failed, deps, scale) + Math.round((healthyAt - upDone) / scale / 1000);
    const times = restores.filter((r) => r.backupTime !== "").map((r) => Date.parse(r.backupTime));
    const rpoSeconds = times.length === 0 ? Infinity : Math.round((loss - Math.min(...times)) / 1000);
    if (rtoSeconds > TARGET_SECONDS) problems.push(`RTO ${rtoSeconds} s is above the seed's ${TARGET_SECONDS} s.`);
    if (rpoSeconds > TARGET_SECONDS) problems.push(`RPO ${rpoSeconds} s is above the seed's ${TARGET_SECONDS} s.`);
    return report(problems, {
      rtoSeconds,
      rpoSeconds: Number.isFinite(rpoSeconds) ? rpoSeconds : -1,
      restores: restores.map(({ service, restore, backup, backupTime }) => ({ service, restore, backup, backupTime })),
      simulatedSeconds: rtoSeconds,
    });
  } finally {
    await target.close();
  }

  function report(found: string[], fields: Partial<PhaseReport> = {}): PhaseReport {
    return rec.finish(target, { expectation, problems: found, simulatedSeconds: 0, ...fields });
  }
}
