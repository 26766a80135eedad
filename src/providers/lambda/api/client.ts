/**
 * Typed client for the Lambda Cloud API v1, over the shared HttpClient.
 *
 * The HttpClient gives retries, rate limiting, validation and key redaction. This layer adds
 * what is specific to Lambda: `{data}`/`{error}` envelopes, the 12 s launch limit, a launch
 * that is never repeated blindly, and error messages that say what to do, keyed on `code`.
 */
import { ApiError, HttpClient, type ApiRequest, type RetryPolicy } from "../../http";
import { clearSharedClients, sharedClient } from "../../dynamic/clients";
import { InsufficientCapacityError, regionsWithCapacity } from "./capacity";
import {
  GONE_STATUSES,
  lambdaSchemas,
  type AddedSshKey,
  type Filesystem,
  type FirewallRule,
  type FirewallRuleset,
  type Instance,
  type InstanceTypes,
  type LaunchRequest,
  type SshKey,
} from "./schemas";

/** Every default of the Lambda layer, in one place. */
export const LAMBDA_DEFAULTS = {
  apiUrl: "https://cloud.lambda.ai/api/v1",
  /** Stack config key that holds the API key (read by the providers' `configure`). */
  configKey: "sophia:lambdaApiKey",
  apiKeyEnv: "LAMBDA_API_KEY",
  apiUrlEnv: "LAMBDA_API_URL",
  /** "Generally limited to one request per second." */
  requestIntervalMs: 1_000,
  /** "/instance-operations/launch is limited to one request per 12 seconds." */
  launchIntervalMs: 12_000,
  /** Launch attempts when the API answers 429/5xx or the connection drops. */
  launchAttempts: 5,
  pollIntervalMs: 10_000,
  /** Booting a GPU instance usually takes a few minutes; beyond this something is wrong. */
  activeTimeoutMs: 20 * 60_000,
  terminateTimeoutMs: 10 * 60_000,
} as const;

export interface LambdaClientOptions {
  /** @default stack config `sophia:lambdaApiKey`, then env `LAMBDA_API_KEY` */
  apiKey?: string;
  /** @default env `LAMBDA_API_URL`, then https://cloud.lambda.ai/api/v1 */
  apiUrl?: string;
  /** Spacing of ordinary requests; 0 disables. @default 1000 */
  requestIntervalMs?: number;
  /** Spacing of launches; 0 disables. @default 12000 */
  launchIntervalMs?: number;
  /** @default 5 */
  launchAttempts?: number;
  /** @default 10000 */
  pollIntervalMs?: number;
  /** @default 1200000 (20 min) */
  activeTimeoutMs?: number;
  /** @default 600000 (10 min) */
  terminateTimeoutMs?: number;
  /** Passed to the HttpClient; its defaults apply. */
  retry?: RetryPolicy;
  /** More values that must never appear in an error message. */
  redact?: string[];
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
}

const API = "Lambda Cloud API";
const KEYS_PAGE = "https://cloud.lambda.ai/api-keys";

/** Process-wide state, kept on globalThis so that serialized provider closures capture none of it. */
interface LambdaRuntime {
  /** API key from stack config, set by the providers' `configure`. */
  configApiKey?: string;
  /** Test and embedding overrides applied to every client this process creates. */
  overrides?: Partial<LambdaClientOptions>;
}

function runtime(): LambdaRuntime {
  const store = globalThis as unknown as Record<string, LambdaRuntime | undefined>;
  return (store.__sophiaLambdaRuntime ??= {});
}

/** Applies options (fast timings, fault-tolerant fetch, …) to every client created afterwards. */
export function setLambdaClientOverrides(overrides: Partial<LambdaClientOptions> | undefined): void {
  runtime().overrides = overrides;
  clearSharedClients();
}

/** Records the API key from stack config; called by each provider's `configure`. */
export function setConfiguredApiKey(apiKey: string | undefined): void {
  runtime().configApiKey = apiKey || undefined;
}

export class MissingApiKeyError extends Error {
  constructor() {
    const message =
      `No Lambda Cloud API key. Set it as a secret with \`pulumi config set --secret ${LAMBDA_DEFAULTS.configKey} <key>\` ` +
      `(or from the ESC environment), or export ${LAMBDA_DEFAULTS.apiKeyEnv}. Create a key at ${KEYS_PAGE}.`;
    super(message);
    // Set again: a serialized (deployed) copy of this class loses what super() sets (see ApiError).
    this.message = message;
    this.name = "MissingApiKeyError";
  }

  /** A prototype member, so that a deployed (serialized) copy is still an Error (see dynamic/errors.ts). */
  override toString(): string {
    return `${this.name}: ${this.message}`;
  }
}

/** The key to use when none is given explicitly: stack config, then the environment. */
export function ambientApiKey(): string | undefined {
  return runtime().configApiKey ?? (process.env[LAMBDA_DEFAULTS.apiKeyEnv] || undefined);
}

/** Explicit input first, then env, then the public endpoint. */
export function resolveApiUrl(explicit?: string): string {
  return explicit || process.env[LAMBDA_DEFAULTS.apiUrlEnv] || LAMBDA_DEFAULTS.apiUrl;
}

/** A shared client for this key and URL (explicit values first, then config and env). */
export function lambdaClient(access: { apiKey?: string; apiUrl?: string } = {}): LambdaClient {
  const state = runtime();
  const apiKey = access.apiKey || state.overrides?.apiKey || ambientApiKey();
  if (!apiKey) throw new MissingApiKeyError();
  const apiUrl = resolveApiUrl(access.apiUrl || state.overrides?.apiUrl);
  // One per URL and key, so that concurrent operations share one rate budget.
  return sharedClient(`lambda\n${apiUrl}\n${apiKey}`, () => new LambdaClient({ ...state.overrides, apiKey, apiUrl }));
}

/** What a launch is for, to explain failures in the user's terms. */
interface LaunchContext {
  instanceType: string;
  region: string;
  fileSystemNames: readonly string[];
}

/** Rate-limit buckets: every request counts against "request", a launch also against "launch". */
const REQUEST_BUDGET = "request";
const LAUNCH_BUDGET = "launch";

export class LambdaClient {
  private readonly http: HttpClient;
  private readonly settings: Required<
    Pick<
      LambdaClientOptions,
      "launchAttempts" | "pollIntervalMs" | "activeTimeoutMs" | "terminateTimeoutMs" | "sleep" | "now"
    >
  >;

  constructor(options: LambdaClientOptions) {
    const apiKey = options.apiKey;
    if (!apiKey) throw new MissingApiKeyError();
    const requestIntervalMs = options.requestIntervalMs ?? LAMBDA_DEFAULTS.requestIntervalMs;
    const launchIntervalMs = options.launchIntervalMs ?? LAMBDA_DEFAULTS.launchIntervalMs;
    const common = {
      api: API,
      baseUrl: resolveApiUrl(options.apiUrl),
      token: apiKey,
      unwrap: unwrapData,
      describeError,
      redact: options.redact,
      fetch: options.fetch,
      sleep: options.sleep,
      now: options.now,
      random: options.random,
    };
    // Spacing, not bursts: about 1 request a second, and a launch at most every 12 s.
    const spacing = (intervalMs: number) => (intervalMs > 0 ? { intervalMs, burst: 1 } : undefined);
    this.http = new HttpClient({
      ...common,
      retry: options.retry,
      rateLimitFor: (key) => spacing(key === LAUNCH_BUDGET ? launchIntervalMs : requestIntervalMs),
    });
    this.settings = {
      launchAttempts: options.launchAttempts ?? LAMBDA_DEFAULTS.launchAttempts,
      pollIntervalMs: options.pollIntervalMs ?? LAMBDA_DEFAULTS.pollIntervalMs,
      activeTimeoutMs: options.activeTimeoutMs ?? LAMBDA_DEFAULTS.activeTimeoutMs,
      terminateTimeoutMs: options.terminateTimeoutMs ?? LAMBDA_DEFAULTS.terminateTimeoutMs,
      sleep: options.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms))),
      now: options.now ?? Date.now,
    };
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  /** Removes the key and registered secrets from text. */
  scrub(text: string, extra: readonly (string | undefined)[] = []): string {
    let out = this.http.scrub(text);
    for (const secret of extra) {
      if (secret && secret.length >= 4) out = out.split(secret).join("[redacted]");
    }
    return out;
  }

  // ---- instance types -------------------------------------------------------------------------

  async listInstanceTypes(): Promise<InstanceTypes> {
    return this.get({ path: "/instance-types", operation: "list instance types", resource: "(all)", schema: lambdaSchemas().instanceTypes });
  }

  // ---- instances ------------------------------------------------------------------------------

  async listInstances(): Promise<Instance[]> {
    return this.get({ path: "/instances", operation: "list instances", resource: "(all)", schema: lambdaSchemas().instances });
  }

  /** The instance, or undefined when the API no longer knows it. */
  async getInstance(id: string): Promise<Instance | undefined> {
    return this.getOrUndefined({
      path: `/instances/${encodeURIComponent(id)}`,
      operation: "read instance",
      resource: `instance "${id}"`,
      schema: lambdaSchemas().instance,
    });
  }

  async renameInstance(id: string, name: string): Promise<Instance> {
    return this.send({
      method: "POST",
      path: `/instances/${encodeURIComponent(id)}`,
      operation: "rename instance",
      resource: `instance "${id}"`,
      body: { name },
      schema: lambdaSchemas().instance,
      idempotent: true,
      recover: async () => {
        const instance = await this.getInstance(id);
        return instance?.name === name ? instance : undefined;
      },
    });
  }

  /**
   * Launches one instance and returns its id. 429 is retried after the launch spacing. A 5xx or
   * dropped connection may still have launched the instance, so before trying again `recover`
   * looks for it (by name and marker) and it is adopted rather than paid for twice.
   */
  async launchInstance(request: LaunchRequest, recover?: () => Promise<Instance | undefined>): Promise<string> {
    const context: LaunchContext = {
      instanceType: request.instance_type_name,
      region: request.region_name,
      fileSystemNames: request.file_system_names ?? [],
    };
    const resource = `instance "${request.name ?? "(unnamed)"}" (${request.instance_type_name} in ${request.region_name})`;
    try {
      const { data } = await this.http.request({
        method: "POST",
        path: "/instance-operations/launch",
        operation: "launch",
        resource,
        body: request,
        schema: lambdaSchemas().launchResponse,
        rateKey: [LAUNCH_BUDGET, REQUEST_BUDGET],
        retry: { maxAttempts: this.settings.launchAttempts },
        recover: recover && (async () => {
          const found = await recover();
          return found && { instance_ids: [found.id] };
        }),
      });
      const id = data.instance_ids[0];
      if (!id) throw new Error(`${API}: launch of ${resource} returned no instance id.`);
      return id;
    } catch (err) {
      throw await this.explainLaunch(err, context, request.user_data);
    }
  }

  /** Terminates the instance; succeeds when it is already gone. */
  async terminateInstance(id: string): Promise<void> {
    const instance = await this.getInstance(id);
    // Terminating already: a second request would only fail.
    if (!instance || GONE_STATUSES.includes(instance.status) || instance.status === "terminating") return;
    await this.send({
      method: "POST",
      path: "/instance-operations/terminate",
      operation: "terminate instance",
      resource: `instance "${id}"`,
      body: { instance_ids: [id] },
      acceptStatuses: [404],
      idempotent: true,
      recover: async () => {
        const now = await this.getInstance(id);
        return !now || GONE_STATUSES.includes(now.status) || now.status === "terminating" ? {} : undefined;
      },
    });
  }

  /**
   * Polls until the instance reaches one of `statuses`. Throws when it ends up terminated or
   * preempted instead, or when `timeoutMs` passes.
   */
  async waitForStatus(id: string, statuses: readonly string[], timeoutMs: number): Promise<Instance | undefined> {
    const deadline = this.settings.now() + timeoutMs;
    let last: Instance | undefined;
    for (;;) {
      last = await this.getInstance(id);
      if (!last) {
        if (statuses.includes("terminated")) return undefined;
        throw new Error(`${API}: instance "${id}" disappeared while waiting for it to become ${statuses.join(" or ")}.`);
      }
      if (statuses.includes(last.status)) return last;
      if (GONE_STATUSES.includes(last.status)) {
        throw new Error(`${API}: instance "${id}" was ${last.status} while waiting for it to become ${statuses.join(" or ")}.`);
      }
      if (this.settings.now() >= deadline) {
        throw new WaitTimeoutError(id, statuses, last.status, timeoutMs);
      }
      await this.settings.sleep(Math.min(this.settings.pollIntervalMs, Math.max(0, deadline - this.settings.now())));
    }
  }

  async waitUntilActive(id: string): Promise<Instance> {
    const instance = await this.waitForStatus(id, ["active"], this.settings.activeTimeoutMs);
    if (!instance) throw new Error(`${API}: instance "${id}" disappeared while booting.`);
    return instance;
  }

  async waitUntilTerminated(id: string): Promise<void> {
    await this.waitForStatus(id, GONE_STATUSES, this.settings.terminateTimeoutMs);
  }

  // ---- SSH keys -------------------------------------------------------------------------------

  async listSshKeys(): Promise<SshKey[]> {
    return this.get({ path: "/ssh-keys", operation: "list SSH keys", resource: "(all)", schema: lambdaSchemas().sshKeys });
  }

  async getSshKey(id: string): Promise<SshKey | undefined> {
    return (await this.listSshKeys()).find((key) => key.id === id);
  }

  /** Adds a public key, or has the API generate a pair when `publicKey` is omitted. */
  async addSshKey(name: string, publicKey?: string, recover?: () => Promise<AddedSshKey | undefined>): Promise<AddedSshKey> {
    const added = await this.send({
      method: "POST",
      path: "/ssh-keys",
      operation: "add SSH key",
      resource: `SSH key "${name}"`,
      body: publicKey === undefined ? { name } : { name, public_key: publicKey },
      schema: lambdaSchemas().addedSshKey,
      recover,
    });
    return added;
  }

  /** Deletes the key; succeeds when it is already gone (the API documents no 404 here, so we look first). */
  async deleteSshKey(id: string): Promise<void> {
    if (!(await this.getSshKey(id))) return;
    await this.send({
      method: "DELETE",
      path: `/ssh-keys/${encodeURIComponent(id)}`,
      operation: "delete SSH key",
      resource: `SSH key "${id}"`,
      acceptStatuses: [404],
      recover: async () => ((await this.getSshKey(id)) ? undefined : {}),
    });
  }

  // ---- filesystems ----------------------------------------------------------------------------

  async listFilesystems(): Promise<Filesystem[]> {
    // Listing lives at /file-systems while create and delete use /filesystems.
    return this.get({ path: "/file-systems", operation: "list filesystems", resource: "(all)", schema: lambdaSchemas().filesystems });
  }

  async getFilesystem(id: string): Promise<Filesystem | undefined> {
    return (await this.listFilesystems()).find((fs) => fs.id === id);
  }

  async createFilesystem(name: string, region: string, recover?: () => Promise<Filesystem | undefined>): Promise<Filesystem> {
    return this.send({
      method: "POST",
      path: "/filesystems",
      operation: "create filesystem",
      resource: `filesystem "${name}" in ${region}`,
      body: { name, region },
      schema: lambdaSchemas().filesystem,
      recover,
    });
  }

  /** Deletes the filesystem; succeeds when it is already gone, refuses clearly while it is in use. */
  async deleteFilesystem(id: string): Promise<void> {
    const fs = await this.getFilesystem(id);
    if (!fs) return;
    const label = `filesystem "${fs.name}" (${fs.id}) in ${fs.region.name}`;
    if (fs.is_in_use) throw filesystemInUseError(label);
    try {
      await this.send({
        method: "DELETE",
        path: `/filesystems/${encodeURIComponent(id)}`,
        operation: "delete filesystem",
        resource: label,
        acceptStatuses: [404],
        recover: async () => ((await this.getFilesystem(id)) ? undefined : {}),
      });
    } catch (err) {
      if (err instanceof ApiError && err.code === "filesystems/filesystem-in-use") throw filesystemInUseError(label);
      throw err;
    }
  }

  // ---- firewall rulesets ----------------------------------------------------------------------

  async getFirewallRuleset(id: string): Promise<FirewallRuleset | undefined> {
    return this.getOrUndefined({
      path: `/firewall-rulesets/${encodeURIComponent(id)}`,
      operation: "read firewall ruleset",
      resource: `firewall ruleset "${id}"`,
      schema: lambdaSchemas().firewallRuleset,
    });
  }

  async listFirewallRulesets(): Promise<FirewallRuleset[]> {
    return this.get({ path: "/firewall-rulesets", operation: "list firewall rulesets", resource: "(all)", schema: lambdaSchemas().firewallRulesets });
  }

  async createFirewallRuleset(
    name: string,
    region: string,
    rules: FirewallRule[],
    recover?: () => Promise<FirewallRuleset | undefined>,
  ): Promise<FirewallRuleset> {
    return this.send({
      method: "POST",
      path: "/firewall-rulesets",
      operation: "create firewall ruleset",
      resource: `firewall ruleset "${name}" in ${region}`,
      body: { name, region, rules },
      schema: lambdaSchemas().firewallRuleset,
      recover,
    });
  }

  async updateFirewallRuleset(id: string, patch: { name?: string; rules?: FirewallRule[] }): Promise<FirewallRuleset> {
    return this.send({
      method: "PATCH",
      path: `/firewall-rulesets/${encodeURIComponent(id)}`,
      operation: "update firewall ruleset",
      resource: `firewall ruleset "${id}"`,
      body: patch,
      schema: lambdaSchemas().firewallRuleset,
      // The whole rule list replaces the old one: sending it twice is sending it once.
      idempotent: true,
      recover: async () => {
        const ruleset = await this.getFirewallRuleset(id);
        const applied =
          ruleset &&
          (patch.name === undefined || ruleset.name === patch.name) &&
          (patch.rules === undefined || sameRules(ruleset.rules, patch.rules));
        return applied ? ruleset : undefined;
      },
    });
  }

  /** Deletes the ruleset; succeeds when it is already gone. */
  async deleteFirewallRuleset(id: string): Promise<void> {
    try {
      await this.send({
        method: "DELETE",
        path: `/firewall-rulesets/${encodeURIComponent(id)}`,
        operation: "delete firewall ruleset",
        resource: `firewall ruleset "${id}"`,
        acceptStatuses: [404],
        recover: async () => ((await this.getFirewallRuleset(id)) ? undefined : {}),
      });
    } catch (err) {
      if (err instanceof ApiError && err.code === "firewall-rulesets/firewall-ruleset-in-use") {
        throw new ApiError(
          `${API}: firewall ruleset "${id}" is still attached to instances, so it cannot be deleted. ` +
            `Terminate those instances first (Pulumi does so when they are part of the same stack).`,
          err.status,
          err.code,
          err.operation,
          err.resource,
          err.apiMessage,
        );
      }
      throw err;
    }
  }

  // ---- plumbing -------------------------------------------------------------------------------

  private async get<T>(req: Omit<ApiRequest<T>, "method">): Promise<T> {
    return this.send({ ...req, method: "GET" });
  }

  private async getOrUndefined<T>(req: Omit<ApiRequest<T>, "method">): Promise<T | undefined> {
    const { status, data } = await this.call({ ...req, method: "GET", acceptStatuses: [404] });
    return status === 404 ? undefined : data;
  }

  private async send<T>(req: ApiRequest<T>): Promise<T> {
    return (await this.call(req)).data;
  }

  private async call<T>(req: ApiRequest<T>): Promise<{ status: number; data: T }> {
    try {
      return await this.http.request({ ...req, rateKey: REQUEST_BUDGET });
    } catch (err) {
      throw this.explain(err);
    }
  }

  /** Rewrites an API failure into a message that says what to do, keyed on the error code. */
  private explain(err: unknown, extraSecrets: readonly (string | undefined)[] = []): unknown {
    if (!(err instanceof ApiError)) {
      if (err instanceof Error) err.message = this.scrub(err.message, extraSecrets);
      return err;
    }
    const what = `${err.operation} ${err.resource}`;
    const detail = err.apiMessage ? ` (${err.apiMessage})` : "";
    let message: string;
    switch (err.code) {
      case "global/invalid-api-key":
        message =
          `${API} rejected the API key [global/invalid-api-key] while trying to ${what}. ` +
          `Set a valid key with \`pulumi config set --secret ${LAMBDA_DEFAULTS.configKey} <key>\` or ${LAMBDA_DEFAULTS.apiKeyEnv}; ` +
          `keys are managed at ${KEYS_PAGE}.`;
        break;
      case "global/quota-exceeded":
        message =
          `${API}: quota exceeded [global/quota-exceeded] while trying to ${what}${detail}. ` +
          `Terminate or delete Lambda resources you no longer use, or ask Lambda Support to raise the quota.`;
        break;
      case "global/account-inactive":
      case "global/invalid-address":
        message = `${API}: the account cannot ${what} [${err.code}]${detail}. Fix it in the Lambda Cloud dashboard, then retry.`;
        break;
      default:
        message = err.code && !err.message.includes(err.code) ? `${err.message} [${err.code}]` : err.message;
    }
    return new ApiError(this.scrub(message, extraSecrets), err.status, err.code, err.operation, err.resource, err.apiMessage, err.ambiguous);
  }

  private async explainLaunch(err: unknown, context: LaunchContext, userData: string | undefined): Promise<unknown> {
    if (err instanceof ApiError && err.code === "instance-operations/launch/insufficient-capacity") {
      let available: string[] = [];
      try {
        available = await regionsWithCapacity(this, context.instanceType);
      } catch {
        // The launch error matters more than the lookup that explains it.
      }
      return new InsufficientCapacityError(context.instanceType, context.region, available);
    }
    if (err instanceof ApiError && err.code === "instance-operations/launch/file-system-in-wrong-region") {
      let where = "";
      try {
        const regions = (await this.listFilesystems())
          .filter((fs) => context.fileSystemNames.includes(fs.name) && fs.region.name !== context.region)
          .map((fs) => `"${fs.name}" is in ${fs.region.name}`);
        if (regions.length > 0) where = ` (${regions.join(", ")})`;
      } catch {
        // Best effort, as above.
      }
      return new ApiError(
        this.scrub(
          `${API}: cannot launch ${context.instanceType} in ${context.region}: filesystems ${context.fileSystemNames.join(", ")} ` +
            `must be in the instance's region${where} [${err.code}]. Filesystems are regional: create a LambdaFilesystem ` +
            `in ${context.region}, or launch in the filesystem's region.`,
          [userData],
        ),
        err.status,
        err.code,
        err.operation,
        err.resource,
        err.apiMessage,
      );
    }
    return this.explain(err, [userData]);
  }
}

export class WaitTimeoutError extends Error {
  constructor(
    readonly instanceId: string,
    readonly wanted: readonly string[],
    readonly lastStatus: string,
    readonly timeoutMs: number,
  ) {
    const message =
      `${API}: instance "${instanceId}" did not become ${wanted.join(" or ")} within ${Math.round(timeoutMs / 1000)} s ` +
      `(last status: ${lastStatus}).`;
    super(message);
    // Set again: a serialized (deployed) copy of this class loses what super() sets (see ApiError).
    this.message = message;
    this.name = "WaitTimeoutError";
  }

  /** A prototype member, so that a deployed (serialized) copy is still an Error (see dynamic/errors.ts). */
  override toString(): string {
    return `${this.name}: ${this.message}`;
  }
}

function filesystemInUseError(label: string): Error {
  return new Error(
    `${API}: ${label} is mounted by an instance that is not terminated, so it cannot be deleted. ` +
      `Terminate the instances that use it first (or remove it from their fileSystemNames), then delete it.`,
  );
}

/** The same rules, as the API normalizes them (a bare address is a /32). */
function sameRules(live: readonly FirewallRule[], sent: readonly FirewallRule[]): boolean {
  const norm = (rules: readonly FirewallRule[]) =>
    JSON.stringify(
      rules.map((r) => ({ ...r, source_network: r.source_network.includes("/") ? r.source_network : `${r.source_network}/32` })).map((r) =>
        Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b))),
      ),
    );
  return norm(live) === norm(sent);
}

function unwrapData(body: unknown): unknown {
  return typeof body === "object" && body !== null && "data" in body ? (body as { data: unknown }).data : body;
}

function describeError(body: unknown): { code?: string; message?: string } {
  const parsed = lambdaSchemas().errorBody.safeParse(body);
  if (!parsed.success) return {};
  const { code, message, suggestion } = parsed.data.error;
  return { code, message: [message, suggestion].filter(Boolean).join(" ") || undefined };
}
