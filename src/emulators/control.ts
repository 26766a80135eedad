/**
 * The emulators' control API: what a test, a rehearsal or a person at a terminal changes on a
 * running emulator from outside, over HTTP, so that the same test runs against an emulator in its
 * own process, one started separately (`npm run fly-emulator`), or either behind a proxy.
 *
 * Every route lives under `/_emulator`, outside the emulated API's paths (`/v1`, `/api/v1`), takes
 * and returns JSON, and needs no credential (the emulators listen on loopback by default). Errors
 * answer `{"error": "..."}` with 400 (bad request) or 404 (no such route or object).
 *
 * Routes both emulators offer:
 *   GET  /_emulator                 `{emulator, routes}`: which emulator this is and every control route
 *   PUT  /_emulator/faults          replaces the fault settings with the body's (unset ones are off);
 *                                   the dice restart from the seed, so a fault run repeats
 *   POST /_emulator/lost-answers    `{method, path, count?}`: the next `count` (1) requests with that
 *                                   method whose path matches the regular expression `path` are
 *                                   processed, then lose their answer
 *   GET  /_emulator/requests        every request handled, `[{method, path, status, at}]` in order
 *                                   (`at` in ms since the epoch); `?since=N` skips the first N
 *   POST /_emulator/reset           back to the settings it started with (faults, timings, capacity,
 *                                   keys) and no targeted lost answers; what the API holds stays
 * Each emulator adds its own routes (listed in its header and by `GET /_emulator`). A new feature
 * adds its routes where the emulator defines its others, with `control.route(...)`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** Where the control API lives on every emulator. */
export const CONTROL_PREFIX = "/_emulator";

export type ControlMethod = "GET" | "PUT" | "POST" | "DELETE";
type Json = Record<string, unknown>;

export interface ControlRequest {
  /** Values of the `{name}` segments of the route, in order. */
  params: string[];
  query: URLSearchParams;
  body: Json;
}

/** A control request that cannot be carried out: the status and what to fix. */
export class ControlError extends Error {
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
  }
}

interface Route {
  method: ControlMethod;
  path: string;
  pattern: RegExp;
  summary: string;
  handler: (req: ControlRequest) => unknown;
}

/** One emulator's control routes. */
export class ControlApi {
  private readonly routes: Route[] = [];

  constructor(private readonly emulator: string) {
    this.route("GET", "", "which emulator this is, and its control routes", () => ({
      emulator: this.emulator,
      routes: this.routes.map((r) => `${r.method} ${CONTROL_PREFIX}${r.path}  ${r.summary}`),
    }));
  }

  /** Adds a route; `path` is below `/_emulator`, with `{name}` for a segment, e.g. `/instances/{id}/preempt`. */
  route(method: ControlMethod, path: string, summary: string, handler: (req: ControlRequest) => unknown): void {
    const pattern = new RegExp(`^${path.replace(/\{[a-z_]+\}/g, "([^/]+)")}/?$`);
    this.routes.push({ method, path, pattern, summary, handler });
  }

  /** Whether a request path is for the control API rather than the emulated one. */
  static owns(pathname: string): boolean {
    return pathname === CONTROL_PREFIX || pathname.startsWith(`${CONTROL_PREFIX}/`);
  }

  /** Serves one control request on node:http. */
  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://emulator");
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let status = 200;
    let answer: unknown;
    try {
      let body: Json = {};
      if (raw.trim() !== "") {
        try {
          body = JSON.parse(raw) as Json;
        } catch {
          throw new ControlError(400, "the body is not valid JSON");
        }
        if (body === null || typeof body !== "object" || Array.isArray(body)) throw new ControlError(400, "the body must be a JSON object");
      }
      answer = this.handle(req.method ?? "GET", url.pathname.slice(CONTROL_PREFIX.length), url.searchParams, body) ?? { ok: true };
    } catch (err) {
      if (!(err instanceof ControlError)) throw err;
      status = err.status;
      answer = { error: err.message };
    }
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(answer));
  }

  private handle(method: string, path: string, query: URLSearchParams, body: Json): unknown {
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (m && route.method === method) return route.handler({ params: m.slice(1).map(decodeURIComponent), query, body });
    }
    throw new ControlError(404, `no control route ${method} ${CONTROL_PREFIX}${path}; GET ${CONTROL_PREFIX} lists them`);
  }
}

// ---- reading a control request's body ---------------------------------------------------------

/** A number ≥ 0 from the body, or undefined when absent. */
export function optionalNumber(body: Json, key: string): number | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw new ControlError(400, `${key} must be a number ≥ 0`);
  return value;
}

export function requiredString(body: Json, key: string): string {
  const value = body[key];
  if (typeof value !== "string" || value === "") throw new ControlError(400, `${key} must be a non-empty string`);
  return value;
}

/** A regular expression given as its source text. */
export function regex(source: string, key: string): RegExp {
  try {
    return new RegExp(source);
  } catch {
    throw new ControlError(400, `${key} is not a valid regular expression: ${source}`);
  }
}

/** Only the listed keys may appear: a misspelled setting must not pass for an applied one. */
export function onlyKeys(body: Json, allowed: readonly string[]): void {
  const unknown = Object.keys(body).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) throw new ControlError(400, `unknown setting${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}; allowed: ${allowed.join(", ")}`);
}

/** A targeted lost answer, as `POST /_emulator/lost-answers` takes it. */
export function lostAnswerRule(body: Json): { method: string; path: RegExp; count: number } {
  onlyKeys(body, ["method", "path", "count"]);
  const count = optionalNumber(body, "count") ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new ControlError(400, "count must be a whole number ≥ 1");
  return { method: requiredString(body, "method").toUpperCase(), path: regex(requiredString(body, "path"), "path"), count };
}
