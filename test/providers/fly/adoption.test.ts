/**
 * Safe to interrupt, safe to retry: for every Fly resource kind, a create whose answer is lost
 * after Fly acted leaves exactly one resource, recorded; a create that finds what an interrupted
 * run made adopts it; a same-named resource that is not ours fails with a message naming it.
 * Lost answers are asked of the emulator through its control API, so these run against any emulator.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { flyAppProvider } from "../../../src/providers/fly/resources/app";
import { flyCertificateProvider } from "../../../src/providers/fly/resources/certificate";
import { flyIpAddressProvider } from "../../../src/providers/fly/resources/ip";
import { flyMachineProvider, type FlyMachineInputs } from "../../../src/providers/fly/resources/machine";
import { flySecretsProvider } from "../../../src/providers/fly/resources/secrets";
import { flyVolumeProvider } from "../../../src/providers/fly/resources/volume";
import { isMachineGone, isVolumeGone } from "../../../src/providers/fly/api/client";
import { createTestApp, emulated, expectNoLeaks, failureOf, type FlyTestEnv, startFlyTestEnv } from "./helpers";
import { required } from "../../helpers/emulator-control";

let env: FlyTestEnv;
let app: string;
let counter = 0;
const unique = (label: string) => `${label}-${(counter += 1)}`;

beforeAll(async () => {
  env = await startFlyTestEnv({ unhealthyImages: ["registry.example/broken:1"] });
  app = await createTestApp(env, "adopt");
});
afterAll(async () => {
  await env.client.deleteApp(app);
  await env.close();
  expectNoLeaks();
});

/** The emulator's control API: these tests are skipped against a real API. */
const control = () => required(env.control);

const liveMachines = async (name: string) => (await env.client.listMachines(app)).filter((m) => m.name === name && !isMachineGone(m));
const liveVolumes = async (name: string) => (await env.client.listVolumes(app)).filter((v) => v.name === name && !isVolumeGone(v));

function machineInputs(overrides: Partial<FlyMachineInputs> = {}): FlyMachineInputs {
  const name = unique("web");
  return { app, name, region: env.region, marker: `test/adopt/${name}`, config: { image: env.image }, ...env.connection, ...overrides };
}

describe.skipIf(!emulated)("FlyApp", () => {
  test("an app create whose answer is lost leaves one app, recorded", async () => {
    const name = env.appName("lost");
    await control().loseAnswer({ method: "POST", path: /^\/apps$/ });
    const created = await flyAppProvider.create({ name, org: env.org, ...env.connection });
    expect(created.id).toBe(name);
    expect((await env.client.getApp(name))?.organization?.slug).toBe(env.org);
    await flyAppProvider.delete(created.id, created.outs);
  });

  test("an empty app left by an interrupted run is adopted", async () => {
    const name = await createTestApp(env, "left");
    const created = await flyAppProvider.create({ name, org: env.org, ...env.connection });
    expect(created.id).toBe(name);
    await flyAppProvider.delete(created.id, created.outs);
  });

  test("an app with machines this stack did not record is not adopted, and the error says what to do", async () => {
    const name = await createTestApp(env, "busy");
    await env.client.createMachine(name, { name: "theirs", region: env.region, config: { image: env.image }, skip_launch: true });
    const message = await failureOf(flyAppProvider.create({ name, org: env.org, ...env.connection }));
    expect(message).toMatch(new RegExp(`create app "${name}": an app with this name in org "${env.org}" already exists but it already holds 1 machine`));
    expect(message).toMatch(/take it over by listing it for adoption \(app: .* under sophia:adopt in the stack file.*rename yours.*or delete it \(fly apps destroy/);
    expect(message).not.toMatch(/pulumi import/);
    await env.client.deleteApp(name);
  });
});

describe.skipIf(!emulated)("FlyVolume", () => {
  const volume = (name: string) => ({ app, name, region: env.region, sizeGb: 1, ...env.connection });

  test("a volume create whose answer is lost leaves one volume, recorded", async () => {
    const name = unique("lost").replace(/-/g, "_");
    await control().loseAnswer({ method: "POST", path: /\/volumes$/ });
    const created = await flyVolumeProvider.create(volume(name));
    expect((await liveVolumes(name)).map((v) => v.id)).toEqual([created.id]);
  });

  test("an unattached volume left by an interrupted run is adopted, and grown to the asked size", async () => {
    const name = unique("left").replace(/-/g, "_");
    const left = await env.client.createVolume(app, { name, region: env.region, size_gb: 1 });
    const created = await flyVolumeProvider.create({ ...volume(name), sizeGb: 2 });
    expect(created.id).toBe(left.id);
    expect((await liveVolumes(name)).map((v) => [v.id, v.size_gb])).toEqual([[left.id, 2]]);
  });

  test("a same-named volume a machine mounts is not adopted, and the error names it", async () => {
    const name = unique("taken").replace(/-/g, "_");
    const theirs = await env.client.createVolume(app, { name, region: env.region, size_gb: 1 });
    await env.client.createMachine(app, { name: unique("holder"), region: env.region, config: { image: env.image, mounts: [{ volume: theirs.id, path: "/data" }] } });
    const message = await failureOf(flyVolumeProvider.create(volume(name)));
    expect(message).toMatch(new RegExp(`create volume "${name}" in app "${app}" \\(${env.region}\\): a volume with this name \\(${theirs.id}\\) already exists but it is attached to machine`));
    expect(await liveVolumes(name)).toHaveLength(1);
  });
});

describe.skipIf(!emulated)("FlyMachine", () => {
  test("a machine create whose answer is lost leaves one machine, recorded", async () => {
    const news = machineInputs();
    await control().loseAnswer({ method: "POST", path: /\/machines$/ });
    const created = await flyMachineProvider.create(news);
    expect((await liveMachines(news.name)).map((m) => m.id)).toEqual([created.id]);
  });

  test("a machine with our marker left by an interrupted run is adopted and given our config", async () => {
    const news = machineInputs({ config: { image: env.image, env: { MODE: "new" } } });
    const left = await env.client.createMachine(app, {
      name: news.name,
      region: env.region,
      config: { image: env.image, metadata: { sophia_resource: news.marker ?? "" } },
    });
    const created = await flyMachineProvider.create(news);
    expect(created.id).toBe(left.id);
    expect((await liveMachines(news.name)).map((m) => m.config?.env)).toEqual([{ MODE: "new" }]);
    // The marker is ours to keep, not drift.
    const read = await flyMachineProvider.read(created.id, created.outs);
    expect((await flyMachineProvider.diff(created.id, read.props ?? created.outs, news)).changes).toBe(false);
  });

  test("a same-named machine with another marker is not adopted, and the error names it", async () => {
    const news = machineInputs();
    const theirs = await env.client.createMachine(app, {
      name: news.name,
      region: env.region,
      config: { image: env.image, metadata: { sophia_resource: "other/stack/web" } },
    });
    const message = await failureOf(flyMachineProvider.create(news));
    expect(message).toMatch(
      new RegExp(`create machine "${news.name}" in app "${app}": machine ${theirs.id} with this name already exists but it belongs to another stack or resource \\(other/stack/web\\)`),
    );
    expect(message).toMatch(new RegExp(`fly machine destroy ${theirs.id}`));
    expect(await liveMachines(news.name)).toHaveLength(1);
  });

  test("a same-named machine without a marker is not adopted", async () => {
    const news = machineInputs();
    await env.client.createMachine(app, { name: news.name, region: env.region, config: { image: env.image } });
    expect(await failureOf(flyMachineProvider.create(news))).toMatch(/already exists but it carries no marker of this stack/);
  });

  test("a new machine that fails its checks is destroyed rather than left running unrecorded", async () => {
    const news = machineInputs({ waitForChecks: true, waitTimeoutSeconds: 1, config: { image: "registry.example/broken:1", checks: { health: { type: "http", port: 8080, path: "/" } } } });
    const message = await failureOf(flyMachineProvider.create(news));
    expect(message).toMatch(/health checks did not pass within 1s.*Machine \w+ was destroyed, so nothing runs unrecorded/);
    expect(await liveMachines(news.name)).toEqual([]);
  });

  test("an update whose checks fail rolls the machine back to its previous config and says so", async () => {
    const checks = { health: { type: "http" as const, port: 8080, path: "/" } };
    const news = machineInputs({ waitForChecks: true, waitTimeoutSeconds: 1, config: { image: env.image, checks } });
    const created = await flyMachineProvider.create(news);
    const broken = { ...news, config: { image: "registry.example/broken:1", checks } };
    const message = await failureOf(flyMachineProvider.update(created.id, created.outs, broken));
    expect(message).toMatch(/health checks did not pass within 1s.*The machine was rolled back to its previous config/);
    expect((await env.client.getMachine(app, created.id))?.config?.image).toBe(env.image);
  });

  test("our own lease whose answer was lost is recognised and used, not reported as another deployment's", async () => {
    const news = machineInputs();
    const created = await flyMachineProvider.create(news);
    await control().loseAnswer({ method: "POST", path: /\/lease$/ });
    const next = { ...news, config: { image: env.image, env: { AFTER: "lost-lease" } } };
    await flyMachineProvider.update(created.id, created.outs, next);
    expect((await env.client.getMachine(app, created.id))?.config?.env).toEqual({ AFTER: "lost-lease" });
    expect(await env.client.getLease(app, created.id)).toBeUndefined();
  });

  test("a lease an interrupted run of this resource left behind is taken over", async () => {
    const news = machineInputs();
    const created = await flyMachineProvider.create(news);
    await env.client.acquireLease(app, created.id, 60, news.marker ?? "");
    await flyMachineProvider.update(created.id, created.outs, { ...news, config: { image: env.image, env: { AFTER: "left-lease" } } });
    expect((await env.client.getMachine(app, created.id))?.config?.env).toEqual({ AFTER: "left-lease" });
  });
});

describe.skipIf(!emulated)("FlyIpAddress, FlyCertificate, FlySecrets", () => {
  test("an IPv6 allocation whose answer is lost leaves one address, recorded", async () => {
    const ipApp = await createTestApp(env, "ip-lost");
    await control().loseAnswer({ method: "POST", path: /\/ip_assignments$/ });
    const created = await flyIpAddressProvider.create({ app: ipApp, type: "v6", ...env.connection });
    expect((await env.client.listIps(ipApp)).map((ip) => ip.ip)).toEqual([created.id]);
    await env.client.deleteApp(ipApp);
  });

  test("a shared IPv4 allocated by an interrupted run is adopted", async () => {
    const ipApp = await createTestApp(env, "ip-left");
    const left = await env.client.assignIp(ipApp, { type: "shared_v4" });
    const created = await flyIpAddressProvider.create({ app: ipApp, type: "shared_v4", ...env.connection });
    expect(created.id).toBe(left.ip);
    expect(await env.client.listIps(ipApp)).toHaveLength(1);
    await env.client.deleteApp(ipApp);
  });

  test("a certificate request whose answer is lost leaves one certificate, recorded", async () => {
    const hostname = `${unique("lost")}.adopt.example.com`;
    await control().loseAnswer({ method: "POST", path: /\/certificates\/acme$/ });
    const created = await flyCertificateProvider.create({ app, hostname, ...env.connection });
    expect(created.id).toBe(hostname);
    expect((await env.client.getCertificate(app, hostname))?.hostname).toBe(hostname);
  });

  test("a certificate requested by an interrupted run is adopted", async () => {
    const hostname = `${unique("left")}.adopt.example.com`;
    await env.client.requestAcmeCertificate(app, hostname);
    const created = await flyCertificateProvider.create({ app, hostname, ...env.connection });
    expect(created.id).toBe(hostname);
  });

  test("setting secrets whose answer is lost is repeated safely and takes effect", async () => {
    const secretsApp = await createTestApp(env, "secrets-lost");
    await control().loseAnswer({ method: "POST", path: /\/secrets$/ });
    const created = await flySecretsProvider.create({ app: secretsApp, values: { GREETING: "hello-adopt" }, ...env.connection });
    expect(Object.keys(created.outs.digests)).toEqual(["GREETING"]);
    expect((await env.client.listSecrets(secretsApp)).map((s) => s.name)).toEqual(["GREETING"]);
    await env.client.deleteApp(secretsApp);
  });
});
