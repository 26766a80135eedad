/**
 * The seed's release rollback triggers, each defined once as a function of a label selector, over
 * Fly Proxy's per-machine series (`fly_app_*`, which carry the machine id as `instance`). The alert
 * rules apply them to a whole app (`appSelector`); a release gate applies the very same
 * definitions to the machines of a new release (`machinesSelector`), so the two cannot disagree.
 *
 * Fly publishes no health-check results to Prometheus (its checks live in the Machines API), so
 * the health-check trigger reads what a failing machine does to its traffic: every response it
 * gave in that many check intervals failed. A gate that can read the Machines API has the checks
 * themselves as well.
 */
import type { Severity, SloConfig } from "../../src/config/slo";
import { formatDuration } from "../../src/config/duration";
import { braces, num, percent, SERVER_ERRORS, type Selector } from "./promql";

export type TriggerKind = "errorRate" | "latency" | "healthChecks";

export interface RollbackTrigger {
  kind: TriggerKind;
  /** The alert's name in the rule file. */
  alert: string;
  /** What is measured over the selected machines, as PromQL: a ratio (errors) or seconds (latency). */
  value(selector: Selector): string;
  /** The breach: a query that returns a series exactly while `value` is past `threshold`. */
  breach(selector: Selector): string;
  threshold: number;
  unit: "ratio" | "seconds";
  /** How long the breach must hold before the trigger fires: the alert's `for`. */
  for: string;
  severity: Severity;
  /** The trigger in words, e.g. "5xx above 5% for 2m". */
  text: string;
}

/** Rates read the last minute: four of Fly's 15-second scrapes. */
export const TRIGGER_RATE_WINDOW = "1m";

const responses = (selector: Selector, window: string, ...extra: typeof SERVER_ERRORS[]) =>
  `rate(fly_app_http_responses_count${braces(selector, ...extra)}[${window}])`;

/** The share of 5xx among the selected machines' responses. */
export function errorRatio(selector: Selector, window: string = TRIGGER_RATE_WINDOW): string {
  return `sum(${responses(selector, window, SERVER_ERRORS)}) / sum(${responses(selector, window)})`;
}

/** A latency quantile of the selected machines' responses, in seconds, from Fly's histogram whatever its buckets. */
export function latencyQuantile(selector: Selector, quantile: number, window: string = TRIGGER_RATE_WINDOW): string {
  return `histogram_quantile(${num(quantile)}, sum by (le) (rate(fly_app_http_response_time_seconds_bucket${braces(selector)}[${window}])))`;
}

/**
 * The release rollback triggers for a service whose health checks run every
 * `checkIntervalSeconds` (sophia:services.<name>.healthCheck.intervalSeconds).
 */
export function rollbackTriggers(rollback: SloConfig["rollback"], checkIntervalSeconds: number): RollbackTrigger[] {
  const { errorRate, latency, healthChecks } = rollback;
  const checksWindow = formatDuration(healthChecks.consecutiveFailures * checkIntervalSeconds);
  const worstMachineFailures = (selector: Selector) =>
    `max(sum by (instance) (${responses(selector, checksWindow, SERVER_ERRORS)}) / sum by (instance) (${responses(selector, checksWindow)}))`;
  return [
    {
      kind: "errorRate",
      alert: "ReleaseErrorRate",
      value: (selector) => errorRatio(selector),
      breach: (selector) => `(${errorRatio(selector)}) > ${num(errorRate.above)}`,
      threshold: errorRate.above,
      unit: "ratio",
      for: errorRate.for,
      severity: errorRate.severity,
      text: `5xx above ${percent(errorRate.above)} for ${errorRate.for}`,
    },
    {
      kind: "latency",
      alert: "ReleaseLatency",
      value: (selector) => latencyQuantile(selector, latency.quantile),
      breach: (selector) => `${latencyQuantile(selector, latency.quantile)} > ${num(latency.aboveMs / 1000)}`,
      threshold: latency.aboveMs / 1000,
      unit: "seconds",
      for: latency.for,
      severity: latency.severity,
      text: `P${num(latency.quantile * 100)} above ${num(latency.aboveMs)} ms for ${latency.for}`,
    },
    {
      kind: "healthChecks",
      alert: "ReleaseHealthChecks",
      value: worstMachineFailures,
      breach: (selector) => `${worstMachineFailures(selector)} >= 1`,
      threshold: 1,
      unit: "ratio",
      for: "0s",
      severity: healthChecks.severity,
      text: `a machine failing every request for ${healthChecks.consecutiveFailures} check intervals (${checksWindow})`,
    },
  ];
}
