/** The plan's monitoring section, for the terminal (at most 120 columns) and for `plans/<stack>.md`. */
import { num } from "../../components/observability/promql";
import type { MonitoringSummary } from "./document";

const WIDTH = 120;
const RECEIVER_NAMES: Record<string, string> = { pagerduty: "PagerDuty", slack: "Slack" };
export const MONITORING_KEY = "sophia:monitoring.enabled";

/** Words wrapped to `width`: the text's own leading spaces start the first line, `indent` the others. */
export function wrap(text: string, indent: string, width = WIDTH): string[] {
  const lead = /^ */.exec(text)![0];
  const lines: string[] = [];
  let line = lead;
  for (const word of text.slice(lead.length).split(" ").filter((w) => w !== "")) {
    const blank = line.trim() === "";
    const candidate = blank ? `${line}${word}` : `${line} ${word}`;
    if (candidate.length > width && !blank) {
      lines.push(line);
      line = `${indent}${word}`;
    } else {
      line = candidate;
    }
  }
  if (line.trim() !== "") lines.push(line);
  return lines;
}

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

function statusLines(summary: MonitoringSummary): string[] {
  if (!summary.enabled) {
    return [
      `Monitoring: off. Turn it on with: pulumi config set --path ${MONITORING_KEY} true`,
      "  (vmalert, Alertmanager and Grafana as small Fly apps; their secrets come from ESC, see the README)",
    ];
  }
  const rules = summary.alerts.length;
  return [
    ...wrap(
      `Monitoring: on (${MONITORING_KEY}). vmalert evaluates ${rules} alert rules against Fly's Prometheus, Alertmanager routes ` +
        `them by severity${summary.grafanaUrl ? `, Grafana at ${summary.grafanaUrl}` : ""}.`,
      "  ",
    ),
    ...(summary.files
      ? wrap(`  Beside this plan: ${summary.files.rules} (the exact rule file) and ${summary.files.alertmanager} (the routing, ESC secrets as placeholders)`, "    ")
      : []),
  ];
}

function sloRows(summary: MonitoringSummary): string[][] {
  return summary.slos.map((s) => [s.service, `${num(s.availability * 100)}%`, latencyText(s.latency)]);
}

export function renderMonitoring(summary: MonitoringSummary): string {
  const rows = sloRows(summary);
  const widths = [Math.max(7, ...rows.map((r) => r[0].length)), Math.max(12, ...rows.map((r) => r[1].length))];
  const row = (cells: string[]) => `  ${cells[0].padEnd(widths[0])}  ${cells[1].padEnd(widths[1])}  ${cells[2]}`.trimEnd();
  const lines = [
    ...statusLines(summary),
    `SLOs over ${summary.sloWindow}${summary.enabled ? "" : " (nothing evaluates them while monitoring is off)"}`,
    ...(rows.length === 0 ? ["  none"] : [row(["service", "availability", "latency"]), ...rows.map(row)]),
    ...(summary.withoutSlo.length > 0 ? wrap(`  No SLO: ${summary.withoutSlo.join(", ")}`, "    ") : []),
  ];
  if (!summary.enabled) return lines.join("\n");
  lines.push("Alerts by severity");
  for (const { severity, header, kinds } of alertsBySeverity(summary)) {
    lines.push(`  ${severity}  ${header}`);
    for (const [kind, services] of kinds) lines.push(...wrap(`      ${kind}: ${services.join(", ")}`, "        "));
  }
  if (summary.alerts.some((a) => a.name === "Watchdog")) lines.push("  Watchdog: always firing, to the heartbeat receiver; silence there means the pipeline is down");
  return lines.join("\n");
}

export function renderMonitoringMarkdown(summary: MonitoringSummary): string[] {
  const cell = (c: string) => c.replace(/\|/g, "\\|");
  return [
    "## Monitoring",
    "",
    ...statusLines(summary).map((l) => l.trim()),
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
