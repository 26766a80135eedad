/** The plan's monitoring section, for a terminal `width` columns wide and for `plans/<stack>.md`. */
import { num } from "../../components/observability/promql";
import type { MonitoringSummary } from "./document";
import { DEFAULT_WIDTH, fitTable, wrap, wrapAll } from "./text-layout";

const RECEIVER_NAMES: Record<string, string> = { pagerduty: "PagerDuty", slack: "Slack" };
export const MONITORING_KEY = "sophia:monitoring.enabled";

const latencyText = (latency: MonitoringSummary["slos"][number]["latency"]) =>
  latency.length === 0 ? "—" : latency.map((l) => `P${num(l.quantile * 100)} < ${num(l.thresholdMs)} ms`).join(", ");

/** "ErrorBudgetBurn 1h/5m", "LatencyAboveObjective P95": an alert and what tells its rules apart. */
function alertKind(alert: MonitoringSummary["alerts"][number]): string {
  const { long_window: long, short_window: short, quantile } = alert.labels;
  if (long && short) return `${alert.name} ${long}/${short}`;
  if (quantile) return `${alert.name} P${num(Number(quantile) * 100)}`;
  return alert.name;
}

/** Per severity, each kind of alert with the services it watches. */
function alertsBySeverity(summary: MonitoringSummary): { severity: string; header: string; kinds: [string, string[]][] }[] {
  return summary.escalation.map(({ severity, notify, respondWithin }) => {
    const kinds = new Map<string, string[]>();
    for (const a of summary.alerts.filter((a) => a.severity === severity && a.name !== "Watchdog")) {
      const kind = alertKind(a);
      kinds.set(kind, [...new Set([...(kinds.get(kind) ?? []), a.service])]);
    }
    const who = notify.length === 0 ? "nobody is told" : notify.map((n) => RECEIVER_NAMES[n] ?? n).join(" + ");
    return { severity, header: `${who}, respond within ${respondWithin}`, kinds: [...kinds] };
  });
}

/** Whether monitoring runs and what it is made of: a heading, then its details (unwrapped). */
function statusLines(summary: MonitoringSummary): [string, ...string[]] {
  if (!summary.enabled) {
    return [
      `Monitoring: off. Turn it on with: pulumi config set --path ${MONITORING_KEY} true`,
      "(vmalert, Alertmanager and Grafana as small Fly apps; their secrets come from ESC, see the README)",
    ];
  }
  return [
    `Monitoring: on (${MONITORING_KEY}). vmalert evaluates ${summary.alerts.length} alert rules against Fly's Prometheus, Alertmanager routes ` +
      `them by severity${summary.grafanaUrl ? `, Grafana at ${summary.grafanaUrl}` : ""}.`,
    ...(summary.files
      ? [`Beside this plan: ${summary.files.rules} (the exact rule file) and ${summary.files.alertmanager} (the routing, ESC secrets as placeholders)`]
      : []),
  ];
}

function sloRows(summary: MonitoringSummary): string[][] {
  return summary.slos.map((s) => [s.service, `${num(s.availability * 100)}%`, latencyText(s.latency)]);
}

/** The section for a terminal `width` columns wide. */
export function renderMonitoring(summary: MonitoringSummary, width = DEFAULT_WIDTH): string {
  const rows = sloRows(summary);
  const [status, ...details] = statusLines(summary);
  const lines = [
    ...wrap(status, width, "", "  "),
    ...wrapAll(details, width, "  ", "    "),
    ...wrap(`SLOs over ${summary.sloWindow}${summary.enabled ? "" : " (nothing evaluates them while monitoring is off)"}`, width, "", "  "),
    ...(rows.length === 0 ? ["  none"] : fitTable(["service", "availability", "latency"], rows, width - 2).map((l) => `  ${l}`)),
    ...(summary.withoutSlo.length > 0 ? wrap(`No SLO: ${summary.withoutSlo.join(", ")}`, width, "  ", "    ") : []),
  ];
  if (!summary.enabled) return lines.join("\n");
  lines.push("Alerts by severity");
  for (const { severity, header, kinds } of alertsBySeverity(summary)) {
    lines.push(...wrap(header, width, `  ${severity}  `, "      "));
    for (const [kind, services] of kinds) lines.push(...wrap(`${kind}: ${services.join(", ")}`, width, "      ", "        "));
  }
  if (summary.alerts.some((a) => a.name === "Watchdog")) {
    lines.push(...wrap("Watchdog: always firing, to the heartbeat receiver; silence there means the pipeline is down", width, "  ", "    "));
  }
  return lines.join("\n");
}

export function renderMonitoringMarkdown(summary: MonitoringSummary): string[] {
  const cell = (c: string) => c.replace(/\|/g, "\\|");
  return [
    "## Monitoring",
    "",
    ...statusLines(summary),
    "",
    `SLOs over ${summary.sloWindow}:`,
    "",
    "| service | availability | latency |",
    "|---|---|---|",
    ...sloRows(summary).map((r) => `| ${r.map(cell).join(" | ")} |`),
    "",
    ...(summary.enabled
      ? [
          "| severity | who, how soon | alerts |",
          "|---|---|---|",
          ...alertsBySeverity(summary).map(({ severity, header, kinds }) => `| ${severity} | ${cell(header)} | ${cell(kinds.map(([k, s]) => `${k}: ${s.join(", ")}`).join("; "))} |`),
          "",
        ]
      : []),
  ];
}
