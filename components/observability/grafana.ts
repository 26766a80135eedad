/**
 * Grafana's provisioning, generated: Fly's managed Prometheus as the datasource (its read-only
 * token comes from the machine's environment, which Grafana expands in provisioning files),
 * Alertmanager beside it, and dashboards built from the services the stack runs: SLO compliance
 * and error budget left, per-service traffic, errors, latency and machines per region (which
 * shows autostop and autostart at work), and the GPU pool.
 */
import { stringify } from "yaml";
import type { SloConfig } from "../../src/config/slo";
import { appSelector, braces, num } from "./promql";
import { edgeErrorRatio, edgeLatency, errorRatio, latencyQuantile, machineResponses } from "./queries";
import type { MonitoredService } from "./rules";

export const PROMETHEUS_DATASOURCE_UID = "fly-prometheus";
export const DASHBOARDS_DIR = "/etc/grafana/dashboards";

/** The provisioned datasources; `$NAME` is expanded by Grafana from the machine's environment. */
export function datasourcesFile(options: { prometheusUrl: string; authorizationEnv: string; alertmanagerUrlEnv: string }): string {
  return stringify({
    apiVersion: 1,
    datasources: [
      {
        name: "Fly Prometheus",
        uid: PROMETHEUS_DATASOURCE_UID,
        type: "prometheus",
        access: "proxy",
        url: options.prometheusUrl,
        isDefault: true,
        editable: false,
        // Fly scrapes every 15 s; its Prometheus is VictoriaMetrics.
        jsonData: { httpHeaderName1: "Authorization", timeInterval: "15s", prometheusType: "Prometheus" },
        secureJsonData: { httpHeaderValue1: `$${options.authorizationEnv}` },
      },
      {
        name: "Alertmanager",
        uid: "alertmanager",
        type: "alertmanager",
        access: "proxy",
        url: `$${options.alertmanagerUrlEnv}`,
        editable: false,
        jsonData: { implementation: "prometheus", handleGrafanaManagedAlerts: false },
      },
    ],
  });
}

export function dashboardProviderFile(): string {
  return stringify({
    apiVersion: 1,
    providers: [{ name: "sophia", folder: "Sophia", type: "file", disableDeletion: true, allowUiUpdates: false, options: { path: DASHBOARDS_DIR } }],
  });
}

interface Panel {
  title: string;
  type: "timeseries" | "stat";
  targets: { expr: string; legend?: string }[];
  unit?: string;
  /** Grid width out of 24. */
  width: number;
}

interface Row {
  title: string;
  panels: Panel[];
}

const PANEL_HEIGHT = 7;

/** A Grafana dashboard (JSON model) of rows of panels, laid out left to right. */
function dashboard(uid: string, title: string, rows: Row[], time = "now-6h"): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let y = 0;
  let id = 1;
  for (const row of rows) {
    panels.push({ id: id++, type: "row", title: row.title, collapsed: false, gridPos: { x: 0, y: y++, w: 24, h: 1 }, panels: [] });
    let x = 0;
    for (const p of row.panels) {
      if (x + p.width > 24) {
        x = 0;
        y += PANEL_HEIGHT;
      }
      panels.push({
        id: id++,
        type: p.type,
        title: p.title,
        datasource: { type: "prometheus", uid: PROMETHEUS_DATASOURCE_UID },
        gridPos: { x, y, w: p.width, h: PANEL_HEIGHT },
        targets: p.targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), expr: t.expr, ...(t.legend ? { legendFormat: t.legend } : {}) })),
        fieldConfig: { defaults: { ...(p.unit ? { unit: p.unit } : {}) }, overrides: [] },
        options: p.type === "stat" ? { reduceOptions: { calcs: ["lastNotNull"] }, colorMode: "value" } : { legend: { displayMode: "list", placement: "bottom" } },
      });
      x += p.width;
    }
    y += PANEL_HEIGHT;
  }
  return { uid, title, tags: ["sophia", "generated"], editable: false, schemaVersion: 39, time: { from: time, to: "now" }, refresh: "1m", templating: { list: [] }, panels };
}

/** SLO compliance and the error budget left, per service with an SLO, over the SLO window. */
function sloDashboard(slo: SloConfig, services: MonitoredService[]): Record<string, unknown> {
  const rows = services.flatMap((s): Row[] => {
    if (!s.objectives) return [];
    const budget = 1 - s.objectives.availability;
    const errorShare = (window: string) => edgeErrorRatio(s.app, window);
    return [
      {
        title: `${s.name}: ${num(s.objectives.availability * 100)}% over ${slo.window}`,
        panels: [
          { title: `Availability (${slo.window})`, type: "stat", unit: "percentunit", width: 6, targets: [{ expr: `1 - (${errorShare(slo.window)})` }] },
          { title: "Error budget left", type: "stat", unit: "percentunit", width: 6, targets: [{ expr: `1 - (${errorShare(slo.window)}) / ${num(budget)}` }] },
          {
            title: "Burn rate (1 = budget spent exactly at the end of the window)",
            type: "timeseries",
            width: 12,
            targets: ["5m", "1h", "6h"].map((w) => ({ expr: `(${errorShare(w)}) / ${num(budget)}`, legend: w })),
          },
          ...s.objectives.latency.map(
            (o): Panel => ({
              title: `P${num(o.quantile * 100)} latency (objective ${num(o.thresholdMs)} ms)`,
              type: "timeseries",
              unit: "s",
              width: 12,
              targets: [
                { expr: edgeLatency(s.app, o.quantile, "5m"), legend: "P" + num(o.quantile * 100) },
                { expr: `vector(${num(o.thresholdMs / 1000)})`, legend: "objective" },
              ],
            }),
          ),
        ],
      },
    ];
  });
  return dashboard("sophia-slo", "Sophia: SLOs and error budgets", rows, "now-24h");
}

/** Per service: requests by status, error rate, latency, machines running per region, memory. */
function servicesDashboard(services: MonitoredService[]): Record<string, unknown> {
  const rows = services.map((s): Row => {
    const app = appSelector(s.app);
    const sel = braces(app);
    return {
      title: `${s.name} (${s.app}, ${s.reach})`,
      panels: [
        { title: "Responses per second by status", type: "timeseries", unit: "reqps", width: 8, targets: [{ expr: `sum by (status) (${machineResponses(app, "5m")})`, legend: "{{status}}" }] },
        { title: "5xx share", type: "timeseries", unit: "percentunit", width: 8, targets: [{ expr: errorRatio(app, "5m") }] },
        {
          title: "Latency distribution",
          type: "timeseries",
          unit: "s",
          width: 8,
          targets: [0.5, 0.95, 0.99].map((q) => ({ expr: latencyQuantile(app, q, "5m"), legend: `P${num(q * 100)}` })),
        },
        // Autostop and autostart show as steps: machines stop when idle and start on the next request.
        { title: "Machines running per region (autostop / autostart)", type: "timeseries", width: 12, targets: [{ expr: `count by (region) (fly_instance_up${sel} == 1)`, legend: "{{region}}" }] },
        {
          title: "Memory used",
          type: "timeseries",
          unit: "bytes",
          width: 12,
          targets: [{ expr: `fly_instance_memory_mem_total${sel} - fly_instance_memory_mem_available${sel}`, legend: "{{instance}}" }],
        },
      ],
    };
  });
  return dashboard("sophia-services", "Sophia: services", rows);
}

function gpuDashboard(reporterApp: string, standing: number): Record<string, unknown> {
  const ready = (kind: string) => `max(sophia_gpu_nodes_ready${braces(appSelector(reporterApp), { label: "kind", op: "=", value: kind })})`;
  return dashboard("sophia-gpu", "Sophia: GPU pool", [
    {
      title: `GPU nodes as ${reporterApp} counts them (standing: ${standing})`,
      panels: [
        { title: "Standing nodes ready", type: "stat", width: 6, targets: [{ expr: ready("standing") }] },
        { title: "On-demand workers ready", type: "stat", width: 6, targets: [{ expr: ready("on-demand") }] },
        { title: "Ready nodes over time", type: "timeseries", width: 12, targets: ["standing", "on-demand"].map((kind) => ({ expr: ready(kind), legend: kind })) },
      ],
    },
  ]);
}

/** The dashboard files by name. */
export function dashboardFiles(slo: SloConfig, services: MonitoredService[], gpu: { reporterApp: string; standing: number }): Record<string, string> {
  const json = (d: Record<string, unknown>) => JSON.stringify(d, null, 1);
  return {
    "sophia-slo.json": json(sloDashboard(slo, services)),
    "sophia-services.json": json(servicesDashboard(services)),
    "sophia-gpu.json": json(gpuDashboard(gpu.reporterApp, gpu.standing)),
  };
}
