/**
 * The seed's release rollback triggers, each defined once as a function of a label selector, over
 * Fly Proxy's per-machine series (`fly_app_*`, which carry the machine id as `instance`). The alert
 * rules apply them to a whole app (`appSelector`); the release gate applies the very same
 * definitions to the machines of a new release (components/release-analysis.ts), so the two
 * cannot disagree.
 *
 * Fly publishes no health-check results to Prometheus (its checks live in the Machines API), so
 * the health-check trigger reads what a failing machine does to its traffic: every response it
 * gave in that many check intervals failed, and there were enough of them to tell a failing
 * machine from one bad request. A gate that can read the Machines API has the checks themselves
 * as well.
 */
import type { Severity, SloConfig } from "../../src/config/slo";
import { formatDuration } from "../../src/config/duration";
import { braces, num, percent, SERVER_ERRORS, type Selector } from "./promql";
import { errorRatio, latencyQuantile, machineResponses } from "./queries";

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
  /** Its breach has one series per machine, labelled with the machine id as `instance`. */
  perMachine: boolean;
}

/** Rates read the last minute: four of Fly's 15-second scrapes. */
export const TRIGGER_RATE_WINDOW = "1m";

/**
 * Responses a machine must have given over the health-check window before "it failed every one"
 * counts. One request on a quiet machine that fails is a 100% failure share, and would page for a
 * client's bad request; ten that all fail is a machine failing whatever reaches it. A machine
 * quieter than that is left to the burn-rate alerts. About ten: Prometheus's `increase` (what
 * promtool tests) extrapolates to the window's edges (promql/functions.go, extrapolatedRate), so
 * there seven in prod's 45 s window can count; VictoriaMetrics, under Fly's Prometheus, does not
 * extrapolate (docs/MetricsQL.md), so on Fly it is ten.
 */
export const HEALTH_TRIGGER_MIN_REQUESTS = 10;

/**
 * The release rollback triggers for a service whose health checks run every
 * `checkIntervalSeconds` (sophia:services.<name>.healthCheck.intervalSeconds).
 */
export function rollbackTriggers(rollback: SloConfig["rollback"], checkIntervalSeconds: number): RollbackTrigger[] {
  const { errorRate, latency, healthChecks } = rollback;
  const checksWindow = formatDuration(healthChecks.consecutiveFailures * checkIntervalSeconds);
  // Per machine, so that the alert names the machine (`instance`) and a busy machine's successes
  // never hide a quiet one that fails everything.
  const machineFailures = (selector: Selector) =>
    `sum by (instance) (${machineResponses(selector, checksWindow, SERVER_ERRORS)}) / sum by (instance) (${machineResponses(selector, checksWindow)})`;
  const machineRequests = (selector: Selector) => `sum by (instance) (increase(fly_app_http_responses_count${braces(selector)}[${checksWindow}]))`;
  return [
    {
      kind: "errorRate",
      alert: "ReleaseErrorRate",
      value: (selector) => errorRatio(selector, TRIGGER_RATE_WINDOW),
      breach: (selector) => `(${errorRatio(selector, TRIGGER_RATE_WINDOW)}) > ${num(errorRate.above)}`,
      threshold: errorRate.above,
      unit: "ratio",
      for: errorRate.for,
      severity: errorRate.severity,
      text: `5xx above ${percent(errorRate.above)} for ${errorRate.for}`,
      perMachine: false,
    },
    {
      kind: "latency",
      alert: "ReleaseLatency",
      value: (selector) => latencyQuantile(selector, latency.quantile, TRIGGER_RATE_WINDOW),
      breach: (selector) => `${latencyQuantile(selector, latency.quantile, TRIGGER_RATE_WINDOW)} > ${num(latency.aboveMs / 1000)}`,
      threshold: latency.aboveMs / 1000,
      unit: "seconds",
      for: latency.for,
      severity: latency.severity,
      text: `P${num(latency.quantile * 100)} above ${num(latency.aboveMs)} ms for ${latency.for}`,
      perMachine: false,
    },
    {
      kind: "healthChecks",
      alert: "ReleaseHealthChecks",
      value: machineFailures,
      breach: (selector) => `(${machineFailures(selector)} >= 1) and (${machineRequests(selector)} >= ${HEALTH_TRIGGER_MIN_REQUESTS})`,
      threshold: 1,
      unit: "ratio",
      // The window already spans the failed checks; one check interval more asks for the breach on
      // two evaluations in a row, so that one scrape's edge in the window cannot page by itself.
      for: formatDuration(checkIntervalSeconds),
      severity: healthChecks.severity,
      text: `a machine failing every request (at least ${HEALTH_TRIGGER_MIN_REQUESTS}) for ${healthChecks.consecutiveFailures} check intervals (${checksWindow})`,
      perMachine: true,
    },
  ];
}
