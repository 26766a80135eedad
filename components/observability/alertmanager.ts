/**
 * Alertmanager's routing config, generated from the escalation matrix (sophia:monitoring.escalation):
 * one route per severity to its receivers (PagerDuty Events API v2 pages, Slack posts), repeated
 * at the severity's response time while the alert fires, and the always-firing watchdog to the
 * heartbeat receiver, a dead man's switch that raises the alarm when the heartbeats stop.
 *
 * Alertmanager 0.25 (what Debian's amtool checks, and the oldest release this file must load in)
 * reads a webhook URL only inline, not from a file, so the whole file is delivered as a Fly
 * secret (machine `files` with `secret_name`); the PagerDuty key and the Slack URL sit inline
 * beside it. The plan writes the same file with placeholders in their place.
 */
import { stringify } from "yaml";
import type { MonitoringConfig, ReceiverKind } from "../../src/config/monitoring";
import { SEVERITIES, type Severity } from "../../src/config/slo";
import { durationSeconds, formatDuration } from "../../src/config/duration";

/** The secret values the routing config holds. */
export interface ReceiverSecrets {
  /** Only needed when some severity notifies PagerDuty. */
  pagerdutyRoutingKey?: string;
  slackWebhookUrl?: string;
  heartbeatUrl: string;
}

/** Placeholders that keep the file valid (URLs that parse, a non-empty key) and are plainly not real. */
export const PLACEHOLDER_RECEIVERS: Required<ReceiverSecrets> = {
  pagerdutyRoutingKey: "PLACEHOLDER-pagerduty-routing-key-from-esc",
  slackWebhookUrl: "https://hooks.slack.com/services/PLACEHOLDER/FROM/ESC",
  heartbeatUrl: "https://heartbeat.invalid/PLACEHOLDER-from-esc",
};

/** The receivers the escalation matrix uses, and so the secrets Alertmanager needs. */
export function receiverKinds(monitoring: Pick<MonitoringConfig, "escalation">): Set<ReceiverKind> {
  return new Set(SEVERITIES.flatMap((s) => monitoring.escalation[s].notify));
}

export const HEARTBEAT_RECEIVER = "heartbeat";
/** The receiver a severity routes to. */
export const receiverName = (severity: Severity) => `severity-${severity}`;

/** PagerDuty Events v2 severities for the pages. */
const PAGERDUTY_SEVERITY: Record<Severity, string> = { P0: "critical", P1: "error", P2: "warning", P3: "info" };

const SLACK_TITLE = '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.severity }} {{ .CommonLabels.alertname }} ({{ .CommonLabels.service }})';
const SLACK_TEXT = "{{ range .Alerts }}*{{ .Annotations.summary }}*\n{{ .Annotations.description }}\nRunbook: {{ .Annotations.runbook }}\n{{ end }}";

function receiver(severity: Severity, notify: readonly ReceiverKind[], secrets: ReceiverSecrets): Record<string, unknown> {
  const required = (value: string | undefined, what: string): string => {
    if (value === undefined) throw new Error(`The routing config for ${severity} needs ${what}, which was not given`);
    return value;
  };
  return {
    name: receiverName(severity),
    ...(notify.includes("pagerduty")
      ? {
          pagerduty_configs: [
            {
              routing_key: required(secrets.pagerdutyRoutingKey, "the PagerDuty routing key"),
              severity: PAGERDUTY_SEVERITY[severity],
              description: "{{ .CommonLabels.severity }} {{ .CommonAnnotations.summary }}",
              details: { service: "{{ .CommonLabels.service }}", runbook: "{{ .CommonAnnotations.runbook }}", description: "{{ .CommonAnnotations.description }}" },
              send_resolved: true,
            },
          ],
        }
      : {}),
    ...(notify.includes("slack")
      ? {
          slack_configs: [
            {
              api_url: required(secrets.slackWebhookUrl, "the Slack webhook URL"),
              send_resolved: true,
              title: SLACK_TITLE,
              text: SLACK_TEXT,
            },
          ],
        }
      : {}),
  };
}

/** Alertmanager's config as data. */
export function alertmanagerConfig(monitoring: Pick<MonitoringConfig, "escalation" | "heartbeatInterval">, secrets: ReceiverSecrets): Record<string, unknown> {
  const { escalation } = monitoring;
  const repeat = (severity: Severity) => escalation[severity].respondWithin;
  // Lower tiers of the same alert on the same service say nothing the higher one does not.
  const inhibit = SEVERITIES.slice(0, -1).map((source, i) => ({
    source_matchers: [`severity="${source}"`],
    target_matchers: [`severity=~"${SEVERITIES.slice(i + 1).join("|")}"`],
    equal: ["alertname", "service"],
  }));
  const heartbeatSeconds = durationSeconds(monitoring.heartbeatInterval) ?? 300;
  return {
    global: { resolve_timeout: "5m" },
    route: {
      // An alert without a known severity still reaches someone: the least urgent route's receivers.
      receiver: receiverName("P3"),
      group_by: ["alertname", "service", "severity"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: repeat("P3"),
      routes: [
        {
          receiver: HEARTBEAT_RECEIVER,
          matchers: ['alertname="Watchdog"'],
          group_wait: "0s",
          group_interval: formatDuration(Math.min(60, heartbeatSeconds)),
          repeat_interval: monitoring.heartbeatInterval,
        },
        ...SEVERITIES.map((severity) => ({
          receiver: receiverName(severity),
          matchers: [`severity="${severity}"`],
          group_wait: severity === "P0" ? "10s" : "30s",
          repeat_interval: repeat(severity),
        })),
      ],
    },
    inhibit_rules: inhibit,
    receivers: [
      { name: HEARTBEAT_RECEIVER, webhook_configs: [{ url: secrets.heartbeatUrl, send_resolved: false }] },
      ...SEVERITIES.map((severity) => receiver(severity, escalation[severity].notify, secrets)),
    ],
  };
}

/** The file Alertmanager loads (and, with placeholders, the one the plan writes). */
export function renderAlertmanagerConfig(monitoring: Pick<MonitoringConfig, "escalation" | "heartbeatInterval">, secrets: ReceiverSecrets): string {
  return [
    "# Generated by the sophia Pulumi program from sophia:monitoring.escalation; do not edit.",
    stringify(alertmanagerConfig(monitoring, secrets), { lineWidth: 0, aliasDuplicateObjects: false }),
  ].join("\n");
}
