/** Builds the plan document (./document.ts) from a recorded run: resources, service summaries, cost, diagram. */
import type { StackConfig } from "../stack-config";
import { evaluatePolicies } from "../policies";
import { estimateCost } from "../estimate/cost";
import { gpuArchitecture } from "../platform";
import { PLAN_SCHEMA_VERSION, type AdoptionSummary, type GpuSummary, type PlanDocument, type PlanResource, type RecoverySummary, type ServiceSummary } from "./document";
import { renderDiagram } from "./diagram";
import { PROJECT_NAME, type PlanRun, type RecordedResource } from "./engine";
import { machineSize, serviceOwner, shortType, TYPES, type MachineInputs } from "../estimate/resources";
import { summarizeMonitoring } from "./monitoring";
import { summarizeReleases } from "./releases";

export { shortType };

/** Per-service summary, computed from the resources the plan holds rather than from config. */
export function summarizeServices(resources: RecordedResource[]): ServiceSummary[] {
  const ownerOf = serviceOwner(resources);
  const byService = new Map<string, RecordedResource[]>();
  for (const r of resources) {
    const owner = ownerOf(r);
    if (owner !== undefined) byService.set(owner, [...(byService.get(owner) ?? []), r]);
  }
  return resources
    .filter((r) => r.type === TYPES.service)
    .map((service) => {
      const inside = byService.get(service.name) ?? [];
      const ofKind = (kind: string) => inside.filter((r) => shortType(r.type) === kind);
      const machines = ofKind("fly:Machine").map((m) => m.inputs as MachineInputs);
      const machinesPerRegion: Record<string, number> = {};
      for (const m of machines) machinesPerRegion[m.region ?? "?"] = (machinesPerRegion[m.region ?? "?"] ?? 0) + 1;
      const guest = machines[0]?.config?.guest;
      const firstService = machines[0]?.config?.services?.[0];
      const volumes = ofKind("fly:Volume");
      const ipTypes = ofKind("fly:IpAddress").map((ip) => String(ip.inputs.type));
      return {
        name: service.name,
        app: (ofKind("fly:App")[0]?.inputs.name as string | undefined) ?? null,
        regions: Object.keys(machinesPerRegion),
        machineSize: guest ? machineSize(guest) : null,
        machines: machinesPerRegion,
        minMachines: firstService?.min_machines_running ?? 0,
        autostop: firstService?.autostop ?? "off",
        volumes: { count: volumes.length, sizeGb: volumes.reduce((sum, v) => sum + Number(v.inputs.sizeGb ?? 0), 0) },
        reach: ipTypes.some((t) => t !== "private_v6") ? "public" : "private",
        image: machines[0]?.config?.image ?? null,
      };
    });
}

/** What each service adopts, read from the inputs its app, volumes and machines carry. */
export function summarizeAdoptions(resources: RecordedResource[]): AdoptionSummary[] {
  const ownerOf = serviceOwner(resources);
  const inService = (service: string, type: string) => resources.filter((r) => r.type === type && ownerOf(r) === service && typeof r.inputs.adopt === "string");
  return resources
    .filter((r) => r.type === TYPES.app && r.inputs.adopt !== undefined)
    .map((app) => {
      const service = ownerOf(app) ?? app.name;
      return {
        service,
        app: String(app.inputs.name),
        org: String(app.inputs.org),
        volumes: inService(service, TYPES.volume).map((v) => ({ resource: v.name, adopts: String(v.inputs.adopt), region: String(v.inputs.region), sizeGb: Number(v.inputs.sizeGb) })),
        machines: inService(service, TYPES.machine).map((m) => ({ resource: m.name, adopts: String(m.inputs.adopt), region: String(m.inputs.region) })),
      };
    });
}

/** The standing GPU nodes from the plan's instances, with the readiness mode the program exported. */
export function summarizeGpu(resources: RecordedResource[], outputs: Record<string, unknown>): GpuSummary {
  const nodes = resources
    .filter((r) => r.type === TYPES.gpuInstance)
    .map((r) => {
      const instanceType = String(r.inputs.instanceType);
      return { name: String(r.inputs.name ?? r.name), instanceType, region: String(r.inputs.region), architecture: gpuArchitecture(instanceType) };
    });
  const poolType = typeof outputs.gpuInstanceType === "string" ? outputs.gpuInstanceType : undefined;
  return {
    readiness: typeof outputs.gpuReadiness === "string" ? outputs.gpuReadiness : null,
    pool: poolType === undefined ? null : { instanceType: poolType, architecture: gpuArchitecture(poolType) },
    nodes,
  };
}

/** The program's `recovery` output: one entry per stateful service. */
export function summarizeRecovery(outputs: Record<string, unknown>): RecoverySummary[] {
  const recovery = outputs.recovery as { services?: RecoverySummary[] } | undefined;
  return recovery?.services ?? [];
}

/** `config` is the stack config the program ran with; it supplies the cost assumptions and what the policies check against. */
export function buildPlanDocument(run: PlanRun, config: StackConfig): PlanDocument {
  const resources: PlanResource[] = run.resources.map((r) => ({
    urn: r.urn,
    type: r.type,
    kind: shortType(r.type),
    name: r.name,
    parent: r.parent ?? null,
    custom: r.custom,
    protect: r.protect,
    retainOnDelete: r.retainOnDelete,
    inputs: r.inputs,
    dependencies: r.dependencies,
  }));
  const services = summarizeServices(run.resources);
  return {
    schemaVersion: PLAN_SCHEMA_VERSION,
    project: PROJECT_NAME,
    stack: run.stack,
    profile: String(run.outputs.profile ?? "unknown"),
    environments: run.environments,
    flyOrg: { slug: config.flyOrg, from: run.stackFileKeys.includes("sophia:flyOrg") ? "stack file" : "profile default" },
    resources,
    services,
    gpu: summarizeGpu(run.resources, run.outputs),
    recovery: summarizeRecovery(run.outputs),
    outputs: run.outputs,
    cost: estimateCost(resources, config),
    diagram: renderDiagram({ resources, services, outputs: run.outputs }),
    policies: evaluatePolicies({ stack: run.stack, config, resources, secretValues: run.secretValues }),
    notes: [...run.notes, ...realWorldChecks(config.gpu)],
    monitoring: summarizeMonitoring(run.stack, run.resources, services, config, run.outputs),
    releases: summarizeReleases(run.resources, services, config),
    adoptions: summarizeAdoptions(run.resources),
  };
}

/** The program's checks against the live APIs, which it skips offline (src/index.ts). */
function realWorldChecks(gpu: StackConfig["gpu"]): string[] {
  if (gpu.standing === 0) return [];
  return [
    `A real run first asks Lambda whether ${gpu.region} has capacity for ${gpu.standing} ${gpu.instanceType} node${gpu.standing === 1 ? "" : "s"}, and refuses example addresses in sophia:gpu.sshAllowedCidrs; offline, the plan checks neither.`,
  ];
}
