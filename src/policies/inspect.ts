/** Small readers the policies share: which resources are which, and what a value means. */
import { SECRET_MASK, UNKNOWN_MASK } from "../estimate/masking";
import { serviceOwner, shortType, TYPES } from "../estimate/resources";
import type { StackConfig } from "../config/schema";
import type { PolicyResource } from "./types";

export { SECRET_MASK, UNKNOWN_MASK, TYPES };

/** Types the policies read beyond the plan's own list. */
export const POLICY_TYPES = {
  app: "pulumi-nodejs:dynamic/fly:App",
  secrets: "pulumi-nodejs:dynamic/fly:Secrets",
  lambdaFilesystem: "pulumi-nodejs:dynamic/lambda:Filesystem",
  lambdaFirewall: "pulumi-nodejs:dynamic/lambda:FirewallRuleset",
  dockerImage: "docker:index/image:Image",
  remoteCommand: "command:remote:Command",
} as const;

/** Profiles that run production: their data and availability promises are enforced. */
const PRODUCTION_PROFILES: readonly string[] = ["enterprise-multi-region"];

export function isProduction(config: Pick<StackConfig, "profile">): boolean {
  return PRODUCTION_PROFILES.includes(config.profile);
}

/** A value the engine does not know yet (a preview of something not created). */
export function isUnknown(value: unknown): boolean {
  return value === UNKNOWN_MASK;
}

/** "fly:Volume weaviate-vol-sjc-0": how messages name a resource. */
export function describe(resource: Pick<PolicyResource, "type" | "name">): string {
  return `${shortType(resource.type)} ${resource.name}`;
}

export function ofType(resources: PolicyResource[], type: string): PolicyResource[] {
  return resources.filter((r) => r.type === type);
}

/** Resources grouped under the service component that owns them, by service name. */
export function byService(resources: PolicyResource[]): Map<string, PolicyResource[]> {
  const ownerOf = serviceOwner(resources);
  const groups = new Map<string, PolicyResource[]>();
  for (const r of resources) {
    const owner = ownerOf(r);
    if (owner !== undefined) groups.set(owner, [...(groups.get(owner) ?? []), r]);
  }
  return groups;
}
