/**
 * Platform facts the config is validated against. They change rarely; when they do, this is the
 * one place to edit.
 */

/** The Pulumi config namespace of every key the program reads (`sophia:profile`, ...). */
export const CONFIG_NAMESPACE = "sophia";

/** Fly.io regions this project may deploy to. */
export const FLY_REGIONS = [
  "ams", "arn", "bom", "cdg", "dfw", "ewr", "fra", "gru", "iad",
  "jnb", "lax", "lhr", "nrt", "ord", "sin", "sjc", "syd", "yyz",
] as const;
export type FlyRegion = (typeof FLY_REGIONS)[number];

/** Lambda's region codes and instance types: the provider's lists are the one source. */
export { LAMBDA_INSTANCE_TYPES, LAMBDA_REGIONS, type LambdaInstanceType, type LambdaRegion } from "./providers/lambda/api/schemas";
import type { LambdaRegion } from "./providers/lambda/api/schemas";

/**
 * The Fly regions nearest each Lambda region, by the metro each names: a Lambda region written
 * where a Fly region belongs is answered with these.
 */
export const FLY_REGIONS_NEAR_LAMBDA: Record<LambdaRegion, readonly FlyRegion[]> = {
  "asia-northeast-1": ["nrt"],
  "asia-northeast-2": ["nrt"],
  "asia-south-1": ["bom", "sin"],
  "australia-east-1": ["syd"],
  "europe-central-1": ["fra", "ams"],
  "me-west-1": ["fra", "bom"],
  "us-east-1": ["iad", "ewr"],
  "us-east-2": ["iad", "ewr"],
  "us-east-3": ["iad", "ewr"],
  "us-midwest-1": ["ord"],
  "us-midwest-2": ["ord"],
  "us-south-1": ["dfw"],
  "us-south-2": ["dfw"],
  "us-south-3": ["dfw"],
  "us-west-1": ["sjc", "lax"],
  "us-west-2": ["lax", "sjc"],
  "us-west-3": ["sjc", "lax"],
};

/**
 * The CPU counts Fly sells per CPU class (shared-cpu-1x…8x, performance-1x…16x), from its pricing
 * page: https://fly.io/docs/about/pricing/#machines
 */
export const FLY_SOLD_CPU_COUNTS = {
  shared: [1, 2, 4, 8],
  performance: [1, 2, 4, 8, 16],
} as const;

/** Every CPU count of either class. The config accepts these; the fly-sizes-sold policy checks the class. */
export const FLY_CPU_COUNTS = [...new Set([...FLY_SOLD_CPU_COUNTS.shared, ...FLY_SOLD_CPU_COUNTS.performance])];

/** Fly volume sizes in GB: at least 1, at most 500 (https://fly.io/docs/volumes/overview/). */
export const FLY_VOLUME_GB = { min: 1, max: 500 } as const;

/** Memory bounds per vCPU (MB), from Fly's machine size table. */
export const FLY_MEMORY_PER_CPU_MB = {
  shared: { min: 256, max: 2048 },
  performance: { min: 2048, max: 8192 },
} as const;

/** Fly refuses to suspend machines with more memory than this. */
export const FLY_SUSPEND_MAX_MEMORY_MB = 2048;

/** How the stack learns that a standing GPU node is ready (see README, "GPU readiness"). */
export const GPU_READINESS_MODES = ["dial-out", "ssh"] as const;
export type GpuReadinessMode = (typeof GPU_READINESS_MODES)[number];

/** CPU architecture of a Lambda instance type: GH200 is Grace (arm64), the others x86_64 hosts. */
export type GpuArchitecture = "arm64" | "x86_64";
const ARM64_INSTANCE_TYPES: readonly string[] = ["gpu_1x_gh200"];
export function gpuArchitecture(instanceType: string): GpuArchitecture {
  return ARM64_INSTANCE_TYPES.includes(instanceType) ? "arm64" : "x86_64";
}


/**
 * Fly's managed Prometheus (VictoriaMetrics underneath): where it answers queries, how often it
 * scrapes, and how long it keeps data (https://fly.io/docs/monitoring/metrics/). An SLO window or
 * an alert window must fit inside the retention, with a day to spare for what a query reads.
 */
export const FLY_PROMETHEUS = {
  // Without the trailing slash of Fly's docs: clients append /api/v1/query to it.
  queryUrl: (org: string) => `https://api.fly.io/prometheus/${org}`,
  scrapeIntervalSeconds: 15,
  retentionDays: 15,
  longestWindowDays: 14,
} as const;
