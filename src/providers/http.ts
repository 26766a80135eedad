/**
 * The one HTTP client every provider uses. Retries, rate limits, timeouts, response validation
 * and error shaping live here so that no resource provider ever calls `fetch` itself.
 */
import { z } from "zod";

export type HttpMethod = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";

/** A request as a provider describes it: what it does, to what, and what it expects back. */
export interface ApiRequest<T> {
  method: HttpMethod;
  /** Path below the base URL, starting with `/`. */
  path: string;
  /** Human-readable operation for error messages, e.g. "create volume". */
  operation: string;
  /** The resource the operation acts on, e.g. `app "sophia-dev-api"`. */
  resource: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is, instead of `body` (e.g. an S3 XML document). */
  rawBody?: { content: string; contentType: string };
  query?: Record<string, string | number | boolean | undefined>;
  /** Validates the (already unwrapped) response body. Omit for endpoints whose body is ignored. */
  schema?: z.ZodType<T>;
  /** Bucket for client-side rate limiting; requests sharing a key share a budget. */
  rateKey?: string | readonly string[];
  /** Overrides the client's retry policy for this request. */
  retry?: RetryPolicy;
  /**
   * Safe to send twice with the same effect. @default true for GET, PUT and DELETE; false for POST
   * and PATCH. A request that is not is never retried after an answer that may hide a success
   * (timeout, reset, 5xx): it is retried only after 429 or a refused connection, or after `recover`.
   */
  idempotent?: boolean;
  /**
   * Reads back what an attempt whose answer was lost may have done: for a create, what it made;
   * for any other write, the state it left (a machine running the new config, a lease held in our
   * name). Called after every failure that may hide a success (timeout, reset, 5xx), for
   * idempotent requests too, so a write whose answers keep getting lost ends as soon as its effect
   * shows rather than when its attempts run out. A result is returned as the answer; undefined
   * means the write did not happen, so it is sent again.
   */
  recover?: () => Promise<T | undefined>;
  /** Statuses that are a normal answer rather than an error (e.g. 404 on an idempotent delete). */
  acceptStatuses?: number[];
  /** Per-request timeout override. */
  timeoutMs?: number;
  /** Extra request headers (e.g. Fly's lease nonce). Cannot override authorization. */
  headers?: Record<string, string>;
}

export interface ApiResponse<T> {
  status: number;
  data: T;
}

/** A token bucket: `burst` requests at once, refilled at one per `intervalMs`. */
export interface RateLimit {
  intervalMs: number;
  burst: number;
}

/**
 * How long a request may take in all: after its rate-limit wait, no attempt starts later than
 * `maxTotalMs` after the first, and each attempt (answer and body) is cut off after the client's
 * timeout, so a request settles within about `maxTotalMs` + one timeout + the read-backs of
 * `recover`, each bounded the same way.
 */
export interface RetryPolicy {
  /** Total attempts including the first. @default 6 */
  maxAttempts?: number;
  /** Give up once this much time has passed since the first attempt. @default 60000 */
  maxTotalMs?: number;
  /** First backoff step; doubles each attempt, with full jitter. @default 250 */
  baseDelayMs?: number;
  /** Upper bound of one backoff step. @default 10000 */
  maxDelayMs?: number;
}

export interface HttpClientOptions {
  /** Name of the API for messages, e.g. "Fly Machines API". */
  api: string;
  baseUrl: string;
  token: string;
  retry?: RetryPolicy;
  /** @default 30000 */
  timeoutMs?: number;
  /** Rate limit for a given `rateKey`; undefined means unlimited. */
  rateLimitFor?: (rateKey: string) => RateLimit | undefined;
  /** Pulls the API's own error code and message out of an error body. */
  describeError?: (body: unknown) => { code?: string; message?: string };
  /** Unwraps a success body before validation (Lambda wraps everything in `{data}`). */
  unwrap?: (body: unknown) => unknown;
  /** Values that must never appear in an error message, besides the token. */
  redact?: string[];
  /** The Authorization header for the token. @default `Bearer <token>` */
  authorization?: (token: string) => string;
  /**
   * Signs each attempt instead of the bearer token (e.g. AWS SigV4 for S3): returns the headers
   * that authorize the request, computed over its method, URL, headers and body.
   */
  sign?: (request: SignableRequest) => Record<string, string>;
  /** Injected for tests. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
}

/** What a request signer sees of one attempt. */
export interface SignableRequest {
  method: HttpMethod;
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

/** An API call that failed for good. Carries enough to branch on and to tell the user what to do. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
    readonly operation: string,
    readonly resource: string,
    readonly apiMessage: string | undefined,
    /** The request may have taken effect although no success answer arrived (timeout, reset, 5xx on a create). */
    readonly ambiguous = false,
  ) {
    super(message);
    // Pulumi's closure serializer turns `super(message)` into a call that leaves `this` bare, so a
    // deployed provider's error would reach the engine with no message: set it here too.
    this.message = message;
    this.name = "ApiError";
  }

  /** A prototype member, so that a deployed (serialized) copy is still an Error (see dynamic/errors.ts). */
  override toString(): string {
    return `${this.name}: ${this.message}`;
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class HttpClient {
  // Assigned in the constructor, not as field initializers: Pulumi's closure serializer keeps only
  // the constructor body, so initializers would be lost in a deployed dynamic provider.
  private readonly buckets: Map<string, { tokens: number; updatedAt: number }>;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: HttpClientOptions) {
    this.buckets = new Map();
    this.fetchImpl = options.fetch ?? fetch;
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  async request<T>(req: ApiRequest<T>): Promise<ApiResponse<T>> {
    const policy = { ...this.options.retry, ...req.retry };
    const retry = {
      maxAttempts: policy.maxAttempts ?? 6,
      maxTotalMs: policy.maxTotalMs ?? 60_000,
      baseDelayMs: policy.baseDelayMs ?? 250,
      maxDelayMs: policy.maxDelayMs ?? 10_000,
    };
    let started: number | undefined;
    const idempotent = req.idempotent ?? !(req.method === "POST" || req.method === "PATCH");
    for (let attempt = 1; ; attempt++) {
      // A request that counts against several budgets (e.g. a launch) waits for each.
      for (const rateKey of typeof req.rateKey === "string" ? [req.rateKey] : (req.rateKey ?? [])) await this.takeRateToken(rateKey);
      // The retry budget runs from the first attempt, not from the wait for a rate token: many
      // requests queued on one budget must each still get their retries.
      started ??= this.now();
      let waitMs: number | undefined;
      const since = started;
      const exhausted = () => attempt >= retry.maxAttempts || this.now() - since >= retry.maxTotalMs;
      let ambiguous = false;
      /** The write may have taken effect, answered or not: what `recover` reads back. */
      let mayHaveActed = false;
      let failure: ApiError | undefined;
      try {
        const response = await this.send(req);
        if (response.ok || req.acceptStatuses?.includes(response.status)) {
          return { status: response.status, data: this.parse(req, response) };
        }
        const body = response.body;
        const retryable = response.status === 429 || response.status >= 500;
        if (!retryable) throw this.httpError(req, response.status, body);
        // A 5xx may come after the API acted; 429 means it did not.
        mayHaveActed = req.method !== "GET" && response.status !== 429;
        ambiguous = !idempotent && mayHaveActed;
        waitMs = retryAfterMs(response.retryAfter, this.now());
        if (exhausted() || (ambiguous && !req.recover)) failure = this.httpError(req, response.status, body, attempt, ambiguous);
      } catch (err) {
        if (err instanceof ApiError) throw err;
        if (!isConnectionError(err)) {
          // Anything else (e.g. an invalid header value) may quote the request; keep secrets out of it.
          if (err instanceof Error) err.message = this.scrub(err.message);
          throw err;
        }
        // A refused connection never delivered the request; a reset or timeout may have.
        mayHaveActed = req.method !== "GET" && !isRefused(err);
        ambiguous = !idempotent && mayHaveActed;
        if (exhausted() || (ambiguous && !req.recover)) failure = this.connectionError(req, attempt, connectionFailure(err), ambiguous);
      }
      // Read back before trying again, and once more before giving up: the write may have happened.
      if (mayHaveActed && req.recover) {
        const found = await req.recover();
        if (found !== undefined) return { status: 200, data: found };
      }
      if (failure) throw failure;
      const backoff = this.random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
      const remaining = retry.maxTotalMs - (this.now() - since);
      await this.sleep(Math.max(0, Math.min(waitMs ?? backoff, remaining)));
    }
  }

  /** One attempt, its body read in full: the timeout covers the answer and its body alike. */
  private async send<T>(req: ApiRequest<T>): Promise<Answer> {
    const url = new URL(this.options.baseUrl.replace(/\/+$/, "") + req.path);
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), req.timeoutMs ?? this.options.timeoutMs ?? 30_000);
    const body = req.rawBody?.content ?? (req.body === undefined ? undefined : JSON.stringify(req.body));
    const contentType = req.rawBody?.contentType ?? (req.body === undefined ? undefined : "application/json");
    const headers: Record<string, string> = {
      ...withoutAuthorization(req.headers),
      accept: "application/json",
      ...(contentType === undefined ? {} : { "content-type": contentType }),
    };
    const auth = this.options.sign
      ? this.options.sign({ method: req.method, url, headers, body })
      : { authorization: this.options.authorization ? this.options.authorization(this.options.token) : `Bearer ${this.options.token}` };
    try {
      const response = await this.fetchImpl(url, { method: req.method, headers: { ...headers, ...auth }, body, signal: controller.signal });
      // A body that stalls after the status line would otherwise hold the request forever.
      const answer = await readBody(response, controller.signal);
      return { status: response.status, ok: response.ok, retryAfter: response.headers.get("retry-after"), body: answer };
    } finally {
      clearTimeout(timer);
    }
  }

  private parse<T>(req: ApiRequest<T>, response: Answer): T {
    const body = response.body;
    if (!response.ok) return body as T;
    const unwrapped = this.options.unwrap ? this.options.unwrap(body) : body;
    if (!req.schema) return unwrapped as T;
    const parsed = req.schema.safeParse(unwrapped);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .slice(0, 3)
        .map((issue) => `${issue.path.join(".") || "(body)"}: ${issue.message}`)
        .join("; ");
      throw new ApiError(
        this.scrub(
          `${this.options.api}: ${req.operation} ${req.resource} returned an unexpected response shape (${issues}). ` +
            `The API may have changed; please report this with the operation name.`,
        ),
        response.status,
        "unexpected-response",
        req.operation,
        req.resource,
        undefined,
      );
    }
    return parsed.data;
  }

  private httpError(req: ApiRequest<unknown>, status: number, body: unknown, attempts?: number, ambiguous = false): ApiError {
    const { code, message } = this.options.describeError?.(body) ?? {};
    const tries = attempts && attempts > 1 ? ` after ${attempts} attempts` : "";
    const detail = message ? `: ${message}` : "";
    return new ApiError(
      this.scrub(`${this.options.api}: ${req.operation} ${req.resource} failed with HTTP ${status}${tries}${detail}`),
      status,
      code,
      req.operation,
      req.resource,
      message === undefined ? undefined : this.scrub(message),
      ambiguous,
    );
  }

  private connectionError(req: ApiRequest<unknown>, attempts: number, failure: string, ambiguous: boolean): ApiError {
    const unsure = ambiguous ? " The request may have taken effect; look for what it made before trying again." : "";
    return new ApiError(
      this.scrub(
        `${this.options.api}: ${req.operation} ${req.resource} failed after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${failure}. ` +
          `Check that ${this.options.baseUrl} is reachable.${unsure}`,
      ),
      undefined,
      "connection",
      req.operation,
      req.resource,
      undefined,
      ambiguous,
    );
  }

  /** Removes the token and any registered secret from text that may reach a user. */
  scrub(text: string): string {
    let out = text;
    for (const secret of [this.options.token, ...(this.options.redact ?? [])]) {
      if (secret && secret.length >= 4) out = out.split(secret).join("[redacted]");
    }
    return out;
  }

  private async takeRateToken(rateKey: string): Promise<void> {
    const limit = this.options.rateLimitFor?.(rateKey);
    // No interval is no limit (and would make the refill below divide by zero).
    if (!limit || !(limit.intervalMs > 0) || !(limit.burst >= 1)) return;
    for (;;) {
      const now = this.now();
      const bucket = this.buckets.get(rateKey) ?? { tokens: limit.burst, updatedAt: now };
      const refilled = Math.min(limit.burst, bucket.tokens + (now - bucket.updatedAt) / limit.intervalMs);
      if (refilled >= 1) {
        this.buckets.set(rateKey, { tokens: refilled - 1, updatedAt: now });
        return;
      }
      this.buckets.set(rateKey, { tokens: refilled, updatedAt: now });
      await this.sleep(Math.ceil((1 - refilled) * limit.intervalMs));
    }
  }
}

/** Extra headers minus any spelling of authorization, which only the client sets. */
function withoutAuthorization(headers: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => name.toLowerCase() !== "authorization"));
}

/** An attempt's answer, read in full. */
interface Answer {
  status: number;
  ok: boolean;
  retryAfter: string | null;
  body: unknown;
}

async function readBody(response: Response, signal: AbortSignal): Promise<unknown> {
  // An injected fetch may ignore the signal: race the read against it as well.
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(Object.assign(new Error("the answer's body did not arrive in time"), { name: "AbortError" }));
    if (signal.aborted) fail();
    else signal.addEventListener("abort", fail, { once: true });
  });
  aborted.catch(() => undefined);
  const text = await Promise.race([response.text(), aborted]);
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Retry-After is either delay-seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === "AbortError" || err.name === "TimeoutError") return true;
  // undici reports resets and refusals as TypeError("fetch failed") with a system error as cause.
  return err instanceof TypeError && /fetch failed|terminated|socket/i.test(err.message);
}

function isRefused(err: unknown): boolean {
  return (err as Error & { cause?: { code?: string } }).cause?.code === "ECONNREFUSED";
}

function connectionFailure(err: unknown): string {
  if (!(err instanceof Error)) return "connection failed";
  if (err.name === "AbortError" || err.name === "TimeoutError") return "request timed out";
  const cause = (err as Error & { cause?: { code?: string } }).cause;
  return cause?.code ? `connection error ${cause.code}` : "connection failed";
}
