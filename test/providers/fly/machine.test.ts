import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { UNKNOWN } from "../../../src/providers/fly/resources/common";
import { flyMachineProvider, type FlyMachineConfig, type FlyMachineInputs } from "../../../src/providers/fly/resources/machine";
import { createTestApp, emulated, expectNoLeaks, failureOf, type FlyTestEnv, startFlyTestEnv } from "./helpers";
import { required } from "../../helpers/emulator-control";

let env: FlyTestEnv;
let app: string;
let counter = 0;

function config(overrides: Partial<FlyMachineConfig> = {}): FlyMachineConfig {
  return {
    image: env.image,
    guest: { cpu_kind: "shared", cpus: 1, memory_mb: 256 },
    env: { LOG_LEVEL: "info" },
    services: [
      {
        protocol: "tcp",
        internal_port: 8080,
        ports: [{ port: 80, handlers: ["http"], force_https: true }, { port: 443, handlers: ["tls", "http"] }],
        autostop: "stop",
        autostart: true,
        min_machines_running: 0,
        concurrency: { type: "requests", soft_limit: 20, hard_limit: 25 },
      },
    ],
    checks: { health: { type: "http", port: 8080, path: "/healthz", interval: "10s", timeout: "2s" } },
    restart: { policy: "on-failure", max_retries: 10 },
    metadata: { "sophia-service": "test" },
    stop_config: { signal: "SIGTERM", timeout: "30s" },
    ...overrides,
  };
}

/** What the emulator says the machine runs with and its last create or update sent. */
function machineInternals(id: string): Promise<{ state: string; secretsVersion: number; minSecretsVersionSent: number | null }> {
  return required(env.control).get(`/apps/${app}/machines/${id}`);
}

function inputs(overrides: Partial<FlyMachineInputs> = {}): FlyMachineInputs {
  counter += 1;
  return { app, name: `m-${counter}`, region: env.region, config: config(), ...env.connection, ...overrides };
}

beforeAll(async () => {
  env = await startFlyTestEnv({ unhealthyImages: ["registry.example/broken:1"] });
  app = await createTestApp(env, "machine");
});
afterAll(async () => {
  await env.client.deleteApp(app);
  await env.close();
  expectNoLeaks();
});

describe("FlyMachine", () => {
  test("check rejects a second mount: a machine mounts at most one volume", async () => {
    const mounts = [
      { volume: "vol_a", path: "/a" },
      { volume: "vol_b", path: "/b" },
    ];
    const { failures } = await flyMachineProvider.check({}, inputs({ config: config({ mounts }) }));
    expect(failures).toEqual([{ property: "config.mounts", reason: "a Fly machine mounts at most one volume" }]);
  });

  test("check rejects a misspelled config key by name", async () => {
    const bad = { ...config(), restrat: { policy: "no" } } as FlyMachineConfig;
    const { failures } = await flyMachineProvider.check({}, inputs({ config: bad }));
    expect(failures).toEqual([expect.objectContaining({ property: "config", reason: expect.stringContaining("restrat") })]);
  });

  test("check accepts values still unknown in preview", async () => {
    const preview = config({ mounts: [{ volume: UNKNOWN, path: "/data" }], image: UNKNOWN });
    expect((await flyMachineProvider.check({}, inputs({ config: preview }))).failures).toEqual([]);
  });

  test("create waits until the machine is started, then read shows no drift", async () => {
    const news = inputs();
    const created = await flyMachineProvider.create(news);
    expect((await env.client.getMachine(app, created.id))?.state).toBe("started");
    const read = await flyMachineProvider.read(created.id, created.outs);
    expect((await flyMachineProvider.diff(created.id, read.props ?? created.outs, news)).changes).toBe(false);
    await flyMachineProvider.delete(created.id, created.outs);
  });

  test("a machine stopped by autostop is not drift", async () => {
    const news = inputs();
    const created = await flyMachineProvider.create(news);
    await env.client.stopMachine(app, created.id); // what Fly Proxy does when the machine idles
    await env.client.waitForState(app, created.id, "stopped", { timeoutSeconds: 5 });
    const read = await flyMachineProvider.read(created.id, created.outs);
    expect(read.props).not.toHaveProperty("state");
    expect((await flyMachineProvider.diff(created.id, read.props ?? created.outs, news)).changes).toBe(false);
    await flyMachineProvider.delete(created.id, created.outs);
  });

  test("read reports a config changed out of band", async () => {
    const news = inputs();
    const created = await flyMachineProvider.create(news);
    const live = await env.client.getMachine(app, created.id);
    const changed = { ...(live?.config ?? {}), env: { LOG_LEVEL: "debug", EXTRA: "1" } };
    await env.client.withLease(app, created.id, 30, "out-of-band operator", (nonce) => env.client.updateMachine(app, created.id, { config: changed }, nonce));
    const read = await flyMachineProvider.read(created.id, created.outs);
    expect(read.props?.config.env).toEqual({ LOG_LEVEL: "debug", EXTRA: "1" });
    expect(await flyMachineProvider.diff(created.id, read.props ?? created.outs, news)).toMatchObject({ changes: true, replaces: [] });
    await flyMachineProvider.delete(created.id, created.outs);
  });

  test.skipIf(!emulated)("create sends the app's secrets version as min_secrets_version", async () => {
    const created = await flyMachineProvider.create(inputs({ minSecretsVersion: 7 }));
    expect((await machineInternals(created.id)).minSecretsVersionSent).toBe(7);
    await flyMachineProvider.delete(created.id, created.outs);
  });

  test.skipIf(!emulated)("update sends the app's secrets version as min_secrets_version", async () => {
    const news = inputs({ minSecretsVersion: 7 });
    const created = await flyMachineProvider.create(news);
    const next = { ...news, minSecretsVersion: 8, config: config({ metadata: { "sophia-service": "test", sophia_secrets_version: "8" } }) };
    await flyMachineProvider.update(created.id, created.outs, next);
    expect((await machineInternals(created.id)).minSecretsVersionSent).toBe(8);
    await flyMachineProvider.delete(created.id, created.outs);
  });

  test("update sends the whole config under a lease and waits for the machine", async () => {
    const news = inputs();
    const created = await flyMachineProvider.create(news);
    const next = { ...news, config: config({ image: `${env.image}-v2`, env: { LOG_LEVEL: "warn" } }) };
    expect(await flyMachineProvider.diff(created.id, created.outs, next)).toMatchObject({ changes: true, replaces: [] });
    const updated = await flyMachineProvider.update(created.id, created.outs, next);
    const live = await env.client.getMachine(app, created.id);
    expect(live?.state).toBe("started");
    expect(live?.config).toMatchObject({ image: `${env.image}-v2`, env: { LOG_LEVEL: "warn" }, restart: { policy: "on-failure" } });
    expect(updated.outs.instanceId).toBe(live?.instance_id);
    // The lease was released: anyone can take it now.
    const lease = await env.client.acquireLease(app, created.id, 5, "another deployment");
    await env.client.releaseLease(app, created.id, lease.nonce);
    await flyMachineProvider.delete(created.id, updated.outs);
  });

  test("update fails clearly while another deployment holds the lease", async () => {
    const news = inputs();
    const created = await flyMachineProvider.create(news);
    const lease = await env.client.acquireLease(app, created.id, 30, "another deployment");
    const message = await failureOf(flyMachineProvider.update(created.id, created.outs, { ...news, config: config({ env: { A: "1" } }) }));
    expect(message).toMatch(new RegExp(`update machine "${news.name}" \\(${created.id}\\) in app "${app}": another deployment holds the machine's lease`));
    await env.client.releaseLease(app, created.id, lease.nonce);
    await flyMachineProvider.delete(created.id, created.outs);
  });

  test("Fly rejects an update without the current lease nonce", async () => {
    const created = await flyMachineProvider.create(inputs());
    const lease = await env.client.acquireLease(app, created.id, 30, "another deployment");
    const message = await failureOf(env.client.updateMachine(app, created.id, { config: config() }, "not-the-nonce"));
    expect(message).toMatch(/update machine \w+ in app ".*" failed with HTTP 412/);
    await env.client.releaseLease(app, created.id, lease.nonce);
    await flyMachineProvider.delete(created.id, created.outs);
  });

  test("update keeps a scaled-to-zero machine stopped", async () => {
    const news = inputs();
    const created = await flyMachineProvider.create(news);
    await env.client.stopMachine(app, created.id);
    await env.client.waitForState(app, created.id, "stopped", { timeoutSeconds: 5 });
    await flyMachineProvider.update(created.id, created.outs, { ...news, config: config({ env: { LOG_LEVEL: "warn" } }) });
    expect((await env.client.getMachine(app, created.id))?.state).toBe("stopped");
    await flyMachineProvider.delete(created.id, created.outs);
  });

  test("waitForChecks returns only once the health checks pass", async () => {
    const created = await flyMachineProvider.create(inputs({ waitForChecks: true }));
    const live = await env.client.getMachine(app, created.id);
    expect(live?.checks?.map((c) => c.status)).toEqual(["passing"]);
    await flyMachineProvider.delete(created.id, created.outs);
  });

  test.skipIf(!emulated)("checks that never pass end in a timeout naming the machine and what to do", async () => {
    const news = inputs({ waitForChecks: true, waitTimeoutSeconds: 1, config: config({ image: "registry.example/broken:1" }) });
    const message = await failureOf(flyMachineProvider.create(news));
    expect(message).toMatch(new RegExp(`create machine "${news.name}" \\(\\w+\\) in app "${app}": health checks did not pass within 1s`));
    expect(message).toMatch(/health: critical/);
    expect(message).toMatch(/raise waitTimeoutSeconds/);
  });

  test.skipIf(!emulated)("a cluster member with checksOnCreate off is created without waiting for a check that needs a quorum", async () => {
    const news = inputs({ waitForChecks: true, checksOnCreate: false, waitTimeoutSeconds: 1, config: config({ image: "registry.example/broken:1" }) });
    const created = await flyMachineProvider.create(news);
    expect((await env.client.getMachine(app, created.id))?.state).toBe("started");
    await flyMachineProvider.delete(created.id, created.outs);
  });

  test.skipIf(!emulated)("a cluster member with checksOnCreate off still waits for its checks on update", async () => {
    const news = inputs({ waitForChecks: true, checksOnCreate: false, waitTimeoutSeconds: 1 });
    const created = await flyMachineProvider.create(news);
    const broken = { ...news, config: config({ image: "registry.example/broken:1" }) };
    expect(await failureOf(flyMachineProvider.update(created.id, created.outs, broken))).toMatch(/health checks did not pass within 1s/);
    await flyMachineProvider.delete(created.id, created.outs);
  });

  test("a region change replaces the machine, deleting first because the name stays", async () => {
    const news = inputs();
    const created = await flyMachineProvider.create(news);
    const diff = await flyMachineProvider.diff(created.id, created.outs, { ...news, region: "sjc" });
    expect(diff).toMatchObject({ changes: true, replaces: ["region"], deleteBeforeReplace: true });
    await flyMachineProvider.delete(created.id, created.outs);
  });

  test("a name change replaces the machine and may create first", async () => {
    const news = inputs();
    const created = await flyMachineProvider.create(news);
    const diff = await flyMachineProvider.diff(created.id, created.outs, { ...news, name: `${news.name}-b` });
    expect(diff).toMatchObject({ changes: true, replaces: ["name"], deleteBeforeReplace: false });
    await flyMachineProvider.delete(created.id, created.outs);
  });

  test("a different volume replaces the machine", async () => {
    const volume = await env.client.createVolume(app, { name: "mdata", region: env.region, size_gb: 1 });
    const news = inputs({ config: config({ mounts: [{ volume: volume.id, path: "/data" }] }) });
    const created = await flyMachineProvider.create(news);
    const diff = await flyMachineProvider.diff(created.id, created.outs, { ...news, config: config({ mounts: [{ volume: "vol_other", path: "/data" }] }) });
    expect(diff).toMatchObject({ changes: true, replaces: ["config"] });
    await flyMachineProvider.delete(created.id, created.outs);
    await env.client.deleteVolume(app, volume.id);
  });

  test.skipIf(!emulated)("Fly refuses a volume from another region, and the error says why", async () => {
    const volume = await env.client.createVolume(app, { name: "far", region: "sjc", size_gb: 1 });
    const message = await failureOf(flyMachineProvider.create(inputs({ config: config({ mounts: [{ volume: volume.id, path: "/data" }] }) })));
    expect(message).toMatch(/create machine "m-\d+" in app ".*" \(lax\) failed with HTTP 400: volume \w+ is in region sjc but the machine is in lax/);
    await env.client.deleteVolume(app, volume.id);
  });

  test("delete twice succeeds", async () => {
    const created = await flyMachineProvider.create(inputs());
    await flyMachineProvider.delete(created.id, created.outs);
    await flyMachineProvider.delete(created.id, created.outs);
    expect(await flyMachineProvider.read(created.id, created.outs)).toEqual({});
  });
});
