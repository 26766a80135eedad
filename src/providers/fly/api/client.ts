/**
 * FlyClient: typed methods over the shared HttpClient for the Machines API endpoints we use.
 * Retries, rate limits, validation and redaction come from HttpClient; this file adds Fly's paths,
 * rate-limit keys, "gone" handling and advice on what to do when a call fails.
 */
import { ApiError, HttpClient, type ApiRequest, type ApiResponse, type HttpClientOptions } from "../../http";
import { sharedClient, withCredentialFallback, type Credential } from "../../dynamic/clients";
import { flyTuning, resolveFlyConnection, type FlyClientTuning, type FlyConnectionInputs } from "./connection";
import {
  describeFlyError,
  responseSchemas,
  type FlyAppInfo,
  type FlyCertificateInfo,
  type FlyIpInfo,
  type FlyIpType,
  type FlyLease,
  type FlyMachineInfo,
  type FlySecretInfo,
  type FlyVolumeInfo,
} from "./schemas";

export interface FlyClientOptions extends FlyConnectionInputs {
  /** Values that must never appear in an error, e.g. secret values being set. */
  redact?: string[];
  /** Overrides of flyDefaults for this client (tests). */
  tuning?: FlyClientTuning;
  /** Environment to read FLY_API_URL / FLY_API_TOKEN / FLY_ACCESS_TOKEN from. @default process.env */
  env?: Record<string, string | undefined>;
  /** Injected for tests. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
  /** Names the caller in the missing-token message, e.g. `FlyVolume "data"`. */
  context?: string;
}

export interface CreateMachineRequest {
  name: string;
  region: string;
  config: Record<string, unknown>;
  skip_launch?: boolean;
  min_secrets_version?: number;
}

export interface UpdateMachineRequest {
  config: Record<string, unknown>;
  skip_launch?: boolean;
  min_secrets_version?: number;
}

export interface CreateVolumeRequest {
  name: string;
  region: string;
  size_gb: number;
  encrypted?: boolean;
  snapshot_retention?: number;
  auto_backup_enabled?: boolean;
  /** Placement hint: the size of the machine that will mount it. */
  compute?: { cpu_kind: "shared" | "performance"; cpus: number; memory_mb: number };
}

/** Machine states after which a machine no longer exists for our purposes. */
// Arrays, not Sets: Pulumi's closure serializer turns a module-level Set into a plain object.
const GONE_MACHINE_STATES: readonly string[] = ["destroyed", "destroying"];
const GONE_VOLUME_STATES: readonly string[] = ["destroyed", "destroying", "pending_destroy", "scheduling_destroy"];

export function isMachineGone(machine: FlyMachineInfo | undefined): boolean {
  return !machine || GONE_MACHINE_STATES.includes(machine.state);
}

export function isVolumeGone(volume: FlyVolumeInfo | undefined): boolean {
  return !volume || GONE_VOLUME_STATES.includes(volume.state ?? "");
}

export class FlyClient {
  private credential: Credential;
  private readonly redact: string[];
  private readonly httpOptions: Omit<HttpClientOptions, "token">;
  /** Injected fetch or clock: the client is the test's own, never shared. */
  private readonly isolated: boolean;
  /** Its HTTP clients per token, when isolated. */
  private readonly own: Map<string, HttpClient>;
  /** Endpoint and tuning: with the token, what makes two clients interchangeable. */
  private readonly settingsKey: string;
  // No field initializers in serialized classes (see HttpClient): set in the constructor.
  private readonly schemas: ReturnType<typeof responseSchemas>;
  readonly pollIntervalMs: number;
  readonly waitRequestSeconds: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  /** Real seconds per platform second (see FlyClientTuning.timeScale). */
  readonly timeScale: number;

  constructor(options: FlyClientOptions = {}) {
    this.schemas = responseSchemas();
    const connection = resolveFlyConnection(options, options.context ?? "Fly API", options.env);
    const defaults = flyTuning();
    const tuning = { ...defaults, ...options.tuning };
    const rateLimit = tuning.rateLimit === undefined ? defaults.rateLimit : tuning.rateLimit;
    this.pollIntervalMs = tuning.pollIntervalMs;
    this.waitRequestSeconds = tuning.waitRequestSeconds;
    this.timeScale = tuning.timeScale;
    this.sleep = options.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
    this.credential = { token: connection.token, fallback: connection.fallbackToken };
    this.redact = [...(options.redact ?? []), ...(connection.fallbackToken ? [connection.fallbackToken] : [])];
    this.isolated = Boolean(options.fetch || options.sleep || options.now || options.random);
    this.own = new Map();
    this.settingsKey = JSON.stringify({ apiUrl: connection.apiUrl, retry: tuning.retry, timeoutMs: tuning.requestTimeoutMs, rateLimit });
    this.httpOptions = {
      api: "Fly Machines API",
      baseUrl: connection.apiUrl,
      retry: tuning.retry,
      timeoutMs: tuning.requestTimeoutMs,
      rateLimitFor: () => rateLimit ?? undefined,
      describeError: describeFlyError,
      fetch: options.fetch,
      sleep: options.sleep,
      now: options.now,
      random: options.random,
    };
  }

  /**
   * The HTTP client for a token: one per endpoint, token and tuning in the whole process, so that
   * Fly's rate budgets (e.g. creates per app) hold across every resource of a deployment.
   */
  private http(token = this.credential.token): HttpClient {
    if (this.isolated) {
      if (!this.own.has(token)) this.own.set(token, new HttpClient({ ...this.httpOptions, token, redact: this.redact }));
      return this.own.get(token) as HttpClient;
    }
    return sharedClient(`fly\n${token}\n${this.settingsKey}`, () => new HttpClient({ ...this.httpOptions, token }));
  }

  get apiUrl(): string {
    return this.httpOptions.baseUrl;
  }

  /** Removes the tokens and registered secrets from text that may reach a user. */
  scrub(text: string): string {
    let out = this.http().scrub(text);
    for (const secret of this.redact) {
      if (secret.length >= 4) out = out.split(secret).join("[redacted]");
    }
    return out;
  }

  // ---- apps ----

  async getApp(app: string): Promise<FlyAppInfo | undefined> {
    const res = await this.call({
      method: "GET",
      path: `/apps/${seg(app)}`,
      operation: "get app",
      resource: `"${app}"`,
      schema: this.schemas.app,
      rateKey: `get_app:${app}`,
      acceptStatuses: [404],
    });
    return res.status === 404 ? undefined : res.data;
  }

  /** `recover` looks for the app an attempt whose answer was lost may have made (see ApiRequest). */
  async createApp(req: { name: string; org_slug: string; network?: string }, recover?: () => Promise<unknown>): Promise<void> {
    await this.call({
      method: "POST",
      path: "/apps",
      operation: "create app",
      resource: `"${req.name}" in org "${req.org_slug}"`,
      body: req,
      rateKey: `create_app:${req.org_slug}`,
      recover,
    });
  }

  /** Returns false when the app was already gone. */
  async deleteApp(app: string): Promise<boolean> {
    const res = await this.call({
      method: "DELETE",
      path: `/apps/${seg(app)}`,
      operation: "delete app",
      resource: `"${app}"`,
      rateKey: `delete_app:${app}`,
      acceptStatuses: [404],
      recover: async () => ((await this.getApp(app)) ? undefined : {}),
    });
    return res.status !== 404;
  }

  // ---- volumes ----

  async listVolumes(app: string): Promise<FlyVolumeInfo[]> {
    const res = await this.call({
      method: "GET",
      path: `/apps/${seg(app)}/volumes`,
      operation: "list volumes",
      resource: `of app "${app}"`,
      schema: this.schemas.volumeList,
      rateKey: `list_volumes:${app}`,
    });
    return res.data;
  }

  async getVolume(app: string, id: string): Promise<FlyVolumeInfo | undefined> {
    const res = await this.call({
      method: "GET",
      path: `/apps/${seg(app)}/volumes/${seg(id)}`,
      operation: "get volume",
      resource: `${id} in app "${app}"`,
      schema: this.schemas.volume,
      rateKey: `get_volume:${app}/${id}`,
      acceptStatuses: [404],
    });
    return res.status === 404 ? undefined : res.data;
  }

  async createVolume(app: string, req: CreateVolumeRequest, recover?: () => Promise<FlyVolumeInfo | undefined>): Promise<FlyVolumeInfo> {
    const res = await this.call({
      method: "POST",
      path: `/apps/${seg(app)}/volumes`,
      operation: "create volume",
      resource: `"${req.name}" in app "${app}" (${req.region})`,
      body: req,
      schema: this.schemas.volume,
      rateKey: `create_volume:${app}`,
      recover,
    });
    return res.data;
  }

  async updateVolume(
    app: string,
    id: string,
    req: { snapshot_retention?: number; auto_backup_enabled?: boolean },
  ): Promise<FlyVolumeInfo> {
    const res = await this.call({
      method: "PUT",
      path: `/apps/${seg(app)}/volumes/${seg(id)}`,
      operation: "update volume",
      resource: `${id} in app "${app}"`,
      body: req,
      schema: this.schemas.volume,
      rateKey: `update_volume:${app}/${id}`,
      recover: async () => {
        const volume = await this.getVolume(app, id);
        const applied =
          volume &&
          (req.snapshot_retention === undefined || volume.snapshot_retention === req.snapshot_retention) &&
          (req.auto_backup_enabled === undefined || volume.auto_backup_enabled === req.auto_backup_enabled);
        return applied ? volume : undefined;
      },
    });
    return res.data;
  }

  async extendVolume(app: string, id: string, sizeGb: number): Promise<{ needsRestart: boolean; volume?: FlyVolumeInfo }> {
    const res = await this.call({
      method: "PUT",
      path: `/apps/${seg(app)}/volumes/${seg(id)}/extend`,
      operation: "extend volume",
      resource: `${id} in app "${app}"`,
      body: { size_gb: sizeGb },
      schema: this.schemas.extendVolume,
      rateKey: `extend_volume:${app}/${id}`,
      // Sent again after it took effect, an extend is refused (the volume is no longer smaller).
      recover: async () => {
        const volume = await this.getVolume(app, id);
        return volume && volume.size_gb >= sizeGb ? { volume } : undefined;
      },
    });
    return { needsRestart: res.data.needs_restart ?? false, volume: res.data.volume ?? undefined };
  }

  /** Returns false when the volume was already gone. */
  async deleteVolume(app: string, id: string): Promise<boolean> {
    const res = await this.call({
      method: "DELETE",
      path: `/apps/${seg(app)}/volumes/${seg(id)}`,
      operation: "delete volume",
      resource: `${id} in app "${app}"`,
      rateKey: `delete_volume:${app}/${id}`,
      acceptStatuses: [404],
      recover: async () => (isVolumeGone(await this.getVolume(app, id)) ? {} : undefined),
    });
    return res.status !== 404;
  }

  // ---- machines ----

  async listMachines(app: string): Promise<FlyMachineInfo[]> {
    const res = await this.call({
      method: "GET",
      path: `/apps/${seg(app)}/machines`,
      operation: "list machines",
      resource: `of app "${app}"`,
      schema: this.schemas.machineList,
      rateKey: `list_machines:${app}`,
    });
    return res.data;
  }

  async getMachine(app: string, id: string): Promise<FlyMachineInfo | undefined> {
    const res = await this.call({
      method: "GET",
      path: `/apps/${seg(app)}/machines/${seg(id)}`,
      operation: "get machine",
      resource: `${id} in app "${app}"`,
      schema: this.schemas.machine,
      rateKey: `get_machine:${app}/${id}`,
      acceptStatuses: [404],
    });
    return res.status === 404 ? undefined : res.data;
  }

  async createMachine(app: string, req: CreateMachineRequest, recover?: () => Promise<FlyMachineInfo | undefined>): Promise<FlyMachineInfo> {
    const res = await this.call({
      method: "POST",
      path: `/apps/${seg(app)}/machines`,
      operation: "create machine",
      resource: `"${req.name}" in app "${app}" (${req.region})`,
      body: req,
      schema: this.schemas.machine,
      rateKey: `create_machine:${app}`,
      recover,
    });
    return res.data;
  }

  /**
   * Sends the machine's whole config under our lease. `from` is the machine's version
   * (`instance_id`) before the update: every update makes a new one, so after a lost answer a
   * different version means the update took effect (nobody else can update under our lease).
   */
  async updateMachine(app: string, id: string, req: UpdateMachineRequest, leaseNonce: string, from?: string): Promise<FlyMachineInfo> {
    const res = await this.call({
      method: "POST",
      path: `/apps/${seg(app)}/machines/${seg(id)}`,
      operation: "update machine",
      resource: `${id} in app "${app}"`,
      body: req,
      headers: { "fly-machine-lease-nonce": leaseNonce },
      schema: this.schemas.machine,
      rateKey: `update_machine:${app}/${id}`,
      // The whole config under our lease: sending it twice has the effect of sending it once.
      idempotent: true,
      recover:
        from === undefined
          ? undefined
          : async () => {
              const machine = await this.getMachine(app, id);
              return machine && machine.instance_id && machine.instance_id !== from ? machine : undefined;
            },
    });
    return res.data;
  }

  /**
   * Sets one key of the machine's `config.metadata` without a new config version, so the machine
   * keeps running (Machines API "Upsert Metadata Key").
   */
  async setMachineMetadata(app: string, id: string, key: string, value: string): Promise<void> {
    await this.call({
      method: "POST",
      path: `/apps/${seg(app)}/machines/${seg(id)}/metadata/${seg(key)}`,
      operation: "set metadata on machine",
      resource: `${id} in app "${app}" (${key})`,
      body: { value },
      rateKey: `set_metadata:${app}/${id}`,
      // Setting a key to the same value twice has the effect of setting it once.
      idempotent: true,
      // An answer lost after Fly set it: the machine's metadata shows the value.
      recover: async () => {
        const metadata = (await this.getMachine(app, id))?.config?.metadata as Record<string, unknown> | undefined;
        return metadata?.[key] === value ? {} : undefined;
      },
    });
  }

  async startMachine(app: string, id: string): Promise<void> {
    await this.call({
      method: "POST",
      path: `/apps/${seg(app)}/machines/${seg(id)}/start`,
      operation: "start machine",
      resource: `${id} in app "${app}"`,
      rateKey: `start_machine:${app}/${id}`,
      idempotent: true,
      recover: async () => {
        const state = (await this.getMachine(app, id))?.state;
        return state === "starting" || state === "started" ? {} : undefined;
      },
    });
  }

  async stopMachine(app: string, id: string): Promise<void> {
    await this.call({
      method: "POST",
      path: `/apps/${seg(app)}/machines/${seg(id)}/stop`,
      operation: "stop machine",
      resource: `${id} in app "${app}"`,
      body: {},
      rateKey: `stop_machine:${app}/${id}`,
      idempotent: true,
      recover: async () => {
        const state = (await this.getMachine(app, id))?.state;
        return state === "stopping" || state === "stopped" || state === "suspended" ? {} : undefined;
      },
    });
  }

  /** Returns false when the machine was already gone. `force` kills a running machine. */
  async deleteMachine(app: string, id: string, force = true): Promise<boolean> {
    const res = await this.call({
      method: "DELETE",
      path: `/apps/${seg(app)}/machines/${seg(id)}`,
      operation: "destroy machine",
      resource: `${id} in app "${app}"`,
      query: { force },
      rateKey: `delete_machine:${app}/${id}`,
      acceptStatuses: [404],
      recover: async () => (isMachineGone(await this.getMachine(app, id)) ? {} : undefined),
    });
    return res.status !== 404;
  }

  /** One bounded /wait call; false when Fly's wait timed out (408) before the state was reached. */
  async waitForState(
    app: string,
    id: string,
    state: "started" | "stopped" | "suspended" | "destroyed",
    options: { timeoutSeconds: number; version?: string },
  ): Promise<boolean> {
    const timeoutSeconds = Math.max(1, Math.min(this.waitRequestSeconds, Math.ceil(options.timeoutSeconds)));
    const res = await this.call({
      method: "GET",
      path: `/apps/${seg(app)}/machines/${seg(id)}/wait`,
      operation: "wait for machine",
      resource: `${id} in app "${app}" to be ${state}`,
      query: { state, timeout: timeoutSeconds, version: options.version },
      schema: this.schemas.wait,
      rateKey: `wait_machine:${app}/${id}`,
      acceptStatuses: [408],
      timeoutMs: timeoutSeconds * 1000 + 10_000,
    });
    return res.status !== 408;
  }

  /**
   * Takes the machine's lease. `description` names the holder (our resource's marker): a lease
   * whose answer was lost, or that an interrupted run left behind, carries it, and is taken over
   * (its nonce reused) rather than mistaken for another deployment's.
   */
  async acquireLease(app: string, id: string, ttlSeconds: number, description: string): Promise<FlyLease> {
    const ours = async () => {
      const held = await this.getLease(app, id);
      return held?.description === description ? held : undefined;
    };
    try {
      const res = await this.call({
        method: "POST",
        path: `/apps/${seg(app)}/machines/${seg(id)}/lease`,
        operation: "acquire lease on machine",
        resource: `${id} in app "${app}"`,
        body: { ttl: ttlSeconds, description },
        schema: this.schemas.lease,
        rateKey: `lease_machine:${app}/${id}`,
        recover: ours,
      });
      return res.data;
    } catch (err) {
      const held = err instanceof ApiError && err.status === 409 ? await ours() : undefined;
      if (held) return held;
      throw err;
    }
  }

  /** The machine's current lease, or undefined when it has none. */
  async getLease(app: string, id: string): Promise<FlyLease | undefined> {
    const res = await this.call({
      method: "GET",
      path: `/apps/${seg(app)}/machines/${seg(id)}/lease`,
      operation: "get lease on machine",
      resource: `${id} in app "${app}"`,
      schema: this.schemas.lease,
      rateKey: `get_lease:${app}/${id}`,
      acceptStatuses: [404],
    });
    return res.status === 404 ? undefined : res.data;
  }

  async releaseLease(app: string, id: string, nonce: string): Promise<void> {
    await this.call({
      method: "DELETE",
      path: `/apps/${seg(app)}/machines/${seg(id)}/lease`,
      operation: "release lease on machine",
      resource: `${id} in app "${app}"`,
      headers: { "fly-machine-lease-nonce": nonce },
      rateKey: `release_lease:${app}/${id}`,
      // Gone machine or expired lease: nothing left to release.
      acceptStatuses: [404, 409, 412],
      recover: async () => ((await this.getLease(app, id).catch(() => undefined))?.nonce === nonce ? undefined : {}),
    });
  }

  /** Runs `work` holding the machine's lease, and always releases it. */
  async withLease<T>(app: string, id: string, ttlSeconds: number, description: string, work: (nonce: string) => Promise<T>): Promise<T> {
    const lease = await this.acquireLease(app, id, ttlSeconds, description);
    try {
      return await work(lease.nonce);
    } finally {
      await this.releaseLease(app, id, lease.nonce).catch(() => undefined); // the TTL frees it anyway
    }
  }

  // ---- secrets ----

  /**
   * The app's secrets (names and digests). Fly's secrets are eventually consistent: with
   * `minVersion` (the version an update returned) the list is at least that new, so digests read
   * right after a change are the changed ones.
   */
  async listSecrets(app: string, minVersion?: number): Promise<FlySecretInfo[]> {
    const res = await this.call({
      method: "GET",
      path: `/apps/${seg(app)}/secrets`,
      operation: "list secrets",
      resource: `of app "${app}"`,
      query: { min_version: minVersion },
      schema: this.schemas.secretList,
      rateKey: `list_secrets:${app}`,
    });
    return res.data.secrets ?? [];
  }

  /**
   * Sets the given keys; a null value unsets the key. Returns the new secrets version, or undefined
   * when the answer was lost and the write was found by reading the secrets back (the list does
   * not say which version it is).
   */
  async updateSecrets(app: string, values: Record<string, string | null>): Promise<number | undefined> {
    // Fly's digests are opaque: a key whose digest changed (or that appeared) has been written.
    const before = new Map((await this.listSecrets(app)).map((s) => [s.name, s.digest ?? ""]));
    const written = async () => {
      const live = new Map((await this.listSecrets(app)).map((s) => [s.name, s.digest ?? ""]));
      const done = Object.entries(values).every(([key, value]) =>
        value === null ? !live.has(key) : live.has(key) && (!before.has(key) || before.get(key) !== live.get(key)),
      );
      return done ? { version: undefined } : undefined;
    };
    const res = await this.call({
      method: "POST",
      path: `/apps/${seg(app)}/secrets`,
      operation: "update secrets",
      resource: `of app "${app}" (keys ${Object.keys(values).sort().join(", ")})`,
      // The OpenAPI document types each value as a string; Fly's own client (fly-go
      // UpdateAppSecrets, map[string]*string) sends null to delete a key, as we do.
      body: { values },
      schema: this.schemas.secretsUpdate,
      rateKey: `update_secrets:${app}`,
      // Setting the same values again changes nothing but the version number.
      idempotent: true,
      recover: written,
    });
    return res.data.version ?? res.data.Version ?? undefined;
  }

  // ---- IP assignments ----

  async listIps(app: string): Promise<FlyIpInfo[]> {
    const res = await this.call({
      method: "GET",
      path: `/apps/${seg(app)}/ip_assignments`,
      operation: "list IP addresses",
      resource: `of app "${app}"`,
      schema: this.schemas.ipList,
      rateKey: `list_ips:${app}`,
    });
    return res.data.ips ?? [];
  }

  async assignIp(
    app: string,
    req: { type: FlyIpType; region?: string; network?: string },
    recover?: () => Promise<FlyIpInfo | undefined>,
  ): Promise<FlyIpInfo> {
    const res = await this.call({
      method: "POST",
      path: `/apps/${seg(app)}/ip_assignments`,
      operation: "allocate IP address",
      resource: `(${req.type}) for app "${app}"`,
      body: req,
      schema: this.schemas.ip,
      rateKey: `assign_ip:${app}`,
      recover,
    });
    return res.data;
  }

  /** Returns false when the address was already released. */
  async releaseIp(app: string, ip: string): Promise<boolean> {
    const res = await this.call({
      method: "DELETE",
      path: `/apps/${seg(app)}/ip_assignments/${seg(ip)}`,
      operation: "release IP address",
      resource: `${ip} of app "${app}"`,
      rateKey: `release_ip:${app}`,
      acceptStatuses: [404],
      recover: async () => {
        if (!(await this.getApp(app))) return {};
        return (await this.listIps(app)).some((assigned) => assigned.ip === ip) ? undefined : {};
      },
    });
    return res.status !== 404;
  }

  // ---- certificates ----

  async getCertificate(app: string, hostname: string): Promise<FlyCertificateInfo | undefined> {
    const res = await this.call({
      method: "GET",
      path: `/apps/${seg(app)}/certificates/${seg(hostname)}`,
      operation: "get certificate",
      resource: `for ${hostname} in app "${app}"`,
      schema: this.schemas.certificate,
      rateKey: `get_certificate:${app}`,
      acceptStatuses: [404],
    });
    return res.status === 404 ? undefined : res.data;
  }

  async requestAcmeCertificate(app: string, hostname: string): Promise<FlyCertificateInfo> {
    const res = await this.call({
      method: "POST",
      path: `/apps/${seg(app)}/certificates/acme`,
      operation: "request ACME certificate",
      resource: `for ${hostname} in app "${app}"`,
      body: { hostname },
      schema: this.schemas.certificate,
      rateKey: `create_certificate:${app}`,
      // Fly answers a request for a hostname it already has with that certificate.
      idempotent: true,
      recover: () => this.getCertificate(app, hostname),
    });
    return res.data;
  }

  /** Returns false when the certificate was already gone. */
  async deleteCertificate(app: string, hostname: string): Promise<boolean> {
    const res = await this.call({
      method: "DELETE",
      path: `/apps/${seg(app)}/certificates/${seg(hostname)}`,
      operation: "delete certificate",
      resource: `for ${hostname} in app "${app}"`,
      rateKey: `delete_certificate:${app}`,
      acceptStatuses: [404],
      recover: async () => ((await this.getCertificate(app, hostname)) ? undefined : {}),
    });
    return res.status !== 404;
  }

  // ---- plumbing ----

  private async call<T>(req: ApiRequest<T>): Promise<ApiResponse<T>> {
    const rejected = (err: unknown) => err instanceof ApiError && err.status === 401;
    try {
      return await withCredentialFallback(this.credential, rejected, async (token) => {
        const response = await this.http(token).request(req);
        // The token in state was rejected (rotated?) and the current one worked: keep using it.
        if (token !== this.credential.token) this.credential = { token };
        return response;
      });
    } catch (err) {
      throw withAdvice(err, (text) => this.scrub(text));
    }
  }
}

/** Appends what to do next to an API error, keeping its fields for callers that branch on them. */
function withAdvice(err: unknown, scrub: (text: string) => string): unknown {
  if (!(err instanceof ApiError)) {
    if (err instanceof Error) err.message = scrub(err.message);
    return err;
  }
  const advice = adviceFor(err.status);
  const message = advice ? `${err.message}. ${advice}` : err.message;
  const apiMessage = err.apiMessage === undefined ? undefined : scrub(err.apiMessage);
  return new ApiError(scrub(message), err.status, err.code, err.operation, err.resource, apiMessage, err.ambiguous);
}

function adviceFor(status: number | undefined): string | undefined {
  if (status === 401) {
    return "The token was rejected: set a valid token in `sophia:flyApiToken` or FLY_API_TOKEN (fly tokens create org)";
  }
  if (status === 403) return "The token lacks access to this app or org: use an org token for the app's organization";
  if (status === 429) return "Fly kept rate-limiting the request: wait a minute and run the command again";
  if (status !== undefined && status >= 500) {
    return "Fly's API failed repeatedly: check https://status.flyio.net and run the command again";
  }
  return undefined;
}

/** One URL path segment (IPv6 addresses and hostnames included). */
function seg(value: string): string {
  return encodeURIComponent(value);
}
