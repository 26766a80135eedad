/**
 * `sophia:monitoring`: whether the stack runs its alerting and dashboards (vmalert, Alertmanager,
 * Grafana as Fly apps), and who hears about each severity and how soon they must respond.
 */
import { z } from "zod";
import { FLY_PROMETHEUS } from "../platform";
import { describeDuration, durationSchema, durationSeconds } from "./duration";
import { SEVERITIES } from "./slo";
import { strictObject } from "./strict-object";

/** Where Alertmanager sends a notification: PagerDuty (Events API v2) pages, Slack posts. */
export const RECEIVER_KINDS = ["pagerduty", "slack"] as const;

/** What `runbookUrl` looks like, for messages. */
export const RUNBOOK_EXAMPLE = "https://github.com/<owner>/<repo>/blob/main/README.md";
export type ReceiverKind = (typeof RECEIVER_KINDS)[number];

const escalationLevel = strictObject({
  /** How soon someone must act; Alertmanager repeats the notification this often while it fires. */
  respondWithin: durationSchema,
  /** Who is told. An empty list routes the severity nowhere (the prod guardrail refuses that). */
  notify: z.array(z.enum(RECEIVER_KINDS)),
});

export const monitoringSchema = strictObject({
  /** Deploy the evaluator (vmalert), Alertmanager and Grafana. */
  enabled: z.boolean(),
  /** How often vmalert evaluates the page-level rules (tickets every 5 minutes). */
  evaluationInterval: durationSchema,
  /** The escalation matrix: per severity, who is told and how soon they must respond. */
  escalation: strictObject({ P0: escalationLevel, P1: escalationLevel, P2: escalationLevel, P3: escalationLevel }),
  /** How often the always-firing watchdog reaches the heartbeat receiver (a dead man's switch). */
  heartbeatInterval: durationSchema,
  /**
   * What alerts link their runbook to: the README as your repository serves it, e.g.
   * https://github.com/<owner>/<repo>/blob/main/README.md. Each alert adds its section's anchor.
   * No profile has it: the stack file gives it, and a stack that runs the monitoring needs it.
   */
  runbookUrl: z
    .url({ protocol: /^https?$/, error: `must be an absolute http(s) URL, the README as your repository serves it, e.g. ${RUNBOOK_EXAMPLE}: alerts link their runbooks to it from Slack and PagerDuty, where a relative link opens nothing` })
    .refine((url) => !/[<>]/.test(url), "still holds the example's <owner> or <repo>; write your repository's owner and name in their place")
    .refine((url) => !url.includes("#"), "has a #anchor; give the README's URL alone: each alert adds its own runbook's anchor")
    .optional(),
});

export type MonitoringConfig = z.infer<typeof monitoringSchema>;
export type EscalationLevel = MonitoringConfig["escalation"]["P0"];

type Add = (path: (string | number)[], message: string) => void;

/** Cross-field rules of `sophia:monitoring`. */
export function checkMonitoring(monitoring: MonitoringConfig, add: Add): void {
  const interval = durationSeconds(monitoring.evaluationInterval);
  if (interval !== undefined && interval < FLY_PROMETHEUS.scrapeIntervalSeconds) {
    add(["monitoring", "evaluationInterval"], `"${monitoring.evaluationInterval}" is shorter than Fly's scrape interval (${FLY_PROMETHEUS.scrapeIntervalSeconds}s), so evaluations would see nothing new; use ${FLY_PROMETHEUS.scrapeIntervalSeconds}s or more`);
  }
  let previous: { severity: string; seconds: number } | undefined;
  for (const severity of SEVERITIES) {
    const level = monitoring.escalation[severity];
    const at = ["monitoring", "escalation", severity];
    const seconds = durationSeconds(level.respondWithin);
    if (seconds === undefined) continue;
    // Alertmanager's repeat interval must not be shorter than its group interval.
    if (seconds < 300) add([...at, "respondWithin"], `"${level.respondWithin}" is shorter than 5m, the shortest interval Alertmanager re-notifies at here; use 5m or more`);
    if (previous && seconds < previous.seconds) {
      add([...at, "respondWithin"], `"${level.respondWithin}" asks for a faster response than ${previous.severity} (${describeDuration(previous.seconds)}); a lower severity never needs a faster response`);
    }
    previous = { severity, seconds };
    const twice = level.notify.find((kind, i) => level.notify.indexOf(kind) !== i);
    if (twice !== undefined) add([...at, "notify"], `lists "${twice}" twice`);
  }
}
