/**
 * Every Fly write whose answer keeps getting lost after Fly acted (more times than the client
 * retries) is found done by reading the state back, and is sent once: creates, updates, starts
 * and stops, leases, secrets, certificates, volume changes and deletes alike. The emulator loses
 * the answers on request, through its control API, so these run against any emulator.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { isMachineGone } from "../../../src/providers/fly/api/client";
import { flyAppProvider } from "../../../src/providers/fly/resources/app";
import { flyCertificateProvider } from "../../../src/providers/fly/resources/certificate";
import { flyIpAddressProvider } from "../../../src/providers/fly/resources/ip";
import { flyMachineProvider, type FlyMachineInputs } from "../../../src/providers/fly/resources/machine";
import { flySecretsProvider } from "../../../src/providers/fly/resources/secrets";
import { flyVolumeProvider } from "../../../src/providers/fly/resources/volume";
import { createTestApp, emulated, expectNoLeaks, FAST_TUNING, startFlyTestEnv, type FlyTestEnv } from "./helpers";
import { required } from "../../helpers/emulator-control";

let env: FlyTestEnv;
let app: string;
let counter = 0;
const unique = (label: string) => `${label}-${(counter += 1)}`;
const control = () => required(env.control);
/** More losses than the client has attempts: only reading back can end the operation. */
const ALWAYS = FAST_TUNING.retry.maxAttempts + 5;

beforeAll(async () => {
  env = await startFlyTestEnv();
  app = await createTestApp(env, "lost");
});
afterEach(async () => {
  // Forgets the losses not used up.
  await env.control?.reset();
});
afterAll(async () => {
  await env.client.deleteApp(app);
  await env.close();
  expectNoLeaks();
});

/**
 * Runs `operation` while every answer to `method` on paths matching `path` is lost, and returns
 * how many such requests reached the emulator (the first one lost, the rest never sent).
 */
async function withAnswersLost<T>(method: string, path: RegExp, operation: () => Promise<T>): Promise<{ result: T; sent: number }> {
  const mark = await control().mark();
  await control().loseAnswer({ method, path, count: ALWAYS });
  const result = await operation();
  const sent = (await control().requests(mark)).filter((r) => r.method === method && path.test(r.path));
  expect(sent.map((r) => r.status)).toContain("lost");
  return { result, sent: sent.length };
}

function machine(overrides: Partial<FlyMachineInputs> = {}): FlyMachineInputs {
  const name = unique("web");
  return { app, name, region: env.region, marker: `test/lost/${name}`, config: { image: env.image, env: { V: "1" } }, ...env.connection, ...overrides };
}

describe.skipIf(!emulated)("Fly writes whose answers are always lost", () => {
  test("an app create is found by reading the app back", async () => {
    const name = env.appName("always-lost");
    const { result, sent } = await withAnswersLost("POST", /^\/apps$/, () => flyAppProvider.create({ name, org: env.org, ...env.connection }));
    expect(result.id).toBe(name);
    expect(sent).toBe(1);
    await env.client.deleteApp(name);
  });

  test("an app delete is found done by reading the app back", async () => {
    const name = await createTestApp(env, "del-lost");
    const escaped = name.replace(/[-]/g, "\\-");
    const { sent } = await withAnswersLost("DELETE", new RegExp(`^/apps/${escaped}$`), () => flyAppProvider.delete(name, { name, org: env.org, status: "pending", ...env.connection }));
    expect(sent).toBe(1);
    expect(await env.client.getApp(name)).toBeUndefined();
  });

  test("a machine create is found by its name and marker", async () => {
    const news = machine();
    const { result, sent } = await withAnswersLost("POST", /\/machines$/, () => flyMachineProvider.create(news));
    expect((await env.client.listMachines(app)).filter((m) => m.name === news.name && !isMachineGone(m)).map((m) => m.id)).toEqual([result.id]);
    expect(sent).toBe(1);
  });

  test("a machine update is found done by the machine's new version", async () => {
    const news = machine();
    const created = await flyMachineProvider.create(news);
    const next = { ...news, config: { ...news.config, env: { V: "2" } } };
    const { sent } = await withAnswersLost("POST", new RegExp(`/machines/${created.id}$`), () => flyMachineProvider.update(created.id, created.outs, next));
    expect((await env.client.getMachine(app, created.id))?.config?.env).toEqual({ V: "2" });
    expect(sent).toBe(1);
    expect(await env.client.getLease(app, created.id)).toBeUndefined();
  });

  test("an adopted machine's takeover is found done by the machine's new version", async () => {
    const existing = await env.client.createMachine(app, { name: unique("by-hand"), region: env.region, config: { image: env.image } });
    const news = machine({ adopt: existing.id });
    const { result, sent } = await withAnswersLost("POST", new RegExp(`/machines/${existing.id}$`), () => flyMachineProvider.create(news));
    expect(result.id).toBe(existing.id);
    expect((await env.client.getMachine(app, existing.id))?.config?.env).toEqual({ V: "1" });
    expect(sent).toBe(1);
  });

  test("a lease is found held in our name, and its release found done", async () => {
    const created = await flyMachineProvider.create(machine());
    const acquired = await withAnswersLost("POST", /\/lease$/, () => env.client.acquireLease(app, created.id, 60, "test/lost/lease"));
    expect(acquired.sent).toBe(1);
    expect((await env.client.getLease(app, created.id))?.nonce).toBe(acquired.result.nonce);
    const released = await withAnswersLost("DELETE", /\/lease$/, () => env.client.releaseLease(app, created.id, acquired.result.nonce));
    expect(released.sent).toBe(1);
    expect(await env.client.getLease(app, created.id)).toBeUndefined();
  });

  test("a machine stop and start are found done by the machine's state", async () => {
    const created = await flyMachineProvider.create(machine());
    const stopped = await withAnswersLost("POST", /\/stop$/, () => env.client.stopMachine(app, created.id));
    expect(stopped.sent).toBe(1);
    expect(await env.client.waitForState(app, created.id, "stopped", { timeoutSeconds: 5 })).toBe(true);
    const started = await withAnswersLost("POST", /\/start$/, () => env.client.startMachine(app, created.id));
    expect(started.sent).toBe(1);
    expect(await env.client.waitForState(app, created.id, "started", { timeoutSeconds: 5 })).toBe(true);
  });

  test("a machine delete is found done by reading the machine back", async () => {
    const created = await flyMachineProvider.create(machine());
    const { sent } = await withAnswersLost("DELETE", new RegExp(`/machines/${created.id}$`), () => flyMachineProvider.delete(created.id, created.outs));
    expect(sent).toBe(1);
    expect(isMachineGone(await env.client.getMachine(app, created.id))).toBe(true);
  });

  test("a secrets change and their removal are found done by the changed digests", async () => {
    const secretsApp = await createTestApp(env, "secrets-lost");
    const created = await flySecretsProvider.create({ app: secretsApp, values: { GREETING: "hello" }, ...env.connection });
    const next = { app: secretsApp, values: { GREETING: "hello-again", OTHER: "x" }, ...env.connection };
    const updated = await withAnswersLost("POST", /\/secrets$/, () => flySecretsProvider.update(created.id, created.outs, next));
    expect(updated.sent).toBe(1);
    expect(Object.keys(updated.result.outs.digests).sort()).toEqual(["GREETING", "OTHER"]);
    expect(updated.result.outs.digests.GREETING).not.toBe(created.outs.digests.GREETING);
    const removed = await withAnswersLost("POST", /\/secrets$/, () => flySecretsProvider.delete(created.id, updated.result.outs));
    expect(removed.sent).toBe(1);
    expect(await env.client.listSecrets(secretsApp)).toEqual([]);
    await env.client.deleteApp(secretsApp);
  });

  test("a volume create, update, extend and delete are each found done by reading the volume back", async () => {
    const name = unique("vol").replace(/-/g, "_");
    const news = { app, name, region: env.region, sizeGb: 1, ...env.connection };
    const checked = (await flyVolumeProvider.check({}, news)).inputs;
    const created = await withAnswersLost("POST", /\/volumes$/, () => flyVolumeProvider.create(checked));
    expect(created.sent).toBe(1);
    const id = created.result.id;
    const retained = await withAnswersLost("PUT", new RegExp(`/volumes/${id}$`), () =>
      flyVolumeProvider.update(id, created.result.outs, { ...checked, snapshotRetention: 9 }),
    );
    expect(retained.sent).toBe(1);
    const grown = await withAnswersLost("PUT", /\/extend$/, () => flyVolumeProvider.update(id, retained.result.outs, { ...checked, snapshotRetention: 9, sizeGb: 2 }));
    expect(grown.sent).toBe(1);
    expect(await env.client.getVolume(app, id)).toMatchObject({ size_gb: 2, snapshot_retention: 9 });
    const deleted = await withAnswersLost("DELETE", new RegExp(`/volumes/${id}$`), () => flyVolumeProvider.delete(id, grown.result.outs));
    expect(deleted.sent).toBe(1);
  });

  test("an address allocation and release are found by listing the app's addresses", async () => {
    const ipApp = await createTestApp(env, "ip-always");
    const allocated = await withAnswersLost("POST", /\/ip_assignments$/, () => flyIpAddressProvider.create({ app: ipApp, type: "v6", ...env.connection }));
    expect(allocated.sent).toBe(1);
    expect((await env.client.listIps(ipApp)).map((ip) => ip.ip)).toEqual([allocated.result.id]);
    const released = await withAnswersLost("DELETE", /\/ip_assignments\//, () => flyIpAddressProvider.delete(allocated.result.id, allocated.result.outs));
    expect(released.sent).toBe(1);
    expect(await env.client.listIps(ipApp)).toEqual([]);
    await env.client.deleteApp(ipApp);
  });

  test("a certificate request and removal are found by reading the certificate back", async () => {
    const hostname = `${unique("always")}.lost.example.com`;
    const requested = await withAnswersLost("POST", /\/certificates\/acme$/, () => flyCertificateProvider.create({ app, hostname, ...env.connection }));
    expect(requested.sent).toBe(1);
    const removed = await withAnswersLost("DELETE", /\/certificates\//, () => flyCertificateProvider.delete(hostname, requested.result.outs));
    expect(removed.sent).toBe(1);
    expect(await env.client.getCertificate(app, hostname)).toBeUndefined();
  });
});
