/**
 * A release gated by metrics, across machines that are each their own Pulumi resource.
 *
 * Pulumi runs every machine's update at once (they have no dependencies on each other); the order
 * lives in the machine provider, which waits on what the Fly API shows about the other machines.
 * The gate adds one fact to what it shows: each machine's step, in its metadata
 * (`sophia_release_step`, set without a restart): `passed` once the machine runs the release and,
 * where its step is analysed, the analysis passed; `failed` once it breached, failed its checks or
 * could not be judged, or its update failed before it got that far (its turn never came, it could
 * not be read or leased; when its own metadata cannot be written, the mark goes on a machine that
 * passed). So:
 * - a machine released after another waits for that one's `passed` (not only for its checks);
 * - a machine whose step passed does not finish its update yet: it waits until every machine of the
 *   release has passed, and if one fails it puts its own previous config back and fails too;
 * - a machine still waiting for its turn sees the failure and fails without being changed.
 * Each machine restores only itself, under its own lease, from its own previous config, so every
 * failed update leaves Pulumi's state and the machine agreeing, and nothing waits for a timeout.
 * A mark counts only for the release it names and when it is newer than this update began, so a
 * failure left by an earlier run does not stop a new one, and a pass left by an interrupted run
 * does not let the next machines go before the step is judged again (its machine's update runs
 * again, since Pulumi never recorded it). Once the whole release has passed, each machine marks its
 * step complete, as a machine created into the release is from the start: such a pass counts in
 * any later run, for a machine whose update is over and is not run again.
 */
import { z } from "zod";
import { isMachineGone, type FlyClient } from "../api/client";
import { flyDefaults } from "../api/connection";
import { FlyPrometheus } from "../api/prometheus";
import type { FlyMachineConfig, FlyMachineInfo } from "../api/schemas";
import { analyseRelease, APP_PLACEHOLDER, duration, formatValue, INSTANCES_PLACEHOLDER, longestPendingSeconds, type AnalysisOutcome } from "./release-analysis";
import type { ReleaseAnalysis } from "./release-analysis";
import { declaredNameOf } from "./machine-name";
import { messageOf } from "../../dynamic/errors";

/** How a breach's failure states the time to roll back, in platform seconds (the rehearsal reads it). */
export const ROLLED_BACK = /Rolled back ([\d.]+) s after the breach was seen/;

/** Metadata key holding a machine's step in the release it runs; the provider's own, not drift. */
export const STEP_KEY = "sophia_release_step";

/** How a service's release is gated; every machine of the service carries it. */
export interface ReleaseGate {
  /** Every machine (by name) of this release. */
  fleet: string[];
  /** This machine's step is analysed: the canary, or each rolling step. */
  analyse: boolean;
  analysis: ReleaseAnalysis;
}

/** The gate as `check` validates it (built per call: no zod instance may live at module level). */
export function releaseGateSchema() {
  // Without the placeholders an expression would judge every machine of every app, not the new ones.
  const overMachines = z
    .string()
    .refine((e) => e.includes(APP_PLACEHOLDER) && e.includes(INSTANCES_PLACEHOLDER), `must select the machines with ${APP_PLACEHOLDER} and ${INSTANCES_PLACEHOLDER}, e.g. {app="${APP_PLACEHOLDER}",instance=~"${INSTANCES_PLACEHOLDER}"}`);
  const trigger = z.object({
    metric: z.string().min(1),
    description: z.string().min(1),
    value: overMachines,
    breach: overMachines,
    threshold: z.number(),
    forSeconds: z.number().min(0),
    unit: z.enum(["ratio", "seconds"]).optional(),
  });
  return z.object({
    fleet: z.array(z.string()).min(1),
    analyse: z.boolean(),
    analysis: z.object({
      service: z.string().min(1),
      prometheusUrl: z.string().regex(/^https?:\/\/\S+$/, "prometheusUrl must be an http(s) URL"),
      // Fly scrapes every 15 s: a shorter window holds at most one sample per machine.
      windowSeconds: z.number().min(flyDefaults.scrapeIntervalSeconds, `the analysis window must be at least Fly's ${flyDefaults.scrapeIntervalSeconds} s scrape interval`),
      intervalSeconds: z.number().min(1).optional(),
      triggers: z.array(trigger).min(1, "a gated release needs at least one trigger"),
      rateWindowSeconds: z.number().positive().optional(),
      healthChecks: z.object({ consecutiveFailures: z.int().min(1), intervalSeconds: z.number().positive() }).optional(),
      minRequests: z.number().min(0),
      lowTraffic: z.enum(["proceed", "hold"]),
    }),
  });
}

export interface StepMark {
  state: "passed" | "failed";
  release: string;
  /** Client clock (ms) when set. */
  at: number;
  /** Passed, and the machine's update is over (the whole release passed, or it was created into it): counts in later runs too. */
  complete?: boolean;
  /** Why it failed, short. */
  reason?: string;
  /** The machine that failed first, by name. */
  machine?: string;
}

export function stepMarkOf(machine: FlyMachineInfo): StepMark | undefined {
  const raw = (machine.config as FlyMachineConfig | undefined)?.metadata?.[STEP_KEY];
  if (typeof raw !== "string") return undefined;
  try {
    const mark = JSON.parse(raw) as StepMark;
    return mark.state === "passed" || mark.state === "failed" ? mark : undefined;
  } catch {
    return undefined;
  }
}

/** The release a machine runs (`config.metadata.sophia_release`). */
export function releaseOf(machine: FlyMachineInfo): string | undefined {
  return (machine.config as FlyMachineConfig | undefined)?.metadata?.sophia_release;
}

export function withStepMark(config: FlyMachineConfig, mark: StepMark): FlyMachineConfig {
  return { ...config, metadata: { ...config.metadata, [STEP_KEY]: JSON.stringify(mark) } };
}

export async function markStep(client: FlyClient, app: string, id: string, mark: StepMark): Promise<void> {
  await client.setMachineMetadata(app, id, STEP_KEY, JSON.stringify(mark));
}

/**
 * Marks this machine's step failed, so that the others stop at once. When its own metadata cannot
 * be written (another deployment holds its lease, say), the mark goes on a machine of the fleet
 * whose step passed: it is holding for the rest of the release and reads every machine's mark, so
 * it stops, and its failure names this machine. Resolves false when no machine took the mark.
 */
export async function markFailed(client: FlyClient, app: string, id: string, gate: ReleaseGate, mark: StepMark, since: number): Promise<boolean> {
  const marked = await markStep(client, app, id, mark).then(() => true, () => false);
  if (marked) return true;
  const machines = await client.listMachines(app).catch(() => []);
  for (const m of machines) {
    if (m.id === id || isMachineGone(m) || !gate.fleet.includes(declaredNameOf(m) ?? "") || !stepPassed(m, mark.release, since)) continue;
    if (await markStep(client, app, m.id, mark).then(() => true, () => false)) return true;
  }
  return false;
}

/** Thrown when another machine's step failed: this one is not (or no longer) on the release. */
export class ReleaseStopped extends Error {
  constructor(
    readonly mark: StepMark,
    message: string,
  ) {
    super(message);
    this.message = message;
  }

  // A member besides the constructor: Pulumi's closure serializer keeps the prototype chain (so
  // this stays an Error in a deployed provider) only for a class that has one.
  override toString(): string {
    return `ReleaseStopped: ${this.message}`;
  }
}

/** The failure of this release, this run, on any machine of the fleet. */
export function failureIn(machines: FlyMachineInfo[], release: string, since: number): StepMark | undefined {
  for (const m of machines) {
    const mark = stepMarkOf(m);
    if (mark?.state === "failed" && mark.release === release && mark.at >= since) return { ...mark, machine: mark.machine ?? m.name ?? m.id };
  }
  return undefined;
}

/** A machine whose step of `release` passed in this run (since this update began), or whose update is over. */
export function stepPassed(machine: FlyMachineInfo, release: string, since: number): boolean {
  const mark = stepMarkOf(machine);
  return releaseOf(machine) === release && mark?.state === "passed" && mark.release === release && (mark.complete === true || mark.at >= since);
}

/** The longest one analysed step can take: the window, plus a pending trigger's duration, plus one evaluation. */
export function longestStepSeconds(gate: ReleaseGate): number {
  const longestFor = longestPendingSeconds(gate.analysis);
  return gate.analysis.windowSeconds + longestFor + (gate.analysis.intervalSeconds ?? flyDefaults.scrapeIntervalSeconds) * 2;
}

export interface GateRun {
  client: FlyClient;
  app: string;
  name: string;
  id: string;
  release: string;
  gate: ReleaseGate;
  metricsToken: string | undefined;
  /** When this update began (client clock): older marks belong to earlier runs. */
  since: number;
  waitTimeoutSeconds: number;
  /** Puts the previous config back on this machine (under its lease), marked failed; resolves once it runs, throws when it does not. */
  restore: (mark: StepMark) => Promise<void>;
}

/**
 * This machine's step: analysed when the gate says so, then marked passed, then held until the
 * whole release passed. Any failure (a breach here, Prometheus unreachable, or another machine's
 * step) restores this machine and throws a message that says what happened and that it was rolled back.
 */
export async function passStep(run: GateRun): Promise<string | undefined> {
  const { client, gate } = run;
  const what = `release of ${gate.analysis.service} (${run.release})`;
  let note: string | undefined;
  if (gate.analyse) {
    let outcome: AnalysisOutcome;
    try {
      outcome = await analyse(run);
    } catch (err) {
      const source = err instanceof Unjudged ? err.source : undefined;
      const message = await rollBack(run, source === "machines" ? "the Machines API could not be read" : source === "prometheus" ? "Prometheus could not be queried" : "could not be judged",
        `The ${what} could not be judged: ${messageOf(err)}. A release is never passed unjudged.`);
      const advice =
        source === "machines"
          ? "The Fly Machines API, not Prometheus, failed while the release was watched: run the command again once it answers."
          : source === "prometheus"
            ? "Check the metrics token (sophia:flyPrometheusToken, from `fly tokens create readonly`) and the Prometheus URL, then run the command again."
            : "Run the command again; if it fails the same way, please report it.";
      throw new Error(`${message} ${advice}`);
    }
    if (outcome.verdict === "breach") {
      const { trigger, value, baseline } = outcome;
      const seen = `${trigger.metric} ${formatValue(trigger, value)} breached the trigger "${trigger.description}" ` +
        `(threshold ${formatValue(trigger, trigger.threshold)}) on the new release within its ${duration(gate.analysis.windowSeconds)} analysis window`;
      const comparison =
        outcome.baselineError !== undefined
          ? ` The machines still on the previous release could not be measured for comparison (${outcome.baselineError.slice(0, 200)}).`
          : baseline === undefined
            ? ""
            : ` The machines still on the previous release measure ${formatValue(trigger, baseline.value)}${baseline.breaches ? ", which breaches too: the cause may lie outside this release" : ""}.`;
      const started = outcome.seenAt;
      const message = await rollBack(run, `${trigger.metric} ${formatValue(trigger, value)}`, `The ${what}: ${seen}.${comparison}`);
      const seconds = (client.now() - started) / 1000 / client.timeScale;
      throw new Error(`${message} Rolled back ${seconds.toFixed(1)} s after the breach was seen. Fix the release and run the command again.`);
    }
    if (outcome.verdict === "unhealthy") {
      const { machine, failing, seconds } = outcome;
      const checks = gate.analysis.healthChecks!;
      const message = await rollBack(run, `health checks failing on ${machine.name ?? machine.id}`,
        `The ${what}: new machine "${machine.name ?? machine.id}" (${machine.id}) failed its health checks for ${duration(seconds)} ` +
          `[${failing}], breaching the trigger "${checks.consecutiveFailures} consecutive failed health checks" (checks every ${duration(checks.intervalSeconds)}) ` +
          `within its ${duration(gate.analysis.windowSeconds)} analysis window; Fly Proxy sends a machine failing its checks no requests.`);
      const rolledBack = (client.now() - outcome.seenAt) / 1000 / client.timeScale;
      throw new Error(client.scrub(`${message} Rolled back ${rolledBack.toFixed(1)} s after the breach was seen. Check its logs (fly logs -a ${run.app} --machine ${machine.id}), fix the release and run the command again.`));
    }
    if (outcome.verdict === "unsettled") {
      const message = await rollBack(run, "triggers did not settle",
        `The ${what} was held: ${duration(outcome.seconds)} after its ${duration(gate.analysis.windowSeconds)} analysis window began (the window and the longest ` +
          `a trigger may stay pending), ${outcome.pending} still pending. Triggers that keep breaching and clearing never settle, and a release is not passed while one is pending.`);
      throw new Error(`${message} See what flaps on the service's dashboards, and run the command again.`);
    }
    if (outcome.verdict === "not running") {
      const machines = outcome.machines.map((m) => `"${m.name ?? m.id}" (${m.id}) is ${m.state}`).join(", ");
      const message = await rollBack(run, `not running: ${outcome.machines.map((m) => m.name ?? m.id).join(", ")}`,
        `The ${what} failed: at the end of its ${duration(gate.analysis.windowSeconds)} analysis window, new machine ${machines} ` +
          "(it crashed, someone stopped it, or Fly Proxy did for want of traffic); a release is not passed on a machine that stopped serving.");
      const first = outcome.machines[0]!;
      throw new Error(`${message} Check its logs (fly logs -a ${run.app} --machine ${first.id}) and run the command again.`);
    }
    if (outcome.verdict === "low traffic") {
      const seen =
        outcome.quietSeconds === undefined
          ? `only ${Math.round(outcome.requests)} requests reached the new release in its ${duration(gate.analysis.windowSeconds)} analysis window, fewer than the ${outcome.minimum} needed to judge it`
          : `${Math.round(outcome.requests)} requests reached the new release in its ${duration(gate.analysis.windowSeconds)} analysis window, but none in its last ${duration(outcome.quietSeconds)}, ` +
            "so its triggers had nothing left to judge";
      if (outcome.action === "hold") {
        const message = await rollBack(run, "too little traffic to judge", `The ${what} was held: ${seen}.`);
        throw new Error(`${message} Run the command again when the service has traffic, or set its analysis to proceed with too little traffic.`);
      }
      note = `not judged: ${seen}; it proceeded as configured`;
    } else {
      note = `passed: ${outcome.values.map((v) => `${v.trigger.metric} ${v.value === undefined ? "no data" : formatValue(v.trigger, v.value)}`).join(", ")} over ${Math.round(outcome.requests)} requests`;
    }
  }
  try {
    await markStep(client, run.app, run.id, { state: "passed", release: run.release, at: client.now() });
    await awaitFleet(run);
    // Best effort: without it, a later run that updates the others to this release but not this
    // machine waits for this pass to be judged again, and stops at its no-progress timeout.
    await markStep(client, run.app, run.id, { state: "passed", release: run.release, at: client.now(), complete: true }).catch(() => undefined);
  } catch (err) {
    // Whatever stops this machine from following the release to its end puts it back: never left half-released.
    if (err instanceof ReleaseStopped) throw new Error(await rollBack(run, err.mark.reason ?? "stopped", err.message, err.mark));
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(await rollBack(run, "the release could not be followed", `The ${what} could not be followed to its end: ${reason}.`));
  }
  return note;
}

/** What could not be read while a release was judged, so that the advice fits: Fly's Prometheus, or the Machines API. */
class Unjudged extends Error {
  constructor(
    readonly source: "prometheus" | "machines",
    message: string,
  ) {
    super(message);
    this.message = message;
  }

  // A member besides the constructor keeps the prototype chain in a serialized provider (see ReleaseStopped).
  override toString(): string {
    return `Unjudged: ${this.message}`;
  }
}

async function analyse(run: GateRun): Promise<AnalysisOutcome> {
  const { client, gate } = run;
  const from = (source: Unjudged["source"]) => (err: unknown): never => {
    throw new Unjudged(source, messageOf(err));
  };
  if (!run.metricsToken) throw new Unjudged("prometheus", "no metrics token was given");
  const prometheus = new FlyPrometheus({ url: gate.analysis.prometheusUrl, token: run.metricsToken });
  const machines = (await client.listMachines(run.app).catch(from("machines"))).filter((m) => !isMachineGone(m));
  const candidates = machines.filter((m) => releaseOf(m) === run.release).map((m) => m.id);
  const baseline = machines.filter((m) => releaseOf(m) !== run.release && m.state === "started").map((m) => m.id);
  return analyseRelease({
    analysis: gate.analysis,
    app: run.app,
    candidates,
    baseline,
    query: async (expr) => (await prometheus.query(expr).catch(from("prometheus"))).map((s) => s.value),
    inspect: async (id) => {
      const machine = await client.getMachine(run.app, id).catch(from("machines"));
      return machine && !isMachineGone(machine) ? { name: declaredNameOf(machine), state: machine.state, checks: machine.checks ?? [] } : undefined;
    },
    clock: { now: client.now, sleep: client.sleep, timeScale: client.timeScale },
  });
}

/**
 * Marks this machine failed (so the others stop at once), then puts its previous config back.
 * Returns the message to fail with: what happened, and whether the machine is back.
 */
async function rollBack(run: GateRun, reason: string, what: string, cause?: StepMark): Promise<string> {
  const mark: StepMark = { state: "failed", release: run.release, at: cause?.at ?? run.client.now(), reason: reason.slice(0, 200), machine: cause?.machine ?? run.name };
  await markFailed(run.client, run.app, run.id, run.gate, mark, run.since); // the restore below carries the mark too
  const restored = await run.restore(mark).then(
    () => `The release was rolled back: machine "${run.name}" (${run.id}) runs its previous config again.`,
    (err: unknown) =>
      `Rolling machine "${run.name}" (${run.id}) back to its previous config did not finish: ${err instanceof Error ? err.message : String(err)}. ` +
      "Run `pulumi refresh`, then the command again.",
  );
  return `${what} ${restored}`;
}

/** Holds until every machine of the release passed its step; throws ReleaseStopped when one failed. */
async function awaitFleet(run: GateRun): Promise<void> {
  const { client, gate } = run;
  // The wait is real seconds; a step's analysis is platform time.
  const timeoutMs = (run.waitTimeoutSeconds + longestStepSeconds(gate) * client.timeScale) * 1000;
  let deadline = client.now() + timeoutMs;
  let progress = -1;
  for (;;) {
    const machines = (await client.listMachines(run.app)).filter((m) => !isMachineGone(m));
    const failed = failureIn(machines, run.release, run.since);
    if (failed) {
      throw new ReleaseStopped(
        failed,
        `The release of ${gate.analysis.service} (${run.release}) was stopped at machine "${failed.machine}" (${failed.reason}).`,
      );
    }
    const fleet = machines.filter((m) => gate.fleet.includes(declaredNameOf(m) ?? ""));
    const passed = fleet.filter((m) => stepPassed(m, run.release, run.since)).length;
    if (passed === fleet.length) return;
    if (passed > progress) {
      progress = passed;
      deadline = client.now() + timeoutMs;
    }
    if (client.now() >= deadline) {
      const pending = fleet.filter((m) => !stepPassed(m, run.release, run.since)).map((m) => declaredNameOf(m));
      throw new ReleaseStopped(
        { state: "failed", release: run.release, at: client.now(), reason: `no progress from ${pending.join(", ")}`, machine: run.name },
        `The release of ${gate.analysis.service} (${run.release}) made no progress for ${Math.round(timeoutMs / 1000)} s: ` +
          `${pending.join(", ")} did not pass ${pending.length === 1 ? "its step" : "their steps"}. See ${pending.length === 1 ? "that machine's" : "those machines'"} update in this deployment's output.`,
      );
    }
    await client.sleep(client.pollIntervalMs);
  }
}
