/**
 * Price tables for the cost estimate: dated data with the page each figure came from. Prices
 * change; override any of them under `sophia:cost.prices` in the stack file rather than editing
 * the estimate. Hourly rates are the published per-second rates × 3600.
 */
import type { CostConfig } from "../config";
import type { FlyRegion, LambdaInstanceType } from "../platform";

/** A month of always-on running, in hours (365 × 24 / 12). Fly quotes 30-day months (720 h). */
export const HOURS_PER_MONTH = 730;
/** Weeks in a month of HOURS_PER_MONTH, so that 168 h a week is the whole month. */
export const WEEKS_PER_MONTH = HOURS_PER_MONTH / 168;

export interface PriceSource {
  /** What the figures cover. */
  name: string;
  url: string;
  /** When the figures were published or checked, YYYY-MM-DD. */
  asOf: string;
  /** What to watch for when the figures may be out of date. */
  note?: string;
}

export interface PriceTable {
  fly: {
    /** $/h of one shared vCPU, 256 MB included. */
    sharedCpuPerHour: number;
    /** $/h of one performance vCPU, 2 GB included. */
    performanceCpuPerHour: number;
    /** $/h per GB of RAM above what the vCPUs include. */
    ramGbPerHour: number;
    /** Regional price relative to iad/ewr (the base); machine prices are multiplied by it. */
    regionMultiplier: Record<FlyRegion, number>;
    /** $ per GB-month of provisioned volume, attached or not. */
    volumeGbMonth: number;
    /** $ per GB-month of a stopped or suspended machine's root filesystem. */
    rootfsGbMonth: number;
    /** $ per month of a dedicated IPv4; shared IPv4, IPv6 and Flycast (private_v6) are free. */
    dedicatedIpv4Month: number;
    /** $ per month of a single-hostname certificate beyond the free ones. */
    certificateMonth: number;
    /** Single-hostname certificates free per organization. */
    freeCertificates: number;
  };
  lambda: {
    /** $/h of one on-demand instance, per instance type. */
    /** Types without a known list price are missing; the cost model then asks for an override. */
    perHour: Partial<Record<LambdaInstanceType, number>>;
  };
  vercel: {
    /** $ per member-month of the Pro plan (the UI's project needs Pro for a team). */
    proSeatMonth: number;
  };
}

/** RAM that each vCPU includes, in GB: Fly's presets. A fact of the price model, not a price. */
export const FLY_INCLUDED_RAM_GB_PER_CPU = { shared: 0.25, performance: 2 } as const;

export const PRICE_SOURCES: PriceSource[] = [
  // The rates below are the page's RegionPricingSelector constants (superfly/docs snippets/RegionPricingSelector.jsx).
  {
    name: "Fly.io machines, volumes, rootfs, IPv4, certificates",
    url: "https://fly.io/docs/about/pricing/",
    asOf: "2025-11-01",
    note: "a later revision of the page lists shared-cpu-1x 256MB at $2.19 and extra RAM at $6/GB (iad); override fly.* if your invoice shows those",
  },
  { name: "Lambda on-demand GPU instances", url: "https://lambda.ai/pricing", asOf: "2025-11-01" },
  { name: "Vercel Pro plan", url: "https://vercel.com/pricing", asOf: "2025-11-01" },
];

export const DEFAULT_PRICES: PriceTable = {
  fly: {
    sharedCpuPerHour: 0.0027, // $0.00000075/s: shared-cpu-1x 256MB ≈ $1.94 per 30 days in iad
    performanceCpuPerHour: 0.043056, // $0.00001196/s: performance-1x 2GB ≈ $31 per 30 days in iad
    ramGbPerHour: 0.006948, // $0.00000193/s: ≈ $5 per GB for 30 days
    regionMultiplier: {
      ams: 1.038461538, arn: 1.038461538, bom: 1.076923077, cdg: 1.134615385, dfw: 1.25, ewr: 1,
      fra: 1.153846154, gru: 1.615384615, iad: 1, jnb: 1.302884615, lax: 1.199519231, lhr: 1.134615385,
      nrt: 1.307692308, ord: 1.25, sin: 1.269230769, sjc: 1.192307692, syd: 1.269230769, yyz: 1.115384615,
    },
    volumeGbMonth: 0.15,
    rootfsGbMonth: 0.15,
    dedicatedIpv4Month: 2,
    certificateMonth: 0.1,
    freeCertificates: 10,
  },
  lambda: {
    // Late-2025 list prices. gpu_1x_gh200 and gpu_8x_a100 match the examples in Lambda's API document.
    perHour: {
      gpu_1x_a10: 0.75,
      gpu_1x_a100: 1.29,
      gpu_1x_a100_sxm4: 1.29,
      gpu_1x_a6000: 0.8,
      gpu_1x_gh200: 1.49,
      gpu_1x_h100_pcie: 2.49,
      gpu_1x_h100_sxm5: 3.29,
      gpu_2x_a100: 2.58,
      gpu_2x_h100_sxm5: 6.38,
      gpu_4x_a100: 5.16,
      gpu_4x_h100_sxm5: 12.36,
      gpu_8x_a100: 10.32,
      gpu_8x_a100_80gb_sxm4: 14.32,
      gpu_8x_h100_sxm5: 23.92,
      gpu_8x_b200_sxm6: 39.92,
    },
  },
  vercel: { proSeatMonth: 20 },
};

export type PriceOverrides = NonNullable<CostConfig["prices"]>;

/** The default table with the stack's overrides applied, and the dotted paths that were overridden. */
export function resolvePrices(overrides: PriceOverrides | undefined, base: PriceTable = DEFAULT_PRICES): { prices: PriceTable; overridden: string[] } {
  const overridden: string[] = [];
  const merge = <T extends object>(path: string, into: T, from: Partial<Record<keyof T, unknown>> | undefined): T => {
    if (from === undefined) return into;
    const out = { ...into } as Record<string, unknown>;
    for (const [key, value] of Object.entries(from)) {
      if (value === undefined) continue;
      const current = out[key];
      if (typeof value === "object" && value !== null && typeof current === "object" && current !== null) {
        out[key] = merge(`${path}.${key}`, current, value as Record<string, unknown>);
      } else {
        out[key] = value;
        overridden.push(`${path}.${key}`);
      }
    }
    return out as T;
  };
  const prices: PriceTable = {
    fly: merge("fly", base.fly, overrides?.fly),
    lambda: merge("lambda", base.lambda, overrides?.lambda),
    vercel: merge("vercel", base.vercel, overrides?.vercel),
  };
  return { prices, overridden };
}
