/** Grafana's generated provisioning (components/observability/grafana.ts): the datasource and the dashboards. */
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { dashboardFiles, datasourcesFile } from "../../../components/observability/grafana";
import { alertGroups, monitoredServices } from "../../../components/observability/rules";
import { ruleInput } from "../../../components/observability/services";
import { expectEach } from "../../helpers/expect-each";
import { promqlErrors } from "../../helpers/promql";
import { stackConfig, stackPlan } from "../../helpers/stack-config";

const prod = stackConfig("prod");
const services = monitoredServices(prod, stackPlan(prod));
const dashboards = Object.fromEntries(
  Object.entries(dashboardFiles(prod.slo, services, { reporterApp: "sophia-prod-unified-api", standing: 1 })).map(([name, text]) => [name, JSON.parse(text)]),
) as Record<string, { uid: string; panels: { type: string; title: string; targets?: { expr: string }[] }[] }>;
const panels = Object.values(dashboards).flatMap((d) => d.panels);

describe("the datasource", () => {
  const file = parse(datasourcesFile({ prometheusUrl: "https://api.fly.io/prometheus/sophia", authorizationEnv: "FLY_PROMETHEUS_AUTHORIZATION", alertmanagerUrlEnv: "ALERTMANAGER_URL" })) as {
    datasources: { type: string; url: string; isDefault?: boolean; jsonData?: Record<string, string>; secureJsonData?: Record<string, string> }[];
  };

  it("is Fly's managed Prometheus, with the token's Authorization header taken from the environment, never written", () => {
    expect(file.datasources[0]).toMatchObject({
      type: "prometheus",
      url: "https://api.fly.io/prometheus/sophia",
      isDefault: true,
      jsonData: { httpHeaderName1: "Authorization" },
      secureJsonData: { httpHeaderValue1: "$FLY_PROMETHEUS_AUTHORIZATION" },
    });
  });

  it("adds Alertmanager, so that silences can be seen and set from Grafana", () => {
    expect(file.datasources[1]).toMatchObject({ type: "alertmanager", url: "$ALERTMANAGER_URL" });
  });
});

describe("the dashboards", () => {
  it("are the SLOs, the services and the GPU pool", () => {
    expect(Object.values(dashboards).map((d) => d.uid)).toEqual(["sophia-slo", "sophia-services", "sophia-gpu"]);
  });

  it("show each SLO's compliance and error budget left", () => {
    const rows = dashboards["sophia-slo.json"].panels.filter((p) => p.type === "row").map((p) => p.title);
    expect(rows).toEqual(["unified-api: 99.9% over 14d", "agno-bridge: 99.9% over 14d", "grafana: 99% over 14d"]);
    expect(dashboards["sophia-slo.json"].panels.filter((p) => p.title === "Error budget left")).toHaveLength(3);
  });

  it("give every service its row: traffic, errors, latency, machines per region", () => {
    const rows = dashboards["sophia-services.json"].panels.filter((p) => p.type === "row").map((p) => p.title.split(" ")[0]);
    expect(rows).toEqual(services.map((s) => s.name));
    expect(dashboards["sophia-services.json"].panels.filter((p) => p.title.startsWith("Machines running per region"))).toHaveLength(services.length);
  });

  describe("plot what the alerts measure", () => {
    const alerts = alertGroups(ruleInput({ config: prod, plan: stackPlan(prod) })).flatMap((g) => g.alerts);
    const sloPanel = (title: string) => dashboards["sophia-slo.json"].panels.find((p) => p.title.startsWith(title))!;
    const { longWindow } = prod.slo.latencyAlert;

    it("each latency objective over successful responses, as its alert reads it", () => {
      const alert = alerts.find((a) => a.name === "LatencyAboveObjective" && a.service === "unified-api" && a.labels?.quantile === "0.95")!;
      const alertQuantile = alert.expr.split(" > ")[0];
      expect(alertQuantile).toContain(`[${longWindow}]`);
      expect(sloPanel("P95 latency").targets![0].expr).toBe(alertQuantile.replace(`[${longWindow}]`, "[5m]"));
    });

    it("the burn rate as its alert computes the error ratio", () => {
      const alert = alerts.find((a) => a.name === "ErrorBudgetBurn" && a.service === "unified-api" && a.labels?.long_window === "1h")!;
      const alertRatio = /^\((.*)\) > [\d.]+ and /.exec(alert.expr)![1];
      expect(sloPanel("Burn rate").targets!.find((t) => t.expr.includes("[1h]"))!.expr).toBe(`(${alertRatio}) / 0.001`);
    });
  });

  it("query in valid PromQL", () => {
    const queries = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expectEach(queries, (q) => expect(promqlErrors(q), q).toEqual([]));
  });
});
