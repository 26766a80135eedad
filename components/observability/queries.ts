/**
 * What the alerts measure, as PromQL, built once: the alert rules, the release triggers and the
 * dashboards all call these, so that a panel plots what its alert fires on. Edge series
 * (`fly_edge_*`) are what users see and carry no `instance`; Fly Proxy's per-machine series
 * (`fly_app_*`) carry the machine id as `instance`.
 */
import { appSelector, braces, NOT_SERVER_ERRORS, num, SERVER_ERRORS, type Matcher, type Selector } from "./promql";

/** The per-second rate of the selected machines' responses, one series per machine and status. */
export function machineResponses(selector: Selector, window: string, ...extra: Matcher[]): string {
  return `rate(fly_app_http_responses_count${braces(selector, ...extra)}[${window}])`;
}

/** The share of 5xx among the selected machines' responses. */
export function errorRatio(selector: Selector, window: string): string {
  return `sum(${machineResponses(selector, window, SERVER_ERRORS)}) / sum(${machineResponses(selector, window)})`;
}

/** A latency quantile of the selected machines' responses, in seconds, from Fly's histogram whatever its buckets. */
export function latencyQuantile(selector: Selector, quantile: number, window: string): string {
  return `histogram_quantile(${num(quantile)}, sum by (le) (rate(fly_app_http_response_time_seconds_bucket${braces(selector)}[${window}])))`;
}

const edgeResponses = (app: string, window: string, ...extra: Matcher[]) => `sum(rate(fly_edge_http_responses_count${braces(appSelector(app), ...extra)}[${window}]))`;

/**
 * The share of an app's responses at Fly's edge that were 5xx: what an availability objective
 * measures. An app that has answered no 5xx yet has no such series; that counts as 0.
 */
export function edgeErrorRatio(app: string, window: string): string {
  return `(${edgeResponses(app, window, SERVER_ERRORS)} or vector(0)) / ${edgeResponses(app, window)}`;
}

/** A latency quantile of an app's successful responses at Fly's edge, in seconds: what a latency objective measures. */
export function edgeLatency(app: string, quantile: number, window: string): string {
  return `histogram_quantile(${num(quantile)}, sum by (le) (rate(fly_edge_http_response_time_seconds_bucket${braces(appSelector(app), NOT_SERVER_ERRORS)}[${window}])))`;
}
