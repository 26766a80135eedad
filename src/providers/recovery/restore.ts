/**
 * RecoveryRestore: a restore as a resource. Its create chooses the backup (the newest good one, or
 * the one asked for) from the bucket, then runs the restore as a one-shot machine job inside the
 * private network (the job's image and script come from the program) and waits for it, bounded.
 * It runs whenever its target is new (a new volume, a moved region, a chosen backup: each replaces
 * it) and its prefix holds a backup, so a volume lost and recreated in place is restored too. With
 * nothing under its prefix it starts empty, saying why, unless a backup is required (the data moved,
 * or one was asked for) and the service has none at all. Deleting it removes nothing: the job
 * machine is gone already.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { flyClient } from "../fly/resources/common";
import { withSecretOutputs, type FlyConnectionArgs } from "../fly/resources/args";
import type { FlyConnectionInputs } from "../fly/api/connection";
import type { FlyMachineConfig } from "../fly/api/schemas";
import { runMachineJob } from "../fly/resources/job";
import { S3Client } from "../s3/api/client";
import type { S3ConnectionInputs } from "../s3/api/connection";
import { validate } from "../dynamic/check";
import { changedKeys } from "../dynamic/diff";
import { containsUnknown } from "../dynamic/unknown";
import { markerOr, type Marked } from "../dynamic/identity";
import { resourceMarker } from "../dynamic/resource";
import { chooseBackup, nodeMapping, type ChosenBackup, type RestoreMethod } from "./backups";

/** Exit codes the restore jobs use (components/recovery/restore-jobs.ts). */
export const RESTORE_EXIT = { ok: 0, hasData: 3, restoreFailed: 4, unreachable: 5 } as const;

/** "none": start the service empty on purpose. */
export const RESTORE_NOTHING = "none";

export interface RecoveryRestoreArgs extends FlyConnectionArgs {
  service: pulumi.Input<string>;
  method: pulumi.Input<RestoreMethod>;
  /** App the job machine runs in (the service's own, so it has the service's secrets and volumes). */
  app: pulumi.Input<string>;
  region: pulumi.Input<string>;
  /** The job machine's name; with the marker, the job's identity. */
  jobName: pulumi.Input<string>;
  /** The job: image, script, mounts. The chosen backup goes in as env (SOPHIA_RESTORE_*). */
  job: pulumi.Input<FlyMachineConfig>;
  /** The region the data came from (RecoveryRegion.previousRegion): after a move a backup is required, so none at all is an error. */
  previousRegion?: pulumi.Input<string | undefined>;
  /** A backup id (Weaviate) or an RFC 3339 time (Litestream); "none" starts empty. @default the newest good backup */
  restoreFrom?: pulumi.Input<string | undefined>;
  /** Where the backups are. Credentials are secret in state. */
  bucket: pulumi.Input<S3ConnectionInputs & { name: string }>;
  /** The backups' prefix in the bucket, e.g. "weaviate" or "litestream/mcp-memory/0". */
  prefix: pulumi.Input<string>;
  /** Where all of the service's backups are, e.g. "litestream/mcp-memory": what tells a new volume from a lost service. @default prefix */
  servicePrefix?: pulumi.Input<string>;
  /** Weaviate: the target cluster's node names, for node_mapping. */
  targetNodes?: pulumi.Input<string[]>;
  /** @default 1200 */
  timeoutSeconds?: pulumi.Input<number>;
}

export interface RecoveryRestoreInputs extends FlyConnectionInputs, Marked {
  service: string;
  method: RestoreMethod;
  app: string;
  region: string;
  jobName: string;
  job: FlyMachineConfig;
  previousRegion?: string;
  restoreFrom?: string;
  bucket: S3ConnectionInputs & { name: string };
  prefix: string;
  servicePrefix?: string;
  targetNodes?: string[];
  timeoutSeconds?: number;
}

export interface RecoveryRestoreOutputs extends RecoveryRestoreInputs {
  /** The backup restored, or absent when there was nothing to restore. */
  restored?: ChosenBackup;
  /** Why nothing was restored, when nothing was. */
  skipped?: string;
  finishedAt: string;
}

function inputSchema() {
  return z.object({
    service: z.string().min(1),
    method: z.enum(["weaviate-backup", "litestream"]),
    app: z.string().min(1),
    region: z.string().regex(/^[a-z]{3}$/),
    jobName: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i),
    job: z.looseObject({ image: z.string().min(1) }),
    prefix: z.string().min(1),
    timeoutSeconds: z.int().min(10).max(7200).optional(),
  });
}

const REPLACE_KEYS = ["app", "region", "restoreFrom", "previousRegion", "prefix"] as const;

export const recoveryRestoreProvider = {
  async check(_olds: Partial<RecoveryRestoreInputs>, news: RecoveryRestoreInputs) {
    return { inputs: news, failures: validate(inputSchema(), news).failures };
  },

  async diff(_id: string, olds: RecoveryRestoreOutputs, news: RecoveryRestoreInputs) {
    const replaces = changedKeys(olds, news, REPLACE_KEYS);
    // A new target volume (its mount) is new, empty data: restore into it again.
    const mount = (config: FlyMachineConfig | undefined) => config?.mounts?.[0]?.volume;
    if (containsUnknown(news.job) || mount(olds.job) !== mount(news.job)) replaces.push("job");
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: RecoveryRestoreInputs) {
    const id = `${inputs.app}/${inputs.region}/${inputs.jobName}`;
    const done = (fields: Partial<RecoveryRestoreOutputs>) => ({ id, outs: { ...inputs, ...fields, finishedAt: new Date().toISOString() } as RecoveryRestoreOutputs });
    const what = `restore ${inputs.service} in ${inputs.region}`;
    if (inputs.restoreFrom === RESTORE_NOTHING) return done({ skipped: `sophia:recovery.services.${inputs.service}.restoreFrom is "none": ${inputs.service} starts empty` });
    const s3 = new S3Client({ ...inputs.bucket, context: what });
    const where = `s3://${inputs.bucket.name}/${inputs.prefix}`;
    // The target is new (a create): whatever its prefix holds is data it should start with.
    const backup = await chooseBackup(s3, inputs.bucket.name, inputs.method, inputs.prefix, inputs.restoreFrom);
    const servicePrefix = inputs.servicePrefix ?? inputs.prefix;
    if (backup === undefined && servicePrefix !== inputs.prefix && (await chooseBackup(s3, inputs.bucket.name, inputs.method, servicePrefix, inputs.restoreFrom)) !== undefined) {
      // A volume index that never had a replica (e.g. a raised maxMachines): the service's data is on its other volumes.
      return done({ skipped: `${where} has never held a backup (${inputs.service}'s other volumes have): this volume starts empty` });
    }
    if (backup === undefined && inputs.previousRegion === undefined && inputs.restoreFrom === undefined) {
      return done({ skipped: `s3://${inputs.bucket.name}/${servicePrefix} holds no backup of ${inputs.service} yet (a first deployment): nothing to restore` });
    }
    if (backup === undefined) {
      throw new Error(
        `${what}: ${inputs.restoreFrom === undefined ? `${where} holds no good backup of ${inputs.service}` : `${where} holds no good backup "${inputs.restoreFrom}"`}, so nothing was restored and ${inputs.service}'s machines in ${inputs.region} hold no data. ` +
          `Check sophia:recovery.bucket (it must be the bucket the backups went to)${inputs.restoreFrom === undefined ? "" : ` and the backup id in sophia:recovery.services.${inputs.service}.restoreFrom`}, ` +
          `or set sophia:recovery.services.${inputs.service}.restoreFrom to "none" to start it empty on purpose, then run \`pulumi up\` again.`,
      );
    }
    const env: Record<string, string> = { SOPHIA_RESTORE_BACKUP_ID: backup.id, SOPHIA_RESTORE_SERVICE: inputs.service };
    if (inputs.method === "weaviate-backup") env.SOPHIA_NODE_MAPPING = JSON.stringify(nodeMapping(backup.nodes ?? [], inputs.targetNodes ?? []));
    if (inputs.method === "litestream" && inputs.restoreFrom !== undefined) env.SOPHIA_RESTORE_TIMESTAMP = inputs.restoreFrom;
    const client = flyClient(inputs, what);
    const job = { ...inputs.job, env: { ...inputs.job.env, ...env } };
    const result = await runMachineJob(client, {
      app: inputs.app,
      name: inputs.jobName,
      region: inputs.region,
      config: job,
      marker: markerOr(inputs.marker, `restore:${id}`),
      timeoutSeconds: inputs.timeoutSeconds ?? 1200,
    }).catch((err: unknown) => {
      throw new Error(`${what} from backup ${backup.id} (${backup.time}): ${err instanceof Error ? err.message : String(err)}. Run \`pulumi up\` again to retry the restore.`);
    });
    if (result.exitCode === RESTORE_EXIT.ok) return done({ restored: backup });
    const logs = `fly logs -a ${inputs.app} --machine ${result.machineId}`;
    if (result.exitCode === RESTORE_EXIT.hasData) {
      throw new Error(
        `${what} from backup ${backup.id}: refused, because ${inputs.service} in ${inputs.region} already holds data (the job found it: ${logs}). ` +
          `A restore goes only into empty data; to restore this backup, move ${inputs.service} to a region without its data ` +
          `(sophia:recovery.services.${inputs.service}.region), or remove the data first, then run \`pulumi up\` again.`,
      );
    }
    const cause = result.exitCode === RESTORE_EXIT.unreachable ? `the job could not reach ${inputs.service}` : `the job failed with exit code ${result.exitCode}`;
    throw new Error(
      `${what} from backup ${backup.id} (${backup.time}) failed: ${cause}. See why with ${logs}; ${inputs.service}'s machines in ${inputs.region} may hold a partial restore. ` +
        `Fix the cause, or pick another backup with sophia:recovery.services.${inputs.service}.restoreFrom, then run \`pulumi up\` again (the restore runs again).`,
    );
  },

  async read(id: string, props: RecoveryRestoreOutputs) {
    return { id, props };
  },

  async update(_id: string, olds: RecoveryRestoreOutputs, news: RecoveryRestoreInputs) {
    return { outs: { ...news, restored: olds.restored, skipped: olds.skipped, finishedAt: olds.finishedAt } };
  },

  // The job machine was destroyed when it finished; the restored data belongs to the service.
  async delete() {},
};

/** A restore of one stateful service (or one of its volumes). `pulumi-nodejs:dynamic/recovery:Restore`. */
export class RecoveryRestore extends pulumi.dynamic.Resource {
  declare readonly restored: pulumi.Output<ChosenBackup | undefined>;
  declare readonly skipped: pulumi.Output<string | undefined>;

  constructor(name: string, args: RecoveryRestoreArgs, opts?: pulumi.CustomResourceOptions) {
    super(recoveryRestoreProvider, name, { ...args, marker: resourceMarker(name), restored: undefined, skipped: undefined, finishedAt: undefined }, withSecretOutputs(opts, ["bucket"]), "recovery", "Restore");
  }
}
