/**
 * Recovery, wired: the bucket that outlives a region, each stateful service's data region and
 * restores, what each service needs to back itself up (Weaviate's backup-s3 settings, Litestream's
 * environment), and the backup agent. Built from the recovery plan (./plan.ts), knowing services
 * only by their declared method.
 */
import * as pulumi from "@pulumi/pulumi";
import { serviceRegions, type StackConfig } from "../../src/config/schema";
import type { FlyMachineConfig } from "../../src/providers/fly";
import { S3Bucket } from "../../src/providers/s3";
import { RecoveryRegion, RecoveryRestore } from "../../src/providers/recovery";
import { FlyService, flycastUrl, normalizeFlyService, type FlyServiceArgs } from "../fly-service";
import type { PlannedService, ServicesRecovery } from "../platform-services";
import { weaviateNodeNames } from "../services";
import { AGENT_DIR, AGENT_IMAGE, AGENT_PORT, agentFiles } from "./agent-script";
import { BACKUP_METRIC, type AgentSettings } from "./backup-agent";
import { LITESTREAM_CONFIG, LITESTREAM_CONFIG_PATH, litestreamEnv, litestreamPath } from "./litestream";
import type { RecoveryPlan, ServiceRecovery } from "./plan";
import { litestreamRestoreJob, weaviateRestoreJob } from "./restore-jobs";

export const RECOVERY_TYPE = "sophia:recovery:Recovery";
/** The backup agent's service name: its app is `<appPrefix>-backup-agent`. */
export const AGENT_SERVICE = "backup-agent";
/** The agent's machine: the smallest, always on (README: its monthly cost, checked against the cost model). */
export const AGENT_MACHINE = { cpuKind: "shared" as const, cpus: 1, memoryMb: 256 };

export interface RecoveryArgs {
  config: StackConfig;
  plan: RecoveryPlan;
  /** The Fly services, planned: the stateful ones get data regions and restores. */
  services: PlannedService[];
  /** The bucket's credentials, Pulumi secrets from ESC. */
  accessKeyId?: pulumi.Output<string>;
  secretAccessKey?: pulumi.Output<string>;
  /** The services' generated access keys: the agent presents Weaviate's. */
  accessKeys: Record<string, pulumi.Output<string>>;
  flyApiToken: pulumi.Input<string>;
}

/** What a service's FlyService gets from recovery. */
export type RecoveryServiceArgs = Pick<FlyServiceArgs, "env" | "secrets" | "machineEnv" | "files" | "dataDependsOn" | "prepareVolume">;

export class Recovery extends pulumi.ComponentResource implements ServicesRecovery {
  readonly bucket?: S3Bucket;
  readonly regions: Record<string, RecoveryRegion> = {};
  readonly restores: RecoveryRestore[] = [];
  /** Restores that need the running service (Weaviate's), by service, once `created` has made them. */
  private readonly serviceRestores: Record<string, RecoveryRestore> = {};
  private readonly args: RecoveryArgs;

  constructor(name: string, args: RecoveryArgs, opts?: pulumi.ComponentResourceOptions) {
    super(RECOVERY_TYPE, name, {}, opts);
    this.args = args;
    const { config, plan } = args;
    if (plan.bucket && args.accessKeyId && args.secretAccessKey) {
      this.bucket = new S3Bucket(
        "backup-bucket",
        { name: plan.bucket.name, endpoint: plan.bucket.endpoint, region: plan.bucket.region, useSsl: plan.bucket.useSsl, accessKeyId: args.accessKeyId, secretAccessKey: args.secretAccessKey },
        // The backups outlive the stack's machines, as its volumes do.
        { parent: this, protect: config.volumes.protect, retainOnDelete: config.volumes.retainOnDelete },
      );
    }
    for (const s of plan.services) {
      const planned = this.planned(s.service);
      this.regions[s.service] = new RecoveryRegion(`${s.service}-data-region`, { service: s.service, app: planned.spec.appName, region: s.region, apiToken: args.flyApiToken, apiUrl: config.flyApiUrl }, { parent: this });
    }
    this.registerOutputs({ bucket: this.bucket?.url });
  }

  private planned(service: string): PlannedService {
    const found = this.args.services.find((p) => p.definition.name === service);
    if (!found) throw new Error(`recovery plans ${service}, which is not a planned Fly service`);
    return found;
  }

  /** The bucket's connection with its credentials, for restores and the agent. */
  private bucketConnection() {
    const b = this.args.plan.bucket!;
    return pulumi.all([this.args.accessKeyId!, this.args.secretAccessKey!]).apply(([accessKeyId, secretAccessKey]) => ({ name: b.name, endpoint: b.endpoint, region: b.region, useSsl: b.useSsl, accessKeyId, secretAccessKey }));
  }

  /** What the service's FlyService needs: settings to back itself up, and restores of its volumes. */
  serviceArgs(service: string): RecoveryServiceArgs {
    const s = this.args.plan.services.find((x) => x.service === service);
    if (!s) return {};
    const bucket = this.args.plan.bucket;
    const dataDependsOn = [this.regions[service]!, ...(this.bucket ? [this.bucket] : [])];
    if (s.method === "weaviate-backup" && bucket) {
      return {
        dataDependsOn,
        env: {
          ENABLE_MODULES: "backup-s3",
          BACKUP_S3_BUCKET: bucket.name,
          BACKUP_S3_PATH: s.prefix!,
          BACKUP_S3_ENDPOINT: bucket.endpoint,
          BACKUP_S3_USE_SSL: String(bucket.useSsl),
          AWS_REGION: bucket.region,
        },
        secrets: { AWS_ACCESS_KEY_ID: this.args.accessKeyId!, AWS_SECRET_ACCESS_KEY: this.args.secretAccessKey! },
      };
    }
    if (s.method === "litestream" && bucket) {
      const planned = this.planned(service);
      return {
        dataDependsOn,
        env: litestreamEnv(bucket, s.database!),
        secrets: { LITESTREAM_ACCESS_KEY_ID: this.args.accessKeyId!, LITESTREAM_SECRET_ACCESS_KEY: this.args.secretAccessKey! },
        machineEnv: (_region, index) => ({ LITESTREAM_PATH: litestreamPath(service, index) }),
        files: [{ path: LITESTREAM_CONFIG_PATH, content: LITESTREAM_CONFIG }],
        // The job reads the bucket's keys from the app's secrets (LITESTREAM_*), so it waits for them.
        prepareVolume: (volume, region, index, secrets) => this.restore(s, `${service}-restore-${index}`, `restore-${service}-${index}`, region, {
          job: volume.volumeId.apply((id) =>
            litestreamRestoreJob(id, planned.spec.volume!.mountPath, { ...litestreamEnv(bucket, s.database!), LITESTREAM_PATH: litestreamPath(service, index) }),
          ),
          prefix: litestreamPath(service, index),
          servicePrefix: s.prefix!,
        }, secrets ? [secrets] : []),
      };
    }
    return { dataDependsOn: [this.regions[service]!] };
  }

  private restore(s: ServiceRecovery, name: string, jobName: string, region: string, fields: { job: pulumi.Input<FlyMachineConfig>; prefix: string; servicePrefix?: string; targetNodes?: string[] }, dependsOn: pulumi.Resource[] = []): RecoveryRestore {
    const planned = this.planned(s.service);
    const restore = new RecoveryRestore(
      name,
      {
        service: s.service,
        method: s.method as "weaviate-backup" | "litestream",
        app: planned.spec.appName,
        region,
        jobName,
        previousRegion: this.regions[s.service]!.previousRegion,
        restoreFrom: s.restoreFrom,
        bucket: this.bucketConnection(),
        apiToken: this.args.flyApiToken,
        apiUrl: this.args.config.flyApiUrl,
        ...fields,
      },
      { parent: this, dependsOn: [this.regions[s.service]!, ...dependsOn] },
    );
    this.restores.push(restore);
    return restore;
  }

  /** Weaviate's restore needs its running cluster, so it is made once the service exists. */
  created(service: string, created: FlyService): void {
    const s = this.args.plan.services.find((x) => x.service === service);
    if (s?.method !== "weaviate-backup" || !this.args.plan.bucket) return;
    const planned = this.planned(service);
    this.serviceRestores[service] = this.restore(
      s,
      `${service}-restore`,
      `restore-${service}-${s.region}`,
      s.region,
      { job: weaviateRestoreJob(flycastUrl(planned.spec)), prefix: s.prefix!, targetNodes: weaviateNodeNames(planned.spec) },
      created.machines,
    );
  }

  /**
   * What a caller of `service` waits for: Weaviate's restore, since a write before it (an
   * auto-created collection) makes the restore refuse. Litestream's restores need no such wait:
   * they run before the service's own machines exist.
   */
  readyFor(service: string): pulumi.Resource[] {
    const s = this.args.plan.services.find((x) => x.service === service);
    if (s?.method !== "weaviate-backup" || !this.args.plan.bucket) return [];
    const restore = this.serviceRestores[service];
    if (!restore) throw new Error(`a caller of ${service} is created before ${service} itself, so it cannot wait for ${service}'s restore; list ${service} first in components/services.ts`);
    return [restore];
  }

  /** After the services exist: the backup agent. Returns its service, if the stack runs one. */
  finish(services: Record<string, FlyService>): FlyService | undefined {
    const { config, plan } = this.args;
    if (!plan.bucket) return undefined;
    return this.createAgent(config, plan, services);
  }

  private createAgent(config: StackConfig, plan: RecoveryPlan, services: Record<string, FlyService>): FlyService {
    const weaviate = plan.services.find((s) => s.method === "weaviate-backup");
    const weaviatePlanned = weaviate ? this.planned(weaviate.service) : undefined;
    const settings: AgentSettings = {
      everyMinutes: plan.everyMinutes,
      fullEveryHours: plan.fullEveryHours,
      retentionDays: plan.retentionDays,
      weaviateService: weaviate?.service,
      weaviatePrefix: weaviate?.prefix ?? "weaviate",
      litestream: plan.services
        .filter((s) => s.method === "litestream")
        .flatMap((s) => Array.from({ length: this.planned(s.service).spec.maxMachines }, (_, i) => ({ service: s.service, prefix: `${litestreamPath(s.service, i)}/` }))),
      backupTimeoutMinutes: plan.backupTimeoutMinutes,
    };
    const serviceConfig = {
      ...AGENT_MACHINE, minMachines: 1, maxMachines: 1, autostop: "off" as const, autostart: true, strategy: "rolling" as const,
      concurrency: { type: "connections" as const, softLimit: 20, hardLimit: 25 },
      healthCheck: { path: "/healthz", intervalSeconds: 30, gracePeriodSeconds: 10, timeoutSeconds: 5 },
      port: AGENT_PORT,
    };
    const spec = normalizeFlyService({
      service: AGENT_SERVICE,
      config: serviceConfig,
      appPrefix: config.appPrefix,
      org: config.flyOrg,
      primaryRegion: plan.activeRegion,
      homeRegion: config.primaryRegion,
      regions: serviceRegions(config, { ...serviceConfig, regions: [plan.activeRegion] }),
      defaults: { reach: "private" },
      snapshotRetentionDays: config.volumes.snapshotRetentionDays,
      protectVolumes: false,
      retainVolumes: false,
    });
    const b = plan.bucket!;
    return new FlyService(AGENT_SERVICE, {
      spec,
      image: { ref: AGENT_IMAGE },
      init: { entrypoint: ["node", `${AGENT_DIR}/agent.js`] },
      files: agentFiles(),
      metrics: { port: AGENT_PORT, path: "/metrics" },
      env: {
        SOPHIA_AGENT_SETTINGS: JSON.stringify(settings),
        SOPHIA_BACKUP_METRIC: BACKUP_METRIC,
        BACKUP_S3_BUCKET: b.name,
        BACKUP_S3_ENDPOINT: b.endpoint,
        BACKUP_S3_USE_SSL: String(b.useSsl),
        AWS_REGION: b.region,
        PORT: String(AGENT_PORT),
        ...(weaviatePlanned ? { WEAVIATE_URL: flycastUrl(weaviatePlanned.spec) } : {}),
      },
      secrets: {
        AWS_ACCESS_KEY_ID: this.args.accessKeyId!,
        AWS_SECRET_ACCESS_KEY: this.args.secretAccessKey!,
        ...(weaviate && services[weaviate.service] && this.args.accessKeys[weaviate.service] ? { WEAVIATE_API_KEY: this.args.accessKeys[weaviate.service]! } : {}),
      },
      // A failover leaves the lost region's agent parked, like the data it backed up.
      frozenRegions: plan.lostRegion ? [plan.lostRegion] : [],
      parkInFrozenRegions: true,
      // A backup of the still-empty cluster would become the newest, and a retried restore would pick it.
      ...(weaviate ? { machineDependsOn: this.readyFor(weaviate.service) } : {}),
      apiToken: this.args.flyApiToken,
      apiUrl: config.flyApiUrl,
    });
  }
}
