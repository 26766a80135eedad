/**
 * Capacity and instance-type checks that the GpuPool component runs before it launches
 * standing nodes, and that the client reuses to explain a failed launch.
 */
import { LAMBDA_INSTANCE_TYPES, type InstanceTypes } from "./schemas";

/** What the capacity check needs of a Lambda client: its instance-type listing. */
export interface InstanceTypeLister {
  listInstanceTypes(): Promise<InstanceTypes>;
}

/** Message for an instance type we do not know, listing the valid ones. */
export function unknownInstanceTypeMessage(instanceType: string): string {
  return (
    `Unknown Lambda instance type "${instanceType}". ` +
    `Use one of: ${LAMBDA_INSTANCE_TYPES.join(", ")}.`
  );
}

export function isKnownInstanceType(instanceType: string): boolean {
  return (LAMBDA_INSTANCE_TYPES as readonly string[]).includes(instanceType);
}

/** Regions that have capacity for the type right now, per GET /instance-types (sorted). */
export async function regionsWithCapacity(client: InstanceTypeLister, instanceType: string): Promise<string[]> {
  const types = await client.listInstanceTypes();
  const entry = types[instanceType];
  return (entry?.regions_with_capacity_available ?? []).map((region) => region.name).sort();
}

/** Message for "no capacity": names the type and region and lists where there is capacity. */
export function noCapacityMessage(instanceType: string, region: string, available: readonly string[]): string {
  const where =
    available.length > 0
      ? `Regions with capacity for ${instanceType} right now: ${available.join(", ")}. ` +
        `Move the GPU pool to one of them, or retry later.`
      : `No region has capacity for ${instanceType} right now; retry later or choose another instance type.`;
  return `Lambda Cloud has no capacity for ${instanceType} in ${region}. ${where}`;
}

export class InsufficientCapacityError extends Error {
  constructor(
    readonly instanceType: string,
    readonly region: string,
    readonly regionsWithCapacity: readonly string[],
  ) {
    super(noCapacityMessage(instanceType, region, regionsWithCapacity));
    // Set again: a serialized (deployed) copy of this class loses what super() sets (see ApiError).
    this.message = noCapacityMessage(instanceType, region, regionsWithCapacity);
    this.name = "InsufficientCapacityError";
  }

  /** A prototype member, so that a deployed (serialized) copy is still an Error (see dynamic/errors.ts). */
  override toString(): string {
    return `${this.name}: ${this.message}`;
  }
}

/**
 * Throws a clear error unless `instanceType` is known and has capacity in `region`;
 * returns the regions that have capacity otherwise.
 */
export async function checkCapacity(client: InstanceTypeLister, instanceType: string, region: string): Promise<string[]> {
  if (!isKnownInstanceType(instanceType)) throw new Error(unknownInstanceTypeMessage(instanceType));
  const available = await regionsWithCapacity(client, instanceType);
  if (!available.includes(region)) throw new InsufficientCapacityError(instanceType, region, available);
  return available;
}
