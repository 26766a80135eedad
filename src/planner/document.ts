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

/** The monitoring: whether it runs, the SLOs, and the alerts of the rule file, with where their files went. */
export interface MonitoringSummary {
  /** sophia:monitoring.enabled: vmalert, Alertmanager and Grafana run. */
  enabled: boolean;
  /** The SLO window, e.g. "14d". */
  sloWindow: string;
  /** Each public service on Fly with its objectives. */
  slos: { service: string; availability: number; latency: { quantile: number; thresholdMs: number }[] }[];
  /** Public services on Fly without an SLO. */
  withoutSlo: string[];
  /** Per severity: who is told and how soon someone must respond. */
  escalation: { severity: string; notify: string[]; respondWithin: string }[];
  /** Every alerting rule of the rule file vmalert gets (empty when monitoring is off). */
  alerts: { name: string; severity: string; service: string; labels: Record<string, string> }[];
  /** The files the plan wrote beside the JSON, relative to the plan directory; null when off. */
  files: { rules: string; alertmanager: string } | null;
  /** Grafana's address, when it runs. */
  grafanaUrl: string | null;
}

/** How a service's changes reach its machines: its strategy and the analysis that judges each release. */
export interface ReleaseSummary {
  service: string;
  /** immediate, rolling, canary or bluegreen. */
  strategy: string;
  /** The analysis the machines carry; null when health checks alone judge a release. */
  analysis: {
    /** Analysed steps: 1 for a canary, every machine for rolling. */
    steps: number;
    windowSeconds: number;
    /** Each rollback trigger in words, e.g. "5xx above 5% for 2m". */
    triggers: string[];
    minRequests: number;
    lowTraffic: "hold" | "proceed";
    /** Health checks failed this many times in a row (read from the Machines API) also roll back; null when not a trigger. */
    checksFailingInARow: number | null;
  } | null;
  /** How its releases are judged without an analysis, e.g. "health checks only: no SLO to judge it against"; null when analysed. */
  checksOnly: string | null;
}

/**
 * What a service takes over rather than creates (`sophia:adopt`): the dry run of an adoption. A
 * real run checks each against these inputs first and changes nothing when one does not match.
 */
export interface AdoptionSummary {
  service: string;
  /** The existing app, which keeps its name. */
  app: string;
  org: string;
  /** The stack's volume resource, the existing volume (id or name) it adopts, and what it declares. */
  volumes: { resource: string; adopts: string; region: string; sizeGb: number }[];
  /** The stack's machine resource and the existing machine it adopts. */
  machines: { resource: string; adopts: string; region: string }[];
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
  /** The Fly organization the apps go to, and whether the stack file chose it or the profile's default applies. */
  flyOrg: { slug: string; from: "stack file" | "profile default" };
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
  /** SLOs, alerts and their routing (components/observability). */
  monitoring: MonitoringSummary;
  /** Per service on Fly: its release strategy and the analysis that judges a release (sophia:release). */
  releases: ReleaseSummary[];
  /** What the stack would adopt instead of create, per service (empty without `sophia:adopt`). */
  adoptions: AdoptionSummary[];
}
