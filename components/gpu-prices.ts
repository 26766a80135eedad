/**
 * Lambda's live on-demand prices beside the cost table's, read during a real preview or up from
 * GET /instance-types (the offline plan never calls this). A difference is reported, not an error:
 * the estimate keeps using the dated table and the stack's overrides, so that plans reproduce.
 */
import { lambdaPriceSource, PRICE_SOURCES, type PriceTable } from "../src/config/prices";
import { LAMBDA_DEFAULTS, resolveApiUrl, type InstanceTypeLister, type LambdaInstanceType } from "../src/providers/lambda";

/**
 * Whether the stack talks to Lambda's own API. An emulator or a proxy lists prices of its own,
 * which are not Lambda's and must not be offered as the price to plan with.
 */
export function isLambdasOwnApi(apiUrl: string | undefined): boolean {
  return new URL(resolveApiUrl(apiUrl)).host === new URL(LAMBDA_DEFAULTS.apiUrl).host;
}

const dollars = (n: number) => `$${n.toFixed(2)}`;

/** One line per instance type: Lambda's price now, the table's, and what to set if they differ. */
export async function livePriceReport(client: InstanceTypeLister, types: readonly LambdaInstanceType[], prices: PriceTable): Promise<string[]> {
  const listed = await client.listInstanceTypes();
  return [...new Set(types)].map((type) => {
    const cents = listed[type]?.instance_type.price_cents_per_hour;
    const table = prices.lambda.perHour[type];
    const tableText = table === undefined ? "no price in the cost table" : `the cost table has ${dollars(table)}/h (as of ${PRICE_SOURCES[lambdaPriceSource(type)].asOf})`;
    if (cents === undefined) return `Lambda does not list a price for ${type} right now; ${tableText}.`;
    const live = cents / 100;
    if (table !== undefined && Math.abs(live - table) < 0.005) return `Lambda lists ${type} at ${dollars(live)}/h, as the cost table does.`;
    return `Lambda lists ${type} at ${dollars(live)}/h right now; ${tableText}. To plan with Lambda's price, set sophia:cost.prices.lambda.perHour.${type}: ${live}.`;
  });
}
