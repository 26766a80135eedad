/**
 * Price tables for the cost estimate: dated data with the page each figure came from. Prices
 * change; override any of them under `sophia:cost.prices` in the stack file rather than editing
 * the estimate. Fly's hourly rates are its 30-day prices / 720 h.
 */
import type { CostConfig } from "./schema";
import type { FlyRegion, LambdaInstanceType } from "../platform";

/** A month of always-on running, in hours (365 × 24 / 12). Fly quotes 30-day months (720 h). */
export const HOURS_PER_MONTH = 730;
/** Weeks in a month of HOURS_PER_MONTH, so that 168 h a week is the whole month. */
export const WEEKS_PER_MONTH = HOURS_PER_MONTH / 168;

export interface PriceSource {
  /** What the figures cover. */
  name: string;
  url: string;
  /** When the figures were last checked against the page, YYYY-MM-DD. */
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
    /** $ per GB-month of volume snapshots stored beyond the free allowance. */
    snapshotGbMonth: number;
    /** GB of snapshot storage free each month, per organization. */
    freeSnapshotGb: number;
    /** $ per month of a dedicated IPv4; shared IPv4, IPv6 and Flycast (private_v6) are free. */
    dedicatedIpv4Month: number;
    /** $ per month of a single-hostname certificate beyond the free ones. */
    certificateMonth: number;
    /** Single-hostname certificates free per organization. */
    freeCertificates: number;
    /** $ per GB of outbound data to the internet, by the region the data leaves. */
    egressGb: Record<FlyRegion, number>;
  };
  lambda: {
    /** $/h of one on-demand instance, per instance type. */
    /** Types without a known list price are missing; the cost model then asks for an override. */
    perHour: Partial<Record<LambdaInstanceType, number>>;
    /** $ per GiB-month of filesystem storage used, billed while the filesystem exists. */
    filesystemGbMonth: number;
  };
  vercel: {
    /** $ per member-month of the Pro plan (the UI's project needs Pro for a team). */
    proSeatMonth: number;
  };
  /** The backup bucket's store (Tigris by default). */
  objectStorage: {
    /** $ per GB-month stored, beyond the free allowance. */
    gbMonth: number;
    /** GB stored free each month. */
    freeGb: number;
    /** $ per 1,000 class A requests (PUT, COPY, POST, LIST), beyond the free ones. */
    classAPer1000: number;
    /** Class A requests free each month. */
    freeClassA: number;
  };
}

/** RAM that each vCPU includes, in GB: Fly's presets. A fact of the price model, not a price. */
export const FLY_INCLUDED_RAM_GB_PER_CPU = { shared: 0.25, performance: 2 } as const;

/** Where each group of figures comes from; every cost line names one of these. */
export const PRICE_SOURCES = {
  fly: {
    name: "Fly.io machines, volumes, snapshots, rootfs, IPv4, certificates, egress",
    url: "https://fly.io/docs/about/pricing/",
    asOf: "2026-11-28",
    note: "the page's table: shared-cpu-1x 256MB $2.19, performance-1x $33.00, extra RAM $6.00/GB per 30 days in iad; region markups from its region selector",
  },
  lambdaChecked: {
    name: "Lambda on-demand GPU instances (re-checked types)",
    url: "https://lambda.ai/pricing",
    asOf: "2026-05-07",
    note: "gpu_1x_gh200 $2.29, gpu_1x_h100_sxm5 $3.78, gpu_1x_h100_pcie $2.86, gpu_1x_a100_sxm4 (A100 40GB) $1.48, gpu_1x_a10 $0.86, from published copies of Lambda's page dated 2026; a real preview or up prints Lambda's live prices beside these",
  },
  lambdaOlder: {
    name: "Lambda on-demand GPU instances (other types, not re-checked)",
    url: "https://lambda.ai/pricing",
    asOf: "2025-11-01",
    note: "late-2025 list prices; gpu_1x_a100 (PCIe) is no longer listed; override lambda.perHour if you use one of these",
  },
  lambdaFilesystem: {
    name: "Lambda filesystems",
    url: "https://docs.lambda.ai/public-cloud/billing",
    asOf: "2026-11-28",
    note: "billed per GiB used per month while the filesystem exists; $0.20 is the billing page's example rate, and Lambda shows the actual rate when the filesystem is created",
  },
  vercel: {
    name: "Vercel Pro plan",
    url: "https://vercel.com/docs/plans/pro-plan",
    asOf: "2026-05-20",
    note: "$20 per member a month, with $20 of usage credit and 1 TB of data transfer included (a copy of Vercel's pricing page verified 2026-05-20)",
  },
  tigris: {
    name: "Tigris object storage (standard tier), the backup bucket",
    url: "https://www.tigrisdata.com/docs/pricing/",
    asOf: "2026-12-05",
    note: "$0.02/GB-month with 5 GB free; class A requests (PUT, COPY, POST, LIST) $0.005 per 1,000 beyond 10,000 free; class B $0.0005 per 1,000 beyond 100,000; no egress fees (a stored copy of the page)",
  },
} satisfies Record<string, PriceSource>;
export type PriceSourceId = keyof typeof PRICE_SOURCES;

/** Lambda types whose price was re-checked; the rest carry the older source. */
const LAMBDA_CHECKED: readonly LambdaInstanceType[] = ["gpu_1x_gh200", "gpu_1x_h100_sxm5", "gpu_1x_h100_pcie", "gpu_1x_a100_sxm4", "gpu_1x_a10"];

/** The source of a Lambda instance type's hourly price. */
export function lambdaPriceSource(type: LambdaInstanceType): PriceSourceId {
  return LAMBDA_CHECKED.includes(type) ? "lambdaChecked" : "lambdaOlder";
}

/** Outbound data to the internet, $/GB, by Fly's region groups. */
const EGRESS = { americasEurope: 0.02, asiaPacificSouthAmerica: 0.04, africaIndia: 0.12 };

export const DEFAULT_PRICES: PriceTable = {
  fly: {
    // Hourly = the page's 30-day price / 720 h: $2.19 for a shared vCPU with 256MB, $33.00 for a
    // performance vCPU with 2GB, $6.00 per GB of RAM above that.
    sharedCpuPerHour: 2.19 / 720,
    performanceCpuPerHour: 33 / 720,
    ramGbPerHour: 6 / 720,
    regionMultiplier: {
      ams: 1.038461538, arn: 1.038461538, bom: 1.076923077, cdg: 1.134615385, dfw: 1.25, ewr: 1,
      fra: 1.153846154, gru: 1.615384615, iad: 1, jnb: 1.302884615, lax: 1.199519231, lhr: 1.134615385,
      nrt: 1.307692308, ord: 1.25, sin: 1.269230769, sjc: 1.192307692, syd: 1.269230769, yyz: 1.115384615,
    },
    volumeGbMonth: 0.15,
    rootfsGbMonth: 0.15,
    snapshotGbMonth: 0.08,
    freeSnapshotGb: 10,
    dedicatedIpv4Month: 2,
    certificateMonth: 0.1,
    freeCertificates: 10,
    egressGb: {
      ams: EGRESS.americasEurope, arn: EGRESS.americasEurope, cdg: EGRESS.americasEurope, dfw: EGRESS.americasEurope,
      ewr: EGRESS.americasEurope, fra: EGRESS.americasEurope, iad: EGRESS.americasEurope, lax: EGRESS.americasEurope,
      lhr: EGRESS.americasEurope, ord: EGRESS.americasEurope, sjc: EGRESS.americasEurope, yyz: EGRESS.americasEurope,
      gru: EGRESS.asiaPacificSouthAmerica, nrt: EGRESS.asiaPacificSouthAmerica, sin: EGRESS.asiaPacificSouthAmerica, syd: EGRESS.asiaPacificSouthAmerica,
      bom: EGRESS.africaIndia, jnb: EGRESS.africaIndia,
    },
  },
  lambda: {
    perHour: {
      // Re-checked (PRICE_SOURCES.lambdaChecked).
      gpu_1x_a10: 0.86,
      gpu_1x_a100_sxm4: 1.48,
      gpu_1x_gh200: 2.29,
      gpu_1x_h100_pcie: 2.86,
      gpu_1x_h100_sxm5: 3.78,
      // Late-2025 figures (PRICE_SOURCES.lambdaOlder).
      gpu_1x_a100: 1.29,
      gpu_1x_a6000: 0.8,
      gpu_2x_a100: 2.58,
      gpu_2x_h100_sxm5: 6.38,
      gpu_4x_a100: 5.16,
      gpu_4x_h100_sxm5: 12.36,
      gpu_8x_a100: 10.32,
      gpu_8x_a100_80gb_sxm4: 14.32,
      gpu_8x_h100_sxm5: 23.92,
      gpu_8x_b200_sxm6: 39.92,
    },
    filesystemGbMonth: 0.2,
  },
  vercel: { proSeatMonth: 20 },
  objectStorage: { gbMonth: 0.02, freeGb: 5, classAPer1000: 0.005, freeClassA: 10_000 },
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
    objectStorage: merge("objectStorage", base.objectStorage, overrides?.objectStorage),
  };
  return { prices, overridden };
}
