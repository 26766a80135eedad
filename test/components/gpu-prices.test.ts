import { describe, expect, it } from "vitest";
import { livePriceReport } from "../../components/gpu-prices";
import { DEFAULT_PRICES, PRICE_SOURCES, resolvePrices } from "../../src/config/prices";
import type { InstanceTypeLister, InstanceTypes } from "../../src/providers/lambda";

/** GET /instance-types as Lambda answers it, for the types given with their cents per hour. */
function lister(cents: Record<string, number>): InstanceTypeLister {
  const types: InstanceTypes = {};
  for (const [name, price] of Object.entries(cents)) {
    types[name] = { instance_type: { name, price_cents_per_hour: price }, regions_with_capacity_available: [] };
  }
  return { listInstanceTypes: async () => types };
}

describe("Lambda's live GPU prices beside the cost table", () => {
  it("reports a live price that differs from the table, with the table's date and the override to set", async () => {
    const [line] = await livePriceReport(lister({ gpu_1x_gh200: 249 }), ["gpu_1x_gh200"], DEFAULT_PRICES);
    expect(line).toBe(
      `Lambda lists gpu_1x_gh200 at $2.49/h right now; the cost table has $2.29/h (as of ${PRICE_SOURCES.lambdaChecked.asOf}). ` +
        "To plan with Lambda's price, set sophia:cost.prices.lambda.perHour.gpu_1x_gh200: 2.49.",
    );
  });

  it("says so when the live price matches the table, overrides included", async () => {
    const { prices } = resolvePrices({ lambda: { perHour: { gpu_1x_a10: 0.75 } } });
    expect(await livePriceReport(lister({ gpu_1x_a10: 75 }), ["gpu_1x_a10"], prices)).toEqual(["Lambda lists gpu_1x_a10 at $0.75/h, as the cost table does."]);
  });

  it("names a type Lambda no longer prices", async () => {
    const [line] = await livePriceReport(lister({}), ["gpu_1x_a100"], DEFAULT_PRICES);
    expect(line).toMatch(/^Lambda does not list a price for gpu_1x_a100 right now; the cost table has \$1\.29\/h \(as of 2025-11-01\)\.$/);
  });
});
