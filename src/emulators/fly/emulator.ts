/**
 * An in-memory Fly Machines API on node:http: exactly the endpoints FlyClient uses, with the
 * platform's rules (model.ts) and fault injection: 429 with Retry-After, 503, latency, connection
 * resets and a persistent failure strike before a request is processed, like an overloaded edge in
 * front of Fly; a lost answer strikes after, like a connection that drops once the API has acted,
 * and can strike any write (POST, PUT, PATCH, DELETE). The dice are seeded, so a fault run can be
 * repeated.
 *
 * Control API (see ../control.ts for the routes both emulators share): besides `/_emulator`,
 * `/_emulator/faults` (body: FaultSettings; `alwaysFail.path` is a regular expression's source),
 * `/_emulator/lost-answers`, `/_emulator/requests` and `/_emulator/reset`, the Fly emulator offers
 *   PUT  /_emulator/timing                               Timing: machineStartMs, machineStopMs, checksPassAfterMs,
 *                                                        unhealthyImages (at once: running machines fail their
 *                                                        checks and get no traffic), secretsReadLagMs; and
 *                                                        timeScale, the metrics clock's real time per platform time
 *   GET  /_emulator/apps/{app}                           `{secretsVersion}`: the app's current secrets version
 *   GET  /_emulator/apps/{app}/machines/{id}             `{state, secretsVersion, minSecretsVersionSent}`: what
 *                                                        the machine runs with, and what its last create/update sent
 *   POST /_emulator/apps/{app}/machines/{id}/autostop    `{mode: "stop" | "suspend"}`: what Fly Proxy does to an idle machine
 *   POST /_emulator/releases/{release}/misbehave         `{errorShare?, latencySeconds?}`: machines on that release
 *                                                        (metadata sophia_release) answer badly from now on; `{}` heals
 *   PUT  /_emulator/traffic                              `{requestsPerSecond}` every serving machine gets
 *   POST /_emulator/regions/{region}/lose                a regional outage: machines there stop answering, calls for it 503
 *   POST /_emulator/regions/{region}/restore             the region answers again
 *
 * It also answers Fly's managed Prometheus (instant queries at /prometheus/<org>/api/v1/query) over
 * per-machine series synthesised from a traffic model, and plays one-shot machines (restart policy
 * "no") through an in-process job runner (FlyEmulatorSettings.jobRunner).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { FlyFault, FlyModel, type Timing } from "./model";
import { FlyMetrics, type Behaviour, type TrafficModel } from "./metrics";
import { AnswerLoser, DEFAULT_SEED, seededRandom, type LostAnswerRule } from "../random";
import { ControlApi, ControlError, lostAnswerRule, onlyKeys, optionalNumber, regex, requiredString } from "../control";

export interface FaultSettings {
  /** Share of requests answered 429 with Retry-After. */
  rate429: number;
  /** Share of requests answered 503. */
  rate503: number;
  /** Share of requests whose connection is reset (socket destroyed, no response). */
  resetRate: number;
  /** Added to every request. */
  latencyMs: number;
  /** Share of writes (POST, PUT, PATCH, DELETE) that are processed, then lose their answer. */
  lostAnswerRate: number;
  /** Value of Retry-After on injected 429s, in seconds. */
  retryAfterSeconds: number;
  /** Every matching request fails with this status and Fly-style error text. */
  alwaysFail?: { status: number; error: string; path?: RegExp };
}

/** A one-shot machine (restart policy "no") that has started: what a job runner is told. */
export interface MachineJob {
  app: string;
  machineId: string;
  name: string;
  region: string;
  config: Record<string, unknown>;
}

/**
 * Plays what a one-shot machine's process does, since the emulator runs no containers, and answers
 * its exit code. The emulator imports nothing of the product: whoever starts it (a rehearsal, a
 * test) brings the behaviour. Without one, a job exits 0 as soon as it has started.
 */
export type JobRunner = (job: MachineJob) => Promise<number> | number;

export interface FlyEmulatorSettings extends Timing {
  faults: FaultSettings;
  /** When set, only these bearer tokens are accepted. */
  tokens?: string[];
  /** Seed for the fault dice, so a run can be repeated. */
  seed: number;
  /** Receives one line per request (method, path, status); never headers or bodies. */
  log?: (line: string) => void;
  /**
   * Real time per platform time for the metrics clock: at 0.001 a 3-minute window of Prometheus
   * samples passes in 180 ms. The machine timings above are real and set separately. @default 1
   */
  timeScale?: number;
  /** Plays one-shot machines (restart policy "no"). */
  jobRunner?: JobRunner;
}

export const defaultEmulatorSettings = (): FlyEmulatorSettings => ({
  machineStartMs: 30,
  machineStopMs: 20,
  checksPassAfterMs: 60,
  unhealthyImages: [],
  secretsReadLagMs: 0,
  faults: { rate429: 0, rate503: 0, resetRate: 0, lostAnswerRate: 0, latencyMs: 0, retryAfterSeconds: 1 },
  seed: DEFAULT_SEED,
});

type Json = Record<string, unknown>;
type Handler = (ctx: RequestContext) => Promise<Reply> | Reply;
interface Reply {
  status: number;
  body?: unknown;
}
interface RequestContext {
  params: string[];
  query: URLSearchParams;
  body: Json;
  /** A form-encoded body, as Prometheus clients POST queries. */
  form: URLSearchParams | undefined;
  nonce: string | undefined;
}

export class FlyEmulator {
  readonly settings: FlyEmulatorSettings;
  readonly model: FlyModel;
  /** Fly's managed Prometheus, at /prometheus/<org>/api/v1/query on the same port. */
  readonly metrics: FlyMetrics;
  private server: Server | undefined;
  private random: () => number;
  private readonly loser: AnswerLoser;
  /** Every API request handled, in order, with when it arrived and how it was answered. */
  readonly requests: HandledRequest[] = [];
  private readonly routes: { method: string; pattern: RegExp; handler: Handler }[] = [];
  /** The routes under /_emulator (see the header). */
  readonly control = new ControlApi("fly");
  /** The settings it started with, for `POST /_emulator/reset`. */
  private readonly initial: Omit<FlyEmulatorSettings, "log" | "jobRunner">;
  /** The metrics' platform clock: platform time = anchorPlatformMs + (real − anchorRealMs) ÷ scale. */
  private metricsClock: { anchorRealMs: number; anchorPlatformMs: number; scale: number };
  url = "";

  constructor(settings: Partial<FlyEmulatorSettings> = {}) {
    const defaults = defaultEmulatorSettings();
    this.settings = { ...defaults, ...settings, faults: { ...defaults.faults, ...settings.faults } };
    // The job runner is code, kept across a reset; everything else is data a reset restores.
    const { log: _log, jobRunner: _jobRunner, ...rest } = this.settings;
    this.initial = structuredClone(rest);
    this.random = seededRandom(this.settings.seed);
    this.model = new FlyModel(this.settings, seededRandom(this.settings.seed + 1));
    this.loser = new AnswerLoser(seededRandom(this.settings.seed + 2));
    this.metricsClock = { anchorRealMs: Date.now(), anchorPlatformMs: Date.now(), scale: this.settings.timeScale ?? 1 };
    this.metrics = new FlyMetrics((realMs) => {
      const clock = this.metricsClock;
      return (clock.anchorPlatformMs + (realMs - clock.anchorRealMs) / clock.scale) / 1000;
    });
    this.model.onMachineChange = (change) => this.metrics.machineChanged(change);
    this.defineRoutes();
    this.defineControlRoutes();
  }

  /**
   * Machines running `release` (their `config.metadata.sophia_release`) answer this share of requests
   * with errors and/or this slowly, while passing their health checks; undefined makes them behave.
   * It holds from `fromMs` (real time; default now) on: what was counted before keeps its behaviour.
   */
  misbehave(release: string, behaviour: Partial<Behaviour> | undefined, fromMs = Date.now()): void {
    this.metrics.misbehave(release, behaviour, fromMs);
  }

  /** Real time per platform time of the metrics clock from now on; the clock goes on from where it is. */
  setTimeScale(scale: number): void {
    const now = Date.now();
    const clock = this.metricsClock;
    this.metricsClock = { anchorRealMs: now, anchorPlatformMs: clock.anchorPlatformMs + (now - clock.anchorRealMs) / clock.scale, scale };
    this.settings.timeScale = scale;
  }

  /** The requests per second every serving machine gets, e.g. too few to judge a release. */
  setTraffic(traffic: Partial<TrafficModel>): void {
    this.metrics.setTraffic(traffic);
  }

  /** The base URL of an org's Prometheus (append /api/v1/query), once listening. */
  prometheusUrl(org: string): string {
    return `${this.url.replace(/\/v1$/, "")}/prometheus/${encodeURIComponent(org)}`;
  }

  /** Starts listening; port 0 picks a free port. Resolves to the base URL (ending in /v1). */
  async listen(port = 0, host = "127.0.0.1"): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) reply(res, 500, { error: `emulator error: ${String(err)}` });
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    const hostPart = address.family === "IPv6" ? `[${address.address}]` : address.address;
    this.url = `http://${hostPart}:${address.port}/v1`;
    return this.url;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Changes fault injection on a running emulator (`PUT /_emulator/faults`). */
  setFaults(faults: Partial<FaultSettings>): void {
    this.settings.faults = { ...defaultEmulatorSettings().faults, ...faults };
    // The dice restart from the seed, so a fault run repeats whatever ran before it.
    this.random = seededRandom(this.settings.seed);
    this.loser.reseed(seededRandom(this.settings.seed + 2));
  }

  /**
   * A regional outage: from now on, every call that addresses a machine or volume in `region`
   * (or creates one there) fails with 503, its machines stop answering (no checks, host
   * "unreachable" in lists), and nothing there changes. Calls for other regions work.
   */
  loseRegion(region: string): void {
    this.model.lostRegions.add(region);
  }

  /** Ends an outage started by `loseRegion`. */
  restoreRegion(region: string): void {
    this.model.lostRegions.delete(region);
  }

  /** The next matching request(s) are processed, then the connection drops before the answer. */
  loseAnswer(rule: LostAnswerRule): void {
    this.loser.add(rule);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://emulator");
    if (ControlApi.owns(url.pathname)) return this.control.serve(req, res);
    const path = url.pathname.replace(/^\/v1(?=\/)/, "");
    const method = req.method ?? "GET";
    const handled: HandledRequest = { method, path, at: Date.now(), status: "pending" };
    this.requests.push(handled);
    res.on("finish", () => (handled.status = res.statusCode));
    // "close" without "finish": the connection ended before an answer (a client that gave up).
    res.on("close", () => {
      if (handled.status === "pending") handled.status = "dropped";
    });
    const faults = this.settings.faults;
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);

    const dice = this.random();
    if (dice < faults.resetRate) {
      this.log(`${method} ${path} -> reset`);
      handled.status = "reset";
      req.socket.destroy();
      return;
    }
    const auth = req.headers.authorization ?? "";
    const token = /^(?:Bearer|FlyV1)\s+(.+)$/i.exec(auth)?.[1];
    if (!token || (this.settings.tokens && !this.settings.tokens.includes(token))) {
      return this.send(res, method, path, { status: 401, body: { error: "unauthorized" } });
    }
    if (faults.alwaysFail && (!faults.alwaysFail.path || faults.alwaysFail.path.test(path))) {
      return this.send(res, method, path, { status: faults.alwaysFail.status, body: { error: faults.alwaysFail.error } });
    }
    const roll = this.random();
    if (roll < faults.rate429) {
      res.setHeader("retry-after", String(faults.retryAfterSeconds));
      return this.send(res, method, path, { status: 429, body: { error: "rate limit exceeded, slow down" } });
    }
    if (roll < faults.rate429 + faults.rate503) {
      return this.send(res, method, path, { status: 503, body: { error: "service temporarily unavailable" } });
    }

    const route = this.match(method, path);
    if (!route) return this.send(res, method, path, { status: 404, body: { error: `no route for ${method} ${path}` } });
    let body: Json = {};
    let form: URLSearchParams | undefined;
    const raw = await readRaw(req);
    if (raw && (req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
      form = new URLSearchParams(raw);
    } else if (raw) {
      try {
        body = JSON.parse(raw) as Json;
      } catch {
        return this.send(res, method, path, { status: 400, body: { error: "request body is not valid JSON" } });
      }
    }
    const lost = this.lostRegionOf(method, path, body);
    if (lost !== undefined) {
      return this.send(res, method, path, { status: 503, body: { error: `region ${lost} is unavailable: its hosts do not answer` } });
    }
    const nonceHeader = req.headers["fly-machine-lease-nonce"];
    const ctx: RequestContext = {
      params: route.params,
      query: url.searchParams,
      body,
      form,
      nonce: Array.isArray(nonceHeader) ? nonceHeader[0] : nonceHeader,
    };
    try {
      const answer = await route.handler(ctx);
      if (this.loser.loses(method, path, faults.lostAnswerRate)) {
        this.log(`${method} ${path} -> ${answer.status}, answer lost`);
        handled.status = "lost";
        req.socket.destroy();
        return;
      }
      return this.send(res, method, path, answer);
    } catch (err) {
      if (err instanceof FlyFault) return this.send(res, method, path, { status: err.status, body: { error: err.message } });
      throw err;
    }
  }

  private send(res: ServerResponse, method: string, path: string, r: Reply): void {
    this.log(`${method} ${path} -> ${r.status}`);
    reply(res, r.status, r.body);
  }

  private log(line: string): void {
    this.settings.log?.(`[fly-emulator] ${line}`);
  }

  private match(method: string, path: string): { handler: Handler; params: string[] } | undefined {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const m = route.pattern.exec(path);
      if (m) return { handler: route.handler, params: m.slice(1).map(decodeURIComponent) };
    }
    return undefined;
  }

  private on(method: string, path: string, handler: Handler): void {
    const pattern = new RegExp(`^${path.replace(/\{[a-z_]+\}/g, "([^/]+)")}$`);
    this.routes.push({ method, pattern, handler });
  }

  private defineRoutes(): void {
    const m = this.model;
    const ok = (body?: unknown): Reply => ({ status: 200, body });

    this.on("POST", "/apps", ({ body }) => (m.createApp(body), { status: 201 }));
    this.on("GET", "/apps/{app}", ({ params }) => ok(m.showApp(params[0])));
    this.on("DELETE", "/apps/{app}", ({ params }) => (m.deleteApp(params[0]), { status: 202 }));

    this.on("GET", "/apps/{app}/volumes", ({ params }) => ok(m.listVolumes(params[0])));
    this.on("POST", "/apps/{app}/volumes", ({ params, body }) => ok(m.createVolume(params[0], body)));
    this.on("GET", "/apps/{app}/volumes/{id}", ({ params }) => ok(m.getVolume(params[0], params[1])));
    this.on("PUT", "/apps/{app}/volumes/{id}", ({ params, body }) => ok(m.updateVolume(params[0], params[1], body)));
    this.on("PUT", "/apps/{app}/volumes/{id}/extend", ({ params, body }) => ok(m.extendVolume(params[0], params[1], body)));
    this.on("DELETE", "/apps/{app}/volumes/{id}", ({ params }) => ok(m.deleteVolume(params[0], params[1])));

    this.on("GET", "/apps/{app}/machines", ({ params, query }) =>
      ok(m.listMachines(params[0], query.get("include_deleted") === "true")),
    );
    this.on("POST", "/apps/{app}/machines", ({ params, body }) => {
      const created = m.createMachine(params[0], body);
      this.startJob(params[0], created);
      return ok(created);
    });
    this.on("GET", "/apps/{app}/machines/{id}", ({ params }) => ok(m.getMachine(params[0], params[1])));
    this.on("POST", "/apps/{app}/machines/{id}", ({ params, body, nonce }) =>
      ok(m.updateMachine(params[0], params[1], body, nonce)),
    );
    this.on("DELETE", "/apps/{app}/machines/{id}", ({ params, query, nonce }) => {
      m.destroyMachine(params[0], params[1], query.get("force") === "true", nonce);
      return ok({ ok: true });
    });
    this.on("POST", "/apps/{app}/machines/{id}/start", ({ params }) => (m.startMachine(params[0], params[1]), ok({ ok: true })));
    this.on("POST", "/apps/{app}/machines/{id}/stop", ({ params }) => (m.stopMachine(params[0], params[1]), ok({ ok: true })));
    this.on("GET", "/apps/{app}/machines/{id}/wait", (ctx) => this.waitFor(ctx));
    this.on("POST", "/apps/{app}/machines/{id}/lease", ({ params, body, nonce }) => ({
      status: 201,
      body: m.acquireLease(params[0], params[1], body, nonce),
    }));
    this.on("GET", "/apps/{app}/machines/{id}/lease", ({ params }) => ok(m.showLease(params[0], params[1])));
    this.on("DELETE", "/apps/{app}/machines/{id}/lease", ({ params, nonce }) => {
      m.releaseLease(params[0], params[1], nonce);
      return ok({ ok: true });
    });

    this.on("GET", "/apps/{app}/machines/{id}/metadata", ({ params }) => ok(m.getMetadata(params[0], params[1])));
    this.on("POST", "/apps/{app}/machines/{id}/metadata/{key}", ({ params, body, nonce }) => {
      m.setMetadata(params[0], params[1], params[2], body, nonce);
      return { status: 204 };
    });
    this.on("DELETE", "/apps/{app}/machines/{id}/metadata/{key}", ({ params, nonce }) => {
      m.deleteMetadata(params[0], params[1], params[2], nonce);
      return { status: 204 };
    });

    // Fly's managed Prometheus (api.fly.io/prometheus/<org>/): instant queries, GET or form POST.
    const query = ({ params, query, form }: RequestContext): Reply => {
      const merged = new URLSearchParams(query);
      for (const [key, value] of form ?? []) merged.set(key, value);
      return this.metrics.query(params[0], merged, Date.now());
    };
    this.on("GET", "/prometheus/{org}/api/v1/query", query);
    this.on("POST", "/prometheus/{org}/api/v1/query", query);

    this.on("GET", "/apps/{app}/secrets", ({ params, query }) => ok(m.listSecrets(params[0], minVersion(query.get("min_version")))));
    this.on("POST", "/apps/{app}/secrets", ({ params, body }) => ok(m.updateSecrets(params[0], body)));

    this.on("GET", "/apps/{app}/ip_assignments", ({ params }) => ok(m.listIps(params[0])));
    this.on("POST", "/apps/{app}/ip_assignments", ({ params, body }) => ok(m.assignIp(params[0], body)));
    this.on("DELETE", "/apps/{app}/ip_assignments/{ip}", ({ params }) => (m.releaseIp(params[0], params[1]), { status: 204 }));

    this.on("POST", "/apps/{app}/certificates/acme", ({ params, body }) => {
      const { created, cert } = m.requestCertificate(params[0], body);
      return { status: created ? 201 : 200, body: cert };
    });
    this.on("GET", "/apps/{app}/certificates/{hostname}", ({ params }) => ok(m.getCertificate(params[0], params[1])));
    this.on("DELETE", "/apps/{app}/certificates/{hostname}", ({ params }) => {
      m.deleteCertificate(params[0], params[1]);
      return { status: 204 };
    });
  }

  /** The lost region a request addresses, if any: a machine or volume there, or a create there. */
  private lostRegionOf(method: string, path: string, body: Json): string | undefined {
    if (this.model.lostRegions.size === 0) return undefined;
    const target = /^\/apps\/([^/]+)\/(machines|volumes)(?:\/([^/]+))?/.exec(path);
    if (!target) return undefined;
    const [, app, kind, id] = target;
    const region = id !== undefined ? this.model.regionOf(decodeURIComponent(app), kind === "machines" ? "machine" : "volume", decodeURIComponent(id)) : method === "POST" && typeof body.region === "string" ? body.region : undefined;
    return region !== undefined && this.model.lostRegions.has(region) ? region : undefined;
  }

  /** A one-shot machine runs its job once it has started, then exits with the runner's code. */
  private startJob(app: string, created: Json): void {
    const config = (created.config ?? {}) as Json;
    const restart = config.restart as Json | undefined;
    if (restart?.policy !== "no" || created.state === "stopped" || created.state === "created") return;
    const job: MachineJob = { app, machineId: String(created.id), name: String(created.name), region: String(created.region), config };
    void (async () => {
      await sleep(this.settings.machineStartMs);
      let code: number;
      try {
        code = this.settings.jobRunner ? await this.settings.jobRunner(job) : 0;
      } catch (err) {
        this.log(`job ${job.name} in ${app}: the runner failed (${String(err)}); exit 1`);
        code = 1;
      }
      this.model.exitMachine(app, job.machineId, code);
    })();
  }

  private defineControlRoutes(): void {
    const c = this.control;
    const model = this.model;
    c.route("PUT", "/faults", "replace the fault settings (FaultSettings; alwaysFail.path is a regular expression)", ({ body }) => {
      this.setFaults(faultSettings(body));
      return { faults: this.settings.faults };
    });
    c.route("POST", "/lost-answers", "the next matching request(s) are processed, then lose their answer", ({ body }) => {
      this.loseAnswer(lostAnswerRule(body));
    });
    c.route("GET", "/requests", "every API request handled, in order", ({ query }) => this.requests.slice(Number(query.get("since") ?? 0) || 0));
    c.route("POST", "/reset", "back to the start-up settings; the apps stay", () => {
      const initial = structuredClone(this.initial);
      // First, while the settings still name the images that fail now: their machines serve again.
      this.model.setUnhealthyImages(initial.unhealthyImages);
      Object.assign(this.settings, initial);
      this.loser.clear();
      this.setFaults(initial.faults);
      this.setTimeScale(initial.timeScale ?? 1);
      this.metrics.reset();
    });
    c.route("PUT", "/timing", "change machine timings (Timing) and the metrics clock's timeScale", ({ body }) => {
      onlyKeys(body, [...TIMING_KEYS, "timeScale"]);
      if (body.timeScale !== undefined) {
        const scale = optionalNumber(body, "timeScale");
        if (!scale) throw new ControlError(400, "timeScale must be a number above 0 (real time per platform time)");
        this.setTimeScale(scale);
      }
      for (const key of TIMING_KEYS.filter((k) => k !== "unhealthyImages")) {
        const value = optionalNumber(body, key);
        if (value !== undefined) (this.settings as unknown as Record<string, number>)[key] = value;
      }
      if (body.unhealthyImages !== undefined) {
        if (!Array.isArray(body.unhealthyImages) || !body.unhealthyImages.every((i) => typeof i === "string")) {
          throw new ControlError(400, "unhealthyImages must be a list of image names");
        }
        this.model.setUnhealthyImages(body.unhealthyImages as string[]);
      }
      return { timing: { ...Object.fromEntries(TIMING_KEYS.map((k) => [k, this.settings[k]])), timeScale: this.metricsClock.scale } };
    });
    c.route("GET", "/apps/{app}", "the app's secrets version", ({ params }) => fromModel(() => ({ secretsVersion: model.secretsVersion(params[0]) })));
    c.route("GET", "/apps/{app}/machines/{id}", "what the machine runs with and what its last create or update sent", ({ params }) =>
      fromModel(() => model.machineInternals(params[0], params[1])),
    );
    c.route("POST", "/apps/{app}/machines/{id}/autostop", "Fly Proxy stops or suspends the idle machine", ({ params, body }) => {
      onlyKeys(body, ["mode"]);
      const mode = requiredString(body, "mode");
      if (mode !== "stop" && mode !== "suspend") throw new ControlError(400, 'mode must be "stop" or "suspend"');
      fromModel(() => model.autostop(params[0], params[1], mode));
    });
    c.route("POST", "/releases/{release}/misbehave", "machines on this release (metadata sophia_release) answer {errorShare, latencySeconds} of their requests badly from now on; {} makes them behave", ({ params, body }) => {
      onlyKeys(body, ["errorShare", "latencySeconds"]);
      // Only what the body sets: an unset field keeps the machines' normal behaviour.
      const behaviour = Object.fromEntries(["errorShare", "latencySeconds"].flatMap((key) => (body[key] === undefined ? [] : [[key, optionalNumber(body, key)]])));
      this.misbehave(params[0], Object.keys(behaviour).length === 0 ? undefined : behaviour);
    });
    c.route("PUT", "/traffic", "the requests per second every serving machine gets ({requestsPerSecond})", ({ body }) => {
      onlyKeys(body, ["requestsPerSecond"]);
      const requestsPerSecond = optionalNumber(body, "requestsPerSecond");
      if (requestsPerSecond !== undefined) this.setTraffic({ requestsPerSecond });
    });
    c.route("POST", "/regions/{region}/lose", "the region is lost: its machines stop answering, calls for it fail with 503", ({ params }) => {
      this.loseRegion(params[0]);
    });
    c.route("POST", "/regions/{region}/restore", "the region answers again", ({ params }) => {
      this.restoreRegion(params[0]);
    });
  }

  /** GET /wait blocks until the state is reached (200) or the timeout passes (408), like Fly. */
  private async waitFor({ params, query }: RequestContext): Promise<Reply> {
    const wanted = query.get("state") ?? "started";
    if (!["started", "stopped", "suspended", "destroyed"].includes(wanted)) {
      return { status: 400, body: { error: `invalid state "${wanted}"` } };
    }
    const timeoutSeconds = Math.min(60, Number(query.get("timeout") ?? 60) || 60);
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
      if (this.model.waitStatus(params[0], params[1], wanted) === "reached") {
        return { status: 200, body: { ok: true, state: wanted } };
      }
      if (Date.now() >= deadline || !this.server) {
        return { status: 408, body: { error: `deadline_exceeded: machine did not reach state ${wanted} in ${timeoutSeconds}s` } };
      }
      await sleep(5);
    }
  }
}

/** An API request as the control API lists it. */
export interface HandledRequest {
  method: string;
  /** Below /v1. */
  path: string;
  /** When it arrived, in ms since the epoch. */
  at: number;
  /** The answer's status, or how it ended without one. */
  status: number | "pending" | "reset" | "lost" | "dropped";
}

const TIMING_KEYS = ["machineStartMs", "machineStopMs", "checksPassAfterMs", "unhealthyImages", "secretsReadLagMs"] as const;
const FAULT_KEYS = ["rate429", "rate503", "resetRate", "latencyMs", "lostAnswerRate", "retryAfterSeconds", "alwaysFail"] as const;

/** Fault settings from a control request's body. */
function faultSettings(body: Record<string, unknown>): Partial<FaultSettings> {
  onlyKeys(body, FAULT_KEYS);
  const faults: Partial<FaultSettings> = {};
  for (const key of FAULT_KEYS.filter((k) => k !== "alwaysFail")) {
    const value = optionalNumber(body, key);
    if (value !== undefined) faults[key] = value;
  }
  if (body.alwaysFail !== undefined) {
    const fail = body.alwaysFail as Record<string, unknown>;
    if (fail === null || typeof fail !== "object") throw new ControlError(400, "alwaysFail must be {status, error, path?}");
    onlyKeys(fail, ["status", "error", "path"]);
    const status = optionalNumber(fail, "status");
    if (status === undefined || !Number.isInteger(status) || status < 400 || status > 599) throw new ControlError(400, "alwaysFail.status must be an HTTP error status");
    faults.alwaysFail = { status, error: requiredString(fail, "error"), ...(fail.path === undefined ? {} : { path: regex(requiredString(fail, "path"), "alwaysFail.path") }) };
  }
  return faults;
}

/** A model fault (e.g. no such app) as a control answer. */
function fromModel<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof FlyFault) throw new ControlError(err.status === 404 ? 404 : 400, err.message);
    throw err;
  }
}

function minVersion(value: string | null): number | undefined {
  if (value === null || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new FlyFault(400, `min_version must be a whole number, not "${value}"`);
  return n;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (body === undefined || status === 204) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

async function readRaw(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
