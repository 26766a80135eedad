import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { flyCertificateProvider, type FlyCertificateInputs } from "../../../src/providers/fly/resources/certificate";
import { createTestApp, emulated, expectNoLeaks, type FlyTestEnv, startFlyTestEnv } from "./helpers";

let env: FlyTestEnv;
let app: string;
let counter = 0;

function inputs(overrides: Partial<FlyCertificateInputs> = {}): FlyCertificateInputs {
  counter += 1;
  const domain = process.env.FLY_TEST_DOMAIN ?? "sophia-test.example.com";
  return { app, hostname: `h${counter}-${Date.now().toString(36)}.${domain}`, ...env.connection, ...overrides };
}

beforeAll(async () => {
  env = await startFlyTestEnv();
  app = await createTestApp(env, "cert");
  await env.client.assignIp(app, { type: "shared_v4" });
});
afterAll(async () => {
  await env.client.deleteApp(app);
  await env.close();
  expectNoLeaks();
});

describe("FlyCertificate", () => {
  test("check rejects a hostname that is not a domain name", async () => {
    const { failures } = await flyCertificateProvider.check({}, inputs({ hostname: "not a host" }));
    expect(failures).toEqual([expect.objectContaining({ property: "hostname", reason: expect.stringMatching(/fully qualified domain name/) })]);
  });

  test("create outputs the DNS requirements shaped as records for the edge", async () => {
    const news = inputs();
    const created = await flyCertificateProvider.create(news);
    const { dnsRequirements, dnsRecords } = created.outs;
    expect(dnsRequirements.a).toHaveLength(1);
    expect(dnsRequirements.cname).toBe(`${app}.fly.dev`);
    expect(dnsRequirements.acmeChallenge.name).toBe(`_acme-challenge.${news.hostname}`);
    expect(dnsRecords).toEqual([
      { type: "A", name: news.hostname, value: dnsRequirements.a[0] },
      { type: "CNAME", name: `_acme-challenge.${news.hostname}`, value: dnsRequirements.acmeChallenge.target },
    ]);
    await flyCertificateProvider.delete(created.id, created.outs);
  });

  test("create then read shows no drift", async () => {
    const news = inputs();
    const created = await flyCertificateProvider.create(news);
    const read = await flyCertificateProvider.read(created.id, created.outs);
    expect(read.props).toEqual(created.outs);
    expect((await flyCertificateProvider.diff(created.id, read.props ?? created.outs, news)).changes).toBe(false);
    await flyCertificateProvider.delete(created.id, created.outs);
  });

  test.skipIf(!emulated)("read reports DNS requirements changed by a new address", async () => {
    const news = inputs();
    const created = await flyCertificateProvider.create(news);
    const ip = await env.client.assignIp(app, { type: "v6" });
    const read = await flyCertificateProvider.read(created.id, created.outs);
    expect(read.props?.dnsRequirements.aaaa).toEqual([ip.ip]);
    expect(read.props?.dnsRecords).toContainEqual({ type: "AAAA", name: news.hostname, value: ip.ip });
    await env.client.releaseIp(app, ip.ip);
    await flyCertificateProvider.delete(created.id, created.outs);
  });

  test("read reports a certificate removed out of band as gone", async () => {
    const created = await flyCertificateProvider.create(inputs());
    await env.client.deleteCertificate(app, created.id);
    expect(await flyCertificateProvider.read(created.id, created.outs)).toEqual({});
  });

  test("a hostname change replaces the certificate", async () => {
    const news = inputs();
    const created = await flyCertificateProvider.create(news);
    const diff = await flyCertificateProvider.diff(created.id, created.outs, { ...news, hostname: `www.${news.hostname}` });
    expect(diff).toMatchObject({ changes: true, replaces: ["hostname"] });
    await flyCertificateProvider.delete(created.id, created.outs);
  });

  test("delete removes the certificate, and twice succeeds", async () => {
    const created = await flyCertificateProvider.create(inputs());
    await flyCertificateProvider.delete(created.id, created.outs);
    await flyCertificateProvider.delete(created.id, created.outs);
    expect(await env.client.getCertificate(app, created.id)).toBeUndefined();
  });
});
