/**
 * The in-memory Fly platform behind the emulator: apps, machines, volumes, secrets, IPs and
 * certificates, with the rules the real platform enforces. Every rule violation throws a
 * FlyFault carrying the status and `{"error": ...}` text the real API would answer with.
 */
import { createHash } from "node:crypto";
import { randomString } from "../random";

export class FlyFault extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const EMULATED_REGIONS = [
  "ams", "arn", "atl", "bog", "bom", "bos", "cdg", "den", "dfw", "ewr", "eze", "fra", "gdl", "gig", "gru", "hkg",
  "iad", "jnb", "lax", "lhr", "mad", "mia", "nrt", "ord", "otp", "phx", "qro", "scl", "sea", "sin", "sjc", "syd",
  "waw", "yul", "yyz",
];

export type MachineState =
  | "created" | "starting" | "started" | "stopping" | "stopped" | "suspended" | "replacing" | "destroyed";

export interface Timing {
  /** How long a machine takes to start (or restart after an update). */
  machineStartMs: number;
  machineStopMs: number;
  /** Health checks report "passing" this long after the machine started. */
  checksPassAfterMs: number;
  /** Machines running one of these images never pass their checks. */
  unhealthyImages: string[];
  /**
   * Secrets are eventually consistent: a list without `min_version` shows the newest version
   * written at least this long ago; with `min_version` it waits for nothing and shows the newest.
   */
  secretsReadLagMs: number;
}

interface Lease {
  nonce: string;
  description: string;
  expires_at: number;
  owner: string;
  version: string;
}

interface Machine {
  id: string;
  name: string;
  region: string;
  config: Record<string, unknown>;
  state: MachineState;
  transition?: { to: MachineState; at: number };
  startedAt?: number;
  instance_id: string;
  private_ip: string;
  secrets_version: number;
  /** min_secrets_version of the last create or update, as sent (undefined when absent). */
  min_secrets_version_sent?: number;
  lease?: Lease;
  created_at: string;
  updated_at: string;
  /** Newest first, as Fly lists them; only exits are recorded here. */
  events: Json[];
}

interface Volume {
  id: string;
  name: string;
  region: string;
  zone: string;
  size_gb: number;
  encrypted: boolean;
  snapshot_retention: number;
  auto_backup_enabled: boolean;
  // null when unattached: the OpenAPI document says string, fly-go's Volume reads a *string.
  attached_machine_id: string | null;
  state: string;
  created_at: string;
}

interface Secret {
  value: string;
  digest: string;
  created_at: string;
  updated_at: string;
}

interface Ip {
  ip: string;
  type: "shared_v4" | "v4" | "v6" | "private_v6";
  region: string;
  shared: boolean;
  network?: string;
  service_name?: string;
  created_at: string;
}

interface Certificate {
  hostname: string;
  created_at: string;
  status: string;
  configured: boolean;
  challengeToken: string;
}

interface App {
  id: string;
  name: string;
  org: string;
  network: string;
  deployed: boolean;
  machines: Map<string, Machine>;
  volumes: Map<string, Volume>;
  secrets: Map<string, Secret>;
  secretsVersion: number;
  /** Recent versions of the secrets, newest last, for reads that lag behind (see secretsReadLagMs). */
  secretsHistory: { version: number; at: number; secrets: Map<string, Secret> }[];
  ips: Ip[];
  certificates: Map<string, Certificate>;
}

type Json = Record<string, unknown>;

const ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** What the model tells a listener after a machine changes (see `onMachineChange`). */
export interface MachineServing {
  app: string;
  org: string;
  id: string;
  region: string;
  /** `config.metadata.sophia_release`: the release a misbehaviour is set for. */
  release: string | undefined;
  /** Real time (ms) from which the machine serves (started, checks passing), or undefined when it stops serving. */
  servingFrom: number | undefined;
  /** Real time (ms) of the change. */
  at: number;
}

export class FlyModel {
  readonly apps = new Map<string, App>();
  /** Regions that are down: their machines and volumes answer nothing (see FlyEmulator.loseRegion). */
  readonly lostRegions = new Set<string>();
  private counter = 0;
  /** Told after a machine starts, changes, stops or goes: the traffic model listens. Not an API endpoint. */
  onMachineChange?: (change: MachineServing) => void;

  constructor(
    readonly timing: Timing,
    private readonly random: () => number,
    private readonly now: () => number = Date.now,
  ) {}

  // ---- apps ----

  createApp(body: Json): void {
    const name = str(body.name);
    const org = str(body.org_slug);
    if (!name || !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) {
      throw new FlyFault(400, "Name may only contain lowercase letters, numbers, and dashes");
    }
    if (!org) throw new FlyFault(400, "org_slug is required");
    if (this.apps.has(name)) throw new FlyFault(422, "Name has already been taken");
    this.apps.set(name, {
      id: this.id(""),
      name,
      org,
      network: str(body.network) ?? "default",
      deployed: false,
      machines: new Map(),
      volumes: new Map(),
      secrets: new Map(),
      secretsVersion: 0,
      secretsHistory: [{ version: 0, at: 0, secrets: new Map() }],
      ips: [],
      certificates: new Map(),
    });
  }

  showApp(name: string): Json {
    const app = this.app(name);
    const live = [...app.machines.values()].filter((m) => this.settle(m).state !== "destroyed");
    return {
      id: app.id,
      name: app.name,
      status: app.deployed ? "deployed" : "pending",
      network: app.network,
      organization: { slug: app.org, name: app.org },
      machine_count: live.length,
      volume_count: app.volumes.size,
    };
  }

  deleteApp(name: string): void {
    this.app(name);
    this.apps.delete(name);
  }

  // ---- volumes ----

  listVolumes(appName: string): Json[] {
    return [...this.app(appName).volumes.values()].map((v) => this.showVolume(v));
  }

  getVolume(appName: string, id: string): Json {
    return this.showVolume(this.volume(this.app(appName), id));
  }

  createVolume(appName: string, body: Json): Json {
    const app = this.app(appName);
    const name = str(body.name);
    if (!name || !/^[a-zA-Z0-9_]{1,30}$/.test(name)) {
      throw new FlyFault(400, "Volume name must consist of letters, numbers and underscores, at most 30 characters");
    }
    const region = this.region(body.region);
    const size = body.size_gb === undefined ? 3 : body.size_gb;
    if (!Number.isInteger(size) || (size as number) < 1 || (size as number) > 500) {
      throw new FlyFault(400, "size_gb must be an integer between 1 and 500");
    }
    const volume: Volume = {
      id: this.id("vol_"),
      name,
      region,
      zone: `${region}-${(this.counter % 4).toString(16)}`,
      size_gb: size as number,
      encrypted: bool(body.encrypted) ?? true,
      snapshot_retention: this.retention(body.snapshot_retention) ?? 5,
      auto_backup_enabled: bool(body.auto_backup_enabled) ?? true,
      attached_machine_id: null,
      state: "created",
      created_at: this.timestamp(),
    };
    app.volumes.set(volume.id, volume);
    return this.showVolume(volume);
  }

  updateVolume(appName: string, id: string, body: Json): Json {
    const volume = this.volume(this.app(appName), id);
    const retention = this.retention(body.snapshot_retention);
    if (retention !== undefined) volume.snapshot_retention = retention;
    const backup = bool(body.auto_backup_enabled);
    if (backup !== undefined) volume.auto_backup_enabled = backup;
    return this.showVolume(volume);
  }

  extendVolume(appName: string, id: string, body: Json): Json {
    const app = this.app(appName);
    const volume = this.volume(app, id);
    const size = body.size_gb;
    if (!Number.isInteger(size)) throw new FlyFault(400, "size_gb is required");
    if ((size as number) <= volume.size_gb) {
      throw new FlyFault(400, `size_gb must be greater than the current size (${volume.size_gb}GB); volumes cannot shrink`);
    }
    if ((size as number) > 500) throw new FlyFault(400, "size_gb must be at most 500");
    volume.size_gb = size as number;
    const machine = volume.attached_machine_id ? app.machines.get(volume.attached_machine_id) : undefined;
    return { needs_restart: machine ? this.settle(machine).state === "started" : false, volume: this.showVolume(volume) };
  }

  deleteVolume(appName: string, id: string): Json {
    const app = this.app(appName);
    const volume = this.volume(app, id);
    const machine = volume.attached_machine_id ? app.machines.get(volume.attached_machine_id) : undefined;
    if (machine && this.settle(machine).state !== "destroyed") {
      throw new FlyFault(
        412,
        `failed_precondition: volume ${id} is attached to machine ${machine.id}; destroy the machine before deleting the volume`,
      );
    }
    app.volumes.delete(id);
    return { ...this.showVolume(volume), state: "destroyed" };
  }

  // ---- machines ----

  listMachines(appName: string, includeDeleted: boolean): Json[] {
    return [...this.app(appName).machines.values()]
      .filter((m) => includeDeleted || this.settle(m).state !== "destroyed")
      .map((m) => this.showMachine(m));
  }

  getMachine(appName: string, id: string): Json {
    return this.showMachine(this.machine(this.app(appName), id));
  }

  createMachine(appName: string, body: Json): Json {
    const app = this.app(appName);
    const region = this.region(body.region);
    const config = this.machineConfig(body.config);
    const name = str(body.name) ?? `machine-${this.counter + 1}`;
    for (const other of app.machines.values()) {
      if (other.name === name && this.settle(other).state !== "destroyed") {
        throw new FlyFault(409, `a machine named "${name}" already exists in this app`);
      }
    }
    this.checkFiles(app, config);
    const id = this.id("");
    const volume = this.checkMount(app, config, region, id);
    const machine: Machine = {
      id,
      name,
      region,
      config,
      state: "created",
      instance_id: this.id("").toUpperCase(),
      private_ip: `fdaa:0:1:a7b:${(this.counter % 0xffff).toString(16)}::2`,
      secrets_version: typeof body.min_secrets_version === "number" ? body.min_secrets_version : app.secretsVersion,
      min_secrets_version_sent: typeof body.min_secrets_version === "number" ? body.min_secrets_version : undefined,
      created_at: this.timestamp(),
      updated_at: this.timestamp(),
      events: [],
    };
    if (volume) volume.attached_machine_id = id;
    if (body.skip_launch !== true) this.beginStart(machine, "starting");
    app.machines.set(id, machine);
    app.deployed = true;
    this.changed(app, machine);
    return this.showMachine(machine);
  }

  updateMachine(appName: string, id: string, body: Json, nonce: string | undefined): Json {
    const app = this.app(appName);
    const machine = this.liveMachine(app, id);
    this.requireLease(machine, nonce);
    if (body.region !== undefined && body.region !== machine.region) {
      throw new FlyFault(400, "a machine's region cannot be changed; create a new machine instead");
    }
    if (body.name !== undefined && body.name !== machine.name) {
      throw new FlyFault(400, "a machine's name cannot be changed; create a new machine instead");
    }
    const config = this.machineConfig(body.config);
    this.checkFiles(app, config);
    const volume = this.checkMount(app, config, machine.region, machine.id);
    for (const v of app.volumes.values()) if (v.attached_machine_id === machine.id) v.attached_machine_id = null;
    if (volume) volume.attached_machine_id = machine.id;
    machine.config = config;
    machine.instance_id = this.id("").toUpperCase();
    machine.updated_at = this.timestamp();
    if (typeof body.min_secrets_version === "number") machine.secrets_version = body.min_secrets_version;
    else machine.secrets_version = app.secretsVersion;
    machine.min_secrets_version_sent = typeof body.min_secrets_version === "number" ? body.min_secrets_version : undefined;
    const state = this.settle(machine).state;
    if (state === "started" || state === "starting" || state === "replacing") this.beginStart(machine, "replacing");
    else if (body.skip_launch === true) machine.state = "stopped";
    else this.beginStart(machine, "starting");
    this.changed(app, machine);
    return this.showMachine(machine);
  }

  startMachine(appName: string, id: string): void {
    const app = this.app(appName);
    const machine = this.liveMachine(app, id);
    const state = this.settle(machine).state;
    if (state === "stopped" || state === "suspended" || state === "created") this.beginStart(machine, "starting");
    this.changed(app, machine);
  }

  stopMachine(appName: string, id: string): void {
    const app = this.app(appName);
    const machine = this.liveMachine(app, id);
    if (this.settle(machine).state === "started") {
      machine.state = "stopping";
      machine.transition = { to: "stopped", at: this.now() + this.timing.machineStopMs };
    }
    this.changed(app, machine);
  }

  /**
   * A one-shot machine's main process ended with `code` (restart policy "no"): it stops and records
   * an exit event, as flyd does. Not an API endpoint.
   */
  exitMachine(appName: string, id: string, code: number): void {
    const machine = this.app(appName).machines.get(id);
    if (!machine || this.settle(machine).state === "destroyed") return;
    machine.state = "stopped";
    machine.transition = undefined;
    machine.startedAt = undefined;
    machine.events.unshift({
      type: "exit",
      status: "stopped",
      source: "flyd",
      timestamp: this.now(),
      request: { exit_event: { exit_code: code, oom_killed: false, requested_stop: false, exited_at: this.timestamp() } },
    });
  }

  /** The region a machine or volume is in, or undefined when there is none. Not an API endpoint. */
  regionOf(appName: string, kind: "machine" | "volume", id: string): string | undefined {
    const app = this.apps.get(appName);
    return kind === "machine" ? app?.machines.get(id)?.region : app?.volumes.get(id)?.region;
  }

  /** What Fly Proxy does to an idle machine with autostop on. Not an API endpoint. */
  autostop(appName: string, id: string, mode: "stop" | "suspend"): void {
    const app = this.app(appName);
    const machine = this.liveMachine(app, id);
    machine.state = mode === "stop" ? "stopped" : "suspended";
    machine.transition = undefined;
    this.changed(app, machine);
  }

  destroyMachine(appName: string, id: string, force: boolean, nonce: string | undefined): void {
    const app = this.app(appName);
    const machine = this.machine(app, id);
    const state = this.settle(machine).state;
    if (state === "destroyed") return;
    this.requireLease(machine, nonce);
    if (!force && (state === "started" || state === "starting" || state === "replacing")) {
      throw new FlyFault(412, "failed_precondition: machine still active, refusing to destroy; stop it first or pass force=true");
    }
    machine.state = "destroyed";
    machine.transition = undefined;
    machine.lease = undefined;
    for (const v of app.volumes.values()) if (v.attached_machine_id === id) v.attached_machine_id = null;
    this.changed(app, machine);
  }

  // ---- metadata (keys set without a new config version, so the machine keeps running) ----

  getMetadata(appName: string, id: string): Json {
    return { ...((this.liveMachine(this.app(appName), id).config.metadata as Json | undefined) ?? {}) };
  }

  setMetadata(appName: string, id: string, key: string, body: Json, nonce: string | undefined): void {
    const machine = this.liveMachine(this.app(appName), id);
    this.requireLease(machine, nonce);
    if (typeof body.value !== "string") throw new FlyFault(400, "value is required and must be a string");
    machine.config = { ...machine.config, metadata: { ...((machine.config.metadata as Json | undefined) ?? {}), [key]: body.value } };
    machine.updated_at = this.timestamp();
  }

  deleteMetadata(appName: string, id: string, key: string, nonce: string | undefined): void {
    const machine = this.liveMachine(this.app(appName), id);
    this.requireLease(machine, nonce);
    const { [key]: _removed, ...rest } = (machine.config.metadata as Json | undefined) ?? {};
    machine.config = { ...machine.config, metadata: rest };
  }

  /** The state a /wait for `wanted` is waiting on, or a fault if it can never be reached. */
  waitStatus(appName: string, id: string, wanted: string): "reached" | "pending" {
    const machine = this.machine(this.app(appName), id);
    const state = this.settle(machine).state;
    if (state === wanted) return "reached";
    if (state === "destroyed") throw new FlyFault(400, `machine ${id} was destroyed while waiting for state ${wanted}`);
    return "pending";
  }

  // ---- leases ----

  acquireLease(appName: string, id: string, body: Json, nonce: string | undefined): Json {
    const machine = this.liveMachine(this.app(appName), id);
    const ttl = typeof body.ttl === "number" && body.ttl > 0 ? body.ttl : 30;
    const held = this.activeLease(machine);
    if (held && held.nonce !== nonce) {
      throw new FlyFault(409, `machine ${id} is leased by ${held.owner} until ${new Date(held.expires_at * 1000).toISOString()}`);
    }
    machine.lease = {
      nonce: held?.nonce ?? randomString(this.random, 16),
      description: str(body.description) ?? held?.description ?? "",
      expires_at: Math.floor(this.now() / 1000) + ttl,
      owner: "emulator@sophia.test",
      version: this.id(""),
    };
    return { ...machine.lease };
  }

  showLease(appName: string, id: string): Json {
    const held = this.activeLease(this.liveMachine(this.app(appName), id));
    if (!held) throw new FlyFault(404, `machine ${id} has no lease`);
    return { ...held };
  }

  releaseLease(appName: string, id: string, nonce: string | undefined): void {
    const machine = this.machine(this.app(appName), id);
    const held = this.activeLease(machine);
    if (!held) throw new FlyFault(404, `machine ${id} has no lease`);
    if (held.nonce !== nonce) throw new FlyFault(409, "lease nonce does not match the current lease");
    machine.lease = undefined;
  }

  // ---- secrets ----

  /** The secrets as of `minVersion` or newer; without it, as a lagging replica sees them. */
  listSecrets(appName: string, minVersion?: number): Json {
    const app = this.app(appName);
    if (minVersion !== undefined && minVersion > app.secretsVersion) {
      throw new FlyFault(400, `min_version ${minVersion} is newer than the app's secrets version (${app.secretsVersion})`);
    }
    const seen = minVersion !== undefined ? app.secrets : this.laggingSecrets(app);
    return { secrets: [...seen.entries()].map(([name, s]) => this.showSecret(name, s)) };
  }

  private laggingSecrets(app: App): Map<string, Secret> {
    const horizon = this.now() - this.timing.secretsReadLagMs;
    const visible = app.secretsHistory.filter((h) => h.at <= horizon).pop();
    return visible ? visible.secrets : (app.secretsHistory[0]?.secrets ?? new Map());
  }

  updateSecrets(appName: string, body: Json): Json {
    const app = this.app(appName);
    const values = body.values;
    if (!values || typeof values !== "object") throw new FlyFault(400, "values is required");
    const entries = Object.entries(values as Json);
    for (const [name, value] of entries) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new FlyFault(400, `invalid secret name "${name}"`);
      if (value !== null && typeof value !== "string") throw new FlyFault(400, `secret "${name}" must be a string or null`);
    }
    for (const [name, value] of entries) {
      if (value === null) {
        app.secrets.delete(name);
        continue;
      }
      const existing = app.secrets.get(name);
      app.secrets.set(name, {
        value: value as string,
        digest: digest(value as string),
        created_at: existing?.created_at ?? this.timestamp(),
        updated_at: this.timestamp(),
      });
    }
    app.secretsVersion += 1;
    app.secretsHistory.push({ version: app.secretsVersion, at: this.now(), secrets: new Map(app.secrets) });
    if (app.secretsHistory.length > 50) app.secretsHistory.shift();
    return { version: app.secretsVersion, ...this.listSecrets(appName, app.secretsVersion) };
  }

  /** Which secrets version a machine runs with. Not an API endpoint. */
  machineSecretsVersion(appName: string, id: string): number {
    return this.machine(this.app(appName), id).secrets_version;
  }

  /** The min_secrets_version the last create or update of a machine sent. Not an API endpoint. */
  machineMinSecretsVersionSent(appName: string, id: string): number | undefined {
    return this.machine(this.app(appName), id).min_secrets_version_sent;
  }

  secretsVersion(appName: string): number {
    return this.app(appName).secretsVersion;
  }

  /** What a machine runs with, and what its last create or update sent. Not an API endpoint. */
  machineInternals(appName: string, id: string): Json {
    const machine = this.machine(this.app(appName), id);
    return { state: machine.state, secretsVersion: machine.secrets_version, minSecretsVersionSent: machine.min_secrets_version_sent ?? null };
  }

  // ---- IPs ----

  listIps(appName: string): Json {
    return { ips: this.app(appName).ips.map(showIp) };
  }

  assignIp(appName: string, body: Json): Json {
    const app = this.app(appName);
    const type = body.type;
    if (type !== "shared_v4" && type !== "v4" && type !== "v6" && type !== "private_v6") {
      throw new FlyFault(400, `invalid IP type "${String(type)}": expected shared_v4, v4, v6 or private_v6`);
    }
    if (type === "shared_v4" && app.ips.some((i) => i.type === "shared_v4")) {
      throw new FlyFault(422, "app already has a shared IPv4 address");
    }
    const region = body.region === undefined ? "global" : this.region(body.region);
    const n = ++this.counter;
    const address =
      type === "shared_v4"
        ? `66.241.124.${(hashNumber(app.name) % 250) + 1}`
        : type === "v4"
          ? `137.66.${(n >> 8) & 255}.${n & 255}`
          : type === "v6"
            ? `2a09:8280:1::${n.toString(16)}`
            : `fdaa:0:${(hashNumber(str(body.network) ?? app.network) % 0xffff).toString(16)}:0:1::${n.toString(16)}`;
    const ip: Ip = {
      ip: address,
      type,
      region,
      shared: type === "shared_v4",
      network: type === "private_v6" ? (str(body.network) ?? app.network) : undefined,
      service_name: str(body.service_name),
      created_at: this.timestamp(),
    };
    app.ips.push(ip);
    return showIp(ip);
  }

  releaseIp(appName: string, address: string): void {
    const app = this.app(appName);
    const index = app.ips.findIndex((i) => i.ip === address);
    if (index < 0) throw new FlyFault(404, `IP address ${address} not found`);
    app.ips.splice(index, 1);
  }

  // ---- certificates ----

  requestCertificate(appName: string, body: Json): { created: boolean; cert: Json } {
    const app = this.app(appName);
    const hostname = str(body.hostname)?.toLowerCase();
    if (!hostname || !/^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(hostname)) {
      throw new FlyFault(422, "hostname is not a valid domain name");
    }
    if (hostname.endsWith(".fly.dev")) throw new FlyFault(422, "fly.dev hostnames are covered by Fly's own certificate");
    for (const other of this.apps.values()) {
      if (other !== app && other.certificates.has(hostname)) {
        throw new FlyFault(422, `hostname ${hostname} is already configured for another app`);
      }
    }
    const existing = app.certificates.get(hostname);
    if (existing) return { created: false, cert: this.showCertificate(app, existing) };
    const cert: Certificate = {
      hostname,
      created_at: this.timestamp(),
      status: "pending_validation",
      configured: false,
      challengeToken: randomString(this.random, 8),
    };
    app.certificates.set(hostname, cert);
    return { created: true, cert: this.showCertificate(app, cert) };
  }

  getCertificate(appName: string, hostname: string): Json {
    const app = this.app(appName);
    return this.showCertificate(app, this.certificate(app, hostname));
  }

  deleteCertificate(appName: string, hostname: string): void {
    const app = this.app(appName);
    this.certificate(app, hostname);
    app.certificates.delete(hostname);
  }

  // ---- rules and views ----

  private machineConfig(value: unknown): Json {
    if (!value || typeof value !== "object") throw new FlyFault(400, "config is required");
    const config = structuredClone(value) as Json;
    if (!str(config.image)) throw new FlyFault(400, "config.image is required");
    return config;
  }

  /**
   * fly.File: an absolute guest_path and exactly one source, raw_value (base64) or secret_name (an
   * app secret that holds the base64 contents), which must exist when the machine is configured.
   */
  private checkFiles(app: App, config: Json): void {
    const files = Array.isArray(config.files) ? (config.files as Json[]) : [];
    for (const file of files) {
      const path = str(file.guest_path);
      if (!path?.startsWith("/")) throw new FlyFault(400, `files: guest_path must be an absolute path, got ${JSON.stringify(file.guest_path)}`);
      const raw = typeof file.raw_value === "string" ? file.raw_value : undefined;
      const secret = str(file.secret_name);
      if ((raw === undefined) === (secret === undefined)) throw new FlyFault(400, `files: ${path} needs exactly one of raw_value and secret_name`);
      if (raw !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(raw)) throw new FlyFault(400, `files: ${path}: raw_value must be base64-encoded`);
      if (secret !== undefined && !app.secrets.has(secret)) throw new FlyFault(400, `files: ${path}: secret ${secret} not found in app ${app.name}; set it before the machine`);
    }
  }

  /** A machine mounts at most one volume, which must be in its region and not attached elsewhere. */
  private checkMount(app: App, config: Json, region: string, machineId: string): Volume | undefined {
    const mounts = Array.isArray(config.mounts) ? (config.mounts as Json[]) : [];
    if (mounts.length === 0) return undefined;
    if (mounts.length > 1) throw new FlyFault(400, "a machine can only mount one volume");
    const volumeId = str(mounts[0].volume);
    if (!volumeId) throw new FlyFault(400, "mounts[0].volume is required");
    const volume = app.volumes.get(volumeId);
    if (!volume) throw new FlyFault(400, `volume ${volumeId} not found in app ${app.name}`);
    if (volume.region !== region) {
      throw new FlyFault(
        400,
        `volume ${volumeId} is in region ${volume.region} but the machine is in ${region}; a machine can only mount a volume in its own region`,
      );
    }
    if (volume.attached_machine_id && volume.attached_machine_id !== machineId) {
      const holder = app.machines.get(volume.attached_machine_id);
      if (holder && this.settle(holder).state !== "destroyed") {
        throw new FlyFault(409, `volume ${volumeId} is already attached to machine ${holder.id}`);
      }
    }
    return volume;
  }

  private requireLease(machine: Machine, nonce: string | undefined): void {
    const held = this.activeLease(machine);
    if (held && held.nonce !== nonce) {
      throw new FlyFault(412, `machine ${machine.id} is leased; pass the current lease nonce in fly-machine-lease-nonce`);
    }
  }

  private activeLease(machine: Machine): Lease | undefined {
    if (machine.lease && machine.lease.expires_at * 1000 > this.now()) return machine.lease;
    machine.lease = undefined;
    return undefined;
  }

  /**
   * Machines running one of `images` fail their checks from now on; the others pass them. Fly Proxy
   * routes no requests to a machine while its checks fail, so the traffic model is told at once.
   */
  setUnhealthyImages(images: string[]): void {
    const before = this.timing.unhealthyImages;
    this.timing.unhealthyImages = [...images];
    for (const app of this.apps.values()) {
      for (const machine of app.machines.values()) {
        const image = str(machine.config.image) ?? "";
        if (before.includes(image) !== images.includes(image)) this.changed(app, machine, this.now());
      }
    }
  }

  /**
   * Tells the listener when the machine serves from now on: once started and its checks pass, and
   * not before `notBefore` (a machine whose checks pass again serves from then, not since it started).
   */
  private changed(app: App, machine: Machine, notBefore = -Infinity): void {
    if (!this.onMachineChange) return;
    const starting = machine.transition?.to === "started" ? machine.transition.at : machine.state === "started" ? machine.startedAt : undefined;
    const image = str(machine.config.image) ?? "";
    const services = Array.isArray(machine.config.services) ? (machine.config.services as Json[]) : [];
    const checked = Object.keys((machine.config.checks as Json | undefined) ?? {}).length > 0 || services.some((s) => Array.isArray(s.checks) && s.checks.length > 0);
    const healthy = !this.timing.unhealthyImages.includes(image);
    const metadata = (machine.config.metadata as Json | undefined) ?? {};
    this.onMachineChange({
      app: app.name,
      org: app.org,
      id: machine.id,
      region: machine.region,
      release: str(metadata.sophia_release),
      servingFrom: starting === undefined || !healthy ? undefined : Math.max(notBefore, starting + (checked ? this.timing.checksPassAfterMs : 0)),
      at: this.now(),
    });
  }

  private beginStart(machine: Machine, via: MachineState): void {
    machine.state = via;
    machine.startedAt = undefined;
    machine.transition = { to: "started", at: this.now() + this.timing.machineStartMs };
  }

  /** Applies a finished transition (state changes happen lazily, on the next look). */
  private settle(machine: Machine): Machine {
    if (machine.transition && this.now() >= machine.transition.at) {
      machine.state = machine.transition.to;
      if (machine.state === "started") machine.startedAt = machine.transition.at;
      machine.transition = undefined;
    }
    return machine;
  }

  private showMachine(machine: Machine): Json {
    this.settle(machine);
    const config = structuredClone(machine.config);
    // Like Fly, answer the two old autostop modes as booleans.
    for (const service of Array.isArray(config.services) ? (config.services as Json[]) : []) {
      if (service.autostop === "stop") service.autostop = true;
      else if (service.autostop === "off") service.autostop = false;
    }
    return {
      id: machine.id,
      name: machine.name,
      region: machine.region,
      state: machine.state,
      instance_id: machine.instance_id,
      private_ip: machine.private_ip,
      config,
      checks: this.lostRegions.has(machine.region) ? [] : this.checkStatuses(machine),
      host_status: this.lostRegions.has(machine.region) ? "unreachable" : "ok",
      events: structuredClone(machine.events),
      created_at: machine.created_at,
      updated_at: machine.updated_at,
    };
  }

  private checkStatuses(machine: Machine): Json[] {
    const names = Object.keys((machine.config.checks as Json | undefined) ?? {});
    const services = Array.isArray(machine.config.services) ? (machine.config.services as Json[]) : [];
    services.forEach((service, i) => {
      const checks = Array.isArray(service.checks) ? service.checks : [];
      checks.forEach((_, j) => names.push(`servicecheck-${i}-${j}`));
    });
    if (machine.state !== "started" || machine.startedAt === undefined) return [];
    const image = str(machine.config.image) ?? "";
    const healthy =
      !this.timing.unhealthyImages.includes(image) && this.now() - machine.startedAt >= this.timing.checksPassAfterMs;
    return names.map((name) => ({
      name,
      status: healthy ? "passing" : "critical",
      output: healthy ? "success" : "connect: connection refused",
      updated_at: this.timestamp(),
    }));
  }

  private showVolume(volume: Volume): Json {
    return { ...volume, blocks: volume.size_gb * 262144, block_size: 4096, fstype: "ext4", host_status: "ok", type: "local" };
  }

  private showSecret(name: string, secret: Secret): Json {
    return { name, digest: secret.digest, created_at: secret.created_at, updated_at: secret.updated_at };
  }

  private showCertificate(app: App, cert: Certificate): Json {
    const v4 = app.ips.filter((i) => i.type === "shared_v4" || i.type === "v4").map((i) => i.ip);
    const v6 = app.ips.filter((i) => i.type === "v6").map((i) => i.ip);
    return {
      hostname: cert.hostname,
      acme_requested: true,
      configured: cert.configured,
      status: cert.status,
      dns_provider: "unknown",
      certificates: [],
      dns_requirements: {
        a: v4,
        aaaa: v6,
        cname: `${app.name}.fly.dev`,
        acme_challenge: {
          name: `_acme-challenge.${cert.hostname.replace(/^\*\./, "")}`,
          target: `${cert.hostname.replace(/^\*\./, "")}.${cert.challengeToken}.flydns.net`,
        },
        ownership: { name: `_fly-ownership.${cert.hostname}`, app_value: `app-${app.id}`, org_value: `org-${app.org}` },
      },
      validation: { dns_configured: false, alpn_configured: false, http_configured: false },
      validation_errors: [],
    };
  }

  private app(name: string): App {
    const app = this.apps.get(name);
    if (!app) throw new FlyFault(404, `app not found: ${name}`);
    return app;
  }

  private machine(app: App, id: string): Machine {
    const machine = app.machines.get(id);
    if (!machine) throw new FlyFault(404, `machine not found: ${id}`);
    return this.settle(machine);
  }

  private liveMachine(app: App, id: string): Machine {
    const machine = this.machine(app, id);
    if (machine.state === "destroyed") throw new FlyFault(404, `machine not found: ${id} (destroyed)`);
    return machine;
  }

  private volume(app: App, id: string): Volume {
    const volume = app.volumes.get(id);
    if (!volume) throw new FlyFault(404, `volume not found: ${id}`);
    return volume;
  }

  private certificate(app: App, hostname: string): Certificate {
    const cert = app.certificates.get(hostname.toLowerCase());
    if (!cert) throw new FlyFault(404, `certificate not found: ${hostname}`);
    return cert;
  }

  private region(value: unknown): string {
    const region = str(value);
    if (!region || !EMULATED_REGIONS.includes(region)) throw new FlyFault(400, `unknown region "${String(value)}"`);
    return region;
  }

  private retention(value: unknown): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 60) {
      throw new FlyFault(400, "snapshot_retention must be between 1 and 60 days");
    }
    return value as number;
  }

  private id(prefix: string): string {
    this.counter += 1;
    return prefix + randomString(this.random, 14, ID_ALPHABET);
  }

  private timestamp(): string {
    return new Date(this.now()).toISOString();
  }
}

function showIp(ip: Ip): Json {
  return { ip: ip.ip, region: ip.region, shared: ip.shared, service_name: ip.service_name ?? "", created_at: ip.created_at };
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function bool(value: unknown): boolean | undefined {
  return typeof value === "boolean" ? value : undefined;
}

function digest(value: string): string {
  return createHash("sha256").update(value).digest("hex").slice(0, 16);
}

function hashNumber(value: string): number {
  return createHash("sha256").update(value).digest().readUInt32BE(0);
}
