/**
 * Finding an emulator's control API: a slow answer is asked again rather than taken for a real
 * API, silence to the end is an error naming the URL, and an API without one is told apart.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { probeControl } from "../../src/emulators/control-client";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A server whose first `silent` requests are never answered; later ones get `answer`. */
async function serve(silent: number, answer: { status: number; body: unknown }): Promise<string> {
  let seen = 0;
  server = createServer((_req, res) => {
    seen += 1;
    if (seen <= silent) return;
    res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

describe("probeControl", () => {
  test("an emulator too busy to answer the first time is found on the next try", async () => {
    const url = await serve(1, { status: 200, body: { emulator: "fly" } });
    expect((await probeControl(url, 3, 200))?.emulator).toBe("fly");
  });

  test("an API that never answers is an error naming the control URL, not an API without one", async () => {
    const url = await serve(Infinity, { status: 200, body: {} });
    await expect(probeControl(url, 2, 100)).rejects.toThrow(/\/_emulator did not answer in 2 tries of 0.1 s .*is the emulator at http:\/\/127\.0\.0\.1:\d+\/v1 running\?/);
  });

  test("an API that answers 404 has no control API", async () => {
    const url = await serve(0, { status: 404, body: { error: "not found" } });
    expect(await probeControl(url, 3, 200)).toBeUndefined();
  });
});
