/** The shared HttpClient, with an injected fetch and a fake clock: nothing really sleeps. */
import { describe, expect, test } from "vitest";
import { z } from "zod";
import { ApiError, HttpClient, type HttpClientOptions } from "../../src/providers/http";

type Step = { status: number; body?: unknown; headers?: Record<string, string> } | Error;

const TOKEN = "tok_live_abcdef123456";

function harness(steps: Step[], options: Partial<HttpClientOptions> = {}) {
  let now = 1_000_000;
  const sleeps: number[] = [];
  const requests: { url: string; init: RequestInit }[] = [];
  const fetchImpl = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    requests.push({ url: String(input), init: init ?? {} });
    const step = steps.length > 1 ? steps.shift() : steps[0];
    if (!step) throw new Error("no response scripted");
    if (step instanceof Error) throw step;
    return new Response(step.body === undefined ? null : JSON.stringify(step.body), { status: step.status, headers: step.headers });
  }) as typeof fetch;
  const client = new HttpClient({
    api: "Test API",
    baseUrl: "http://api.test/v1",
    token: TOKEN,
    describeError: (body) => ({ message: (body as { error?: string } | undefined)?.error }),
    fetch: fetchImpl,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    random: () => 1,
    ...options,
  });
  return { client, sleeps, requests };
}

const get = { method: "GET" as const, path: "/things/1", operation: "get thing", resource: 'thing "1"' };
const reset = () => Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNRESET" } });

describe("HttpClient", () => {
  test("retries a 429 after the Retry-After seconds", async () => {
    const h = harness([{ status: 429, headers: { "retry-after": "2" } }, { status: 200, body: { ok: true } }]);
    expect((await h.client.request(get)).data).toEqual({ ok: true });
    expect(h.sleeps).toEqual([2000]);
  });

  test("honours a Retry-After given as an HTTP date", async () => {
    // The fake clock starts at 1,000,000 ms, a whole second, so the date is exact.
    const at = new Date(1_000_000 + 5000).toUTCString();
    const h = harness([{ status: 429, headers: { "retry-after": at } }, { status: 200, body: {} }]);
    await h.client.request(get);
    expect(h.sleeps).toEqual([5000]);
  });

  test("retries 5xx with exponential backoff bounded by the maximum step", async () => {
    const h = harness([{ status: 503 }, { status: 502 }, { status: 500 }, { status: 500 }, { status: 200, body: {} }], {
      retry: { baseDelayMs: 100, maxDelayMs: 300, maxAttempts: 6 },
    });
    await h.client.request(get);
    expect(h.sleeps).toEqual([100, 200, 300, 300]);
  });

  test("applies full jitter to the backoff", async () => {
    const h = harness([{ status: 503 }, { status: 200, body: {} }], { random: () => 0.25, retry: { baseDelayMs: 400 } });
    await h.client.request(get);
    expect(h.sleeps).toEqual([100]);
  });

  test("never retries a 4xx other than 429", async () => {
    for (const status of [400, 401, 403, 404, 409, 422]) {
      const h = harness([{ status, body: { error: "nope" } }, { status: 200, body: {} }]);
      const err = await h.client.request(get).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(status);
      expect(h.requests).toHaveLength(1);
    }
  });

  test("gives up after the maximum number of attempts, saying how many", async () => {
    const h = harness([{ status: 500, body: { error: "boom" } }], { retry: { maxAttempts: 3 } });
    await expect(h.client.request(get)).rejects.toThrow('Test API: get thing thing "1" failed with HTTP 500 after 3 attempts: boom');
    expect(h.requests).toHaveLength(3);
  });

  test("gives up once the total time budget is spent", async () => {
    const h = harness([{ status: 503, headers: { "retry-after": "30" } }], { retry: { maxAttempts: 100, maxTotalMs: 45_000 } });
    await expect(h.client.request(get)).rejects.toThrow(/HTTP 503 after 3 attempts/);
    expect(h.sleeps).toEqual([30_000, 15_000]);
  });

  test("retries a connection reset and then succeeds", async () => {
    const h = harness([reset(), { status: 200, body: { ok: 1 } }]);
    expect((await h.client.request(get)).data).toEqual({ ok: 1 });
    expect(h.requests).toHaveLength(2);
  });

  test("a connection that keeps failing ends in an error naming the cause and the URL", async () => {
    const h = harness([reset()], { retry: { maxAttempts: 2 } });
    const err = (await h.client.request(get).catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe("connection");
    expect(err.message).toBe('Test API: get thing thing "1" failed after 2 attempts: connection error ECONNRESET. Check that http://api.test/v1 is reachable.');
  });

  test("rate-limits per key with a token bucket: a burst, then one per interval", async () => {
    const h = harness([{ status: 200, body: {} }], { rateLimitFor: () => ({ intervalMs: 1000, burst: 3 }) });
    for (let i = 0; i < 5; i++) await h.client.request({ ...get, rateKey: "get:a" });
    expect(h.sleeps).toEqual([1000, 1000]);
    await h.client.request({ ...get, rateKey: "get:b" });
    expect(h.sleeps).toHaveLength(2);
  });

  test("a request under several rate keys waits for a token from each", async () => {
    const limits: Record<string, { intervalMs: number; burst: number }> = { launch: { intervalMs: 12_000, burst: 1 }, request: { intervalMs: 1000, burst: 1 } };
    const h = harness([{ status: 200, body: {} }], { rateLimitFor: (key) => limits[key] });
    await h.client.request({ ...get, rateKey: ["launch", "request"] });
    await h.client.request({ ...get, rateKey: ["launch", "request"] });
    // The second launch waits out the 12 s launch budget, by which time the request budget is full again.
    expect(h.sleeps).toEqual([12_000]);
  });

  test("a request may narrow the retry policy, e.g. to no automatic retry", async () => {
    const h = harness([{ status: 503, body: {} }, { status: 200, body: {} }]);
    const err = (await h.client.request({ ...get, retry: { maxAttempts: 1 } }).catch((e: unknown) => e)) as ApiError;
    expect(err.status).toBe(503);
    expect(h.sleeps).toEqual([]);
  });

  test("removes the token and registered secrets from error messages", async () => {
    const h = harness([{ status: 400, body: { error: `token ${TOKEN} cannot set value s3cret-value` } }], { redact: ["s3cret-value"] });
    const err = (await h.client.request(get).catch((e: unknown) => e)) as ApiError;
    expect(err.message).toBe('Test API: get thing thing "1" failed with HTTP 400: token [redacted] cannot set value [redacted]');
    expect(err.apiMessage).toBe("token [redacted] cannot set value [redacted]");
  });

  test("removes the token from unexpected errors too", async () => {
    const h = harness([new RangeError(`header value Bearer ${TOKEN} is invalid`)]);
    const err = (await h.client.request(get).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe("header value Bearer [redacted] is invalid");
  });

  test("validates the response and names the bad fields", async () => {
    const h = harness([{ status: 200, body: { id: 7 } }]);
    const err = (await h.client.request({ ...get, schema: z.object({ id: z.string() }) }).catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe("unexpected-response");
    expect(err.message).toMatch(/get thing thing "1" returned an unexpected response shape \(id: /);
  });

  test("treats accepted statuses as answers, not errors", async () => {
    const h = harness([{ status: 404, body: { error: "not found" } }]);
    expect((await h.client.request({ ...get, acceptStatuses: [404] })).status).toBe(404);
  });

  test("sends extra headers but never lets them replace the authorization", async () => {
    const h = harness([{ status: 200, body: {} }]);
    await h.client.request({ ...get, headers: { "x-lease": "n1", Authorization: "Bearer other" } });
    expect(h.requests[0].init.headers).toEqual(expect.objectContaining({ "x-lease": "n1", authorization: `Bearer ${TOKEN}` }));
    expect(h.requests[0].init.headers).not.toHaveProperty("Authorization");
  });

  describe("a create (POST) is never sent twice blindly", () => {
    const create = { method: "POST" as const, path: "/things", operation: "create thing", resource: 'thing "a"', body: { name: "a" } };
    const refused = () => Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } });

    test("a reset after sending is not retried: the error says the request may have taken effect", async () => {
      const h = harness([reset(), { status: 201, body: {} }]);
      const err = (await h.client.request(create).catch((e: unknown) => e)) as ApiError;
      expect(h.requests).toHaveLength(1);
      expect(err.ambiguous).toBe(true);
      expect(err.message).toMatch(/failed after 1 attempt: connection error ECONNRESET\..*may have taken effect/);
    });

    test("a 5xx is not retried either: the API may have acted before failing", async () => {
      const h = harness([{ status: 502, body: { error: "bad gateway" } }, { status: 201, body: {} }]);
      const err = (await h.client.request(create).catch((e: unknown) => e)) as ApiError;
      expect(h.requests).toHaveLength(1);
      expect([err.status, err.ambiguous]).toEqual([502, true]);
    });

    test("a 429 and a refused connection are retried: the request was not acted on", async () => {
      const h = harness([{ status: 429 }, refused(), { status: 201, body: { id: "t1" } }]);
      expect((await h.client.request(create)).data).toEqual({ id: "t1" });
      expect(h.requests).toHaveLength(3);
    });

    test("after a lost answer, what recover finds is the answer, and nothing is sent again", async () => {
      const h = harness([reset(), { status: 201, body: { id: "second" } }]);
      const found = await h.client.request({ ...create, recover: async () => ({ id: "first" }) });
      expect(found.data).toEqual({ id: "first" });
      expect(h.requests).toHaveLength(1);
    });

    test("after a lost answer that made nothing, the create is sent again", async () => {
      const h = harness([reset(), { status: 201, body: { id: "second" } }]);
      const looked: number[] = [];
      const made = await h.client.request({ ...create, recover: async () => (looked.push(1), undefined) });
      expect(made.data).toEqual({ id: "second" });
      expect([h.requests.length, looked.length]).toEqual([2, 1]);
    });

    test("a POST marked idempotent (e.g. a whole config under a lease) is retried like a read", async () => {
      const h = harness([reset(), { status: 200, body: { ok: true } }]);
      expect((await h.client.request({ ...create, idempotent: true })).data).toEqual({ ok: true });
      expect(h.requests).toHaveLength(2);
    });
  });

  describe("a write whose answer may be lost is read back before it is sent again", () => {
    const update = { method: "PUT" as const, path: "/things/1", operation: "update thing", resource: 'thing "1"', body: { size: 2 } };

    test("an idempotent write found done by recover ends there, even with attempts left", async () => {
      const h = harness([reset(), { status: 200, body: { size: 2 } }]);
      const found = await h.client.request({ ...update, recover: async () => ({ size: 2, found: true }) });
      expect(found.data).toEqual({ size: 2, found: true });
      expect(h.requests).toHaveLength(1);
    });

    test("a write whose every answer is lost still ends well once recover finds it done", async () => {
      let sent = 0;
      const h = harness([reset()], { retry: { maxAttempts: 2 } });
      const found = await h.client.request({ ...update, recover: async () => (++sent >= 2 ? { size: 2 } : undefined) });
      expect(found.data).toEqual({ size: 2 });
      // The last read-back comes after the last attempt, before giving up.
      expect(h.requests).toHaveLength(2);
    });

    test("a read is never read back: a failed GET only retries", async () => {
      const h = harness([reset(), { status: 200, body: { ok: true } }]);
      let looked = 0;
      await h.client.request({ ...get, recover: async () => (looked++, undefined) });
      expect(looked).toBe(0);
    });
  });

  describe("every request ends within its bounds", () => {
    test("an answer whose body never arrives times out and is retried like a reset", async () => {
      let calls = 0;
      const stalled = (async (_input: Parameters<typeof fetch>[0], init?: RequestInit) => {
        calls++;
        if (calls > 1) return new Response(JSON.stringify({ ok: true }), { status: 200 });
        // Headers now, a body never: only the abort signal can end the read.
        const body = new ReadableStream({ start: () => undefined });
        init?.signal?.addEventListener("abort", () => undefined);
        return new Response(body, { status: 200 });
      }) as typeof fetch;
      const client = new HttpClient({ api: "Test API", baseUrl: "http://api.test/v1", token: TOKEN, fetch: stalled, timeoutMs: 20, sleep: async () => undefined, random: () => 0 });
      expect((await client.request(get)).data).toEqual({ ok: true });
      expect(calls).toBe(2);
    });

    test("a rate limit with no interval is no limit, not a wait that never ends", async () => {
      const h = harness([{ status: 200, body: {} }], { rateLimitFor: () => ({ intervalMs: 0, burst: 3 }) });
      for (let i = 0; i < 5; i++) await h.client.request({ ...get, rateKey: "get:a" });
      expect(h.sleeps).toEqual([]);
    });

    test("the retry budget runs from the first attempt, not from the wait for a rate token", async () => {
      const h = harness([{ status: 200, body: { first: true } }, reset(), { status: 200, body: { second: true } }], {
        rateLimitFor: () => ({ intervalMs: 10_000, burst: 1 }),
        retry: { maxTotalMs: 5_000, maxAttempts: 5 },
      });
      await h.client.request({ ...get, rateKey: "busy" });
      // The second request waits 10 s for its token, longer than its whole retry budget, and still gets its retry.
      expect((await h.client.request({ ...get, rateKey: "busy" })).data).toEqual({ second: true });
      expect(h.requests).toHaveLength(3);
    });
  });
});
