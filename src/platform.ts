/**
 * Platform facts the config is validated against. They change rarely; when they do, this is the
 * one place to edit.
 */

/** Fly.io regions this project may deploy to. */
export const FLY_REGIONS = [
  "ams", "arn", "bom", "cdg", "dfw", "ewr", "fra", "gru", "iad",
  "jnb", "lax", "lhr", "nrt", "ord", "sin", "sjc", "syd", "yyz",
] as const;
export type FlyRegion = (typeof FLY_REGIONS)[number];

/** Lambda Cloud region codes (PublicRegionCode in the Lambda Cloud API). */
export const LAMBDA_REGIONS = [
  "us-west-1", "us-west-2", "us-west-3", "us-south-1", "us-south-2", "us-south-3",
  "us-east-1", "us-east-2", "us-east-3", "us-midwest-1", "us-midwest-2",
  "europe-central-1", "asia-south-1", "asia-northeast-1", "asia-northeast-2",
  "australia-east-1", "me-west-1",
] as const;
export type LambdaRegion = (typeof LAMBDA_REGIONS)[number];

/** Lambda instance types the pool may use; the names are Lambda's own. */
export const LAMBDA_INSTANCE_TYPES = [
  "gpu_1x_a10", "gpu_1x_a100", "gpu_1x_a100_sxm4", "gpu_1x_a6000", "gpu_1x_gh200",
  "gpu_1x_h100_pcie", "gpu_1x_h100_sxm5", "gpu_2x_a100", "gpu_2x_h100_sxm5",
  "gpu_4x_a100", "gpu_4x_h100_sxm5", "gpu_8x_a100", "gpu_8x_a100_80gb_sxm4",
  "gpu_8x_h100_sxm5", "gpu_8x_b200_sxm6",
] as const;
export type LambdaInstanceType = (typeof LAMBDA_INSTANCE_TYPES)[number];

/** The six services, in dependency order: each may call only services listed before it. */
export const SERVICE_NAMES = [
  "weaviate", "mcp-memory", "vector-store", "unified-api", "agno-bridge", "agent-ui",
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Fly shared and performance CPUs come in these counts. */
export const FLY_CPU_COUNTS = [1, 2, 4, 8, 16] as const;

/** Memory bounds per vCPU (MB), from Fly's machine size table. */
export const FLY_MEMORY_PER_CPU_MB = {
  shared: { min: 256, max: 2048 },
  performance: { min: 2048, max: 8192 },
} as const;

/** Fly refuses to suspend machines with more memory than this. */
export const FLY_SUSPEND_MAX_MEMORY_MB = 2048;

/** Who calls whom (the service dependency flow in DESIGN.md). Components wire URLs from it; the diagram draws it. */
export const SERVICE_CALLS: Record<ServiceName, readonly ServiceName[]> = {
  weaviate: [],
  "mcp-memory": ["weaviate"],
  "vector-store": ["weaviate"],
  "unified-api": ["mcp-memory", "vector-store", "weaviate"],
  "agno-bridge": ["unified-api"],
  "agent-ui": ["agno-bridge"],
};
