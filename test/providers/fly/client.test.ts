/** FlyClient without a server: endpoint and token resolution, rate limits, errors. */
import { afterEach, describe, expect, test } from "vitest";
import { FlyClient } from "../../../src/providers/fly/api/client";
import { flyDefaults, resolveFlyConnection, setFlyClientTuning } from "../../../src/providers/fly/api/connection";

afterEach(() => setFlyClientTuning(undefined));

function fakeApi(handler: (url: URL, init: RequestInit) => { status: number; body?: unknown }) {
  const calls: { url: URL; init: RequestInit }[] = [];
  const fetchImpl = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const url = new URL(String(input));
    calls.push({ url, init: init ?? {} });
    const { status, body } = handler(url, init ?? {});
    return new Response(body === undefined ? null : JSON.stringify(body), { status });
  }) as typeof fetch;
  let now = 0;
  const sleeps: number[] = [];
  return {
    calls,
    sleeps,
    options: {
      fetch: fetchImpl,
      now: () => now,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        now += ms;
      },
      random: () => 0.5,
    },
  };
}

const APP = { id: "a1", name: "app-a", status: "deployed", organization: { slug: "personal" } };

describe("FlyClient", () => {
  test("the token comes from the input, then FLY_API_TOKEN, then FLY_ACCESS_TOKEN", () => {
    const env = { FLY_API_TOKEN: "env-api-token", FLY_ACCESS_TOKEN: "env-access-token" };
    expect(resolveFlyConnection({ apiToken: "explicit-token" }, "test", env).token).toBe("explicit-token");
    expect(resolveFlyConnection({}, "test", env).token).toBe("env-api-token");
    expect(resolveFlyConnection({}, "test", { FLY_ACCESS_TOKEN: "env-access-token" }).token).toBe("env-access-token");
  });

  test("a missing token names sophia:flyApiToken and FLY_API_TOKEN", () => {
    expect(() => resolveFlyConnection({}, 'FlyApp "x"', {})).toThrow(/FlyApp "x": no Fly API token\. Set the secret config `sophia:flyApiToken`.*FLY_API_TOKEN/);
  });

  test("the base URL comes from apiUrl, then FLY_API_URL, then api.machines.dev", () => {
    const env = { FLY_API_TOKEN: "t0ken", FLY_API_URL: "http://127.0.0.1:4280/v1" };
    expect(resolveFlyConnection({ apiUrl: "http://proxy:1/v1" }, "test", env).apiUrl).toBe("http://proxy:1/v1");
    expect(resolveFlyConnection({}, "test", env).apiUrl).toBe("http://127.0.0.1:4280/v1");
    expect(resolveFlyConnection({}, "test", { FLY_API_TOKEN: "t0ken" }).apiUrl).toBe("https://api.machines.dev/v1");
  });

  test("requests are limited to one per second per action and app, with bursts of three", async () => {
    expect(flyDefaults.rateLimit).toEqual({ intervalMs: 1000, burst: 3 });
    const api = fakeApi(() => ({ status: 200, body: APP }));
    const client = new FlyClient({ apiToken: "t0ken", apiUrl: "http://fly.test/v1", ...api.options });
    for (let i = 0; i < 4; i++) await client.getApp("app-a");
    expect(api.sleeps).toEqual([1000]);
    await client.getApp("app-b");
    await client.listVolumes("app-a").catch(() => undefined);
    expect(api.sleeps).toEqual([1000]);
  });

  test("a response of unexpected shape is a clear error", async () => {
    const api = fakeApi(() => ({ status: 200, body: { nope: true } }));
    const client = new FlyClient({ apiToken: "t0ken", apiUrl: "http://fly.test/v1", ...api.options });
    await expect(client.getVolume("app-a", "vol_1")).rejects.toThrow(
      /Fly Machines API: get volume vol_1 in app "app-a" returned an unexpected response shape \(id: .*\)/,
    );
  });

  test("errors say what to do next", async () => {
    const api = fakeApi(() => ({ status: 403, body: { error: "forbidden" } }));
    const client = new FlyClient({ apiToken: "t0ken", apiUrl: "http://fly.test/v1", ...api.options });
    await expect(client.getApp("app-a")).rejects.toThrow(/get app "app-a" failed with HTTP 403: forbidden\. The token lacks access/);
  });

  test("a token in state rejected with 401 falls back once to the environment's token", async () => {
    const api = fakeApi((_url, init) => {
      const auth = (init.headers as Record<string, string>).authorization;
      return auth === "Bearer fresh-token" ? { status: 200, body: APP } : { status: 401, body: { error: "token expired" } };
    });
    const client = new FlyClient({ apiToken: "stale-token", apiUrl: "http://fly.test/v1", env: { FLY_API_TOKEN: "fresh-token" }, ...api.options });
    expect((await client.getApp("app-a"))?.name).toBe("app-a");
    expect(api.calls).toHaveLength(2);
  });

  test("the lease nonce travels in the fly-machine-lease-nonce header", async () => {
    const api = fakeApi(() => ({ status: 200, body: { id: "m1", state: "started" } }));
    const client = new FlyClient({ apiToken: "t0ken", apiUrl: "http://fly.test/v1", ...api.options });
    await client.updateMachine("app-a", "m1", { config: { image: "x" } }, "nonce-1");
    expect(api.calls[0].init.headers).toMatchObject({ "fly-machine-lease-nonce": "nonce-1", authorization: "Bearer t0ken" });
  });

  test.each([
    ["bare, as in the OpenAPI document", { nonce: "n-1", expires_at: 1_900_000_000 }],
    ["wrapped in {status, data}, as Fly's own client reads it", { status: "success", data: { nonce: "n-1", expires_at: 1_900_000_000 } }],
  ])("a lease %s yields its nonce", async (_shape, body) => {
    const api = fakeApi(() => ({ status: 200, body }));
    const client = new FlyClient({ apiToken: "t0ken", apiUrl: "http://fly.test/v1", ...api.options });
    expect((await client.acquireLease("app-a", "m1", 60, "sophia test")).nonce).toBe("n-1");
  });
});
