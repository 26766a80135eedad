/** A rehearsal run that passes its bound stops, saying what it was waiting for. */
import { describe, expect, it } from "vitest";
import { Watchdog, WatchdogExpired } from "../../src/rehearsal/watchdog";

describe("the rehearsal's watchdog", () => {
  it("names each operation still in flight, and for how long", async () => {
    const watchdog = new Watchdog('the "up" phase', 20);
    watchdog.doing("a", 'fly:Machine "web-0" create');
    watchdog.doing("b", 'lambda:Instance "gpu-0" create');
    watchdog.done("b");
    const never = new Promise<never>(() => undefined);
    const err = await watchdog.within(never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WatchdogExpired);
    expect((err as Error).message).toMatch(/^the "up" phase did not finish within 0 s, its bound: it was waiting for fly:Machine "web-0" create \(for \d+ s\)\.$/);
    expect((err as Error).message).not.toContain("gpu-0");
  });

  it("with nothing in flight, says the program itself has not finished, and what happened last", async () => {
    const watchdog = new Watchdog('the "interrupted up" phase', 20);
    watchdog.note('the program registered fly:App "api"');
    const err = await watchdog.within(new Promise<never>(() => undefined)).catch((e: unknown) => e as Error);
    expect(err.message).toMatch(/no provider operation was in flight, so it was waiting for the program to register more resources or to finish\. The last thing that happened: the program registered fly:App "api"/);
  });

  it("lets work that ends in time through, and stops without keeping the process alive", async () => {
    const watchdog = new Watchdog("a run", 5_000);
    expect(await watchdog.within(Promise.resolve(42))).toBe(42);
    watchdog.stop();
  });
});
