/** The Fly emulator's regional outage and one-shot machine jobs, as the region-loss drill uses them. */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ApiError } from "../../../src/providers/http";
import { lastExitCode } from "../../../src/providers/fly/api/schemas";
import { createTestApp, emulated, remote, startFlyTestEnv, type FlyTestEnv } from "./helpers";

let env: FlyTestEnv;
let runnerCode = 0;
const config = (image: string, restart?: "no") => ({ image, guest: { cpu_kind: "shared", cpus: 1, memory_mb: 256 }, ...(restart ? { restart: { policy: restart } } : {}) });

beforeAll(async () => {
  env = await startFlyTestEnv({ jobRunner: () => runnerCode });
});
afterAll(async () => {
  await env.control?.post("/regions/sjc/restore");
  await env.close();
});

describe.skipIf(!emulated)("Fly emulator: a lost region", () => {
  test("calls that address a machine or volume there fail with 503 naming the region; lists still answer", async () => {
    const app = await createTestApp(env, "outage");
    const sjc = await env.client.createMachine(app, { name: "a", region: "sjc", config: config(env.image) });
    const lax = await env.client.createMachine(app, { name: "b", region: "lax", config: config(env.image) });
    const volume = await env.client.createVolume(app, { name: "data", region: "sjc", size_gb: 1 });
    await env.control!.post("/regions/sjc/lose");
    try {
      const failure = await env.client.getMachine(app, sjc.id).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(ApiError);
      expect((failure as ApiError).status).toBe(503);
      expect((failure as ApiError).message).toMatch(/region sjc is unavailable/);
      await expect(env.client.deleteVolume(app, volume.id)).rejects.toThrow(/region sjc is unavailable/);
      await expect(env.client.createMachine(app, { name: "c", region: "sjc", config: config(env.image) })).rejects.toThrow(/region sjc is unavailable/);
      expect((await env.client.getMachine(app, lax.id))?.region).toBe("lax");
      const listed = await env.client.listMachines(app);
      expect(listed.find((m) => m.id === sjc.id)).toMatchObject({ host_status: "unreachable", checks: [] });
    } finally {
      await env.control!.post("/regions/sjc/restore");
    }
    expect((await env.client.getMachine(app, sjc.id))?.region).toBe("sjc");
  });
});

// The job runner is code in this process: an emulator started elsewhere plays no job of the test's.
describe.skipIf(remote)("Fly emulator: one-shot machines", () => {
  test("a machine with restart policy no runs its job, then stops with the runner's exit code in an exit event", async () => {
    runnerCode = 4;
    const app = await createTestApp(env, "job");
    const job = await env.client.createMachine(app, { name: "job", region: "lax", config: config(env.image, "no") });
    await expect.poll(async () => (await env.client.getMachine(app, job.id))?.state, { timeout: 5_000 }).toBe("stopped");
    expect(lastExitCode((await env.client.getMachine(app, job.id))!)).toBe(4);
  });

  test("a machine that restarts on failure is no job: it keeps running", async () => {
    const app = await createTestApp(env, "job");
    const service = await env.client.createMachine(app, { name: "svc", region: "lax", config: config(env.image) });
    await expect.poll(async () => (await env.client.getMachine(app, service.id))?.state, { timeout: 5_000 }).toBe("started");
    expect(lastExitCode((await env.client.getMachine(app, service.id))!)).toBeUndefined();
  });
});
