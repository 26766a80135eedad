/** The Prometheus client's Authorization header, with an injected fetch: no network. */
import { expect, test } from "vitest";
import { FlyPrometheus } from "../../../src/providers/fly/api/prometheus";

/** The Authorization header a query with this token sends. */
async function authorizationFor(token: string): Promise<string | null> {
  let sent: string | null = null;
  const fetchImpl = (async (_input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    sent = new Headers(init?.headers).get("authorization");
    return new Response(JSON.stringify({ status: "success", data: { resultType: "vector", result: [] } }), { status: 200 });
  }) as typeof fetch;
  await new FlyPrometheus({ url: "https://api.fly.io/prometheus/acme", token, fetch: fetchImpl }).query("up");
  return sent;
}

test("a token that carries its scheme is sent with it, FlyV1 or Bearer; a bare one as FlyV1", async () => {
  expect(await authorizationFor("Bearer fo1_user")).toBe("Bearer fo1_user");
  expect(await authorizationFor("FlyV1 fm2_macaroon")).toBe("FlyV1 fm2_macaroon");
  expect(await authorizationFor("fm2_macaroon")).toBe("FlyV1 fm2_macaroon");
});
