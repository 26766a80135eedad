/** Machine and volume sizes are ones Fly sells, so that a deploy never fails halfway on a size Fly refuses. */
import { FLY_MEMORY_PER_CPU_MB, FLY_SOLD_CPU_COUNTS, FLY_VOLUME_GB } from "../platform";
import { serviceOwner, type MachineInputs } from "../estimate/resources";
import { describe, isUnknown, ofType, TYPES } from "./inspect";
import type { PolicyResource, SophiaPolicy, Violation } from "./types";

const MEMORY_STEP_MB = 256;

/** What is wrong with a machine size, or undefined if Fly sells it. */
function machineSizeProblem(guest: { cpu_kind?: unknown; cpus?: unknown; memory_mb?: unknown }): string | undefined {
  const kind = guest.cpu_kind;
  if (kind !== "shared" && kind !== "performance") return `CPU class ${JSON.stringify(kind)} is not one Fly sells; use "shared" or "performance"`;
  const cpus = Number(guest.cpus);
  const sold: readonly number[] = FLY_SOLD_CPU_COUNTS[kind];
  if (!sold.includes(cpus)) return `${kind}-cpu-${String(guest.cpus)}x is not sold; ${kind} CPUs come in ${sold.join(", ")}`;
  const memory = Number(guest.memory_mb);
  const bounds = FLY_MEMORY_PER_CPU_MB[kind];
  if (!Number.isInteger(memory) || memory % MEMORY_STEP_MB !== 0) return `${String(guest.memory_mb)} MB is not a multiple of ${MEMORY_STEP_MB} MB`;
  if (memory < bounds.min * cpus || memory > bounds.max * cpus) {
    return `${memory} MB does not fit ${kind}-cpu-${cpus}x, which takes ${bounds.min * cpus}–${bounds.max * cpus} MB`;
  }
  return undefined;
}

function serviceHint(resource: PolicyResource, owner: (r: PolicyResource) => string | undefined, keys: string): string {
  const service = owner(resource);
  return service ? `set sophia:services.${service}.${keys}` : "change the size in the program";
}

export const soldSizes: SophiaPolicy = {
  name: "fly-sizes-sold",
  description: `Fly machine sizes (CPU class, CPU count, memory) and volume sizes (${FLY_VOLUME_GB.min}–${FLY_VOLUME_GB.max} GB) are ones Fly sells.`,
  enforcement: () => "mandatory",
  check({ resources }) {
    const owner = serviceOwner(resources);
    const machines = ofType(resources, TYPES.machine).flatMap((machine): Violation[] => {
      const config = (machine.inputs as MachineInputs).config;
      if (config === undefined || isUnknown(config) || config.guest === undefined || isUnknown(config.guest)) return [];
      const problem = machineSizeProblem(config.guest);
      if (problem === undefined) return [];
      return [{ urn: machine.urn, message: `${describe(machine)}: ${problem}. Fix: ${serviceHint(machine, owner, "cpuKind, cpus and memoryMb")} to a size Fly sells (https://fly.io/docs/about/pricing/#machines).` }];
    });
    const volumes = ofType(resources, TYPES.volume).flatMap((volume): Violation[] => {
      const size = volume.inputs.sizeGb;
      if (isUnknown(size)) return [];
      const gb = Number(size);
      if (Number.isInteger(gb) && gb >= FLY_VOLUME_GB.min && gb <= FLY_VOLUME_GB.max) return [];
      return [
        {
          urn: volume.urn,
          message:
            `${describe(volume)} asks for ${String(size)} GB; Fly volumes are whole GB from ${FLY_VOLUME_GB.min} to ${FLY_VOLUME_GB.max}. ` +
            `Fix: ${serviceHint(volume, owner, "volumeGb")} within that range, or split the data across more machines.`,
        },
      ];
    });
    return [...machines, ...volumes];
  },
};
