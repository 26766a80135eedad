/**
 * Our own zod schemas for the parts of the Lambda Cloud API v1 that the client uses.
 * They validate only the fields we read and let unknown fields through, so that an API
 * addition never breaks a deployment.
 *
 * Schemas are built on first use, not at module load: Pulumi's closure serializer cannot
 * serialize zod schema objects, and the dynamic providers capture this module.
 */
import { z } from "zod";

/** Instance type names Lambda offered in late 2025, used to validate input before any call. */
export const LAMBDA_INSTANCE_TYPES = [
  "gpu_1x_a10",
  "gpu_1x_a100",
  "gpu_1x_a100_sxm4",
  "gpu_1x_a6000",
  "gpu_1x_b200_sxm6",
  "gpu_1x_gh200",
  "gpu_1x_h100_pcie",
  "gpu_1x_h100_sxm5",
  "gpu_1x_rtx6000",
  "gpu_2x_a100",
  "gpu_2x_a6000",
  "gpu_2x_b200_sxm6",
  "gpu_2x_h100_sxm5",
  "gpu_4x_a100",
  "gpu_4x_a6000",
  "gpu_4x_b200_sxm6",
  "gpu_4x_h100_sxm5",
  "gpu_8x_a100",
  "gpu_8x_a100_80gb_sxm4",
  "gpu_8x_b200_sxm6",
  "gpu_8x_h100_sxm5",
  "gpu_8x_h100_sxm5gdr",
  "gpu_8x_v100",
] as const;
export type LambdaInstanceType = (typeof LAMBDA_INSTANCE_TYPES)[number];

/** Public region codes from the API description (`PublicRegionCode`). */
export const LAMBDA_REGIONS = [
  "asia-northeast-1",
  "asia-northeast-2",
  "asia-south-1",
  "australia-east-1",
  "europe-central-1",
  "me-west-1",
  "us-east-1",
  "us-east-2",
  "us-east-3",
  "us-midwest-1",
  "us-midwest-2",
  "us-south-1",
  "us-south-2",
  "us-south-3",
  "us-west-1",
  "us-west-2",
  "us-west-3",
] as const;
export type LambdaRegion = (typeof LAMBDA_REGIONS)[number];

/** Statuses after which the instance is gone for good. */
export const GONE_STATUSES: readonly string[] = ["terminated", "preempted"];

export const NETWORK_PROTOCOLS = ["tcp", "udp", "icmp", "all"] as const;
export type NetworkProtocol = (typeof NETWORK_PROTOCOLS)[number];

function build() {
  const region = z.object({ name: z.string(), description: z.string().optional() });
  const instanceType = z.object({
    name: z.string(),
    description: z.string().optional(),
    gpu_description: z.string().optional(),
    price_cents_per_hour: z.number().optional(),
  });
  const firewallRule = z.object({
    protocol: z.enum(NETWORK_PROTOCOLS),
    port_range: z.tuple([z.number().int(), z.number().int()]).optional(),
    source_network: z.string(),
    description: z.string(),
  });
  const instance = z.object({
    id: z.string(),
    name: z.string().nullish(),
    ip: z.string().nullish(),
    private_ip: z.string().nullish(),
    // A plain string: an unknown future status must not fail a refresh.
    status: z.string(),
    ssh_key_names: z.array(z.string()),
    file_system_names: z.array(z.string()),
    region,
    instance_type: instanceType,
    hostname: z.string().nullish(),
    jupyter_url: z.string().nullish(),
    tags: z.array(z.object({ key: z.string(), value: z.string() })).optional(),
    firewall_rulesets: z.array(z.object({ id: z.string() })).optional(),
  });
  const sshKey = z.object({ id: z.string(), name: z.string(), public_key: z.string() });
  const filesystem = z.object({
    id: z.string(),
    name: z.string(),
    mount_point: z.string(),
    is_in_use: z.boolean(),
    region,
    bytes_used: z.number().optional(),
  });
  const firewallRuleset = z.object({
    id: z.string(),
    name: z.string(),
    region,
    rules: z.array(firewallRule),
    instance_ids: z.array(z.string()),
  });
  return {
    region,
    instance,
    instances: z.array(instance),
    instanceTypes: z.record(
      z.string(),
      z.object({ instance_type: instanceType, regions_with_capacity_available: z.array(region) }),
    ),
    launchResponse: z.object({ instance_ids: z.array(z.string()) }),
    terminateResponse: z.object({ terminated_instances: z.array(instance) }),
    sshKey,
    sshKeys: z.array(sshKey),
    // POST /ssh-keys answers with `private_key` only when it generated the pair.
    addedSshKey: sshKey.extend({ private_key: z.string().optional() }),
    filesystem,
    filesystems: z.array(filesystem),
    firewallRule,
    firewallRuleset,
    firewallRulesets: z.array(firewallRuleset),
    errorBody: z.object({
      error: z.object({ code: z.string(), message: z.string().optional(), suggestion: z.string().optional() }),
    }),
  };
}

type Schemas = ReturnType<typeof build>;
const SLOT = "__sophiaLambdaSchemas";

/** The schemas, built once per process (cached on globalThis so closures capture nothing). */
export function lambdaSchemas(): Schemas {
  const store = globalThis as unknown as Record<string, Schemas | undefined>;
  return (store[SLOT] ??= build());
}

export type Instance = z.infer<Schemas["instance"]>;
export type InstanceTypes = z.infer<Schemas["instanceTypes"]>;
export type SshKey = z.infer<Schemas["sshKey"]>;
export type AddedSshKey = z.infer<Schemas["addedSshKey"]>;
export type Filesystem = z.infer<Schemas["filesystem"]>;
export type FirewallRule = z.infer<Schemas["firewallRule"]>;
export type FirewallRuleset = z.infer<Schemas["firewallRuleset"]>;

/** Body of POST /instance-operations/launch. */
export interface LaunchRequest {
  region_name: string;
  instance_type_name: string;
  /** The API takes exactly one key. */
  ssh_key_names: [string];
  file_system_names?: string[];
  name?: string;
  user_data?: string;
  tags?: { key: string; value: string }[];
  firewall_rulesets?: { id: string }[];
}
