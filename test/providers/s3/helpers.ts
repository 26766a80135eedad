/**
 * A real S3-compatible server for the S3 suites: s3rver (an npm package, in-process on a free
 * loopback port, files in a temporary directory), and a proxy in front of it that can drop the
 * answer of a request after s3rver has acted on it, like a connection lost on the way back.
 */
import * as fs from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import S3rver from "s3rver";
import { setS3ClientTuning } from "../../../src/providers/s3";

/** s3rver's built-in account. */
export const S3RVER_KEYS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

export interface S3TestServer {
  /** host:port of the proxy in front of s3rver. */
  endpoint: string;
  /** The next request matching is processed by s3rver, then its answer is dropped. */
  loseAnswer(method: string, path: RegExp): void;
  /** Requests the proxy forwarded, as "METHOD /path?query". */
  requests: string[];
  close(): Promise<void>;
}

export async function startS3(): Promise<S3TestServer> {
  setS3ClientTuning({ retry: { maxAttempts: 6, maxTotalMs: 10_000, baseDelayMs: 2, maxDelayMs: 20 }, requestTimeoutMs: 10_000 });
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "sophia-s3rver-"));
  const s3rver = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory, resetOnClose: true });
  const { port: upstream } = (await s3rver.run()) as AddressInfo;
  const rules: { method: string; path: RegExp }[] = [];
  const requests: string[] = [];
  const proxy: Server = createServer((req, res) => {
    const method = req.method ?? "GET";
    requests.push(`${method} ${req.url ?? ""}`);
    const index = rules.findIndex((r) => r.method === method && r.path.test(req.url ?? ""));
    const lose = index >= 0 ? rules.splice(index, 1).length > 0 : false;
    const forward = request({ hostname: "127.0.0.1", port: upstream, method, path: req.url, headers: req.headers }, (answer) => {
      if (lose) {
        answer.resume();
        answer.on("end", () => res.destroy());
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const { port } = proxy.address() as AddressInfo;
  return {
    endpoint: `127.0.0.1:${port}`,
    loseAnswer: (method, p) => void rules.push({ method, path: p }),
    requests,
    close: async () => {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await s3rver.close();
      fs.rmSync(directory, { recursive: true, force: true });
      setS3ClientTuning(undefined);
    },
  };
}
