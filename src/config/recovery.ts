/**
 * `sophia:recovery`: how the stack keeps its data recoverable and where it runs it. The backup
 * schedule and retention, the bucket that outlives a region, the RPO the stack promises, per-service
 * overrides of the method each service's definition declares (components/services.ts), and the
 * failover switch: `activeRegion`, where the stateful services live and the minimums run.
 */
import { z } from "zod";
import { FLY_REGIONS, type FlyRegion } from "../platform";
import { endpointProblem } from "../providers/s3";
import { strictObject } from "./strict-object";

/**
 * How a stateful service is backed up. "weaviate-backup": Weaviate's backup-s3 module into the
 * bucket, triggered on a schedule. "litestream": continuous replication of a SQLite database into
 * the bucket. "volume-snapshot": Fly's daily volume snapshots, restorable in the volume's region only.
 */
export const RECOVERY_METHODS = ["weaviate-backup", "litestream", "volume-snapshot"] as const;
export type RecoveryMethod = (typeof RECOVERY_METHODS)[number];

const flyRegion = z.enum(FLY_REGIONS);

const bucketSchema = strictObject({
  /** Bucket name; global on most stores. @default `<appPrefix>-backups` */
  name: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be 3–63 lower-case letters, digits, dots and dashes").optional(),
  /** S3 API host[:port], no scheme. Tigris by default. */
  endpoint: z.string().superRefine((value, ctx) => {
    const problem = endpointProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
  /** Signing region ("auto" for Tigris). */
  region: z.string().min(1),
  /** https when true. */
  useSsl: z.boolean(),
});

const serviceRecoverySchema = strictObject({
  /** Overrides the method the service's definition declares. */
  method: z.enum(RECOVERY_METHODS).optional(),
  /** Where this service's data lives, when it differs from `activeRegion` (a restore of one service elsewhere). */
  region: flyRegion.optional(),
  /**
   * Restore from this backup when the service's data is next created (a move, a failover): a
   * Weaviate backup id, or for Litestream an RFC 3339 time. @default the newest good backup
   */
  restoreFrom: z.string().min(1).optional(),
});

export const recoverySchema = strictObject({
  /** Region where the stateful services live and the minimum machine counts run. @default primaryRegion */
  activeRegion: flyRegion.optional(),
  /** The most data, in minutes, a loss may cost: every stateful service's method must give at least this. */
  rpoMinutes: z.number().int().min(1),
  /** Minutes between scheduled backups (Weaviate); below rpoMinutes, since each may take up to min(every − 1, rpo − every) min and the RPO claimed is their sum. */
  backupEveryMinutes: z.number().int().min(1).max(1440),
  /** Hours between full backups; the ones between are incremental on the previous one. */
  fullBackupEveryHours: z.number().int().min(1).max(168),
  /** Days a backup chain is kept after its newest backup; a chain is only ever removed whole. */
  retentionDays: z.number().int().min(1).max(365),
  /** The S3-compatible bucket backups go to. */
  bucket: bucketSchema,
  /** Per stateful service, by name. */
  services: z.record(z.string(), serviceRecoverySchema),
});

export type RecoveryConfig = z.infer<typeof recoverySchema>;
export type ServiceRecoveryConfig = z.infer<typeof serviceRecoverySchema>;

interface RecoveryContext {
  primaryRegion: FlyRegion;
  regions: readonly FlyRegion[];
  recovery?: RecoveryConfig;
}

/** The region the stateful services live in and the minimums run: the failover switch. */
export function activeRegionOf(c: RecoveryContext): FlyRegion {
  return c.recovery?.activeRegion ?? c.primaryRegion;
}

/** Where one stateful service's data lives. */
export function dataRegionOf(c: RecoveryContext, service: string): FlyRegion {
  return c.recovery?.services[service]?.region ?? activeRegionOf(c);
}

/** The region left alone after a failover (its machines are not touched), if the stack has failed over. */
export function lostRegionOf(c: RecoveryContext): FlyRegion | undefined {
  const active = activeRegionOf(c);
  return active === c.primaryRegion ? undefined : c.primaryRegion;
}

/** Problems with `sophia:recovery` on its own and against the regions, each with its path. */
export function checkRecovery(c: RecoveryContext & { recovery: RecoveryConfig }, add: (path: (string | number)[], message: string) => void): void {
  const r = c.recovery;
  const outside = (region: FlyRegion) => !c.regions.includes(region);
  if (r.activeRegion !== undefined && outside(r.activeRegion)) {
    add(["recovery", "activeRegion"], `"${r.activeRegion}" is not one of the stack's regions [${c.regions.join(", ")}]; fail over to one of them (a region's machines and addresses exist only where sophia:regions lists it)`);
  }
  for (const [name, s] of Object.entries(r.services)) {
    if (s.region !== undefined && outside(s.region)) {
      add(["recovery", "services", name, "region"], `"${s.region}" is not one of the stack's regions [${c.regions.join(", ")}]`);
    }
  }
  if (r.backupEveryMinutes >= r.rpoMinutes) {
    add(["recovery", "backupEveryMinutes"], `a backup every ${r.backupEveryMinutes} min cannot keep the loss under the RPO of ${r.rpoMinutes} min (sophia:recovery.rpoMinutes): a backup also takes time, and the loss is one interval plus that time; set backupEveryMinutes below ${r.rpoMinutes}, or raise rpoMinutes`);
  }
}
