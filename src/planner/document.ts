/**
 * The plan document: what `plans/<stack>.json` holds and `--json` prints. Its shape is documented
 * in the README and versioned by `schemaVersion`; add fields, never rename them.
 */
import type { PolicyReport } from "../policies";
import type { CostEstimate } from "../estimate/cost";

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
  /** URNs this resource waits for; release order shows here. */
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
  /** The image its first machine runs, e.g. the pinned Weaviate release. */
  image: string | null;
}

/** The GPU pool: how readiness is known, and each standing node with its CPU architecture. */
export interface GpuSummary {
  /** "dial-out" (nodes report to unified-api) or "ssh" (pulumi up checks them), or null without a pool. */
  readiness: string | null;
  /** The pool's instance type and its architecture, which on-demand workers share; null without a pool. */
  pool: { instanceType: string; architecture: string } | null;
  nodes: { name: string; instanceType: string; region: string; architecture: string }[];
}

/** One stateful service's recovery: how it is backed up, the RPO that gives, where a restore can go. */
export interface RecoverySummary {
  service: string;
  /** "weaviate-backup", "litestream" or "volume-snapshot". */
  method: string;
  /** The most data a loss costs, in minutes. */
  rpoMinutes: number;
  /** Regions a restore can target. */
  restoresInto: string[];
  /** Where the data lives now. */
  region: string;
  /** How backups are made, and how a restore works, in words. */
  schedule: string;
  restore: string;
  /** Where its backups are in the bucket. */
  prefix?: string;
  /** A backup chosen for the next restore (sophia:recovery.services.<name>.restoreFrom). */
  restoreFrom?: string;
}

export interface PlanDocument {
  schemaVersion: number;
  project: string;
  stack: string;
  profile: string;
  environments: string[];
  resources: PlanResource[];
  services: ServiceSummary[];
  gpu: GpuSummary;
  outputs: Record<string, unknown>;
  /** One entry per stateful service (components/recovery/plan.ts): method, RPO, restore regions. */
  recovery: RecoverySummary[];
  /** Monthly cost estimate from the resources above (src/estimate/cost.ts). */
  cost: CostEstimate;
  /** Mermaid flowchart of the plan (src/planner/diagram.ts), without the ``` fence. */
  diagram: string;
  /** The guardrails (src/policies) run over the resources above. */
  policies: PolicyReport;
  /** Where this offline plan differs from a real `pulumi up`, in plain sentences. */
  notes: string[];
}
