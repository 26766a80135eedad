/**
 * The rehearsal's watchdog: every run (an `up`, a `destroy`) ends within a bound it states. It
 * keeps what is in flight (each resource's provider operation, since when) and what happened
 * last; when the bound passes, the run stops with a message that says what it was waiting for,
 * instead of waiting for ever, as a cancelled CI job would.
 */
import { shortKind } from "./state";

export class WatchdogExpired extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WatchdogExpired";
  }
}

interface Step {
  what: string;
  since: number;
}

export class Watchdog {
  private readonly inflight = new Map<string, Step>();
  private last: Step | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private expire: (err: WatchdogExpired) => void = () => undefined;
  /** Rejects when the bound passes; never resolves. */
  readonly expired: Promise<never>;

  constructor(
    /** What runs, for the message: e.g. `the "interrupted up" phase`. */
    readonly run: string,
    readonly boundMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.expired = new Promise<never>((_, reject) => (this.expire = reject));
    this.expired.catch(() => undefined);
    this.timer = setTimeout(() => this.expire(new WatchdogExpired(this.describe())), boundMs);
    // The watchdog must never be what keeps a finished process alive.
    this.timer.unref?.();
  }

  /** `key` (a resource) is now doing `what`, e.g. `fly:Machine "web" create`. */
  doing(key: string, what: string): void {
    const step = { what, since: this.now() };
    this.inflight.set(key, step);
    this.last = step;
  }

  /** `key` finished what it was doing. */
  done(key: string): void {
    const step = this.inflight.get(key);
    this.inflight.delete(key);
    if (step) this.last = { what: `${step.what} finished`, since: this.now() };
  }

  /** Something happened that is not an operation (a registration, a phase step). */
  note(what: string): void {
    this.last = { what, since: this.now() };
  }

  /** Races `work` against the bound. */
  within<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.expired]);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** What the run is waiting for, in a sentence. */
  describe(): string {
    const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;
    const now = this.now();
    const head = `${this.run} did not finish within ${seconds(this.boundMs)}, its bound`;
    const steps = [...this.inflight.values()].sort((a, b) => a.since - b.since);
    if (steps.length > 0) {
      const list = steps.slice(0, 8).map((s) => `${s.what} (for ${seconds(now - s.since)})`);
      const more = steps.length > 8 ? `, and ${steps.length - 8} more` : "";
      return `${head}: it was waiting for ${list.join(", ")}${more}.`;
    }
    const last = this.last ? ` The last thing that happened: ${this.last.what}, ${seconds(now - this.last.since)} before.` : "";
    return `${head}: no provider operation was in flight, so it was waiting for the program to register more resources or to finish.${last}`;
  }
}

/** How the watchdog names a resource's operation: `fly:Machine "web-0" create`. */
export function operationLabel(type: string, name: string, operation: string): string {
  return `${shortKind(type)} "${name}" ${operation}`;
}
