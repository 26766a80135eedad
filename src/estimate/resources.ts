/**
 * What the plan reads from the recorded resources: their types, where each one belongs, and the
 * machine fields the summary, the cost model and the diagram share.
 */

import { FLY_SERVICE_TYPE } from "../../components/fly-service";
import { GPU_POOL_TYPE } from "../../components/gpu-pool";

/** Resource types the plan understands, as the mock engine records them. */
export const TYPES = {
  service: FLY_SERVICE_TYPE,
  app: "pulumi-nodejs:dynamic/fly:App",
  machine: "pulumi-nodejs:dynamic/fly:Machine",
  volume: "pulumi-nodejs:dynamic/fly:Volume",
  ip: "pulumi-nodejs:dynamic/fly:IpAddress",
  certificate: "pulumi-nodejs:dynamic/fly:Certificate",
  secrets: "pulumi-nodejs:dynamic/fly:Secrets",
  gpuPool: GPU_POOL_TYPE,
  gpuInstance: "pulumi-nodejs:dynamic/lambda:Instance",
  gpuFilesystem: "pulumi-nodejs:dynamic/lambda:Filesystem",
  gpuSshKey: "pulumi-nodejs:dynamic/lambda:SshKey",
  bucket: "pulumi-nodejs:dynamic/s3:Bucket",
  recoveryRegion: "pulumi-nodejs:dynamic/recovery:Region",
  recoveryRestore: "pulumi-nodejs:dynamic/recovery:Restore",
  dockerImage: "docker:index/image:Image",
  randomPassword: "random:index/randomPassword:RandomPassword",
  vercelProject: "vercel:index/project:Project",
  vercelEnv: "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable",
  dnsRecord: "vercel:index/dnsRecord:DnsRecord",
} as const;

export interface Guest {
  cpu_kind: "shared" | "performance";
  cpus: number;
  memory_mb: number;
}

/** A fly:Machine's inputs, as far as the plan reads them. */
export interface MachineInputs {
  app?: string;
  region?: string;
  config?: {
    image?: string;
    guest?: Partial<Guest>;
    env?: Record<string, unknown>;
    services?: { autostop?: string; min_machines_running?: number }[];
  };
}

/** The type token, short: `fly:Machine` for `pulumi-nodejs:dynamic/fly:Machine`, `vercel:Project` for `vercel:index/project:Project`. */
export function shortType(type: string): string {
  const dynamic = /^pulumi-nodejs:dynamic\/([^:]+):(.+)$/.exec(type);
  if (dynamic) return `${dynamic[1]}:${dynamic[2]}`;
  const parts = type.split(":");
  return parts.length === 3 ? `${parts[0]}:${parts[2]}` : type;
}

/** "shared-cpu-2x 512MB", as Fly names sizes. */
export function machineSize(guest: Partial<Guest>): string {
  return `${guest.cpu_kind}-cpu-${guest.cpus}x ${guest.memory_mb}MB`;
}

interface Placed {
  urn: string;
  type: string;
  name: string;
  parent?: string | null;
}

/** Maps each resource to the name of the service component it sits under, by walking parents. */
export function serviceOwner<R extends Placed>(resources: R[]): (resource: Pick<R, "parent">) => string | undefined {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  return (resource) => {
    for (let at = resource.parent ? byUrn.get(resource.parent) : undefined; at; at = at.parent ? byUrn.get(at.parent) : undefined) {
      if (at.type === TYPES.service) return at.name;
    }
    return undefined;
  };
}
