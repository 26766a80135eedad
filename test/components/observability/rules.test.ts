/**
 * The rule file generated from the SLOs and the services (components/observability/rules.ts),
 * from the project's stack configs: each SLO, trigger and severity shows up with the right labels
 * and annotations, every expression parses as PromQL, and no rule assumes a histogram bucket.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { alertGroups, monitoredServices, monitoringProblems, renderRuleFile, type AlertDefinition, type AlertGroup } from "../../../components/observability/rules";
import { ruleInput } from "../../../components/observability/services";
import { gateTriggers } from "../../../components/release-analysis";
import { TRIGGER_KINDS } from "../../../src/config/release";
import { forMachines } from "../../../src/providers/fly/resources/release-analysis";
import { SEVERITIES } from "../../../src/config/slo";
import { SERVICE_DEFINITIONS } from "../../../components/services";
import { expectEach } from "../../helpers/expect-each";
import { promqlErrors } from "../../helpers/promql";
import { stackConfig, stackPlan } from "../../helpers/stack-config";

const prod = stackConfig("prod");
const prodPlan = stackPlan(prod);
const groups = alertGroups(ruleInput({ config: prod, plan: prodPlan }));
const alerts = groups.flatMap((g) => g.alerts);
const named = (name: string) => alerts.filter((a) => a.name === name);
const forService = (list: AlertDefinition[], service: string) => list.filter((a) => a.service === service);
const app = (service: string) => prodPlan.fly.find((p) => p.definition.name === service)!.spec.appName;

describe("the SLO alerts", () => {
  const sloServices = ["unified-api", "agno-bridge", "grafana"];

  it("gives each public service on Fly one error-budget alert per burn-rate tier, with the tier's windows and severity", () => {
    expectEach(["unified-api", "agno-bridge"], (service) => {
      const burns = forService(named("ErrorBudgetBurn"), service);
      expect(burns.map((b) => [b.labels?.long_window, b.labels?.short_window, b.severity])).toEqual(
        prod.slo.burnRateAlerts.map((t) => [t.longWindow, t.shortWindow, t.severity]),
      );
    });
  });

  it("compares both windows' 5xx share at the edge with burn rate × budget (14.4 × 0.1% = 1.44%)", () => {
    const fastest = forService(named("ErrorBudgetBurn"), "unified-api").find((a) => a.labels?.long_window === "1h")!;
    expect(fastest.expr).toContain(`fly_edge_http_responses_count{app="${app("unified-api")}",status=~"5.."}[1h]`);
    expect(fastest.expr).toContain(`fly_edge_http_responses_count{app="${app("unified-api")}",status=~"5.."}[5m]`);
    expect(fastest.expr.match(/> 0\.0144\b/g)).toHaveLength(2);
  });

  it("follows a service's own objective", () => {
    const stricter = stackConfig("prod", { slo: { services: { "unified-api": { availability: 0.9995 } } } });
    const burns = alertGroups(ruleInput({ config: stricter, plan: stackPlan(stricter) })).flatMap((g) => g.alerts);
    const fastest = burns.find((a) => a.name === "ErrorBudgetBurn" && a.service === "unified-api" && a.labels?.long_window === "1h")!;
    expect(fastest.expr).toMatch(/> 0\.0072\b/);
    expect(fastest.description).toContain("Its objective is 99.95%");
  });

  it("gives each latency objective an alert on its quantile against its threshold", () => {
    const latency = forService(named("LatencyAboveObjective"), "unified-api");
    expect(latency.map((a) => a.labels?.quantile)).toEqual(["0.95", "0.99"]);
    expect(latency[0].expr).toMatch(/^histogram_quantile\(0\.95, sum by \(le\) \(rate\(fly_edge_http_response_time_seconds_bucket\{[^}]*\}\[1h\]\)\)\) > 0\.15 and /);
    expect(latency[1].expr).toContain("> 0.3");
  });

  it("never selects a histogram bucket by its bound: Fly does not document them", () => {
    expectEach(alerts, (a) => expect(a.expr, a.name).not.toMatch(/\ble\s*=~?\s*"/));
  });

  it("gives SLOs to the public services on Fly only: none to private services, none to the UI Vercel serves", () => {
    const withSlo = [...new Set(alerts.filter((a) => a.labels?.slo).map((a) => a.service))];
    expect(withSlo.sort()).toEqual([...sloServices].sort());
  });
});

describe("the rollback triggers", () => {
  const product = prodPlan.fly.filter((p) => !p.definition.internal).map((p) => p.definition.name);

  it.each([
    ["ReleaseErrorRate", "2m", "P1"],
    ["ReleaseLatency", "3m", "P1"],
    // Its window spans the three failed checks; `for` is one check interval more.
    ["ReleaseHealthChecks", "15s", "P1"],
  ])("%s watches every product service, for %s, as %s", (name, forDuration, severity) => {
    const found = named(name);
    expect(found.map((a) => a.service).sort()).toEqual([...product].sort());
    expectEach(found, (a) => expect([a.for, a.severity]).toEqual([forDuration, severity]));
  });

  it("reads each machine's own proxy series (fly_app_*), whose `instance` is the machine id", () => {
    expectEach(alerts.filter((a) => a.name.startsWith("Release")), (a) => {
      expect(a.expr).toContain("fly_app_http_");
      expect(a.expr).not.toContain("fly_edge_");
    });
  });

  it("gives the release gate the same expression over the new machines, restricted by instance", () => {
    const rules = forService(alerts.filter((a) => a.labels?.trigger !== undefined), "unified-api");
    const gate = gateTriggers(prod.slo.rollback, 15, TRIGGER_KINDS);
    expect(gate).toHaveLength(rules.length);
    expectEach(gate, (t, i) => {
      const some = forMachines(t.breach, app("unified-api"), ["148e4d55f36278", "3d8dd25c0b1e89"]);
      expect(some).toBe(rules[i].expr.replaceAll(`{app="${app("unified-api")}"`, `{app="${app("unified-api")}",instance=~"148e4d55f36278|3d8dd25c0b1e89"`));
      expect(promqlErrors(some)).toEqual([]);
    });
  });

  it("counts three failed health checks in the service's own check interval: 3 × 15 s in prod", () => {
    expect(forService(named("ReleaseHealthChecks"), "unified-api")[0].expr).toContain("[45s]");
  });
});

describe("the infrastructure alerts", () => {
  it("pages when a service that should always run has no machine running, and only for those", () => {
    const alwaysRunning = monitoredServices(prod, prodPlan).filter((s) => s.alwaysRunning).map((s) => s.name);
    expect(named("NoRunningMachine").map((a) => a.service).sort()).toEqual([...alwaysRunning].sort());
    expect(forService(named("NoRunningMachine"), "unified-api")[0]).toMatchObject({ severity: "P0", expr: `absent(fly_instance_up{app="${app("unified-api")}"} == 1)` });
  });

  it("watches every service's machines for out-of-memory exits", () => {
    expect(named("MachineOutOfMemory").map((a) => a.service).sort()).toEqual(prodPlan.fly.map((p) => p.definition.name).sort());
    expectEach(named("MachineOutOfMemory"), (a) => expect(a.expr).toContain("fly_instance_exit_oom"));
  });

  it("warns when a volume is more than 80% full, for the services that have volumes", () => {
    expect(named("VolumeAlmostFull").map((a) => a.service).sort()).toEqual(["mcp-memory", "vector-store", "weaviate"]);
    expectEach(named("VolumeAlmostFull"), (a) => expect(a.expr).toMatch(/fly_volume_used_pct\{[^}]*\}\) > 80$/));
  });

  it("pages when no standing GPU node is ready, as the platform's", () => {
    expect(named("GpuStandingNodeNotReady")).toEqual([
      expect.objectContaining({ service: "platform", severity: "P1", expr: `(max(sophia_gpu_nodes_ready{app="${app("unified-api")}",kind="standing"}) or vector(0)) < 1` }),
    ]);
  });

  it("has no GPU-readiness alert where the pool has no standing node (dev)", () => {
    const dev = stackConfig("dev", { monitoring: { enabled: true } });
    expect(alertGroups(ruleInput({ config: dev, plan: stackPlan(dev) })).flatMap((g) => g.alerts).some((a) => a.name === "GpuStandingNodeNotReady")).toBe(false);
  });

  it("always fires a watchdog, for the heartbeat receiver", () => {
    expect(named("Watchdog")).toEqual([expect.objectContaining({ expr: "vector(1)", service: "platform" })]);
  });
});

describe("every alert", () => {
  it("has a severity P0–P3, a service that is a definition or `platform`, and summary, description and runbook", () => {
    const services = [...SERVICE_DEFINITIONS.map((d) => d.name), "platform"];
    expectEach(alerts, (a) => {
      expect(SEVERITIES, a.name).toContain(a.severity);
      expect(services, a.name).toContain(a.service);
      expect(a.summary.length, a.name).toBeGreaterThan(10);
      expect(a.description.length, a.name).toBeGreaterThan(20);
      expect(a.runbook, a.name).toMatch(/^[a-z0-9-]+$/);
    });
  });

  it("parses as PromQL", () => {
    expectEach(alerts, (a) => expect(promqlErrors(a.expr), `${a.name} (${a.service}): ${a.expr}`).toEqual([]));
  });

  it("uses every severity somewhere", () => {
    expect([...new Set(alerts.map((a) => a.severity))].sort()).toEqual([...SEVERITIES]);
  });

  it("never pages for an operators' tool: Grafana, vmalert and Alertmanager alert at P2 or lower", () => {
    const internal = prodPlan.fly.filter((p) => p.definition.internal).map((p) => p.definition.name);
    expect(internal.sort()).toEqual(["alertmanager", "grafana", "vmalert"]);
    expectEach(alerts.filter((a) => internal.includes(a.service)), (a) => expect(["P2", "P3"], `${a.name} ${a.service}`).toContain(a.severity));
  });

  it("links its runbook to a section of the README that exists", () => {
    const readme = fs.readFileSync(path.resolve(__dirname, "../../../README.md"), "utf8");
    const anchors = new Set([...readme.matchAll(/^#{1,6} (.+)$/gm)].map((m) => githubAnchor(m[1])));
    expectEach([...new Set(alerts.map((a) => a.runbook))], (anchor) => expect(anchors, anchor).toContain(anchor));
  });
});

describe("the rule file", () => {
  const file = parse(renderRuleFile(groups, { evaluationInterval: "30s", runbookUrl: "https://example.com/README.md" })) as {
    groups: { name: string; interval: string; rules: { alert: string; for?: string; labels: Record<string, string>; annotations: Record<string, string> }[] }[];
  };
  const rules = file.groups.flatMap((g) => g.rules);

  it("holds every alert, with severity and service as labels and the runbook as a link to its README anchor", () => {
    expect(rules).toHaveLength(alerts.length);
    expectEach(rules, (r) => {
      expect(Object.keys(r.labels)).toEqual(expect.arrayContaining(["severity", "service"]));
      expect(Object.keys(r.annotations).sort()).toEqual(["description", "runbook", "summary"]);
      expect(r.annotations.runbook).toMatch(/^https:\/\/example\.com\/README\.md#[a-z0-9-]+$/);
    });
  });

  it("evaluates the slow burn tiers every 5 minutes and the rest at the configured interval", () => {
    expect(Object.fromEntries(file.groups.map((g) => [g.name, g.interval]))).toMatchObject({ "sophia-slo": "30s", "sophia-slo-slow-burn": "5m", "sophia-rollback-triggers": "30s" });
  });

  it("gives no `for` to what must fire at once", () => {
    expect(rules.find((r) => r.alert === "MachineOutOfMemory")?.for).toBeUndefined();
    expect(rules.find((r) => r.alert === "ReleaseErrorRate")?.for).toBe("2m");
  });

  it("refuses a stack that runs the monitoring without a runbook URL, saying what to set", () => {
    const without = stackConfig("prod", { monitoring: { enabled: true } });
    expect(without.monitoring.runbookUrl).toBeUndefined();
    expect(monitoringProblems(without)).toEqual([expect.stringMatching(/^sophia:monitoring\.runbookUrl is not set.*pulumi config set --path sophia:monitoring\.runbookUrl https:\/\/github\.com\/<owner>\/<repo>\/blob\/main\/README\.md$/)]);
    expect(() => renderRuleFile(groups, without.monitoring)).toThrow(/sophia:monitoring\.runbookUrl is not set/);
    expect(monitoringProblems(stackConfig("dev", { monitoring: { enabled: false } }))).toEqual([]);
  });

  it("takes alert groups from other capabilities (the backup-age alert, say) as they are", () => {
    const backups: AlertGroup = {
      name: "sophia-backups",
      alerts: [
        {
          name: "BackupTooOld",
          expr: 'time() - sophia_backup_last_success_timestamp_seconds{service="weaviate"} > 900',
          for: "5m",
          severity: "P1",
          service: "weaviate",
          summary: "weaviate's newest backup is older than its RPO",
          description: "No good backup of weaviate in the last 15 minutes.",
          runbook: "backuptooold",
        },
      ],
    };
    const withBackups = parse(renderRuleFile(alertGroups(ruleInput({ config: prod, plan: prodPlan }), [backups]), { evaluationInterval: "30s", runbookUrl: "README.md" }));
    const added = (withBackups as typeof file).groups.find((g) => g.name === "sophia-backups")!;
    expect(added.rules).toEqual([
      expect.objectContaining({ alert: "BackupTooOld", for: "5m", labels: { severity: "P1", service: "weaviate" }, annotations: expect.objectContaining({ runbook: "README.md#backuptooold" }) }),
    ]);
  });
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function githubAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}
