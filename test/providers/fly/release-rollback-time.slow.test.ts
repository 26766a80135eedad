/**
 * The seed's promise: a misbehaving canary is rolled back within 30 s of the breach being seen.
 * Measured in platform time against the emulator with Fly's own timings (a machine takes about 4 s
 * to start and 8 s to pass its checks, each API call about 60 ms), prod's triggers (the same
 * definitions as its alert rules) and a 3-minute analysis window, all at a fiftieth of real time.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { setFlyClientTuning } from "../../../src/providers/fly/api/connection";
import { flyMachineProvider, type FlyMachineConfig, type FlyMachineInputs, type FlyMachineOutputs } from "../../../src/providers/fly/resources/machine";
import { gateTriggers } from "../../../components/release-analysis";
import { profiles } from "../../../environments/profiles";
import { TRIGGER_KINDS } from "../../../src/config/release";
import { sloSchema } from "../../../src/config/slo";
import { FAST_TUNING, createTestApp, emulated, expectNoLeaks, failureOf, startFlyTestEnv, type FlyTestEnv } from "./helpers";

const SCALE = 0.02;
const scaled = (ms: number) => Math.round(ms * SCALE);
let env: FlyTestEnv;

/** The seed's triggers (errors above 5% for 2 minutes, P95 above 500 ms for 3 minutes, …), as prod's stack gives them. */
const triggers = gateTriggers(sloSchema.parse(profiles["enterprise-multi-region"].slo).rollback, 15, TRIGGER_KINDS);

beforeAll(async () => {
  env = await startFlyTestEnv({ timeScale: SCALE, machineStartMs: scaled(4_000), checksPassAfterMs: scaled(8_000) });
  await env.control?.setFaults({ latencyMs: scaled(60) });
  setFlyClientTuning({ ...FAST_TUNING, pollIntervalMs: scaled(2_000), timeScale: SCALE });
});
afterAll(async () => {
  await env.close();
  expectNoLeaks();
});

test.skipIf(!emulated)("a canary that breaches the error trigger is rolled back within 30 s of the breach being seen", async () => {
  const app = await createTestApp(env, "rollback-time");
  const inputs = (release: string): FlyMachineInputs => ({
    app,
    name: "canary",
    region: env.region,
    config: {
      image: `${env.image}-${release}`,
      checks: { health: { type: "http", port: 8080, path: "/healthz", interval: "10s", timeout: "2s" } },
      metadata: { sophia_release: release },
    } satisfies FlyMachineConfig,
    waitForChecks: true,
    releaseGate: {
      fleet: ["canary"],
      analyse: true,
      analysis: { service: "unified-api", prometheusUrl: `${env.apiUrl.replace(/\/v1$/, "")}/prometheus/${env.org}`, windowSeconds: 180, triggers, minRequests: 100, lowTraffic: "hold" },
    },
    metricsToken: env.apiToken,
    ...env.connection,
  });
  const created = await flyMachineProvider.create(inputs("r1"));
  await env.control!.post("/releases/r2/misbehave", { errorShare: 0.2 });
  const message = await failureOf(flyMachineProvider.update(created.id, created.outs as FlyMachineOutputs, inputs("r2")));
  const seconds = Number(/Rolled back ([\d.]+) s after the breach was seen/.exec(message)?.[1]);
  process.stdout.write(`canary rolled back ${seconds} s (platform time) after the breach was seen\n`);
  expect(seconds).toBeGreaterThan(0);
  expect(seconds).toBeLessThanOrEqual(30);
  const live = await env.client.getMachine(app, created.id);
  expect((live?.config as FlyMachineConfig).metadata?.sophia_release).toBe("r1");
}, 60_000);
