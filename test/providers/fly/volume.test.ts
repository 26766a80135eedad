import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { flyMachineProvider } from "../../../src/providers/fly/resources/machine";
import { flyVolumeProvider, type FlyVolumeInputs } from "../../../src/providers/fly/resources/volume";
import { createTestApp, expectNoLeaks, failureOf, startFlyTestEnv, type FlyTestEnv } from "./helpers";

let env: FlyTestEnv;
let app: string;

/** Volume inputs as check returns them (Fly's defaults applied). */
async function checked(overrides: Partial<FlyVolumeInputs> = {}, olds: Partial<FlyVolumeInputs> = {}): Promise<FlyVolumeInputs> {
  const news = { app, name: "data", region: env.region, sizeGb: 3, ...env.connection, ...overrides };
  const { inputs, failures } = await flyVolumeProvider.check(olds, news);
  expect(failures).toEqual([]);
  return inputs;
}

beforeAll(async () => {
  env = await startFlyTestEnv();
  app = await createTestApp(env, "vol");
});
afterAll(async () => {
  await env.client.deleteApp(app);
  await env.close();
  expectNoLeaks();
});

describe("FlyVolume", () => {
  test("check applies Fly's volume defaults", async () => {
    expect(await checked()).toMatchObject({ encrypted: true, snapshotRetention: 5, autoBackupEnabled: true });
  });

  test("check fails a smaller size, naming the volume, both sizes and that volumes never shrink", async () => {
    const news = { app, name: "data", region: env.region, sizeGb: 5, ...env.connection };
    const { failures } = await flyVolumeProvider.check({ ...news, sizeGb: 10 }, news);
    expect(failures).toHaveLength(1);
    expect(failures[0].property).toBe("sizeGb");
    expect(failures[0].reason).toMatch(/volume "data" cannot shrink from 10 GB to 5 GB: Fly volumes never shrink/);
  });

  test("the machine size is a placement hint at create: a later change to it is no diff", async () => {
    const news = await checked({ compute: { cpu_kind: "shared", cpus: 1, memory_mb: 256 } });
    const created = await flyVolumeProvider.create(news);
    const diff = await flyVolumeProvider.diff(created.id, created.outs, { ...news, compute: { cpu_kind: "shared", cpus: 2, memory_mb: 2048 } });
    expect(diff.changes).toBe(false);
    await flyVolumeProvider.delete(created.id, created.outs);
  });

  test("check rejects a placement hint Fly cannot use", async () => {
    const news = { app, name: "data", region: env.region, sizeGb: 3, compute: { cpu_kind: "shared" as const, cpus: 3.5, memory_mb: 256 }, ...env.connection };
    const { failures } = await flyVolumeProvider.check({}, news);
    expect(failures.map((f) => f.property)).toContain("compute.cpus");
  });

  test("create then read shows no drift", async () => {
    const inputs = await checked();
    const created = await flyVolumeProvider.create(inputs);
    expect(created.outs).toMatchObject({ volumeId: created.id, sizeGb: 3, region: env.region });
    const read = await flyVolumeProvider.read(created.id, created.outs);
    expect((await flyVolumeProvider.diff(created.id, read.props ?? created.outs, inputs)).changes).toBe(false);
    await flyVolumeProvider.delete(created.id, created.outs);
  });

  test("read reports a snapshot retention changed out of band", async () => {
    const inputs = await checked();
    const created = await flyVolumeProvider.create(inputs);
    await env.client.updateVolume(app, created.id, { snapshot_retention: 14 });
    const read = await flyVolumeProvider.read(created.id, created.outs);
    expect(read.props).toMatchObject({ snapshotRetention: 14 });
    const diff = await flyVolumeProvider.diff(created.id, read.props ?? created.outs, inputs);
    expect(diff).toMatchObject({ changes: true, replaces: [] });
    await flyVolumeProvider.delete(created.id, created.outs);
  });

  test("a larger size extends the volume in place", async () => {
    const inputs = await checked();
    const created = await flyVolumeProvider.create(inputs);
    const bigger = await checked({ sizeGb: 6 }, inputs);
    expect(await flyVolumeProvider.diff(created.id, created.outs, bigger)).toMatchObject({ changes: true, replaces: [] });
    const updated = await flyVolumeProvider.update(created.id, created.outs, bigger);
    expect(updated.outs).toMatchObject({ volumeId: created.id, sizeGb: 6 });
    expect((await env.client.getVolume(app, created.id))?.size_gb).toBe(6);
    await flyVolumeProvider.delete(created.id, updated.outs);
  });

  test("a volume grown outside Pulumi (auto-extend) is not a change", async () => {
    const inputs = await checked();
    const created = await flyVolumeProvider.create(inputs);
    await env.client.extendVolume(app, created.id, 8);
    const read = await flyVolumeProvider.read(created.id, created.outs);
    expect(read.props).toMatchObject({ sizeGb: 8 });
    expect((await flyVolumeProvider.diff(created.id, read.props ?? created.outs, inputs)).changes).toBe(false);
    await flyVolumeProvider.delete(created.id, created.outs);
  });

  test("a region or name change replaces the volume", async () => {
    const inputs = await checked();
    const created = await flyVolumeProvider.create(inputs);
    const moved = await flyVolumeProvider.diff(created.id, created.outs, { ...inputs, region: "sjc", name: "data2" });
    expect(moved).toMatchObject({ changes: true, replaces: ["name", "region"], deleteBeforeReplace: false });
    await flyVolumeProvider.delete(created.id, created.outs);
  });

  test("auto-extend settings come out shaped for the machine's mount", async () => {
    const inputs = await checked({ autoExtendSizeThreshold: 80, autoExtendSizeIncrement: 2, autoExtendSizeLimit: 20 });
    const created = await flyVolumeProvider.create(inputs);
    expect(created.outs.mountAutoExtend).toEqual({ extend_threshold_percent: 80, add_size_gb: 2, size_gb_limit: 20 });
    await flyVolumeProvider.delete(created.id, created.outs);
  });

  test("delete refuses while the volume is attached to a machine that stays", async () => {
    const created = await flyVolumeProvider.create(await checked());
    const machine = await env.client.createMachine(app, {
      name: "holder",
      region: env.region,
      config: { image: env.image, mounts: [{ volume: created.id, path: "/data" }] },
    });
    const message = await failureOf(flyVolumeProvider.delete(created.id, created.outs));
    expect(message).toMatch(new RegExp(`delete volume "data" \\(${created.id}\\) in app "${app}": it is attached to machine ${machine.id}`));
    expect(message).toMatch(/destroy that machine first/);
    await env.client.deleteMachine(app, machine.id);
    await flyVolumeProvider.delete(created.id, created.outs);
  });

  test("delete succeeds when the attached machine is going too", async () => {
    const created = await flyVolumeProvider.create(await checked());
    const machineInputs = {
      app,
      name: "going",
      region: env.region,
      config: { image: env.image, mounts: [{ volume: created.id, path: "/data" }] },
      ...env.connection,
    };
    const machine = await flyMachineProvider.create(machineInputs);
    // Pulumi deletes the dependent machine first, then the volume.
    await flyMachineProvider.delete(machine.id, machine.outs);
    await flyVolumeProvider.delete(created.id, created.outs);
    expect(await env.client.getVolume(app, created.id)).toBeUndefined();
  });

  test("delete twice succeeds", async () => {
    const created = await flyVolumeProvider.create(await checked());
    await flyVolumeProvider.delete(created.id, created.outs);
    await flyVolumeProvider.delete(created.id, created.outs);
    expect(await flyVolumeProvider.read(created.id, created.outs)).toEqual({});
  });
});
