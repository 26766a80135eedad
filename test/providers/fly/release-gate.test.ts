/**
 * Releases gated by metrics, against the emulator and its Prometheus: the canary (or each rolling
 * step) is analysed after its checks pass, and a breach puts every machine the release changed
 * back. The emulator's metrics clock and the provider's analysis run at the same time scale, so a
 * window of a minute of platform time passes in a fraction of a second.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { setFlyClientTuning } from "../../../src/providers/fly/api/connection";
import { flyMachineProvider, type FlyMachineConfig, type FlyMachineInputs, type FlyMachineOutputs } from "../../../src/providers/fly/resources/machine";
import type { ReleaseAnalysis, ReleaseTrigger } from "../../../src/providers/fly/resources/release-analysis";
import { stepMarkOf, stepPassed, withStepMark, type StepMark } from "../../../src/providers/fly/resources/release-gate";
import { FlyPrometheus } from "../../../src/providers/fly/api/prometheus";
import { FAST_TUNING, createTestApp, emulated, expectNoLeaks, startFlyTestEnv, type FlyTestEnv } from "./helpers";

/** Real seconds per platform second: 15 s of scrape interval pass in 75 ms. */
const SCALE = 0.005;
const ORG = "personal";

let env: FlyTestEnv;
let counter = 0;

const machines = '{app="$app",instance=~"$instances"}';
const errorRatio = `sum(rate(fly_app_http_responses_count{app="$app",instance=~"$instances",status=~"5.."}[30s])) / sum(rate(fly_app_http_responses_count${machines}[30s]))`;
const p95 = `histogram_quantile(0.95, sum by (le) (rate(fly_app_http_response_time_seconds_bucket${machines}[30s])))`;
const errorTrigger: ReleaseTrigger = {
  metric: "error ratio",
  description: "5xx above 5% for 30s",
  value: errorRatio,
  breach: `(${errorRatio}) > 0.05`,
  threshold: 0.05,
  forSeconds: 30,
  unit: "ratio",
};
const latencyTrigger: ReleaseTrigger = {
  metric: "P95 latency",
  description: "P95 above 500 ms for 30s",
  value: p95,
  breach: `${p95} > 0.5`,
  threshold: 0.5,
  forSeconds: 30,
  unit: "seconds",
};

function analysis(overrides: Partial<ReleaseAnalysis> = {}): ReleaseAnalysis {
  return {
    service: "unified-api",
    prometheusUrl: `${env.apiUrl.replace(/\/v1$/, "")}/prometheus/${ORG}`,
    windowSeconds: 60,
    triggers: [errorTrigger, latencyTrigger],
    rateWindowSeconds: 30,
    minRequests: 50,
    lowTraffic: "hold",
    ...overrides,
  };
}

function config(release: string): FlyMachineConfig {
  return {
    image: `${env.image}-${release}`,
    guest: { cpu_kind: "shared", cpus: 1, memory_mb: 256 },
    checks: { health: { type: "http", port: 8080, path: "/healthz", interval: "10s", timeout: "2s" } },
    metadata: { sophia_release: release },
  };
}

interface Fleet {
  app: string;
  names: string[];
  /** Each machine's inputs for a release. */
  inputs(name: string, release: string): FlyMachineInputs;
  created: Map<string, { id: string; outs: FlyMachineOutputs }>;
  /** Updates every machine to the release at once, as Pulumi does; each result or failure message. */
  release(release: string): Promise<{ name: string; ok: boolean; message: string; outs?: FlyMachineOutputs }[]>;
  /** The release each machine runs on Fly now. */
  running(): Promise<Record<string, string | undefined>>;
}

/** A service's machines on release r1, released by `strategy` with a gate. */
async function fleet(strategy: "canary" | "rolling", size: number, gate: Partial<ReleaseAnalysis> = {}, machine: Partial<FlyMachineInputs> = {}): Promise<Fleet> {
  counter += 1;
  const app = await createTestApp(env, `gate-${counter}`);
  const names = Array.from({ length: size }, (_, i) => `m${i}`);
  const inputs = (name: string, release: string): FlyMachineInputs => {
    const index = names.indexOf(name);
    const releaseAfter = index === 0 ? [] : strategy === "rolling" ? [names[index - 1]!] : [names[0]!];
    return {
      app,
      name,
      region: env.region,
      config: config(release),
      waitForChecks: true,
      waitTimeoutSeconds: 30,
      releaseAfter,
      releaseGate: { fleet: names, analyse: strategy === "rolling" || index === 0, analysis: analysis(gate) },
      // As `fly tokens create readonly` prints it, with its scheme (the emulator takes the suite's token).
      metricsToken: `FlyV1 ${env.apiToken}`,
      ...env.connection,
      ...machine,
    };
  };
  const created = new Map<string, { id: string; outs: FlyMachineOutputs }>();
  for (const name of names) {
    const result = await flyMachineProvider.create(inputs(name, "r1"));
    created.set(name, { id: result.id, outs: result.outs as FlyMachineOutputs });
  }
  return {
    app,
    names,
    inputs,
    created,
    release: (release) =>
      Promise.all(
        names.map((name) => {
          const { id, outs } = created.get(name)!;
          return flyMachineProvider.update(id, outs, inputs(name, release)).then(
            (r) => ({ name, ok: true, message: "", outs: r.outs as FlyMachineOutputs }),
            (err: unknown) => ({ name, ok: false, message: err instanceof Error ? err.message : String(err) }),
          );
        }),
      ),
    running: async () => {
      const machines = await env.client.listMachines(app);
      return Object.fromEntries(names.map((name) => [name, (machines.find((m) => m.name === name)?.config as FlyMachineConfig | undefined)?.metadata?.sophia_release]));
    },
  };
}

/**
 * Waits until the machine runs `release` and has passed its checks (so its step is being
 * analysed), then until it has served 100 more requests: 50 s of platform time, of which at most
 * one scrape's worth (15 s) can be the previous release's, so an analysis has counted at least 70.
 */
// A window of 3 min (0.9 s real) leaves the test room to act after these 50 s, however busy the machine.
async function servingRelease(f: Fleet, name: string, release: string): Promise<string> {
  const prometheus = new FlyPrometheus({ url: analysis().prometheusUrl, token: env.apiToken });
  const served = async (id: string) => (await prometheus.query(`sum(fly_app_http_responses_count{app="${f.app}",instance="${id}"})`))[0]?.value ?? 0;
  const id = await judging(f, name, release);
  const before = await served(id);
  while ((await served(id)) < before + 100) await new Promise((resolve) => setTimeout(resolve, 5));
  return id;
}

/** Releases `release`, and once the canary serves it, makes its checks fail until the update ends. */
async function releaseFailingChecksOnceServed(f: Fleet, release: string): ReturnType<Fleet["release"]> {
  const updates = f.release(release);
  await servingRelease(f, "m0", release);
  await env.control!.put("/timing", { unhealthyImages: [`${env.image}-${release}`] });
  try {
    return await updates;
  } finally {
    await env.control!.put("/timing", { unhealthyImages: [] });
  }
}

/** Waits until the machine runs `release` and has passed its checks: its step is being analysed. */
async function judging(f: Fleet, name: string, release: string): Promise<string> {
  for (;;) {
    const machine = (await env.client.listMachines(f.app)).find((m) => m.name === name);
    const onRelease = (machine?.config as FlyMachineConfig | undefined)?.metadata?.sophia_release === release;
    if (machine && onRelease && (machine.checks ?? []).length > 0 && machine.checks!.every((c) => c.status === "passing")) return machine.id;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The rollback time a failure message states, in platform seconds. */
function rollbackSeconds(message: string): number {
  const match = /Rolled back ([\d.]+) s after the breach was seen/.exec(message);
  expect(match, message).not.toBeNull();
  return Number(match![1]);
}

beforeAll(async () => {
  env = await startFlyTestEnv({ timeScale: SCALE, machineStartMs: 20, checksPassAfterMs: 40 });
  setFlyClientTuning({ ...FAST_TUNING, timeScale: SCALE });
});
afterAll(async () => {
  await env.close();
  expectNoLeaks();
});

describe.skipIf(!emulated)("FlyMachine release gate", () => {
  test("a canary whose release answers a fifth of requests with errors is rolled back, and the rest are never changed", async () => {
    const f = await fleet("canary", 3);
    await env.control!.post("/releases/r2/misbehave", { errorShare: 0.2 });
    const results = await f.release("r2");
    const canary = results[0]!;
    expect(canary.ok).toBe(false);
    expect(canary.message).toMatch(/release of unified-api \(r2\): error ratio 2\d(\.\d+)?% breached the trigger "5xx above 5% for 30s" \(threshold 5%\) on the new release within its 1 min analysis window/);
    expect(canary.message).toMatch(/The machines still on the previous release measure 0\.\d+%\./);
    expect(canary.message).toMatch(/The release was rolled back: machine "m0" \(\w+\) runs its previous config again\./);
    expect(rollbackSeconds(canary.message)).toBeGreaterThan(0);
    for (const follower of results.slice(1)) {
      expect(follower.ok).toBe(false);
      expect(follower.message).toMatch(/was stopped at machine "m0" \(error ratio 2\d.*\) before this machine's turn, so it was not changed/);
    }
    expect(await f.running()).toEqual({ m0: "r1", m1: "r1", m2: "r1" });
  });

  test("a canary whose release answers slowly is rolled back on its P95 latency", async () => {
    const f = await fleet("canary", 2, { triggers: [latencyTrigger] });
    await env.control!.post("/releases/r2-slow/misbehave", { latencySeconds: 0.9 });
    const [canary] = await f.release("r2-slow");
    expect(canary!.ok).toBe(false);
    expect(canary!.message).toMatch(/P95 latency \d{4} ms breached the trigger "P95 above 500 ms for 30s" \(threshold 500 ms\)/);
    expect(canary!.message).toMatch(/The release was rolled back: machine "m0" \(\w+\) runs its previous config again/);
    expect(await f.running()).toEqual({ m0: "r1", m1: "r1" });
  });

  test("a rolling update stops at the step that breached, and the steps before it are put back", async () => {
    const f = await fleet("rolling", 3);
    const updates = f.release("r3");
    // The first step passes on a good release; the errors begin as the second step takes it.
    for (;;) {
      const first = (await env.client.listMachines(f.app)).find((m) => m.name === "m0");
      const step = first && stepMarkOf(first);
      if (step?.state === "passed" && step.release === "r3") break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await env.control!.post("/releases/r3/misbehave", { errorShare: 0.3 });
    const [first, second, third] = await updates;
    expect(second!.ok).toBe(false);
    expect(second!.message).toMatch(/release of unified-api \(r3\): error ratio \d+(\.\d+)?% breached the trigger/);
    expect(second!.message).toMatch(/The release was rolled back: machine "m1" \(\w+\) runs its previous config again/);
    expect(first!.ok).toBe(false);
    expect(first!.message).toMatch(/The release of unified-api \(r3\) was stopped at machine "m1" \(error ratio .*\)\. The release was rolled back: machine "m0" \(\w+\) runs its previous config again/);
    expect(third!.ok).toBe(false);
    expect(third!.message).toMatch(/stopped at machine "m1" .* so it was not changed/);
    expect(await f.running()).toEqual({ m0: "r1", m1: "r1", m2: "r1" });
  });

  test("a good release passes every step and says how it was judged", async () => {
    const f = await fleet("rolling", 2);
    const results = await f.release("r4");
    expect(results.map((r) => [r.name, r.ok, r.message])).toEqual([
      ["m0", true, ""],
      ["m1", true, ""],
    ]);
    expect(results[0]!.outs?.releaseAnalysis).toMatch(/^passed: error ratio 0\.\d+%, P95 latency \d+ ms over \d+ requests$/);
    expect(await f.running()).toEqual({ m0: "r4", m1: "r4" });
  });

  test("with too little traffic and lowTraffic hold, the canary is put back and the update says why", async () => {
    const f = await fleet("canary", 2, { lowTraffic: "hold" });
    await env.control!.put("/traffic", { requestsPerSecond: 0.05 });
    try {
      const [canary, follower] = await f.release("r5");
      expect(canary!.ok).toBe(false);
      expect(canary!.message).toMatch(/The release of unified-api \(r5\) was held: only \d+ requests reached the new release in its 1 min analysis window, fewer than the 50 needed to judge it\. The release was rolled back: machine "m0"/);
      expect(follower!.message).toMatch(/stopped at machine "m0" \(too little traffic to judge\)/);
      expect(await f.running()).toEqual({ m0: "r1", m1: "r1" });
    } finally {
      await env.control!.put("/traffic", { requestsPerSecond: 2 });
    }
  });

  test("with too little traffic and lowTraffic proceed, the release goes on and its outcome says it was not judged", async () => {
    const f = await fleet("canary", 2, { lowTraffic: "proceed" });
    await env.control!.put("/traffic", { requestsPerSecond: 0.05 });
    try {
      const [canary, follower] = await f.release("r6");
      expect([canary!.ok, follower!.ok]).toEqual([true, true]);
      expect(canary!.outs?.releaseAnalysis).toMatch(/^not judged: only \d+ requests reached the new release .*; it proceeded as configured$/);
      expect(await f.running()).toEqual({ m0: "r6", m1: "r6" });
    } finally {
      await env.control!.put("/traffic", { requestsPerSecond: 2 });
    }
  });

  test("when Prometheus cannot be reached the release is rolled back, never passed blind", async () => {
    const f = await fleet("canary", 2);
    await env.control!.setFaults({ alwaysFail: { status: 503, error: "service unavailable", path: "^/prometheus/" } });
    try {
      const [canary, follower] = await f.release("r7");
      expect(canary!.ok).toBe(false);
      expect(canary!.message).toMatch(/The release of unified-api \(r7\) could not be judged: Fly Prometheus: query .* failed with HTTP 503.*A release is never passed unjudged\. The release was rolled back: machine "m0"/);
      expect(canary!.message).toMatch(/Check the metrics token/);
      expect(follower!.ok).toBe(false);
      expect(await f.running()).toEqual({ m0: "r1", m1: "r1" });
    } finally {
      await env.control!.setFaults({});
    }
  });

  test("when the Machines API cannot be read during the analysis, the failure says so, not that Prometheus failed", async () => {
    const f = await fleet("canary", 1);
    // Listing the app's machines fails from now on (reading, leasing and updating one machine still work).
    await env.control!.setFaults({ alwaysFail: { status: 503, error: "service unavailable", path: `^/apps/${f.app}/machines$` } });
    try {
      const [canary] = await f.release("r16");
      expect(canary!.message).toMatch(/The release of unified-api \(r16\) could not be judged: Fly Machines API: .*503.*A release is never passed unjudged\. The release was rolled back: machine "m0"/);
      expect(canary!.message).toMatch(/The Fly Machines API, not Prometheus, failed while the release was watched/);
      expect(canary!.message).not.toMatch(/metrics token/);
    } finally {
      await env.control!.setFaults({});
    }
    expect(await f.running()).toEqual({ m0: "r1" });
  });

  test("a release rolled back in an earlier run goes through once it behaves: an old failure does not stop a new run", async () => {
    const f = await fleet("canary", 2, { triggers: [errorTrigger] });
    await env.control!.post("/releases/r9/misbehave", { errorShare: 0.5 });
    expect((await f.release("r9")).map((r) => r.ok)).toEqual([false, false]);
    await env.control!.post("/releases/r9/misbehave", {});
    const again = await f.release("r9");
    expect(again.map((r) => [r.name, r.ok, r.message])).toEqual([
      ["m0", true, ""],
      ["m1", true, ""],
    ]);
    expect(await f.running()).toEqual({ m0: "r9", m1: "r9" });
  });

  test("a canary stopped halfway through its window fails its step, although it served enough requests before", async () => {
    const f = await fleet("canary", 2, { windowSeconds: 180 });
    const updates = f.release("r10");
    await env.client.stopMachine(f.app, await servingRelease(f, "m0", "r10"));
    const [canary, follower] = await updates;
    expect(canary!.ok).toBe(false);
    expect(canary!.message).toMatch(/The release of unified-api \(r10\) failed: at the end of its 3 min analysis window, new machine "m0" \(\w+\) is stopped .*a release is not passed on a machine that stopped serving\. The release was rolled back: machine "m0"/);
    expect(follower!.message).toMatch(/stopped at machine "m0" \(not running: m0\) before this machine's turn, so it was not changed/);
    expect(await f.running()).toEqual({ m0: "r1", m1: "r1" });
  });

  test("a canary that gets no traffic for the end of its window is held, however many requests it served before", async () => {
    const f = await fleet("canary", 2, { windowSeconds: 180 });
    // Its checks fail, so Fly Proxy sends it nothing: it runs, but its triggers have no data.
    const [canary, follower] = await releaseFailingChecksOnceServed(f, "r11");
    expect(canary!.ok).toBe(false);
    expect(canary!.message).toMatch(/The release of unified-api \(r11\) was held: \d+ requests reached the new release in its 3 min analysis window, but none in its last 30 s, so its triggers had nothing left to judge\. The release was rolled back: machine "m0"/);
    expect(follower!.message).toMatch(/stopped at machine "m0" \(too little traffic to judge\)/);
    expect(await f.running()).toEqual({ m0: "r1", m1: "r1" });
  });

  test("a canary whose health checks fail after they first passed is rolled back on them, read from the Machines API", async () => {
    const f = await fleet("canary", 2, { windowSeconds: 180, healthChecks: { consecutiveFailures: 3, intervalSeconds: 10 } });
    // Fly Proxy sends the failing machine nothing, so no Prometheus series shows it.
    const [canary, follower] = await releaseFailingChecksOnceServed(f, "r12");
    expect(canary!.ok).toBe(false);
    expect(canary!.message).toMatch(
      /The release of unified-api \(r12\): new machine "m0" \(\w+\) failed its health checks for \d+ s \[health: critical \(connect: connection refused\)\], breaching the trigger "3 consecutive failed health checks" \(checks every 10 s\)/,
    );
    expect(canary!.message).toMatch(/The release was rolled back: machine "m0" \(\w+\) runs its previous config again\. Rolled back [\d.]+ s after the breach was seen/);
    expect(follower!.message).toMatch(/stopped at machine "m0" \(health checks failing on m0\) before this machine's turn, so it was not changed/);
    expect(await f.running()).toEqual({ m0: "r1", m1: "r1" });
  });

  test("a follower whose update fails before its checks (its lease is held) stops the release at once: the canary goes back without a timeout", async () => {
    // A 2 s bound: without the failure marked, the canary would wait that long for the follower, then fail saying so.
    const f = await fleet("canary", 2, {}, { waitTimeoutSeconds: 2 });
    const follower = f.created.get("m1")!.id;
    const lease = await env.client.acquireLease(f.app, follower, 60, "another deployment");
    try {
      const [canary, second] = await f.release("r13");
      expect(second!.message).toMatch(/update machine "m1" \(\w+\) in app "[\w-]+": another deployment holds the machine's lease/);
      expect(canary!.ok).toBe(false);
      expect(canary!.message).toMatch(/The release of unified-api \(r13\) was stopped at machine "m1" \(update failed: update machine "m1" .*another deployment holds the machine's lease.*\)\. The release was rolled back: machine "m0" \(\w+\) runs its previous config again/);
      expect(await f.running()).toEqual({ m0: "r1", m1: "r1" });
    } finally {
      await env.client.releaseLease(f.app, follower, lease.nonce);
    }
  });

  test("a pass left by an interrupted run does not let the followers go before the canary is judged again", async () => {
    const f = await fleet("canary", 2, { triggers: [errorTrigger] });
    // The interrupted run had put the canary on r14 and marked its step passed; Pulumi recorded neither.
    const { id } = f.created.get("m0")!;
    const live = (await env.client.getMachine(f.app, id))!;
    const interrupted = withStepMark({ ...(live.config as FlyMachineConfig), ...config("r14"), metadata: { ...(live.config as FlyMachineConfig).metadata, sophia_release: "r14" } }, { state: "passed", release: "r14", at: Date.now() - 60_000 });
    await env.client.withLease(f.app, id, 60, "the interrupted run", (nonce) => env.client.updateMachine(f.app, id, { config: interrupted }, nonce, live.instance_id ?? undefined));
    await env.control!.post("/releases/r14/misbehave", { errorShare: 0.5 });
    const [canary, follower] = await f.release("r14");
    expect(canary!.message).toMatch(/error ratio \d+(\.\d+)?% breached the trigger .* The release was rolled back: machine "m0"/);
    expect(follower!.message).toMatch(/stopped at machine "m0" \(error ratio .*\) before this machine's turn, so it was not changed/);
    expect(await f.running()).toEqual({ m0: "r1", m1: "r1" });
  });

  test("a canary put back on its previous config that does not start says so, never that it runs again", async () => {
    const f = await fleet("canary", 1, { triggers: [errorTrigger] }, { waitTimeoutSeconds: 1 });
    await env.control!.post("/releases/r15/misbehave", { errorShare: 0.5 });
    const update = f.release("r15");
    await judging(f, "m0", "r15");
    // From now on a machine takes 5 s to start: the rollback waits 1 s (the machine's own bound).
    await env.control!.put("/timing", { machineStartMs: 5_000 });
    try {
      const [canary] = await update;
      expect(canary!.message).toMatch(/Rolling machine "m0" \(\w+\) back to its previous config did not finish: it is back on its previous config but did not start within 1 s \(state: \w+\); check its logs/);
      expect(canary!.message).not.toMatch(/runs its previous config again/);
    } finally {
      await env.control!.put("/timing", { machineStartMs: 20 });
    }
    // Room for a rollback that waits its whole /wait call (5 s in the suite's tuning) before it answers.
  }, 15_000);

  test("after a gated release, read shows no drift from the step mark in the machine's metadata", async () => {
    const f = await fleet("canary", 1);
    const [result] = await f.release("r8");
    expect(result!.ok).toBe(true);
    const { id } = f.created.get("m0")!;
    const read = await flyMachineProvider.read(id, result!.outs!);
    expect((await flyMachineProvider.diff(id, read.props as FlyMachineOutputs, f.inputs("m0", "r8"))).changes).toBe(false);
  });
});

describe("FlyMachine release step marks", () => {
  const machineWith = (mark: StepMark) => ({ id: "m", state: "started", config: withStepMark({ image: "x", metadata: { sophia_release: "r" } }, mark) });
  const since = 1_000_000;

  test("a pass counts in the run that set it, and in a later run only once the machine's update is over", () => {
    expect(stepPassed(machineWith({ state: "passed", release: "r", at: since + 1 }), "r", since)).toBe(true);
    expect(stepPassed(machineWith({ state: "passed", release: "r", at: since - 1 }), "r", since)).toBe(false);
    expect(stepPassed(machineWith({ state: "passed", release: "r", at: since - 1, complete: true }), "r", since)).toBe(true);
  });
});

describe("FlyMachine release gate inputs", () => {
  const gateInputs = (windowSeconds: number, breach = errorTrigger.breach): FlyMachineInputs => ({
    app: "a",
    name: "m",
    region: "lax",
    config: { image: "x", metadata: { sophia_release: "r" } },
    releaseGate: {
      fleet: ["m"],
      analyse: true,
      analysis: { service: "s", prometheusUrl: "https://api.fly.io/prometheus/o", windowSeconds, triggers: [{ ...errorTrigger, breach }], minRequests: 1, lowTraffic: "hold" },
    },
  });

  test("a window shorter than Fly's 15 s scrape interval is refused", async () => {
    const { failures } = await flyMachineProvider.check({}, gateInputs(10));
    expect(failures).toEqual([expect.objectContaining({ property: "releaseGate.analysis.windowSeconds", reason: expect.stringMatching(/at least Fly's 15 s scrape interval/) })]);
  });

  test("a trigger expression that does not select the machines is refused: it would judge every machine, not the new ones", async () => {
    const { failures } = await flyMachineProvider.check({}, gateInputs(60, "sum(rate(fly_app_http_responses_count[1m])) > 0.05"));
    expect(failures).toEqual([expect.objectContaining({ property: "releaseGate.analysis.triggers.0.breach", reason: expect.stringMatching(/must select the machines with \$app and \$instances/) })]);
  });
});
