/**
 * The backup alerts, as plain data for the observability rule generator: one per stateful service
 * whose backups the agent watches, firing when its newest good backup is older than its RPO (P1:
 * data is at risk now) and, earlier, when a scheduled backup fails (P2). They read the agent's
 * gauge, `sophia_backup_last_success_timestamp_seconds{service}`, and its counter
 * `sophia_backup_runs_total{service,result}` (a contract with the rules), with `max by (service)`
 * and `sum by (service)` so that two agents during a failover count as one.
 */
import { BACKUP_METRIC, BACKUP_RUNS_METRIC } from "./backup-agent";
import type { AlertDefinition } from "../observability/rules";
import type { RecoveryPlan } from "./plan";

/** A backup alert: the rule file's own alert type, at P1 or P2. */
export type BackupAlert = AlertDefinition & { severity: "P1" | "P2" };

/**
 * The alerts for a stack's recovery plan. Scheduled backups (Weaviate): P1 when the newest good one
 * is older than the stack's RPO; P2 as soon as one fails, or when none has completed within an
 * interval plus its allowed time where that comes before the RPO. Healthy backups reach that age
 * (a backup's data is as of its start), so a failure is the only signal that can come earlier.
 * Litestream uploads only what changed, so an idle database's newest object ages without risk; it
 * makes a snapshot at least once a day, so its alert is P2 only, past a day and an hour, on the
 * service's newest replicated object (a stopped machine's replica ages without risk too). Services
 * backed up only by Fly's snapshots have no gauge and no alert.
 */
export function backupAlerts(plan: Pick<RecoveryPlan, "services" | "everyMinutes" | "backupTimeoutMinutes" | "rpoTargetMinutes">): BackupAlert[] {
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
          description: `${s.service}'s newest replicated object, over all its volumes, is {{ $value | humanizeDuration }} old, or the backup agent reports none; Litestream snapshots each database it runs at least daily, so replication has stopped. Check the service's logs for litestream.`,
          runbook: "backupreplicationstalled",
        }];
      }
      // Healthy backups reach this age just before the next one completes.
      const lateSeconds = (plan.everyMinutes + plan.backupTimeoutMinutes) * 60;
      const failed = `sum by (service) (increase(${BACKUP_RUNS_METRIC}{service="${s.service}",result="failure"}[${plan.everyMinutes + plan.backupTimeoutMinutes}m])) > 0`;
      const late = lateSeconds < plan.rpoTargetMinutes * 60 ? ` or ${age} > ${lateSeconds + 60}` : "";
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
          expr: `${failed}${late}`,
          severity: "P2",
          service: s.service,
          summary: `${s.service}: a scheduled backup failed`,
          description: `A scheduled backup of ${s.service} (every ${plan.everyMinutes} min) failed or did not finish within ${plan.backupTimeoutMinutes} min; another miss takes the newest good backup past the RPO. See the backup agent's log (fly logs -a <prefix>-backup-agent).`,
          runbook: "backupmissed",
        },
      ];
    });
}
