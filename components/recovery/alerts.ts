/**
 * The backup alerts, as plain data for the observability rule generator: one per stateful service
 * whose backups the agent watches, firing when its newest good backup is older than its RPO (P1:
 * data is at risk now) and, earlier, when it has missed two scheduled backups (P2). They read the
 * agent's gauge, `sophia_backup_last_success_timestamp_seconds{service}` (a contract with the
 * rules), with `max by (service)` so that two agents during a failover count as one.
 */
import { BACKUP_METRIC } from "./backup-agent";
import type { AlertDefinition } from "../observability/rules";
import type { RecoveryPlan } from "./plan";

/** A backup alert: the rule file's own alert type, at P1 or P2. */
export type BackupAlert = AlertDefinition & { severity: "P1" | "P2" };

/**
 * The alerts for a stack's recovery plan. Scheduled backups (Weaviate): P1 when the newest good one
 * is older than the stack's RPO, P2 when two intervals have passed without one. Litestream uploads
 * only what changed, so an idle database's newest object ages without risk; it makes a snapshot at
 * least once a day, so its alert is P2 only, past a day and an hour. Services backed up only by
 * Fly's snapshots have no gauge and no alert.
 */
export function backupAlerts(plan: Pick<RecoveryPlan, "services" | "everyMinutes" | "rpoTargetMinutes">): BackupAlert[] {
  return plan.services
    .filter((s) => s.method !== "volume-snapshot")
    .flatMap((s): BackupAlert[] => {
      const metric = `${BACKUP_METRIC}{service="${s.service}"}`;
      const age = `time() - max by (service) (${metric})`;
      if (s.method === "litestream") {
        return [{
          name: "BackupReplicationStalled",
          expr: `${age} > ${25 * 3600} or absent(${metric})`,
          for: "10m",
          severity: "P2",
          service: s.service,
          summary: `${s.service}: Litestream has replicated nothing for over a day`,
          description: `${s.service}'s newest replicated object is {{ $value | humanizeDuration }} old; Litestream snapshots each database at least daily, so replication has stopped. Check the service's logs for litestream.`,
          runbook: "backupreplicationstalled",
        }];
      }
      return [
        {
          name: "BackupOlderThanRpo",
          expr: `${age} > ${plan.rpoTargetMinutes * 60} or absent(${metric})`,
          for: "1m",
          severity: "P1",
          service: s.service,
          summary: `${s.service}: the newest good backup is older than the RPO`,
          description: `The stack promises an RPO of ${plan.rpoTargetMinutes} min; ${s.service}'s newest good backup is {{ $value | humanizeDuration }} old, or the backup agent reports none. A loss now would cost more data than promised.`,
          runbook: "backupolderthanrpo",
        },
        {
          name: "BackupMissed",
          expr: `${age} > ${2 * plan.everyMinutes * 60 + 60}`,
          for: "2m",
          severity: "P2",
          service: s.service,
          summary: `${s.service}: scheduled backups are being missed`,
          description: `${s.service}'s newest good backup is {{ $value | humanizeDuration }} old, past two of its ${plan.everyMinutes}-minute intervals; see the backup agent's log (fly logs -a <prefix>-backup-agent).`,
          runbook: "backupmissed",
        },
      ];
    });
}
