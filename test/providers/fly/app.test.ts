import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { flyAppProvider, type FlyAppInputs } from "../../../src/providers/fly/resources/app";
import { emulated, expectNoLeaks, failureOf, type FlyTestEnv, startFlyTestEnv } from "./helpers";

let env: FlyTestEnv;
const inputs = (name: string, org = env.org): FlyAppInputs => ({ name, org, ...env.connection });

beforeAll(async () => {
  env = await startFlyTestEnv();
});
afterAll(async () => {
  await env.close();
  expectNoLeaks();
});

describe("FlyApp", () => {
  test("check rejects an invalid name and says what names may contain", async () => {
    const { failures } = await flyAppProvider.check({} as FlyAppInputs, inputs("Bad_Name"));
    expect(failures).toEqual([expect.objectContaining({ property: "name", reason: expect.stringMatching(/lowercase letters, digits and dashes/) })]);
  });

  test("create then read shows no drift", async () => {
    const news = inputs(env.appName("app"));
    const created = await flyAppProvider.create(news);
    const read = await flyAppProvider.read(created.id, created.outs);
    expect(read.props).toMatchObject({ name: news.name, org: env.org });
    const diff = await flyAppProvider.diff(created.id, read.props ?? created.outs, news);
    expect(diff.changes).toBe(false);
    await flyAppProvider.delete(created.id, created.outs);
  });

  test("rotating the token is not a change", async () => {
    const news = inputs(env.appName("app"));
    const created = await flyAppProvider.create(news);
    const diff = await flyAppProvider.diff(created.id, created.outs, { ...news, apiToken: "fm2_rotated_token" });
    expect(diff).toMatchObject({ changes: false, replaces: [] });
    await flyAppProvider.delete(created.id, created.outs);
  });

  test("update in place only carries new connection settings", async () => {
    const news = inputs(env.appName("app"));
    const created = await flyAppProvider.create(news);
    const updated = await flyAppProvider.update(created.id, created.outs, { ...news, apiUrl: `${env.apiUrl}/` });
    expect(updated.outs).toMatchObject({ name: news.name, org: env.org, apiUrl: `${env.apiUrl}/` });
    await flyAppProvider.delete(created.id, created.outs);
  });

  test("a name change replaces the app", async () => {
    const news = inputs(env.appName("app"));
    const created = await flyAppProvider.create(news);
    const diff = await flyAppProvider.diff(created.id, created.outs, { ...news, name: env.appName("renamed") });
    expect(diff).toMatchObject({ changes: true, replaces: ["name"], deleteBeforeReplace: false });
    await flyAppProvider.delete(created.id, created.outs);
  });

  test("an org change replaces the app, deleting first because names are global", async () => {
    const news = inputs(env.appName("app"));
    const created = await flyAppProvider.create(news);
    const diff = await flyAppProvider.diff(created.id, created.outs, { ...news, org: "another-org" });
    expect(diff).toMatchObject({ changes: true, replaces: ["org"], deleteBeforeReplace: true });
    await flyAppProvider.delete(created.id, created.outs);
  });

  test.skipIf(!emulated)("a name taken by another org fails plainly", async () => {
    const name = env.appName("taken");
    await env.client.createApp({ name, org_slug: "someone-else" });
    const message = await failureOf(flyAppProvider.create(inputs(name)));
    expect(message).toMatch(new RegExp(`create app "${name}": the name is already taken by another organization`));
    expect(message).toMatch(/pulumi config set sophia:appPrefix/);
  });

  test("read reports an app deleted out of band as gone", async () => {
    const news = inputs(env.appName("app"));
    const created = await flyAppProvider.create(news);
    await env.client.deleteApp(news.name);
    expect(await flyAppProvider.read(created.id, created.outs)).toEqual({});
  });

  test("delete twice succeeds", async () => {
    const created = await flyAppProvider.create(inputs(env.appName("app")));
    await flyAppProvider.delete(created.id, created.outs);
    await flyAppProvider.delete(created.id, created.outs);
    expect(await env.client.getApp(created.id)).toBeUndefined();
  });
});
