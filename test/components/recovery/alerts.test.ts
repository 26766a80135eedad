/** The backup alerts handed to the observability rules: plain data over the agent's gauge. */
import { describe, expect, it } from "vitest";
import { backupAlerts } from "../../../components/recovery/alerts";
import { BACKUP_METRIC, BACKUP_RUNS_METRIC, renderMetrics } from "../../../components/recovery/backup-agent";
import type { RecoveryPlan } from "../../../components/recovery/plan";
import { expectEach } from "../../helpers/expect-each";

const service = (name: string, method: RecoveryPlan["services"][number]["method"], rpoMinutes: number) => ({
  service: name, method, rpoMinutes, restoresInto: ["sjc" as const, "lax" as const], region: "sjc" as const, schedule: "", restore: "",
});
const plan = { everyMinutes: 10, backupTimeoutMinutes: 5, rpoTargetMinutes: 15, services: [service("weaviate", "weaviate-backup", 15), service("mcp-memory", "litestream", 1), service("old", "volume-snapshot", 1440)] };
const alerts = backupAlerts(plan);

describe("backup alerts", () => {
  it("reads the agent's gauge or run counter by their contract names", () => {
    expect(BACKUP_METRIC).toBe("sophia_backup_last_success_timestamp_seconds");
    expect(BACKUP_RUNS_METRIC).toBe("sophia_backup_runs_total");
    expectEach(alerts, (a) => expect(a.expr.includes(`${BACKUP_METRIC}{service="${a.service}"}`) || a.expr.includes(`${BACKUP_RUNS_METRIC}{service="${a.service}"`), a.name).toBe(true));
  });

  it("fires P1 when Weaviate's newest good backup is older than the stack's RPO, or the agent reports none", () => {
    const p1 = alerts.find((a) => a.service === "weaviate" && a.severity === "P1");
    expect(p1).toMatchObject({ name: "BackupOlderThanRpo", for: "1m", runbook: "backupolderthanrpo" });
    expect(p1?.expr).toBe(`time() - max by (service) (${BACKUP_METRIC}{service="weaviate"}) > 900 or absent(${BACKUP_METRIC}{service="weaviate"})`);
  });

  it("warns P2 as soon as a scheduled backup fails, from the agent's run counter, which it serves under the contract name", () => {
    const p2 = alerts.find((a) => a.service === "weaviate" && a.severity === "P2");
    expect(p2?.expr).toBe(`sum by (service) (increase(${BACKUP_RUNS_METRIC}{service="weaviate",result="failure"}[15m])) > 0`);
    expect(renderMetrics({ lastSuccess: {}, runs: { weaviate: { success: 1, failure: 0 } } }, BACKUP_METRIC)).toContain(`${BACKUP_RUNS_METRIC}{service="weaviate",result="failure"} 0`);
  });

  it("warns P2 on age too, where a late backup shows before the RPO is reached", () => {
    const roomy = backupAlerts({ ...plan, everyMinutes: 5, backupTimeoutMinutes: 4 });
    expect(roomy.find((a) => a.service === "weaviate" && a.severity === "P2")?.expr).toMatch(/\[9m\]\)\) > 0 or time\(\) - max by \(service\) \(sophia_backup_last_success_timestamp_seconds\{service="weaviate"\}\) > 600$/);
  });

  it("warns P2 only for Litestream, past a day without an upload, since an idle database uploads nothing", () => {
    expect(alerts.filter((a) => a.service === "mcp-memory").map((a) => [a.name, a.severity])).toEqual([["BackupReplicationStalled", "P2"]]);
  });

  it("has no alert for a service backed up only by Fly's snapshots, which no gauge watches", () => {
    expect(alerts.filter((a) => a.service === "old")).toEqual([]);
  });

  it("gives every alert a name, summary, description and a runbook named after it", () => {
    expectEach(alerts, (a) => {
      expect(a.summary.length).toBeGreaterThan(10);
      expect(a.description.length).toBeGreaterThan(10);
      expect(a.runbook).toBe(a.name.toLowerCase());
    });
  });
});
