/**
 * Alert groups that other capabilities add to the generated rule file, in the rules' own type
 * (./rules.ts, AlertDefinition: name, expr, for, severity, service, summary, description,
 * runbook). For example the backup-age alert over `sophia_backup_last_success_timestamp_seconds`:
 * return its group here and give its runbook a section in the README's "Alerts and dashboards".
 */
import type { StackView } from "../service-definition";
import type { AlertGroup } from "./rules";

export function extraAlertGroups(_view: StackView): AlertGroup[] {
  return [];
}
