/**
 * Alert groups that other capabilities add to the generated rule file, in the rules' own type
 * (./rules.ts, AlertDefinition). Each alert's runbook is a section of the README's "Alerts and
 * dashboards" (a test checks that every anchor exists).
 */
import { backupAlerts } from "../recovery/alerts";
import { planRecovery } from "../recovery/plan";
import type { StackView } from "../service-definition";
import type { AlertGroup } from "./rules";

export function extraAlertGroups(view: StackView): AlertGroup[] {
  // The age of each stateful service's newest good backup, as the backup agent reports it.
  const backups = backupAlerts(planRecovery(view.config, view.plan));
  return backups.length === 0 ? [] : [{ name: "backups", alerts: backups }];
}
