import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { flySecretsProvider, type FlySecretsInputs } from "../../../src/providers/fly/resources/secrets";
import { createTestApp, emulated, expectNoLeaks, type FlyTestEnv, startFlyTestEnv, trackSecret } from "./helpers";
import { required } from "../../helpers/emulator-control";

let env: FlyTestEnv;
let app: string;

const DB_URL = trackSecret("postgres://sophia:s3cr3t-db-pass@db.internal:5432/sophia");
const API_KEY = trackSecret("sk-live-4f9a8b7c6d5e4f3a2b1c");
const ROTATED = trackSecret("sk-live-rotated-0a1b2c3d4e5f");

function inputs(values: Record<string, string>, overrides: Partial<FlySecretsInputs> = {}): FlySecretsInputs {
  return { app, values, ...env.connection, ...overrides };
}

async function startedMachine(name: string): Promise<string> {
  const machine = await env.client.createMachine(app, { name, region: env.region, config: { image: env.image } });
  await env.client.waitForState(app, machine.id, "started", { timeoutSeconds: 5 });
  return machine.id;
}

beforeAll(async () => {
  env = await startFlyTestEnv();
  app = await createTestApp(env, "secrets");
});
afterAll(async () => {
  await env.client.deleteApp(app);
  await env.close();
  expectNoLeaks();
});

describe("FlySecrets", () => {
  test("check names a bad key without quoting any value", async () => {
    const news = { ...inputs({ DATABASE_URL: DB_URL }), values: { DATABASE_URL: DB_URL, "bad-key": API_KEY } };
    const { failures } = await flySecretsProvider.check({}, news);
    expect(failures).toEqual([expect.objectContaining({ property: "values.bad-key" })]);
    expect(JSON.stringify(failures)).not.toContain(API_KEY);
  });

  test("create sets the values, then read shows no drift", async () => {
    const news = inputs({ DATABASE_URL: DB_URL, API_KEY });
    const created = await flySecretsProvider.create(news);
    expect((await env.client.listSecrets(app)).map((s) => s.name).sort()).toEqual(["API_KEY", "DATABASE_URL"]);
    const read = await flySecretsProvider.read(created.id, created.outs);
    expect((await flySecretsProvider.diff(created.id, read.props ?? created.outs, news)).changes).toBe(false);
    await flySecretsProvider.delete(created.id, created.outs);
  });

  test("read reports a value changed out of band", async () => {
    const news = inputs({ DATABASE_URL: DB_URL, API_KEY });
    const created = await flySecretsProvider.create(news);
    await env.client.updateSecrets(app, { API_KEY: ROTATED });
    const read = await flySecretsProvider.read(created.id, created.outs);
    expect(Object.keys(read.props?.values ?? {})).toEqual(["DATABASE_URL"]);
    expect((await flySecretsProvider.diff(created.id, read.props ?? created.outs, news)).changes).toBe(true);
    await flySecretsProvider.delete(created.id, created.outs);
  });

  test("create exposes the app's secrets version from Fly's answer", async () => {
    const created = await flySecretsProvider.create(inputs({ API_KEY }));
    expect(created.outs.version).toEqual(expect.any(Number));
    if (env.control) expect(created.outs.version).toBe((await env.control.get<{ secretsVersion: number }>(`/apps/${app}`)).secretsVersion);
    await flySecretsProvider.delete(created.id, created.outs);
  });

  test.skipIf(!emulated)("after a change, the digests recorded and read are those of the version written, while reads lag behind", async () => {
    const control = required(env.control);
    const created = await flySecretsProvider.create(inputs({ API_KEY }));
    // Fly's secrets are eventually consistent: a plain list may show the previous version for a while.
    await control.put("/timing", { secretsReadLagMs: 60_000 });
    try {
      const updated = await flySecretsProvider.update(created.id, created.outs, inputs({ API_KEY: ROTATED }, { updateMachines: false }));
      const written = (await env.client.listSecrets(app, updated.outs.version)).find((s) => s.name === "API_KEY")?.digest;
      expect(updated.outs.digests.API_KEY).toBe(written);
      expect(updated.outs.digests.API_KEY).not.toBe(created.outs.digests.API_KEY);
      // Our own change is not drift, however far behind a plain list is.
      expect((await flySecretsProvider.read(created.id, updated.outs)).props?.values).toEqual({ API_KEY: ROTATED });
      await flySecretsProvider.delete(created.id, updated.outs);
      expect((await env.client.listSecrets(app, (updated.outs.version ?? 0) + 1)).map((s) => s.name)).not.toContain("API_KEY");
    } finally {
      await control.put("/timing", { secretsReadLagMs: 0 });
    }
  });

  test("an update that sets nothing keeps the secrets version, which machines send as their minimum", async () => {
    const created = await flySecretsProvider.create(inputs({ API_KEY }));
    const updated = await flySecretsProvider.update(created.id, created.outs, inputs({ API_KEY }, { updateMachines: false }));
    expect(updated.outs.version).toBe(created.outs.version);
    await flySecretsProvider.delete(created.id, updated.outs);
  });

  test("keys removed from config are unset", async () => {
    const created = await flySecretsProvider.create(inputs({ DATABASE_URL: DB_URL, API_KEY }));
    const next = inputs({ DATABASE_URL: DB_URL });
    expect(await flySecretsProvider.diff(created.id, created.outs, next)).toMatchObject({ changes: true, replaces: [] });
    const updated = await flySecretsProvider.update(created.id, created.outs, next);
    expect((await env.client.listSecrets(app)).map((s) => s.name)).toEqual(["DATABASE_URL"]);
    expect(updated.outs.values).toEqual({ DATABASE_URL: DB_URL });
    await flySecretsProvider.delete(created.id, updated.outs);
  });

  test.skipIf(!emulated)("a change updates the app's machines so they run with the new values", async () => {
    const created = await flySecretsProvider.create(inputs({ API_KEY }));
    const machineId = await startedMachine("secrets-roll");
    const updated = await flySecretsProvider.update(created.id, created.outs, inputs({ API_KEY: ROTATED }));
    expect(updated.outs.machinesUpdated).toEqual([machineId]);
    expect(updated.outs.notice).toBeUndefined();
    const control = required(env.control);
    const { secretsVersion } = await control.get<{ secretsVersion: number }>(`/apps/${app}`);
    expect((await control.get<{ secretsVersion: number }>(`/apps/${app}/machines/${machineId}`)).secretsVersion).toBe(secretsVersion);
    expect((await env.client.getMachine(app, machineId))?.state).toBe("started");
    await env.client.deleteMachine(app, machineId);
    await flySecretsProvider.delete(created.id, updated.outs);
  });

  test("with updateMachines false the notice names the machines left on old values", async () => {
    const created = await flySecretsProvider.create(inputs({ API_KEY }, { updateMachines: false }));
    const machineId = await startedMachine("secrets-keep");
    const updated = await flySecretsProvider.update(created.id, created.outs, inputs({ API_KEY: ROTATED }, { updateMachines: false }));
    expect(updated.outs.machinesUpdated).toEqual([]);
    expect(updated.outs.notice).toMatch(new RegExp(`1 machine\\(s\\) of app "${app}" still run with the previous secrets.*${machineId}`));
    expect(updated.outs.notice).not.toContain(ROTATED);
    await env.client.deleteMachine(app, machineId);
    await flySecretsProvider.delete(created.id, updated.outs);
  });

  test("an app change replaces the secrets", async () => {
    const news = inputs({ API_KEY });
    const created = await flySecretsProvider.create(news);
    expect(await flySecretsProvider.diff(created.id, created.outs, { ...news, app: `${app}-other` })).toMatchObject({
      changes: true,
      replaces: ["app"],
    });
    await flySecretsProvider.delete(created.id, created.outs);
  });

  test("delete twice succeeds", async () => {
    const created = await flySecretsProvider.create(inputs({ DATABASE_URL: DB_URL }));
    await flySecretsProvider.delete(created.id, created.outs);
    await flySecretsProvider.delete(created.id, created.outs);
    expect(await env.client.listSecrets(app)).toEqual([]);
  });
});
