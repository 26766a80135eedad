/**
 * The recovery plan: each stateful service's declared method (components/services.ts) with the
 * stack's overrides (sophia:recovery), normalized and checked before any resource exists. Pure, so
 * the plan, the program and the tests read the same thing.
 */
import { activeRegionOf, dataRegionOf, lostRegionOf, type RecoveryMethod } from "../../src/config/recovery";
import type { StackConfig } from "../../src/config/schema";
import type { FlyRegion } from "../../src/platform";
import type { ServicePlan } from "../platform-services";

/** One stateful service's recovery, as the plan shows it (`recovery` in the plan JSON). */
export interface ServiceRecovery {
  service: string;
  method: RecoveryMethod;
  /** The most data a loss costs, in minutes. */
  rpoMinutes: number;
  /** Regions a restore can target. */
  restoresInto: FlyRegion[];
  /** Where the data lives now. */
  region: FlyRegion;
  /** How backups are made, in words. */
  schedule: string;
  /** How a restore works, in words. */
  restore: string;
  /** Where its backups are in the bucket (weaviate-backup, litestream). */
  prefix?: string;
  /** Litestream: the SQLite database on the service's volume. */
  database?: string;
  /** A chosen backup to restore from at the next move (sophia:recovery.services.<name>.restoreFrom). */
  restoreFrom?: string;
}

export interface RecoveryPlan {
  /** Where the stateful services live and the minimums run. */
  activeRegion: FlyRegion;
  /** The region left alone after a failover. */
  lostRegion?: FlyRegion;
  rpoTargetMinutes: number;
  everyMinutes: number;
  /** How long one scheduled backup may take before the agent counts it failed (see backupTimeoutMinutes). */
  backupTimeoutMinutes: number;
  fullEveryHours: number;
  retentionDays: number;
  /** The bucket, when some service backs up into it. */
  bucket?: { name: string; endpoint: string; region: string; useSsl: boolean };
  services: ServiceRecovery[];
}

/**
 * How long a scheduled backup may take: it must end before the next one starts (every − 1), and a
 * backup's data is as old as its start, so the worst loss is one interval plus this wait, which
 * must stay within the RPO (rpo − every). At least a minute.
 */
export function backupTimeoutMinutes(r: Pick<StackConfig["recovery"], "backupEveryMinutes" | "rpoMinutes">): number {
  return Math.max(1, Math.min(r.backupEveryMinutes - 1, r.rpoMinutes - r.backupEveryMinutes));
}

/** What each method gives: the RPO and where a restore can go. */
function describe(method: RecoveryMethod, c: StackConfig, region: FlyRegion, database?: string): Pick<ServiceRecovery, "rpoMinutes" | "restoresInto" | "schedule" | "restore"> {
  const r = c.recovery;
  switch (method) {
    case "weaviate-backup":
      return {
        // The loss just before a backup completes goes back to the previous one's start.
        rpoMinutes: r.backupEveryMinutes + backupTimeoutMinutes(r),
        restoresInto: [...c.regions],
        schedule: `every ${r.backupEveryMinutes} min (each within ${backupTimeoutMinutes(r)} min), incremental; full every ${r.fullBackupEveryHours} h; kept ${r.retentionDays} d`,
        restore: "a machine job calls Weaviate's restore API, mapping the backup's nodes onto the new ones",
      };
    case "litestream":
      return {
        rpoMinutes: 1,
        restoresInto: [...c.regions],
        schedule: "continuous (Litestream, every 10 s while written)",
        restore: `a machine job runs litestream restore of ${database ?? "the database"} into each new volume`,
      };
    case "volume-snapshot":
      return {
        rpoMinutes: 1440,
        restoresInto: [region],
        schedule: `Fly's daily volume snapshots; kept ${c.volumes.snapshotRetentionDays} d`,
        restore: `by hand, in ${region} only: fly volumes create --snapshot-id <id>`,
      };
  }
}

/** Every stateful service's recovery; throws one error listing every problem. */
export function planRecovery(config: StackConfig, plan: ServicePlan): RecoveryPlan {
  const problems: string[] = [];
  const stateful = plan.fly.filter((p) => p.spec.volume !== undefined);
  const names = stateful.map((p) => p.definition.name);
  // A service made stateless (volumeGb: null) keeps its profile entry, which then says nothing.
  const known = plan.fly.map((p) => p.definition.name);
  for (const name of Object.keys(config.recovery.services)) {
    if (!known.includes(name)) problems.push(`sophia:recovery.services.${name}: not a stateful service of this stack; stateful services: ${names.join(", ") || "none"}`);
  }
  const lostRegion = lostRegionOf(config);
  const services: ServiceRecovery[] = [];
  for (const { definition } of stateful) {
    const name = definition.name;
    const own = config.recovery.services[name] ?? {};
    const method = own.method ?? definition.recovery?.method;
    const at = `sophia:recovery.services.${name}`;
    if (method === undefined) {
      problems.push(`${name} keeps data but declares no recovery: give it one in components/services.ts (recovery.method), or set ${at}.method`);
      continue;
    }
    if (method === "weaviate-backup" && definition.recovery?.method !== "weaviate-backup") {
      problems.push(`${at}.method: "weaviate-backup" is Weaviate's own backup API, which ${name} does not have; use "litestream" (SQLite) or "volume-snapshot"`);
      continue;
    }
    const database = definition.recovery?.database;
    if (method === "litestream" && database === undefined) {
      problems.push(`${at}.method: "litestream" replicates a SQLite database, and ${name} declares none (recovery.database in components/services.ts); use "volume-snapshot"`);
      continue;
    }
    const region = dataRegionOf(config, name);
    const described = describe(method, config, region, database);
    if (described.rpoMinutes > config.recovery.rpoMinutes) {
      const why = method === "weaviate-backup" ? ` (a backup every ${config.recovery.backupEveryMinutes} min, plus up to ${backupTimeoutMinutes(config.recovery)} min for it to finish)` : "";
      const fix = method === "weaviate-backup" ? "lower sophia:recovery.backupEveryMinutes" : `use a method that meets it (${definition.recovery?.method === "weaviate-backup" ? '"weaviate-backup"' : '"litestream"'})`;
      problems.push(`${name}: "${method}" gives an RPO of ${described.rpoMinutes} min${why}, above the stack's sophia:recovery.rpoMinutes ${config.recovery.rpoMinutes}; ${fix} or raise rpoMinutes`);
    }
    const home = config.primaryRegion;
    if (method === "volume-snapshot" && (region !== home || lostRegion !== undefined)) {
      problems.push(`${name} is backed up by Fly volume snapshots, which restore only in the volume's own region (${home}), so it cannot move to ${region === home ? activeRegionOf(config) : region}; set ${at}.method to "litestream" or "weaviate-backup", or keep it in ${home}`);
    }
    if (own.restoreFrom !== undefined && method === "litestream" && own.restoreFrom !== "none" && Number.isNaN(Date.parse(own.restoreFrom))) {
      problems.push(`${at}.restoreFrom: "${own.restoreFrom}" is not a time; a Litestream restore goes to a point in time, e.g. "2026-12-05T15:40:00Z"`);
    }
    services.push({
      service: name,
      method,
      region,
      ...described,
      ...(method === "weaviate-backup" ? { prefix: "weaviate" } : method === "litestream" ? { prefix: `litestream/${name}`, database } : {}),
      ...(own.restoreFrom !== undefined ? { restoreFrom: own.restoreFrom } : {}),
    });
  }
  if (problems.length > 0) throw new Error(`Invalid recovery config (nothing was created):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  const needsBucket = services.some((s) => s.method !== "volume-snapshot");
  const b = config.recovery.bucket;
  return {
    activeRegion: activeRegionOf(config),
    ...(lostRegion !== undefined ? { lostRegion } : {}),
    rpoTargetMinutes: config.recovery.rpoMinutes,
    everyMinutes: config.recovery.backupEveryMinutes,
    backupTimeoutMinutes: backupTimeoutMinutes(config.recovery),
    fullEveryHours: config.recovery.fullBackupEveryHours,
    retentionDays: config.recovery.retentionDays,
    ...(needsBucket ? { bucket: { name: b.name ?? `${config.appPrefix}-backups`, endpoint: b.endpoint, region: b.region, useSsl: b.useSsl } } : {}),
    services,
  };
}
