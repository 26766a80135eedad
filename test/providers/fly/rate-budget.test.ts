/**
 * One client per endpoint and token serves every resource of a deployment, so Fly's per-app create
 * budget holds across them all: forty machines created in parallel, through forty provider calls,
 * reach the API no faster than the budget allows (counted where the requests arrive).
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { setFlyClientTuning } from "../../../src/providers/fly/api/connection";
import { flyMachineProvider } from "../../../src/providers/fly/resources/machine";
import { createTestApp, emulated, FAST_TUNING, type FlyTestEnv, startFlyTestEnv } from "./helpers";
import { required } from "../../helpers/emulator-control";

let env: FlyTestEnv;
let app: string;
const BUDGET = { intervalMs: 100, burst: 3 };

beforeAll(async () => {
  env = await startFlyTestEnv();
  app = await createTestApp(env, "budget");
});
afterAll(async () => {
  await env.close();
});

/** The most requests that arrived within any `windowMs`. */
function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j < sorted.length && (sorted[j] ?? 0) - (sorted[i] ?? 0) < windowMs) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

describe.skipIf(!emulated)("rate budget", () => {
  test("forty machine creates in parallel stay within the per-app create budget", async () => {
    setFlyClientTuning({ ...FAST_TUNING, rateLimit: BUDGET });
    const creates = Array.from({ length: 40 }, (_, i) =>
      flyMachineProvider.create({ app, name: `budget-${i}`, region: env.region, config: { image: env.image }, skipLaunch: true, ...env.connection }),
    );
    const created = await Promise.all(creates);
    expect(new Set(created.map((c) => c.id)).size).toBe(40);
    const arrivals = (await required(env.control).requests()).filter((r) => r.method === "POST" && r.path === `/apps/${app}/machines`).map((r) => r.at);
    expect(arrivals).toHaveLength(40);
    // A token bucket lets `burst` through at once, then one per interval. Requests are counted where
    // they arrive, and client and emulator share one busy event loop, so a request can arrive late:
    // five requests of slack (half a second of delay). Without the shared budget all forty arrive
    // within the first window.
    const windowMs = 2_000;
    expect(busiestWindow(arrivals, windowMs)).toBeLessThanOrEqual(BUDGET.burst + windowMs / BUDGET.intervalMs + 5);
  });
});
