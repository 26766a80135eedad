/**
 * The Fly emulator's Prometheus answers instant queries the way Fly's managed Prometheus does
 * (`/prometheus/<org>/api/v1/query`, `{status, data: {resultType, result}}`), by parsing and
 * evaluating the query text over series synthesised from its traffic model. Queries are made at a
 * fixed platform time, so the values do not depend on how fast the test runs.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FlyEmulator } from "../../../src/emulators/fly/emulator";
import { FlyClient } from "../../../src/providers/fly/api/client";
import { expectEach } from "../../helpers/expect-each";

const TOKEN = "prometheus-test-token";
const ORG = "acme";
const APP = "prom-app";
let emulator: FlyEmulator;
let client: FlyClient;
const machines: Record<string, string> = {};
let t0 = 0;

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(text: string, options: { at?: number; method?: "GET" | "POST"; token?: string } = {}) {
  const params = new URLSearchParams({ query: text, time: String(options.at ?? t0 + 600) });
  const base = `${emulator.prometheusUrl(ORG)}/api/v1/query`;
  const headers = { authorization: `FlyV1 ${options.token ?? TOKEN}` };
  const res =
    options.method === "POST"
      ? await fetch(base, { method: "POST", headers: { ...headers, "content-type": "application/x-www-form-urlencoded" }, body: params.toString() })
      : await fetch(`${base}?${params}`, { headers });
  return { status: res.status, body: (await res.json()) as { status: string; data?: { resultType: string; result: unknown }; errorType?: string; error?: string } };
}

async function vector(text: string, at?: number): Promise<Sample[]> {
  const { status, body } = await query(text, { at });
  expect(status, JSON.stringify(body)).toBe(200);
  expect(body.data?.resultType).toBe("vector");
  return body.data?.result as Sample[];
}

async function value(text: string, at?: number): Promise<number> {
  const result = await vector(text, at);
  expect(result).toHaveLength(1);
  return Number(result[0]!.value[1]);
}

beforeAll(async () => {
  emulator = new FlyEmulator({ machineStartMs: 0, checksPassAfterMs: 0, tokens: [TOKEN] });
  await emulator.listen(0);
  client = new FlyClient({ apiUrl: emulator.url, apiToken: TOKEN, tuning: { rateLimit: null, pollIntervalMs: 5 } });
  await client.createApp({ name: APP, org_slug: ORG });
  t0 = Date.now() / 1000;
  for (const [name, release] of [["good-a", "r1"], ["good-b", "r1"], ["bad", "r2"]] as const) {
    const m = await client.createMachine(APP, { name, region: "sjc", config: { image: "nginx", metadata: { sophia_release: release } } });
    machines[name] = m.id;
  }
  emulator.misbehave("r2", { errorShare: 0.2, latencySeconds: 0.9 });
});
afterAll(async () => {
  await emulator.close();
});

describe("Fly emulator Prometheus", () => {
  test("a selector answers Fly's per-instance series with app, region, host, instance and status", async () => {
    const result = await vector(`fly_app_http_responses_count{app="${APP}"}`);
    expectEach(result, (s) => expect(Object.keys(s.metric).sort()).toEqual(["__name__", "app", "host", "instance", "region", "status"]));
    expect(new Set(result.map((s) => s.metric.instance))).toEqual(new Set(Object.values(machines)));
  });

  test("increase over a range counts the requests the window holds", async () => {
    // 2 requests per second per machine over 1 minute.
    expect(await value(`sum(increase(fly_app_http_responses_count{app="${APP}",instance="${machines["good-a"]}"}[1m]))`)).toBeCloseTo(120, 0);
  });

  test("rate is the per-second increase over its range", async () => {
    expect(await value(`sum(rate(fly_app_http_responses_count{app="${APP}",instance="${machines["good-a"]}"}[1m]))`)).toBeCloseTo(2, 1);
  });

  test("the error ratio of a misbehaving release, selected by a regex on instance, is its error share", async () => {
    const ratio = (ids: string) =>
      value(`sum(rate(fly_app_http_responses_count{app="${APP}",instance=~"${ids}",status=~"5.."}[2m])) / sum(rate(fly_app_http_responses_count{app="${APP}",instance=~"${ids}"}[2m]))`);
    expect(await ratio(machines.bad!)).toBeCloseTo(0.2, 3);
    expect(await ratio(`${machines["good-a"]}|${machines["good-b"]}`)).toBeCloseTo(0.002, 3);
  });

  test("histogram_quantile over the buckets gives each release's P95", async () => {
    const p95 = (id: string) =>
      value(`histogram_quantile(0.95, sum by (le) (rate(fly_app_http_response_time_seconds_bucket{app="${APP}",instance="${id}"}[3m])))`);
    expect(await p95(machines.bad!)).toBeGreaterThan(1);
    expect(await p95(machines["good-a"]!)).toBeLessThan(0.25);
  });

  test("a misbehaviour changes what follows it, not what was already counted", async () => {
    const ratio = (at: number) =>
      value(`sum(rate(fly_app_http_responses_count{app="${APP}",instance="${machines["good-b"]}",status="500"}[2m])) / sum(rate(fly_app_http_responses_count{app="${APP}",instance="${machines["good-b"]}"}[2m]))`, at);
    emulator.misbehave("r1", { errorShare: 0.5 }, (t0 + 1000) * 1000);
    try {
      expect(await ratio(t0 + 900)).toBeCloseTo(0.002, 3);
      expect(await ratio(t0 + 1200)).toBeCloseTo(0.5, 3);
    } finally {
      emulator.misbehave("r1", undefined, (t0 + 1300) * 1000);
    }
  });

  test("sum by keeps the grouping labels, one sample per group", async () => {
    const result = await vector(`sum by (instance) (rate(fly_app_http_responses_count{app="${APP}"}[1m]))`);
    expect(result.map((s) => Object.keys(s.metric))).toEqual([["instance"], ["instance"], ["instance"]]);
  });

  test("a comparison filters, and with bool answers 0 or 1", async () => {
    const errors = `sum by (instance) (rate(fly_app_http_responses_count{app="${APP}",status="500"}[2m])) / sum by (instance) (rate(fly_app_http_responses_count{app="${APP}"}[2m]))`;
    expect((await vector(`${errors} > 0.05`)).map((s) => s.metric.instance)).toEqual([machines.bad]);
    expect((await vector(`${errors} > bool 0.05`)).map((s) => s.value[1]).sort()).toEqual(["0", "0", "1"]);
  });

  test("scalar arithmetic answers a scalar", async () => {
    const { body } = await query("2 * 3 + 1");
    expect(body.data).toEqual({ resultType: "scalar", result: [expect.any(Number), "7"] });
  });

  test("a query POSTed as a form is answered like a GET", async () => {
    const { status, body } = await query(`count(fly_app_http_responses_count{app="${APP}",status="200"})`, { method: "POST" });
    expect(status).toBe(200);
    expect((body.data?.result as Sample[])[0]!.value[1]).toBe("3");
  });

  test("the edge series carry no instance", async () => {
    const result = await vector(`fly_edge_http_responses_count{app="${APP}"}`);
    expectEach(result, (s) => expect(s.metric.instance).toBeUndefined());
  });

  test("before a machine served there is no series, so a rate is empty rather than zero", async () => {
    expect(await vector(`rate(fly_app_http_responses_count{app="${APP}"}[1m])`, t0 - 120)).toEqual([]);
  });

  test("too little traffic shows as a low request count", async () => {
    emulator.setTraffic({ requestsPerSecond: 0.01 });
    try {
      expect(await value(`sum(increase(fly_app_http_responses_count{app="${APP}",instance="${machines["good-a"]}"}[3m]))`)).toBeLessThan(2);
    } finally {
      emulator.setTraffic({ requestsPerSecond: 2 });
    }
  });

  test("a machine whose checks start failing gets no traffic until they pass again, as Fly Proxy routes", async () => {
    const app = "prom-flaky";
    await client.createApp({ name: app, org_slug: ORG });
    const { id } = await client.createMachine(app, { name: "flaky", region: "sjc", config: { image: "nginx-flaky", metadata: { sophia_release: "r1" } } });
    const served = (at: number) => value(`sum(rate(fly_app_http_responses_count{app="${app}",instance="${id}"}[1m]))`, at);
    const timing = (unhealthyImages: string[]) =>
      fetch(`${new URL(emulator.url).origin}/_emulator/timing`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ unhealthyImages }) });
    // Each query looks past a change, at a fixed platform time, before the next change.
    const failing = Date.now() / 1000;
    expect((await timing(["nginx-flaky"])).status).toBe(200);
    expect(await served(failing + 61)).toBe(0);
    const passing = Date.now() / 1000;
    expect((await timing([])).status).toBe(200);
    expect(await served(passing + 121)).toBeCloseTo(2, 1);
  });

  test("a query that does not parse is answered 400 bad_data, with where", async () => {
    const { status, body } = await query("sum(rate(x[1m])");
    expect(status).toBe(400);
    expect(body).toMatchObject({ status: "error", errorType: "bad_data", error: expect.stringMatching(/parse error/) });
  });

  test("a construct the emulator does not evaluate is refused by name, not guessed", async () => {
    const { status, body } = await query(`predict_linear(fly_app_http_responses_count{app="${APP}"}[5m], 60)`);
    expect(status).toBe(422);
    expect(body.error).toMatch(/predict_linear/);
  });

  test("an org's Prometheus shows only that org's apps", async () => {
    const ask = async (org: string) => {
      const params = new URLSearchParams({ query: `fly_app_http_responses_count{app="${APP}"}`, time: String(t0 + 600) });
      const res = await fetch(`${emulator.prometheusUrl(org)}/api/v1/query?${params}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return ((await res.json()) as { data: { result: unknown[] } }).data.result;
    };
    expect(await ask(ORG)).not.toEqual([]);
    expect(await ask("other-org")).toEqual([]);
  });

  test("a query without a valid token is refused", async () => {
    expect((await query("1 + 1", { token: "wrong" })).status).toBe(401);
  });
});
