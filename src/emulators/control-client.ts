/**
 * A client of an emulator's control API (./control.ts): the same calls steer an emulator in this
 * process and one started separately, behind a proxy or not. The rehearsal and the tests use it. A
 * real API has no control routes, so `probeControl` answers undefined there.
 */
import { CONTROL_PREFIX } from "./control";

export interface HandledRequest {
  method: string;
  path: string;
  at: number;
  status: number | string;
}

export class EmulatorControl {
  constructor(
    /** `http://host:port/_emulator` */
    readonly url: string,
    /** "fly" or "lambda". */
    readonly emulator: string,
  ) {}

  async call<T = unknown>(method: "GET" | "PUT" | "POST", path: string, body?: unknown): Promise<T> {
    // Control requests are loopback calls a test makes on purpose: retried only on a dropped
    // connection (a lossy proxy in front), since every control write sets rather than adds.
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch(`${this.url}${path}`, {
          method,
          headers: body === undefined ? {} : { "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const answer = (await res.json()) as T & { error?: string };
        if (!res.ok) throw new Error(`emulator control ${method} ${path} answered ${res.status}: ${answer.error ?? "no message"}`);
        return answer;
      } catch (err) {
        if (attempt >= 5 || !(err instanceof TypeError)) throw err;
      }
    }
  }

  /** Replaces the fault settings; `{}` turns every fault off. */
  setFaults(faults: Record<string, unknown>): Promise<unknown> {
    return this.call("PUT", "/faults", faults);
  }

  /** The next `count` requests with `method` whose API path matches `path` act, then lose their answer. */
  loseAnswer(rule: { method: string; path: RegExp; count?: number }): Promise<unknown> {
    return this.call("POST", "/lost-answers", { method: rule.method, path: rule.path.source, count: rule.count });
  }

  /** Every API request the emulator handled, from the `since`-th on. */
  requests(since = 0): Promise<HandledRequest[]> {
    return this.call("GET", `/requests?since=${since}`);
  }

  /** How many requests it has handled so far: a mark for `requests(since)`. */
  async mark(): Promise<number> {
    return (await this.requests()).length;
  }

  /** Back to the emulator's start-up settings (faults, timings, capacity, keys); data stays. */
  reset(): Promise<unknown> {
    return this.call("POST", "/reset");
  }

  put(path: string, body: Record<string, unknown>): Promise<unknown> {
    return this.call("PUT", path, body);
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>("GET", path);
  }

  post(path: string, body?: Record<string, unknown>): Promise<unknown> {
    return this.call("POST", path, body ?? {});
  }
}

/**
 * The control API of the emulator serving `apiUrl`, or undefined when it answers that it has none
 * (a real API). A busy emulator (one in the same process as a rehearsal on a loaded machine) may
 * be slow: silence is asked again, and after the last try is an error, never taken for "none".
 */
export async function probeControl(apiUrl: string, tries = 3, timeoutMs = 20_000): Promise<EmulatorControl | undefined> {
  const url = `${new URL(apiUrl).origin}${CONTROL_PREFIX}`;
  let failure = "";
  for (let attempt = 1; attempt <= tries; attempt++) {
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
      continue;
    }
    if (!res.ok) return undefined;
    const info = (await res.json().catch(() => ({}))) as { emulator?: unknown };
    return typeof info.emulator === "string" ? new EmulatorControl(url, info.emulator) : undefined;
  }
  throw new Error(`${url} did not answer in ${tries} tries of ${timeoutMs / 1000} s (${failure}): is the emulator at ${apiUrl} running?`);
}
