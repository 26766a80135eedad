/**
 * The plan document: what `plan/<stack>.json` holds and `--json` prints. Its shape is documented
 * in the README and versioned by `schemaVersion`; add fields, never rename them.
 */
import type { StackConfig } from "../config";
import { estimateCost, type CostEstimate } from "./cost";
import { renderDiagram } from "./diagram";
import { PROJECT_NAME, type PlanRun, type RecordedResource } from "./engine";
import { machineSize, serviceOwner, TYPES, type MachineInputs } from "./resources";

export const PLAN_SCHEMA_VERSION = 1;

export interface PlanResource {
  urn: string;
  /** Pulumi type token, e.g. `pulumi-nodejs:dynamic/fly:Machine`. */
  type: string;
  /** The same type, shortened for people, e.g. `fly:Machine`. */
  kind: string;
  name: string;
  /** URN of the parent resource, or null for the stack itself. */
  parent: string | null;
  custom: boolean;
  protect: boolean;
  retainOnDelete: boolean;
  /** Non-secret inputs; secrets read "[secret]". */
  inputs: Record<string, unknown>;
  /** URNs this resource waits for; release order (D3) shows here. */
  dependencies: string[];
}

export interface ServiceSummary {
  name: string;
  app: string | null;
  regions: string[];
  /** e.g. "shared-cpu-2x 512MB". */
  machineSize: string | null;
  /** Machines created, per region. */
  machines: Record<string, number>;
  minMachines: number;
  autostop: string;
  volumes: { count: number; sizeGb: number };
  reach: "public" | "private";
}

export interface PlanDocument {
  schemaVersion: number;
  project: string;
  stack: string;
  profile: string;
  environments: string[];
  resources: PlanResource[];
  services: ServiceSummary[];
  outputs: Record<string, unknown>;
  /** Monthly cost estimate from the resources above (src/plan/cost.ts). */
  cost: CostEstimate;
  /** Mermaid flowchart of the plan (src/plan/diagram.ts), without the ``` fence. */
  diagram: string;
}

export function shortType(type: string): string {
  const dynamic = /^pulumi-nodejs:dynamic\/([^:]+):(.+)$/.exec(type);
  if (dynamic) return `${dynamic[1]}:${dynamic[2]}`;
  const parts = type.split(":");
  return parts.length === 3 ? `${parts[0]}:${parts[2]}` : type;
}

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
      };
    });
}

/** `config` is the stack config the program ran with; it supplies the cost assumptions. */
export function buildPlanDocument(run: PlanRun, config: Pick<StackConfig, "cost" | "primaryRegion" | "gpu" | "profile">): PlanDocument {
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
    resources,
    services,
    outputs: run.outputs,
    cost: estimateCost(resources, config),
    diagram: renderDiagram({ resources, services, outputs: run.outputs }),
  };
}
