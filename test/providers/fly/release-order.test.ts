/**
 * Release order on update lives in the machine provider: a machine released after another
 * waits, inside its update, until that one runs the new release and passes its checks. A create
 * never waits, so a first deployment starts the whole fleet at once.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { flyMachineProvider, type FlyMachineConfig, type FlyMachineInputs, type FlyMachineOutputs } from "../../../src/providers/fly/resources/machine";
import { createTestApp, expectNoLeaks, startFlyTestEnv, type FlyTestEnv } from "./helpers";

let env: FlyTestEnv;
let app: string;

function machine(name: string, release: string, releaseAfter: string[] = []): FlyMachineInputs {
  const config: FlyMachineConfig = {
    image: env.image,
    guest: { cpu_kind: "shared", cpus: 1, memory_mb: 256 },
    env: { RELEASE: release },
    checks: { health: { type: "http", port: 8080, path: "/healthz", interval: "10s", timeout: "2s" } },
    metadata: { sophia_release: release },
  };
  return { app, name, region: env.region, config, waitForChecks: true, releaseAfter, waitTimeoutSeconds: 30, ...env.connection };
}

beforeAll(async () => {
  env = await startFlyTestEnv();
  app = await createTestApp(env, "release-order");
});
afterAll(async () => {
  await env.client.deleteApp(app);
  await env.close();
  expectNoLeaks();
});

describe("FlyMachine release order", () => {
  test("a machine released after another is created without waiting for it", async () => {
    // The predecessor does not exist yet: a first create has nothing to wait for.
    const created = await flyMachineProvider.create(machine("second-alone", "r1", ["first-alone"]));
    expect(created.id).toBeTruthy();
  });

  test("an update waits until the machine before it runs the new release, then goes", async () => {
    const first = await flyMachineProvider.create(machine("first", "r1"));
    const second = await flyMachineProvider.create(machine("second", "r1", ["first"]));
    const order: string[] = [];
    const secondUpdate = flyMachineProvider
      .update(second.id, second.outs as FlyMachineOutputs, machine("second", "r2", ["first"]))
      .then(() => order.push("second"));
    // Give the second machine's update time to go ahead if it were not waiting.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(order).toEqual([]);
    expect(((await env.client.getMachine(app, second.id))?.config as FlyMachineConfig).metadata?.sophia_release).toBe("r1");
    await flyMachineProvider.update(first.id, first.outs as FlyMachineOutputs, machine("first", "r2")).then(() => order.push("first"));
    await secondUpdate;
    expect(order).toEqual(["first", "second"]);
  });

  test("an update whose predecessor never takes the release fails, naming that machine", async () => {
    await flyMachineProvider.create(machine("stuck-first", "r1"));
    const second = await flyMachineProvider.create(machine("stuck-second", "r1", ["stuck-first"]));
    const update = flyMachineProvider.update(second.id, second.outs as FlyMachineOutputs, { ...machine("stuck-second", "r2", ["stuck-first"]), waitTimeoutSeconds: 1 });
    await expect(update).rejects.toThrow(/released after stuck-first, which did not take the new release \(r2\)/);
  });
});
