/**
 * Taking over what exists (`sophia:adopt`), provider by provider: an app made outside the stack,
 * with a volume holding data and the machine that mounts it, is adopted as it is, checked against
 * the declared inputs, marked or recorded as the stack's, and shows no change afterwards. Every
 * mismatch is an error that changes nothing. Runs against the emulator, or a real endpoint when named.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { flyAppProvider, type FlyAppInputs } from "../../../src/providers/fly/resources/app";
import { flyMachineProvider, type FlyMachineInputs } from "../../../src/providers/fly/resources/machine";
import { flyVolumeProvider, type FlyVolumeInputs } from "../../../src/providers/fly/resources/volume";
import type { FlyMachineConfig, FlyMachineInfo, FlyVolumeInfo } from "../../../src/providers/fly/api/schemas";
import { expectNoLeaks, failureOf, startFlyTestEnv, type FlyTestEnv } from "./helpers";

let env: FlyTestEnv;
const apps: string[] = [];

beforeAll(async () => {
  env = await startFlyTestEnv();
});
afterAll(async () => {
  for (const app of apps) await env.client.deleteApp(app);
  await env.close();
  expectNoLeaks();
});

/** A live machine's config, in the Machines API's shape. */
const configOf = async (app: string, id: string) => (await env.client.getMachine(app, id))?.config as FlyMachineConfig | undefined;

/** An app as a team runs it without this stack: a volume named as they chose, and a machine that mounts it. */
async function existingDeployment(label: string, volumeGb = 2): Promise<{ app: string; volume: FlyVolumeInfo; machine: FlyMachineInfo }> {
  const app = env.appName(label);
  apps.push(app);
  await env.client.createApp({ name: app, org_slug: env.org });
  const volume = await env.client.createVolume(app, { name: "pgdata", region: env.region, size_gb: volumeGb });
  const machine = await env.client.createMachine(app, {
    name: "old-web-1",
    region: env.region,
    config: { image: env.image, mounts: [{ volume: volume.id, path: "/data" }] },
  });
  return { app, volume, machine };
}

const appInputs = (app: string, adopt: FlyAppInputs["adopt"]): FlyAppInputs => ({ name: app, org: env.org, adopt, ...env.connection });
const volumeInputs = (app: string, adopt: string, overrides: Partial<FlyVolumeInputs> = {}): FlyVolumeInputs => ({
  app, name: "svc_data", region: env.region, sizeGb: 2, encrypted: true, snapshotRetention: 5, autoBackupEnabled: true, adopt, ...env.connection, ...overrides,
});
const machineInputs = (app: string, adopt: string, volumeId: string): FlyMachineInputs => ({
  app, name: `${app}-${env.region}-0`, region: env.region, marker: `test/adopt/${app}`, adopt,
  config: { image: env.image, env: { MODE: "stack" }, mounts: [{ volume: volumeId, path: "/var/lib/svc" }] }, ...env.connection,
});

describe("adopting an existing app with its volume and machine", () => {
  let deployment: Awaited<ReturnType<typeof existingDeployment>>;
  let app: Awaited<ReturnType<typeof flyAppProvider.create>>;
  let volume: Awaited<ReturnType<typeof flyVolumeProvider.create>>;
  let machine: Awaited<ReturnType<typeof flyMachineProvider.create>>;

  beforeAll(async () => {
    deployment = await existingDeployment("legacy");
    app = await flyAppProvider.create(appInputs(deployment.app, { machines: [deployment.machine.id], volumes: [deployment.volume.id] }));
    volume = await flyVolumeProvider.create(volumeInputs(deployment.app, "pgdata"));
    machine = await flyMachineProvider.create(machineInputs(deployment.app, deployment.machine.id, volume.id));
  });

  test("the app is taken over under its own name and recorded as adopted", () => {
    expect(app.id).toBe(deployment.app);
    expect(app.outs.adopted).toBe(true);
  });

  test("the volume is the same volume, by name: same id, size and creation time, now mounted by the stack's machine", async () => {
    expect(volume.id).toBe(deployment.volume.id);
    const now = await env.client.getVolume(deployment.app, volume.id);
    expect([now?.size_gb, now?.created_at, now?.attached_machine_id]).toEqual([deployment.volume.size_gb, deployment.volume.created_at, deployment.machine.id]);
    expect(volume.outs).toMatchObject({ name: "svc_data", adopted: true });
  });

  test("the machine keeps its id and name, carries the stack's marker and runs the stack's config on the same volume", async () => {
    expect(machine.id).toBe(deployment.machine.id);
    expect((await env.client.getMachine(deployment.app, machine.id))?.name).toBe("old-web-1");
    const config = await configOf(deployment.app, machine.id);
    expect(config?.metadata?.sophia_resource).toBe(`test/adopt/${deployment.app}`);
    expect(config?.env).toEqual({ MODE: "stack" });
    expect(config?.mounts?.[0]?.volume).toBe(deployment.volume.id);
  });

  test("a second run finds no change in any of them", async () => {
    const readApp = await flyAppProvider.read(app.id, app.outs);
    expect((await flyAppProvider.diff(app.id, readApp.props ?? app.outs, appInputs(deployment.app, { machines: [deployment.machine.id], volumes: [deployment.volume.id] }))).changes).toBe(false);
    const readVolume = await flyVolumeProvider.read(volume.id, volume.outs);
    expect((await flyVolumeProvider.diff(volume.id, readVolume.props ?? volume.outs, volumeInputs(deployment.app, "pgdata"))).changes).toBe(false);
    const readMachine = await flyMachineProvider.read(machine.id, machine.outs);
    expect((await flyMachineProvider.diff(machine.id, readMachine.props ?? machine.outs, machineInputs(deployment.app, deployment.machine.id, volume.id))).changes).toBe(false);
  });
});

describe("an adoption that does not match is refused, and nothing changes", () => {
  test("an app holding a machine the adoption does not list", async () => {
    const { app, machine } = await existingDeployment("unlisted");
    const message = await failureOf(flyAppProvider.create(appInputs(app, { machines: [], volumes: ["pgdata"] })));
    expect(message).toMatch(new RegExp(`adopt app "${app}": it holds machine\\(s\\) ${machine.id} \\(old-web-1\\), which the adoption does not list\\. List each under sophia:adopt`));
    expect(message).toMatch(/Nothing was changed\.$/);
  });

  test("an app in another organization", async () => {
    const { app, machine, volume } = await existingDeployment("org");
    const message = await failureOf(flyAppProvider.create({ ...appInputs(app, { machines: [machine.id], volumes: [volume.id] }), org: "elsewhere" }));
    expect(message).toMatch(new RegExp(`it is in organization "${env.org}", but the stack deploys to "elsewhere" \\(sophia:flyOrg\\)`));
  });

  test("a volume in another region than the service's", async () => {
    const { app, volume } = await existingDeployment("region");
    const message = await failureOf(flyVolumeProvider.create(volumeInputs(app, volume.id, { region: env.region === "ams" ? "fra" : "ams" })));
    expect(message).toMatch(new RegExp(`adopt volume "${volume.id}" of app "${app}": it is in region ${env.region}.* a volume cannot move`));
    expect((await env.client.getVolume(app, volume.id))?.created_at).toBe(volume.created_at);
  });

  test("a volume larger than the stack declares, which it could never shrink to", async () => {
    const { app, volume } = await existingDeployment("size", 5);
    const message = await failureOf(flyVolumeProvider.create(volumeInputs(app, volume.id, { sizeGb: 3 })));
    expect(message).toMatch(/it holds 5 GB, and the stack declares 3 GB; a volume never shrinks, so declare at least 5 \(the service's volumeGb\)\. Nothing was changed; the volume and its data are as they were\./);
    expect((await env.client.getVolume(app, volume.id))?.size_gb).toBe(5);
  });

  test("a volume name two volumes of the app carry", async () => {
    const { app } = await existingDeployment("twice");
    await env.client.createVolume(app, { name: "pgdata", region: env.region, size_gb: 2 });
    expect(await failureOf(flyVolumeProvider.create(volumeInputs(app, "pgdata")))).toMatch(/2 volumes of the app are named "pgdata" \(.*\); list the one you mean by its id/);
  });

  test("a machine the stack would give another volume than the one holding its data", async () => {
    const { app, machine } = await existingDeployment("mount");
    const other = await env.client.createVolume(app, { name: "spare", region: env.region, size_gb: 2 });
    const message = await failureOf(flyMachineProvider.create(machineInputs(app, machine.id, other.id)));
    expect(message).toMatch(new RegExp(`adopt machine ${machine.id} of app "${app}": it mounts volume .*, but the stack would mount ${other.id} on it, which would take its data away from it`));
    expect((await configOf(app, machine.id))?.metadata?.sophia_resource).toBeUndefined();
  });
});
