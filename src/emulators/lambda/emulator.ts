/**
 * In-memory Lambda Cloud API v1 emulator: the endpoints our client uses, with the platform's
 * rules (one SSH key per launch, regional filesystems, in-use filesystems and rulesets can't be
 * deleted, booting → active → terminating → terminated, capacity per type and region, quota) and
 * fault injection (share of 429/503, latency, connection resets, answers lost after the API acted
 * on any write).
 *
 * Statuses are computed from timestamps, so the emulator runs no timers of its own.
 *
 * Control API (see ../control.ts for the routes both emulators share): besides `/_emulator`,
 * `/_emulator/faults` (body: FaultSettings), `/_emulator/lost-answers`, `/_emulator/requests` and
 * `/_emulator/reset`, the Lambda emulator offers
 *   PUT  /_emulator/timing                   `{bootMs?, terminateMs?, launchIntervalMs?}`
 *   PUT  /_emulator/capacity                 `{type, region, count}`: launchable instances of a type in a region
 *   PUT  /_emulator/quota                    `{maxInstances}`: instances alive at once before global/quota-exceeded
 *   PUT  /_emulator/api-keys                 `{keys: [...]}`: the keys it accepts from now on (e.g. after a rotation)
 *   GET  /_emulator/instances/{id}           `{status, userData}`: what the API never returns
 *   POST /_emulator/instances/{id}/preempt   Lambda reclaims the instance
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { generateKeyPairSync } from "node:crypto";
import type { AddressInfo } from "node:net";
import { AnswerLoser, DEFAULT_SEED, randomString, seededRandom, type LostAnswerRule } from "../random";
import { ControlApi, ControlError, lostAnswerRule, onlyKeys, optionalNumber, requiredString } from "../control";

export interface FaultSettings {
  /** Share of requests (0..1) answered with 429 or 503 instead of being handled. */
  errorRate: number;
  /** Added to every request. */
  latencyMs: number;
  /** Share of requests (0..1) whose connection is dropped without an answer (HTTP server only). */
  resetRate: number;
  /** Share of writes (POST, PUT, PATCH, DELETE; 0..1) that are processed, then lose their answer (HTTP server only). */
  lostAnswerRate: number;
  /** Retry-After sent with injected 429s; omitted when undefined. */
  retryAfterSeconds?: number;
}

export interface LambdaEmulatorSettings {
  /** API keys the emulator accepts. */
  apiKeys: string[];
  /** Time an instance spends booting before it is active. */
  bootMs: number;
  /** Time an instance spends terminating before it is terminated. */
  terminateMs: number;
  /** Launchable instances per type and region; a missing entry means none. */
  capacity: Record<string, Record<string, number>>;
  /** Instances that may be alive at once before `global/quota-exceeded`. */
  maxInstances: number;
  /** Minimum spacing of launches, answered with 429 when broken; 0 disables the check. */
  launchIntervalMs: number;
  faults: FaultSettings;
  /** Seed for the fault dice and ids, so that a run can be repeated. */
  seed: number;
}

export const DEFAULT_EMULATOR_KEY = "lambda-emulator-key";

/** Emulator-owned catalog: prices are the late-2025 ones where known. */
const CATALOG: Record<string, { description: string; gpu: string; cents: number; gpus: number }> = {
  gpu_1x_a10: { description: "1x A10 (24 GB PCIe)", gpu: "A10 (24 GB PCIe)", cents: 75, gpus: 1 },
  gpu_1x_a100: { description: "1x A100 (40 GB PCIe)", gpu: "A100 (40 GB PCIe)", cents: 129, gpus: 1 },
  gpu_1x_a100_sxm4: { description: "1x A100 (40 GB SXM4)", gpu: "A100 (40 GB SXM4)", cents: 129, gpus: 1 },
  gpu_1x_gh200: { description: "1x GH200 (96 GB)", gpu: "GH200 (96 GB)", cents: 149, gpus: 1 },
  gpu_1x_h100_pcie: { description: "1x H100 (80 GB PCIe)", gpu: "H100 (80 GB PCIe)", cents: 249, gpus: 1 },
  gpu_8x_h100_sxm5: { description: "8x H100 (80 GB SXM5)", gpu: "H100 (80 GB SXM5)", cents: 2392, gpus: 8 },
};

const REGIONS: Record<string, string> = {
  "us-west-1": "California, USA",
  "us-west-2": "Arizona, USA",
  "us-west-3": "Utah, USA",
  "us-east-1": "Virginia, USA",
  "us-east-2": "Washington DC, USA",
  "us-east-3": "Georgia, USA",
  "us-south-1": "Texas, USA",
  "us-south-2": "North Texas, USA",
  "us-south-3": "Central Texas, USA",
  "us-midwest-1": "Illinois, USA",
  "us-midwest-2": "Ohio, USA",
  "europe-central-1": "Germany",
  "asia-south-1": "India",
  "asia-northeast-1": "Tokyo, Japan",
  "asia-northeast-2": "Seoul, South Korea",
  "australia-east-1": "Australia",
  "me-west-1": "Israel",
};

export function defaultEmulatorSettings(): LambdaEmulatorSettings {
  const capacity: Record<string, Record<string, number>> = {};
  for (const type of Object.keys(CATALOG)) capacity[type] = { "us-west-1": 4, "us-east-1": 4 };
  return {
    apiKeys: [DEFAULT_EMULATOR_KEY],
    bootMs: 40,
    terminateMs: 20,
    capacity,
    maxInstances: 20,
    launchIntervalMs: 0,
    faults: { errorRate: 0, latencyMs: 0, resetRate: 0, lostAnswerRate: 0 },
    seed: DEFAULT_SEED,
  };
}

export interface EmulatorRequest {
  method: string;
  /** Path including the `/api/v1` prefix. */
  path: string;
  authorization?: string;
  body?: unknown;
}

export interface EmulatorResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface InstanceRecord {
  id: string;
  name?: string;
  type: string;
  region: string;
  sshKeyNames: string[];
  fileSystemNames: string[];
  firewallRulesetIds: string[];
  tags: { key: string; value: string }[];
  userData?: string;
  launchedAt: number;
  terminatedAt?: number;
  preempted: boolean;
  ip: string;
  privateIp: string;
  hostname: string;
}

interface SshKeyRecord {
  id: string;
  name: string;
  publicKey: string;
}

interface FilesystemRecord {
  id: string;
  name: string;
  region: string;
  created: string;
}

interface RuleRecord {
  protocol: string;
  port_range?: [number, number];
  source_network: string;
  description: string;
}

interface RulesetRecord {
  id: string;
  name: string;
  region: string;
  rules: RuleRecord[];
  created: string;
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly suggestion?: string,
  ) {
    super(message);
  }
}

const ALIVE = ["booting", "active", "unhealthy", "terminating"];
const PROTOCOLS = ["tcp", "udp", "icmp", "all"];

export interface RunningEmulator {
  /** Base URL to use as LAMBDA_API_URL, ending in /api/v1. */
  url: string;
  port: number;
  close(): Promise<void>;
}

export class LambdaEmulator {
  readonly settings: LambdaEmulatorSettings;
  /** Every API request handled, in order: when it arrived and how it was answered. */
  readonly log: { method: string; path: string; status: number | "reset"; at: number }[] = [];
  /** The routes under /_emulator (see the header). */
  readonly control = new ControlApi("lambda");
  /** The settings it started with, for `POST /_emulator/reset`. */
  private readonly initial: LambdaEmulatorSettings;
  private readonly instances = new Map<string, InstanceRecord>();
  private readonly sshKeys = new Map<string, SshKeyRecord>();
  private readonly filesystems = new Map<string, FilesystemRecord>();
  private readonly rulesets = new Map<string, RulesetRecord>();
  private lastLaunchAt = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;
  private random: () => number;
  private readonly idRandom: () => number;
  private readonly loser: AnswerLoser;

  constructor(settings: Partial<LambdaEmulatorSettings> = {}, deps: { now?: () => number } = {}) {
    const defaults = defaultEmulatorSettings();
    this.settings = { ...defaults, ...settings, faults: { ...defaults.faults, ...settings.faults } };
    this.now = deps.now ?? Date.now;
    this.random = seededRandom(this.settings.seed);
    this.idRandom = seededRandom(this.settings.seed + 1);
    this.loser = new AnswerLoser(seededRandom(this.settings.seed + 2));
    this.initial = structuredClone(this.settings);
    this.defineControlRoutes();
  }

  /** Changes fault injection; the dice restart from the seed, so a fault run repeats whatever ran before it. */
  setFaults(faults: Partial<FaultSettings>): void {
    this.settings.faults = { ...this.settings.faults, ...faults };
    this.random = seededRandom(this.settings.seed);
    this.loser.reseed(seededRandom(this.settings.seed + 2));
  }

  /** The next matching request(s) are processed, then the connection drops before the answer. */
  loseAnswer(rule: LostAnswerRule): void {
    this.loser.add(rule);
  }

  private newId(): string {
    return randomString(this.idRandom, 32);
  }

  // ---- test helpers -------------------------------------------------------------------------

  setCapacity(type: string, region: string, count: number): void {
    this.settings.capacity[type] = { ...this.settings.capacity[type], [region]: count };
  }

  /** Lambda reclaims the instance, as it can for capacity reasons. */
  preempt(id: string): void {
    const instance = this.mustFindInstance(id);
    if (this.status(instance) !== "preempted") this.release(instance);
    instance.preempted = true;
  }

  instanceStatus(id: string): string | undefined {
    const instance = this.instances.get(id);
    return instance && this.status(instance);
  }

  /** The user data an instance was launched with (the API never returns it). */
  userDataOf(id: string): string | undefined {
    return this.instances.get(id)?.userData;
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  /** Serves the emulator on node:http; port 0 picks a free port. */
  async listen(port = 0, host = "127.0.0.1"): Promise<RunningEmulator> {
    const server: Server = createServer((req, res) => {
      void (async () => {
        if (ControlApi.owns(new URL(req.url ?? "/", "http://emulator").pathname)) return this.control.serve(req, res);
        const raw = await readRequestBody(req);
        let body: unknown;
        try {
          body = raw === "" ? undefined : JSON.parse(raw);
        } catch {
          res.writeHead(400, { "content-type": "application/json" });
          res.end(JSON.stringify(errorBody("global/invalid-parameters", "Request body is not valid JSON.")));
          return;
        }
        const answer = await this.handle({ method: req.method ?? "GET", path: req.url ?? "/", authorization: req.headers.authorization, body });
        if (answer === "reset") {
          req.socket.destroy();
          return;
        }
        res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
        res.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
      })();
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    return {
      url: `http://${host}:${address.port}/api/v1`,
      port: address.port,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }

  /** Handles one request, faults included; "reset" means drop the connection. */
  async handle(req: EmulatorRequest): Promise<EmulatorResponse | "reset"> {
    const path = new URL(req.path, "http://emulator").pathname;
    const at = this.now();
    const answer = await this.handleInner(req, path);
    this.log.push({ method: req.method, path, status: answer === "reset" ? "reset" : answer.status, at });
    return answer;
  }

  private defineControlRoutes(): void {
    const c = this.control;
    c.route("PUT", "/faults", "replace the fault settings (FaultSettings)", ({ body }) => {
      onlyKeys(body, ["errorRate", "latencyMs", "resetRate", "lostAnswerRate", "retryAfterSeconds"]);
      const faults: FaultSettings = { errorRate: 0, latencyMs: 0, resetRate: 0, lostAnswerRate: 0 };
      for (const key of ["errorRate", "latencyMs", "resetRate", "lostAnswerRate"] as const) faults[key] = optionalNumber(body, key) ?? 0;
      const retryAfter = optionalNumber(body, "retryAfterSeconds");
      if (retryAfter !== undefined) faults.retryAfterSeconds = retryAfter;
      this.settings.faults = faults;
      this.setFaults({});
      return { faults: this.settings.faults };
    });
    c.route("POST", "/lost-answers", "the next matching request(s) are processed, then lose their answer", ({ body }) => {
      const rule = lostAnswerRule(body);
      // Paths are matched below /api/v1, as the API's own routes are.
      this.loseAnswer(rule);
    });
    c.route("GET", "/requests", "every API request handled, in order", ({ query }) => this.log.slice(Number(query.get("since") ?? 0) || 0));
    c.route("POST", "/reset", "back to the start-up settings; what the API holds stays", () => {
      Object.assign(this.settings, structuredClone(this.initial));
      this.loser.clear();
      this.setFaults({});
    });
    c.route("PUT", "/timing", "change bootMs, terminateMs or launchIntervalMs", ({ body }) => {
      onlyKeys(body, ["bootMs", "terminateMs", "launchIntervalMs"]);
      for (const key of ["bootMs", "terminateMs", "launchIntervalMs"] as const) {
        const value = optionalNumber(body, key);
        if (value !== undefined) this.settings[key] = value;
      }
      return { bootMs: this.settings.bootMs, terminateMs: this.settings.terminateMs, launchIntervalMs: this.settings.launchIntervalMs };
    });
    c.route("PUT", "/capacity", "launchable instances of a type in a region", ({ body }) => {
      onlyKeys(body, ["type", "region", "count"]);
      const type = requiredString(body, "type");
      const region = requiredString(body, "region");
      if (!(type in CATALOG)) throw new ControlError(400, `unknown instance type "${type}"; known: ${Object.keys(CATALOG).join(", ")}`);
      if (!(region in REGIONS)) throw new ControlError(400, `unknown region "${region}"`);
      const count = optionalNumber(body, "count");
      if (count === undefined || !Number.isInteger(count)) throw new ControlError(400, "count must be a whole number ≥ 0");
      this.setCapacity(type, region, count);
    });
    c.route("PUT", "/quota", "instances alive at once before global/quota-exceeded", ({ body }) => {
      onlyKeys(body, ["maxInstances"]);
      const max = optionalNumber(body, "maxInstances");
      if (max === undefined || !Number.isInteger(max)) throw new ControlError(400, "maxInstances must be a whole number ≥ 0");
      this.settings.maxInstances = max;
    });
    c.route("PUT", "/api-keys", "the API keys it accepts from now on", ({ body }) => {
      onlyKeys(body, ["keys"]);
      const keys = body.keys;
      if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === "string" && k !== "")) {
        throw new ControlError(400, "keys must be a non-empty list of strings");
      }
      this.settings.apiKeys = keys as string[];
    });
    c.route("GET", "/instances/{id}", "an instance's status and the user data it was launched with", ({ params }) => {
      const instance = this.instances.get(params[0]);
      if (!instance) throw new ControlError(404, `no instance ${params[0]}`);
      return { status: this.status(instance), userData: instance.userData ?? null };
    });
    c.route("POST", "/instances/{id}/preempt", "Lambda reclaims the instance", ({ params }) => {
      if (!this.instances.has(params[0])) throw new ControlError(404, `no instance ${params[0]}`);
      this.preempt(params[0]);
    });
  }

  private async handleInner(req: EmulatorRequest, path: string): Promise<EmulatorResponse | "reset"> {
    const { faults } = this.settings;
    if (faults.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, faults.latencyMs));
    if (faults.resetRate > 0 && this.random() < faults.resetRate) return "reset";
    if (faults.errorRate > 0 && this.random() < faults.errorRate) {
      if (this.random() < 0.5) {
        const headers: Record<string, string> =
          faults.retryAfterSeconds === undefined ? {} : { "retry-after": String(faults.retryAfterSeconds) };
        return { status: 429, headers, body: errorBody("global/rate-limited", "Too many requests.", "Slow down and try again.") };
      }
      return { status: 503, body: errorBody("provider/internal-unavailable", "Provider unavailable", "Try again shortly") };
    }
    if (!this.authorized(req.authorization)) {
      return {
        status: 401,
        body: errorBody("global/invalid-api-key", "API key was invalid, expired, or deleted.", "Check your API key or create a new one, then try again."),
      };
    }
    try {
      const data = this.route(req.method, path.replace(/^\/api\/v1/, ""), req.body);
      if (this.loser.loses(req.method, path.replace(/^\/api\/v1/, ""), faults.lostAnswerRate)) return "reset";
      return { status: 200, body: { data } };
    } catch (err) {
      if (err instanceof HttpFailure) return { status: err.status, body: errorBody(err.code, err.message, err.suggestion) };
      return { status: 500, body: errorBody("global/internal-error", "An internal server error occurred.") };
    }
  }

  private authorized(header: string | undefined): boolean {
    if (!header) return false;
    const [scheme, value = ""] = header.split(" ", 2);
    if (scheme === "Bearer") return this.settings.apiKeys.includes(value);
    if (scheme === "Basic") {
      // Basic is "<key>:" base64-encoded, or the bare key.
      const decoded = Buffer.from(value, "base64").toString("utf8").replace(/:$/, "");
      return this.settings.apiKeys.includes(decoded) || this.settings.apiKeys.includes(value);
    }
    return false;
  }

  private route(method: string, path: string, body: unknown): unknown {
    const id = (prefix: string) => decodeURIComponent(path.slice(prefix.length));
    if (method === "GET" && path === "/instance-types") return this.instanceTypes();
    if (method === "GET" && path === "/instances") {
      return [...this.instances.values()].filter((i) => ALIVE.includes(this.status(i))).map((i) => this.instanceView(i));
    }
    if (method === "GET" && path.startsWith("/instances/")) return this.instanceView(this.mustFindInstance(id("/instances/")));
    if (method === "POST" && path.startsWith("/instances/")) return this.rename(id("/instances/"), body);
    if (method === "POST" && path === "/instance-operations/launch") return this.launch(body);
    if (method === "POST" && path === "/instance-operations/terminate") return this.terminate(body);
    if (method === "GET" && path === "/ssh-keys") return [...this.sshKeys.values()].map(sshKeyView);
    if (method === "POST" && path === "/ssh-keys") return this.addSshKey(body);
    if (method === "DELETE" && path.startsWith("/ssh-keys/")) return this.deleteSshKey(id("/ssh-keys/"));
    if (method === "GET" && path === "/file-systems") return [...this.filesystems.values()].map((fs) => this.filesystemView(fs));
    if (method === "POST" && path === "/filesystems") return this.createFilesystem(body);
    if (method === "DELETE" && path.startsWith("/filesystems/")) return this.deleteFilesystem(id("/filesystems/"));
    if (method === "GET" && path === "/firewall-rulesets") return [...this.rulesets.values()].map((r) => this.rulesetView(r));
    if (method === "POST" && path === "/firewall-rulesets") return this.createRuleset(body);
    if (path.startsWith("/firewall-rulesets/")) {
      const rulesetId = id("/firewall-rulesets/");
      if (method === "GET") return this.rulesetView(this.mustFindRuleset(rulesetId));
      if (method === "PATCH") return this.patchRuleset(rulesetId, body);
      if (method === "DELETE") return this.deleteRuleset(rulesetId);
    }
    throw new HttpFailure(404, "global/object-does-not-exist", `No route for ${method} ${path}.`);
  }

  // ---- instances ----------------------------------------------------------------------------

  private status(instance: InstanceRecord): string {
    const now = this.now();
    if (instance.preempted) return "preempted";
    if (instance.terminatedAt !== undefined) return now - instance.terminatedAt >= this.settings.terminateMs ? "terminated" : "terminating";
    return now - instance.launchedAt >= this.settings.bootMs ? "active" : "booting";
  }

  private mustFindInstance(id: string): InstanceRecord {
    const instance = this.instances.get(id);
    if (!instance) throw new HttpFailure(404, "global/object-does-not-exist", "Specified instance does not exist.");
    return instance;
  }

  private instanceTypes(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const name of Object.keys(CATALOG)) {
      const regions = Object.entries(this.settings.capacity[name] ?? {})
        .filter(([, count]) => count > 0)
        .map(([region]) => regionView(region));
      out[name] = { instance_type: typeView(name), regions_with_capacity_available: regions };
    }
    return out;
  }

  private instanceView(instance: InstanceRecord): Record<string, unknown> {
    const status = this.status(instance);
    const running = status === "active" || status === "unhealthy";
    const view: Record<string, unknown> = {
      id: instance.id,
      status,
      ssh_key_names: instance.sshKeyNames,
      file_system_names: instance.fileSystemNames,
      file_system_mounts: instance.fileSystemNames.map((name) => ({
        mount_point: `/lambda/nfs/${name}`,
        file_system_id: [...this.filesystems.values()].find((fs) => fs.name === name)?.id ?? "",
      })),
      region: regionView(instance.region),
      instance_type: typeView(instance.type),
      hostname: instance.hostname,
      tags: instance.tags,
      firewall_rulesets: instance.firewallRulesetIds.map((id) => ({ id })),
      actions: Object.fromEntries(
        ["migrate", "rebuild", "restart", "cold_reboot", "terminate"].map((action) => [action, { available: running }]),
      ),
    };
    if (instance.name !== undefined) view.name = instance.name;
    // Addresses appear once the instance is up, as on the real platform.
    if (status !== "booting") {
      view.ip = instance.ip;
      view.private_ip = instance.privateIp;
    }
    return view;
  }

  private rename(id: string, body: unknown): unknown {
    const instance = this.mustFindInstance(id);
    const { name } = asObject(body);
    if (typeof name !== "string" || name.length > 64) invalid("name must be a string of at most 64 characters.");
    instance.name = name;
    return this.instanceView(instance);
  }

  private launch(body: unknown): unknown {
    const req = asObject(body);
    const now = this.now();
    if (this.settings.launchIntervalMs > 0 && now - this.lastLaunchAt < this.settings.launchIntervalMs) {
      throw new HttpFailure(429, "global/rate-limited", "Launch rate limit exceeded.", "Wait before launching again.");
    }
    const region = req.region_name;
    const type = req.instance_type_name;
    if (typeof region !== "string" || !(region in REGIONS)) invalid(`Unknown region "${String(region)}".`);
    if (typeof type !== "string" || !(type in CATALOG)) invalid(`Unknown instance type "${String(type)}".`);
    const keys = req.ssh_key_names;
    if (!Array.isArray(keys) || keys.length !== 1 || typeof keys[0] !== "string") {
      invalid("Exactly one SSH key name must be specified.");
    }
    const keyName = keys[0] as string;
    if (![...this.sshKeys.values()].some((key) => key.name === keyName)) {
      throw new HttpFailure(404, "global/object-does-not-exist", `SSH key "${keyName}" does not exist.`, "Check the SSH key name.");
    }
    const fsNames = optionalStrings(req.file_system_names, "file_system_names");
    for (const name of fsNames) {
      const fs = [...this.filesystems.values()].find((f) => f.name === name);
      if (!fs) throw new HttpFailure(404, "global/object-does-not-exist", `Filesystem "${name}" does not exist.`, "Check the filesystem name.");
      if (fs.region !== region) {
        throw new HttpFailure(400, "instance-operations/launch/file-system-in-wrong-region",
          `Filesystem "${name}" is in ${fs.region}, not ${region}.`, "Launch in the filesystem's region.");
      }
    }
    const rulesetIds = Array.isArray(req.firewall_rulesets) ? req.firewall_rulesets.map((entry) => String(asObject(entry).id)) : [];
    for (const rulesetId of rulesetIds) {
      const ruleset = this.rulesets.get(rulesetId);
      if (!ruleset) throw new HttpFailure(404, "global/object-does-not-exist", `Firewall ruleset "${rulesetId}" does not exist.`, "Check the ruleset id.");
      if (ruleset.region !== region) invalid(`Firewall ruleset "${rulesetId}" is in ${ruleset.region}, not ${region}.`);
    }
    const tags = Array.isArray(req.tags) ? req.tags.map((tag) => asObject(tag)) : [];
    for (const tag of tags) {
      if (typeof tag.key !== "string" || !/^[a-z][a-z0-9-:]+$/.test(tag.key) || typeof tag.value !== "string") invalid("Invalid tag.");
    }
    if (req.name !== undefined && (typeof req.name !== "string" || req.name.length > 64)) invalid("name must be at most 64 characters.");
    if (req.user_data !== undefined && typeof req.user_data !== "string") invalid("user_data must be a string.");
    const alive = [...this.instances.values()].filter((i) => ALIVE.includes(this.status(i))).length;
    if (alive >= this.settings.maxInstances) {
      throw new HttpFailure(400, "global/quota-exceeded", "Quota exceeded.", "Contact Support to increase your quota.");
    }
    const available = this.settings.capacity[type]?.[region] ?? 0;
    if (available <= 0) {
      throw new HttpFailure(400, "instance-operations/launch/insufficient-capacity", "Not enough capacity to fulfill launch request.",
        "Choose a different region or instance type, or try again later.");
    }
    this.setCapacity(type, region, available - 1);
    this.lastLaunchAt = now;
    const n = this.instances.size + 2;
    const instance: InstanceRecord = {
      id: this.newId(),
      name: req.name as string | undefined,
      type,
      region,
      sshKeyNames: [keyName],
      fileSystemNames: fsNames,
      firewallRulesetIds: rulesetIds,
      tags: tags.map((tag) => ({ key: String(tag.key), value: String(tag.value) })),
      userData: req.user_data as string | undefined,
      launchedAt: now,
      preempted: false,
      ip: `198.51.100.${n % 250}`,
      privateIp: `10.0.${Math.floor(n / 250)}.${n % 250}`,
      hostname: `inst-${n}`,
    };
    this.instances.set(instance.id, instance);
    return { instance_ids: [instance.id] };
  }

  private terminate(body: unknown): unknown {
    const ids = optionalStrings(asObject(body).instance_ids, "instance_ids");
    if (ids.length === 0) invalid("instance_ids must list at least one instance.");
    const instances = ids.map((id) => this.mustFindInstance(id));
    for (const instance of instances) {
      if (instance.terminatedAt === undefined && !instance.preempted) {
        instance.terminatedAt = this.now();
        this.release(instance);
      }
    }
    return { terminated_instances: instances.map((instance) => this.instanceView(instance)) };
  }

  private release(instance: InstanceRecord): void {
    this.setCapacity(instance.type, instance.region, (this.settings.capacity[instance.type]?.[instance.region] ?? 0) + 1);
  }

  // ---- SSH keys -----------------------------------------------------------------------------

  private addSshKey(body: unknown): unknown {
    const { name, public_key: publicKey } = asObject(body);
    if (typeof name !== "string" || name.length < 1 || name.length > 64) invalid("name must be 1 to 64 characters.");
    if ([...this.sshKeys.values()].some((key) => key.name === name)) invalid(`An SSH key named "${name}" already exists.`);
    if (publicKey !== undefined) {
      if (typeof publicKey !== "string" || !/^(ssh-|ecdsa-|sk-)\S+ \S+/.test(publicKey)) invalid("public_key is not a valid SSH public key.");
      const key = { id: this.newId(), name, publicKey };
      this.sshKeys.set(key.id, key);
      return sshKeyView(key);
    }
    const pair = generateKeyPairSync("ed25519");
    const raw = pair.publicKey.export({ format: "der", type: "spki" }).subarray(-32);
    const key = { id: this.newId(), name, publicKey: `ssh-ed25519 ${sshWireKey(raw)} ${name}` };
    this.sshKeys.set(key.id, key);
    return { ...sshKeyView(key), private_key: pair.privateKey.export({ format: "pem", type: "pkcs8" }).toString() };
  }

  private deleteSshKey(id: string): unknown {
    if (!this.sshKeys.delete(id)) throw new HttpFailure(404, "global/object-does-not-exist", "SSH key was not found.");
    return {};
  }

  // ---- filesystems --------------------------------------------------------------------------

  private inUse(fs: FilesystemRecord): boolean {
    return [...this.instances.values()].some((i) => ALIVE.includes(this.status(i)) && i.fileSystemNames.includes(fs.name));
  }

  private filesystemView(fs: FilesystemRecord): Record<string, unknown> {
    return {
      id: fs.id,
      name: fs.name,
      mount_point: `/lambda/nfs/${fs.name}`,
      created: fs.created,
      created_by: { id: "emulator-user", email: "emulator@example.com", status: "active" },
      is_in_use: this.inUse(fs),
      region: regionView(fs.region),
      bytes_used: 0,
    };
  }

  private createFilesystem(body: unknown): unknown {
    const { name, region } = asObject(body);
    if (typeof name !== "string" || !/^[a-zA-Z]+[0-9a-zA-Z-]*$/.test(name) || name.length > 60) invalid("Invalid filesystem name.");
    if (typeof region !== "string" || !(region in REGIONS)) invalid(`Unknown region "${String(region)}".`);
    if ([...this.filesystems.values()].some((fs) => fs.name === name)) {
      throw new HttpFailure(400, "global/duplicate", `A filesystem named "${name}" already exists.`);
    }
    const fs = { id: this.newId(), name, region, created: new Date(this.now()).toISOString() };
    this.filesystems.set(fs.id, fs);
    return this.filesystemView(fs);
  }

  private deleteFilesystem(id: string): unknown {
    const fs = this.filesystems.get(id);
    if (!fs) throw new HttpFailure(404, "global/object-does-not-exist", "Filesystem was not found.");
    if (this.inUse(fs)) {
      throw new HttpFailure(400, "filesystems/filesystem-in-use", "Filesystem is in use.", "Terminate the instances using it first.");
    }
    this.filesystems.delete(id);
    return { deleted_ids: [id] };
  }

  // ---- firewall rulesets --------------------------------------------------------------------

  private mustFindRuleset(id: string): RulesetRecord {
    const ruleset = this.rulesets.get(id);
    if (!ruleset) {
      throw new HttpFailure(404, "global/object-does-not-exist",
        "Firewall ruleset does not exist or you do not have permission to access it.", "Check your firewall ruleset ID and try again.");
    }
    return ruleset;
  }

  private rulesetInstances(ruleset: RulesetRecord): string[] {
    return [...this.instances.values()]
      .filter((i) => ALIVE.includes(this.status(i)) && i.firewallRulesetIds.includes(ruleset.id))
      .map((i) => i.id);
  }

  private rulesetView(ruleset: RulesetRecord): Record<string, unknown> {
    return {
      id: ruleset.id,
      name: ruleset.name,
      region: regionView(ruleset.region),
      rules: ruleset.rules,
      created: ruleset.created,
      instance_ids: this.rulesetInstances(ruleset),
    };
  }

  private createRuleset(body: unknown): unknown {
    const { name, region, rules } = asObject(body);
    if (typeof name !== "string" || name.length > 64) invalid("name must be at most 64 characters.");
    if (typeof region !== "string" || !(region in REGIONS)) invalid(`Unknown region "${String(region)}".`);
    const ruleset = { id: this.newId(), name, region, rules: parseRules(rules), created: new Date(this.now()).toISOString() };
    this.rulesets.set(ruleset.id, ruleset);
    return this.rulesetView(ruleset);
  }

  private patchRuleset(id: string, body: unknown): unknown {
    const ruleset = this.mustFindRuleset(id);
    const { name, rules } = asObject(body);
    if (name !== undefined) {
      if (typeof name !== "string" || name.length > 64) invalid("name must be at most 64 characters.");
      ruleset.name = name;
    }
    if (rules !== undefined) ruleset.rules = parseRules(rules);
    return this.rulesetView(ruleset);
  }

  private deleteRuleset(id: string): unknown {
    const ruleset = this.mustFindRuleset(id);
    if (this.rulesetInstances(ruleset).length > 0) {
      throw new HttpFailure(400, "firewall-rulesets/firewall-ruleset-in-use", "Firewall ruleset is in use by one or more instances.",
        "Terminate all instances that are using the ruleset before deleting it.");
    }
    this.rulesets.delete(id);
    return {};
  }
}

// ---- helpers ----------------------------------------------------------------------------------

function errorBody(code: string, message: string, suggestion?: string): unknown {
  return { error: suggestion === undefined ? { code, message } : { code, message, suggestion } };
}

function invalid(message: string): never {
  throw new HttpFailure(400, "global/invalid-parameters", message);
}

function asObject(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) invalid("Request body must be a JSON object.");
  return value as Record<string, unknown>;
}

function optionalStrings(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) invalid(`${field} must be a list of strings.`);
  return value as string[];
}

function parseRules(value: unknown): RuleRecord[] {
  if (!Array.isArray(value)) invalid("rules must be a list.");
  return (value as unknown[]).map((item, index) => {
    const rule = asObject(item);
    const at = `rules[${index}]`;
    if (typeof rule.protocol !== "string" || !PROTOCOLS.includes(rule.protocol)) invalid(`${at}.protocol must be one of ${PROTOCOLS.join(", ")}.`);
    const range = rule.port_range;
    if (rule.protocol === "icmp") {
      if (range !== undefined) invalid(`${at}.port_range is not allowed for icmp.`);
    } else if (
      !Array.isArray(range) || range.length !== 2 ||
      !range.every((port) => Number.isInteger(port) && port >= 1 && port <= 65535) || range[0] > range[1]
    ) {
      invalid(`${at}.port_range must be [min, max] within 1..65535.`);
    }
    if (typeof rule.source_network !== "string" || !/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(rule.source_network)) {
      invalid(`${at}.source_network must be an IPv4 CIDR.`);
    }
    if (typeof rule.description !== "string" || rule.description.length > 128) invalid(`${at}.description is required.`);
    const network = rule.source_network.includes("/") ? rule.source_network : `${rule.source_network}/32`;
    const out: RuleRecord = { protocol: rule.protocol, source_network: network, description: rule.description };
    if (Array.isArray(range)) out.port_range = [range[0] as number, range[1] as number];
    return out;
  });
}

function regionView(name: string): { name: string; description: string } {
  return { name, description: REGIONS[name] ?? name };
}

function typeView(name: string): Record<string, unknown> {
  const spec = CATALOG[name];
  if (!spec) return { name, description: name, gpu_description: name, price_cents_per_hour: 0, specs: { vcpus: 0, memory_gib: 0, storage_gib: 0, gpus: 0 } };
  return {
    name,
    description: spec.description,
    gpu_description: spec.gpu,
    price_cents_per_hour: spec.cents,
    specs: { vcpus: 26 * spec.gpus, memory_gib: 200 * spec.gpus, storage_gib: 1024 * spec.gpus, gpus: spec.gpus },
  };
}

function sshKeyView(key: SshKeyRecord): Record<string, unknown> {
  return { id: key.id, name: key.name, public_key: key.publicKey };
}

/** OpenSSH wire encoding of an ed25519 public key: string "ssh-ed25519", string key. */
function sshWireKey(raw: Buffer): string {
  const part = (buf: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, buf.length]), buf]);
  return Buffer.concat([part(Buffer.from("ssh-ed25519")), part(raw)]).toString("base64");
}


async function readRequestBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
