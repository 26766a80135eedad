/**
 * A counting proxy in front of an API: every request the providers send passes through it and is
 * counted by method, per phase. It works the same for the in-process emulators and for external
 * ones (FLY_API_URL / LAMBDA_API_URL), and it sees exactly what the providers sent.
 */
import { Agent, createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export class CountingProxy {
  /** Requests by method since the last `take()`. */
  private counts: Record<string, number> = {};
  private server: Server | undefined;
  /**
   * A fresh connection per request: a kept-alive one can be closed by the API (its keep-alive
   * timeout) just as the proxy reuses it, a reset the providers would see as the API's.
   */
  private readonly agent = new Agent({ keepAlive: false });

  constructor(
    /** What the counts are labelled with, e.g. "fly". */
    readonly api: string,
    private readonly target: URL,
  ) {}

  /** Starts on a free loopback port; resolves to the base URL to give the providers (same path as the target). */
  async listen(): Promise<string> {
    const server = createServer((req, res) => {
      const method = req.method ?? "GET";
      this.counts[method] = (this.counts[method] ?? 0) + 1;
      const upstream = request(
        { protocol: this.target.protocol, hostname: this.target.hostname, port: this.target.port, method, path: req.url, headers: { ...req.headers, host: this.target.host }, agent: this.agent },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      // An upstream that drops the connection is passed on as a dropped connection.
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return `http://127.0.0.1:${port}${this.target.pathname.replace(/\/$/, "")}`;
  }

  /** The counts since the last call, and a fresh start. */
  take(): Record<string, number> {
    const counts = this.counts;
    this.counts = {};
    return counts;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
