import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { flyIpAddressProvider, type FlyIpAddressInputs } from "../../../src/providers/fly/resources/ip";
import type { FlyIpType } from "../../../src/providers/fly/api/schemas";
import { createTestApp, expectNoLeaks, startFlyTestEnv, type FlyTestEnv } from "./helpers";

let env: FlyTestEnv;
let app: string;

const inputs = (type: FlyIpType, overrides: Partial<FlyIpAddressInputs> = {}): FlyIpAddressInputs => ({
  app,
  type,
  ...env.connection,
  ...overrides,
});

beforeAll(async () => {
  env = await startFlyTestEnv();
  app = await createTestApp(env, "ip");
});
afterAll(async () => {
  await env.client.deleteApp(app);
  await env.close();
  expectNoLeaks();
});

describe("FlyIpAddress", () => {
  test("check rejects an unknown type and lists the allowed ones", async () => {
    const { failures } = await flyIpAddressProvider.check({}, inputs("v5" as FlyIpType));
    expect(failures).toEqual([{ property: "type", reason: "type must be one of shared_v4, v4, v6, private_v6" }]);
  });

  test.each(["shared_v4", "v4", "v6", "private_v6"] as const)("a %s address is created, then read shows no drift", async (type) => {
    const news = inputs(type);
    const created = await flyIpAddressProvider.create(news);
    expect(created.outs).toMatchObject({ address: created.id, type });
    const read = await flyIpAddressProvider.read(created.id, created.outs);
    expect((await flyIpAddressProvider.diff(created.id, read.props ?? created.outs, news)).changes).toBe(false);
    await flyIpAddressProvider.delete(created.id, created.outs);
  });

  test("read reports an address released out of band as gone", async () => {
    const created = await flyIpAddressProvider.create(inputs("v6"));
    await env.client.releaseIp(app, created.id);
    expect(await flyIpAddressProvider.read(created.id, created.outs)).toEqual({});
  });

  test("update in place only carries new connection settings", async () => {
    const news = inputs("v6");
    const created = await flyIpAddressProvider.create(news);
    const updated = await flyIpAddressProvider.update(created.id, created.outs, { ...news, apiUrl: `${env.apiUrl}/` });
    expect(updated.outs).toMatchObject({ address: created.id, apiUrl: `${env.apiUrl}/` });
    await flyIpAddressProvider.delete(created.id, created.outs);
  });

  test("a type or region change replaces the address", async () => {
    const news = inputs("v4");
    const created = await flyIpAddressProvider.create(news);
    const diff = await flyIpAddressProvider.diff(created.id, created.outs, { ...news, type: "shared_v4", region: "sjc" });
    expect(diff).toMatchObject({ changes: true, replaces: ["type", "region"] });
    await flyIpAddressProvider.delete(created.id, created.outs);
  });

  test("delete releases the address, and twice succeeds", async () => {
    const created = await flyIpAddressProvider.create(inputs("private_v6"));
    await flyIpAddressProvider.delete(created.id, created.outs);
    await flyIpAddressProvider.delete(created.id, created.outs);
    expect((await env.client.listIps(app)).map((i) => i.ip)).not.toContain(created.id);
  });
});
