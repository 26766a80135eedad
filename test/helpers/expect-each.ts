import { expect } from "vitest";

/**
 * Runs `check` on every item, after asserting there is at least one: a loop of assertions over an
 * empty list would pass without checking anything.
 */
export function expectEach<T>(items: readonly T[], check: (item: T, index: number) => void, what = "items"): void {
  expect(items.length, `expected at least one of ${what} to check`).toBeGreaterThan(0);
  items.forEach(check);
}
