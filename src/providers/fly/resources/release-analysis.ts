/**
 * Release analysis: after a canary (or a rolling step) passes its health checks, its machines are
 * watched for a window by querying Fly's managed Prometheus, the way Flagger or Argo Rollouts
 * analyse a canary. Each trigger is an expression with `$selector` where the machines' label
 * matchers go, a threshold, a comparison and a duration: it breaches when the comparison holds on
 * every evaluation for that long, as an alert's `for` does, so the analysis and the alert rules
 * built from the same definition cannot disagree. The provider stays generic: the triggers are
 * inputs.
 *
 * Fly publishes no health-check results to Prometheus, and Fly Proxy routes nothing to a machine
 * failing its checks, so a failing machine has no series to breach with: its checks are read from
 * the Machines API at every evaluation instead, and failing for the configured number of
 * consecutive checks breaches.
 *
 * Outcomes are stated, never silent: pass, breach (with the value, threshold, window and the
 * previous release's value for comparison), failed health checks, triggers that never settle, a
 * new machine no longer running at the end, too little traffic (then the configured default), or
 * Prometheus unreachable (the caller rolls back; a release is never passed blind). Too little
 * traffic includes none in the triggers' last rate window: a machine that stopped serving
 * mid-window leaves a count for the window but gives its triggers no data, and no data is not a pass.
 */

import { flyDefaults } from "../api/connection";

/**
 * One rollback trigger, as the machine inputs carry it: the alert rule's own expressions, over the
 * machines that `$app` and `$instances` name inside the expressions' label matchers (e.g.
 * `{app="$app",instance=~"$instances"}`; the provider fills in the app and the machine ids).
 */
export interface ReleaseTrigger {
  /** What is measured, for messages, e.g. "error ratio" or "P95 latency". */
  metric: string;
  /** The trigger in words, e.g. "5xx above 5% for 2m". */
  description: string;
  /** PromQL: the measured value over the machines. */
  value: string;
  /** PromQL: returns a series exactly while the value breaches, as the alert rule's `expr`. */
  breach: string;
  /** The breach threshold, for messages. */
  threshold: number;
  /** The breach must hold this long (seconds of evaluations) to count, as the alert's `for`. */
  forSeconds: number;
  /** How values read in messages: a ratio as a percentage, seconds as milliseconds. @default plain */
  unit?: "ratio" | "seconds";
}

/** How a release of one service is judged. */
export interface ReleaseAnalysis {
  /** The service, for messages. */
  service: string;
  /** Fly's Prometheus for the org, without `/api/v1`: https://api.fly.io/prometheus/<org>. */
  prometheusUrl: string;
  /** How long the new machines are watched (platform seconds); at least one scrape interval. */
  windowSeconds: number;
  /** Between evaluations. @default 15, Fly's scrape interval */
  intervalSeconds?: number;
  triggers: ReleaseTrigger[];
  /**
   * The range of the triggers' rates (seconds): at the end of the window the new machines must have
   * served requests within it (at most the window, at least two scrapes), or the triggers' last
   * evaluation had nothing to judge. @default 60
   */
  rateWindowSeconds?: number;
  /**
   * Breach when a new machine's checks, as the Machines API shows them, fail this many checks in a
   * row (`sophia:slo.rollback.healthChecks`), its checks running every `intervalSeconds`.
   * @default checks not read
   */
  healthChecks?: { consecutiveFailures: number; intervalSeconds: number };
  /** Fewer requests than this on the new machines over the window is too little to judge. */
  minRequests: number;
  /** With too little traffic: go on (the outcome says it was not judged) or hold (put the release back). */
  lowTraffic: "proceed" | "hold";
}

export const APP_PLACEHOLDER = "$app";
export const INSTANCES_PLACEHOLDER = "$instances";
/** Fly Proxy's per-instance response counter: whether the new machines had traffic. */
const REQUESTS = `fly_app_http_responses_count{app="${APP_PLACEHOLDER}",instance=~"${INSTANCES_PLACEHOLDER}"}`;

export type AnalysisOutcome =
  | { verdict: "pass"; requests: number; values: { trigger: ReleaseTrigger; value: number | undefined }[] }
  | {
      verdict: "breach";
      trigger: ReleaseTrigger;
      value: number;
      /** The machines still on the previous release, where they have traffic: their value, and whether they breach too. */
      baseline: { value: number; breaches: boolean } | undefined;
      /** Why the previous release could not be measured, when it could not: the breach stands without the comparison. */
      baselineError?: string;
      /** When the breach was seen (client clock, ms). */
      seenAt: number;
    }
  | {
      verdict: "unhealthy";
      machine: { id: string; name: string | undefined };
      /** The failing checks, as the Machines API shows them. */
      failing: string;
      /** Platform seconds the checks had failed for when the breach was seen. */
      seconds: number;
      /** When the breach was seen (client clock, ms). */
      seenAt: number;
    }
  /**
   * The window and the longest pending duration after it passed with something still pending:
   * triggers (or checks) that keep breaching and clearing never settle.
   */
  | { verdict: "unsettled"; pending: string; seconds: number }
  /** A new machine is not running at the end of the window: it served too little of it to pass. */
  | { verdict: "not running"; machines: { id: string; name: string | undefined; state: string }[] }
  | {
      verdict: "low traffic";
      requests: number;
      minimum: number;
      action: "proceed" | "hold";
      /** Set when the window had enough requests but none came in its last this many seconds. */
      quietSeconds?: number;
    };

/** What the Machines API shows of a new machine. */
export interface CandidateState {
  name: string | undefined;
  state: string;
  checks: { name?: string | null; status?: string | null; output?: string | null }[];
}

export interface AnalysisRun {
  analysis: ReleaseAnalysis;
  app: string;
  /** Instance ids (machine ids) on the new release, and those still on the previous one. */
  candidates: string[];
  baseline: string[];
  /** Instant query: the samples' values. Throws when Prometheus cannot be reached. */
  query: (expr: string) => Promise<number[]>;
  /** A new machine as the Machines API shows it; undefined once it is gone. Throws when the API cannot be read. */
  inspect: (id: string) => Promise<CandidateState | undefined>;
  clock: { now(): number; sleep(ms: number): Promise<void>; timeScale: number };
}

/** The longest a breach can stay pending before it counts: a trigger's `for`, or the failed checks in a row. */
export function longestPendingSeconds(analysis: ReleaseAnalysis): number {
  const checks = analysis.healthChecks ? (analysis.healthChecks.consecutiveFailures - 1) * analysis.healthChecks.intervalSeconds : 0;
  return Math.max(0, checks, ...analysis.triggers.map((t) => t.forSeconds));
}

/** The expression over these machines of the app: the placeholders sit inside quoted label values. */
export function forMachines(expr: string, app: string, instances: string[]): string {
  const quoted = (text: string) => text.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  const ids = instances.map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
  return expr.split(APP_PLACEHOLDER).join(quoted(app)).split(INSTANCES_PLACEHOLDER).join(quoted(ids));
}

/** Watches the candidates for the window; returns at the first breach, or with the window's verdict. */
export async function analyseRelease(run: AnalysisRun): Promise<AnalysisOutcome> {
  const { analysis, clock } = run;
  const ms = (seconds: number) => seconds * 1000 * clock.timeScale;
  const over = (expr: string, instances: string[]) => forMachines(expr, run.app, instances);
  const interval = analysis.intervalSeconds ?? flyDefaults.scrapeIntervalSeconds;
  const started = clock.now();
  // Since when each trigger has breached, as an alert's pending state, and at what value last.
  const pendingSince: (number | undefined)[] = analysis.triggers.map(() => undefined);
  const lastValue: number[] = analysis.triggers.map(() => NaN);
  // Since when each new machine's checks have failed, at every evaluation since.
  const failingSince = new Map<string, number>();
  for (;;) {
    const at = clock.now();
    if (analysis.healthChecks) {
      const { consecutiveFailures, intervalSeconds } = analysis.healthChecks;
      for (const id of run.candidates) {
        const machine = await run.inspect(id);
        const failing = machine?.state === "started" ? machine.checks.filter((c) => c.status !== "passing") : [];
        if (failing.length === 0) {
          failingSince.delete(id);
          continue;
        }
        const since = failingSince.get(id) ?? at;
        failingSince.set(id, since);
        // The first failing look is one failed check; each check interval after it, one more.
        if (at - since >= ms((consecutiveFailures - 1) * intervalSeconds)) {
          const text = failing.map((c) => `${c.name ?? "check"}: ${c.status ?? "unknown"}${c.output ? ` (${c.output.slice(0, 120)})` : ""}`).join("; ");
          return { verdict: "unhealthy", machine: { id, name: machine?.name }, failing: text, seconds: (at - since) / ms(1), seenAt: at };
        }
      }
    }
    for (const [i, trigger] of analysis.triggers.entries()) {
      const value = largest(await run.query(over(trigger.breach, run.candidates)));
      if (value === undefined) {
        pendingSince[i] = undefined;
        continue;
      }
      pendingSince[i] ??= at;
      lastValue[i] = value;
      if (at - pendingSince[i]! >= ms(trigger.forSeconds)) {
        // Seen now: the comparison below may take a query's whole retry budget, and is not the rollback's to wait for.
        const seenAt = clock.now();
        const measure = async (): Promise<{ value: number; breaches: boolean } | undefined> => {
          const old = run.baseline.length > 0 ? largest(await run.query(over(trigger.value, run.baseline))) : undefined;
          return old === undefined ? undefined : { value: old, breaches: (await run.query(over(trigger.breach, run.baseline))).length > 0 };
        };
        // Only for comparison: a breach stands whether or not the previous release can be measured.
        return measure().then(
          (baseline) => ({ verdict: "breach", trigger, value, baseline, seenAt }),
          (err: unknown) => ({ verdict: "breach", trigger, value, baseline: undefined, baselineError: err instanceof Error ? err.message : String(err), seenAt }),
        );
      }
    }
    // A trigger (or failing checks) still pending at the end of the window is followed until it
    // breaches or clears, for as long as the longest can take to breach: anything pending after
    // that began after the window ended, so the triggers are flapping, and the release is not passed.
    const pending = [
      ...analysis.triggers.flatMap((t, i) =>
        pendingSince[i] === undefined ? [] : [`${t.metric} ${formatValue(t, lastValue[i]!)} ("${t.description}", pending for ${duration((at - pendingSince[i]!) / ms(1))})`],
      ),
      ...[...failingSince].map(([id, since]) => `the health checks of machine ${id} (failing for ${duration((at - since) / ms(1))})`),
    ];
    if (at - started >= ms(analysis.windowSeconds) && pending.length === 0) break;
    const cap = analysis.windowSeconds + longestPendingSeconds(analysis);
    if (at - started >= ms(cap)) return { verdict: "unsettled", pending: pending.join(", "), seconds: cap };
    await clock.sleep(Math.max(0, at + ms(interval) - clock.now()));
  }
  // A machine that stopped (crashed, or stopped by hand or by the proxy) is not passed on what it
  // served before: the release did not keep running.
  const stopped: { id: string; name: string | undefined; state: string }[] = [];
  for (const id of run.candidates) {
    const machine = await run.inspect(id);
    if (machine?.state !== "started") stopped.push({ id, name: machine?.name, state: machine?.state ?? "destroyed" });
  }
  if (stopped.length > 0) return { verdict: "not running", machines: stopped };
  const requestsIn = async (seconds: number) => (await run.query(over(`sum(increase(${REQUESTS}[${Math.round(seconds)}s]))`, run.candidates)))[0] ?? 0;
  const low = { verdict: "low traffic", minimum: analysis.minRequests, action: analysis.lowTraffic } as const;
  const requests = await requestsIn(analysis.windowSeconds);
  if (!(requests >= analysis.minRequests)) return { ...low, requests };
  // The window's count includes what came before the machines stopped getting traffic; the
  // triggers' last evaluation saw only their rate window. Two scrapes at least, for an increase.
  const recent = Math.max(2 * flyDefaults.scrapeIntervalSeconds, Math.min(analysis.rateWindowSeconds ?? 60, analysis.windowSeconds));
  if (!((await requestsIn(recent)) > 0)) return { ...low, requests, quietSeconds: recent };
  const values: { trigger: ReleaseTrigger; value: number | undefined }[] = [];
  for (const trigger of analysis.triggers) values.push({ trigger, value: largest(await run.query(over(trigger.value, run.candidates))) });
  return { verdict: "pass", requests, values };
}

/** Of several samples (say, one per machine), the largest; no data is undefined. */
function largest(values: number[]): number | undefined {
  const known = values.filter((v) => !Number.isNaN(v));
  return known.length === 0 ? undefined : Math.max(...known);
}

/** A value as the trigger's unit reads. */
export function formatValue(trigger: ReleaseTrigger, value: number): string {
  if (trigger.unit === "ratio") return `${round(value * 100)}%`;
  if (trigger.unit === "seconds") return `${round(value * 1000)} ms`;
  return `${round(value)}`;
}

function round(value: number): string {
  return String(Number(value.toPrecision(3)));
}

export function duration(seconds: number): string {
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60} min`;
  if (seconds >= 60) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.round(seconds)} s`;
}
