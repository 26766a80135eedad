/**
 * A deploy that checks itself: after `pulumi up`, every public service's health endpoint (the
 * stack output `healthUrls`) must answer 2xx. A machine Fly Proxy stopped starts on the first
 * request and a fresh release may still be starting, so each gets a bounded number of attempts.
 * A plain GET of public URLs, so it uses fetch rather than the providers' API client, which is
 * for the cloud APIs (tokens, rate budgets, their error envelopes).
 */

export interface HealthCheckOptions {
  /** Attempts per service before it counts as failed. @default 10 */
  attempts: number;
  /** Wait between attempts, in ms. @default 6000 */
  intervalMs: number;
  /** Time one request may take, in ms. @default 10000 */
  timeoutMs: number;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

export const HEALTH_CHECK_DEFAULTS: HealthCheckOptions = { attempts: 10, intervalMs: 6_000, timeoutMs: 10_000 };

export interface HealthResult {
  service: string;
  url: string;
  ok: boolean;
  attempts: number;
  /** The last answer: "200 OK", or why there was none. */
  answer: string;
  /** The start of the last answer's body, when it failed. */
  body?: string;
}

/** The health URLs from `pulumi stack output --json` (its `healthUrls`), or from that map alone. */
export function healthUrlsOf(outputs: unknown): Record<string, string> {
  const record = (value: unknown) => (value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined);
  const root = record(outputs);
  const map = record(root?.healthUrls) ?? root;
  const urls = Object.entries(map ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === "string" && /^https?:\/\//.test(entry[1]));
  if (urls.length === 0) {
    throw new Error("no health URLs: expected the stack outputs (pulumi stack output --json) with healthUrls, a map of service to URL. Was the stack deployed with this program?");
  }
  return Object.fromEntries(urls);
}

/** Why a request got no answer, in words: the connection error's code where there is one. */
function noAnswer(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) return `no answer within ${timeoutMs / 1000} s`;
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  return `no answer: ${cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err))}`;
}

/** Calls one service's health URL until it answers 2xx or the attempts run out. */
export async function checkService(service: string, url: string, options: HealthCheckOptions): Promise<HealthResult> {
  const get = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  let last: HealthResult = { service, url, ok: false, attempts: 0, answer: "not called" };
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    try {
      const response = await get(url, { signal: AbortSignal.timeout(options.timeoutMs), redirect: "follow" });
      const answer = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
      if (response.ok) return { service, url, ok: true, attempts: attempt, answer };
      const body = (await response.text()).replace(/\s+/g, " ").trim().slice(0, 200);
      last = { service, url, ok: false, attempts: attempt, answer, ...(body ? { body } : {}) };
    } catch (err) {
      last = { service, url, ok: false, attempts: attempt, answer: noAnswer(err, options.timeoutMs) };
    }
    if (attempt < options.attempts) await sleep(options.intervalMs);
  }
  return last;
}

/** Every service at once; the results in the order given. */
export function checkHealth(urls: Record<string, string>, options: HealthCheckOptions): Promise<HealthResult[]> {
  return Promise.all(Object.entries(urls).map(([service, url]) => checkService(service, url, options)));
}

/** One line per service: what it answered, and for a failure what it said. */
export function describeResult(result: HealthResult): string {
  if (result.ok) return `ok    ${result.service}: GET ${result.url} → ${result.answer}${result.attempts > 1 ? ` (attempt ${result.attempts})` : ""}`;
  const tries = `${result.attempts} attempt${result.attempts === 1 ? "" : "s"}`;
  return `FAIL  ${result.service}: GET ${result.url} → ${result.answer} (${tries})${result.body ? `: ${JSON.stringify(result.body)}` : ""}`;
}
