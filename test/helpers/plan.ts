/**
 * Runs the real program under the mock engine in this test process. The Pulumi runtime is global,
 * so a test file plans exactly one stack configuration (vitest gives each file its own process).
 */
import * as path from "node:path";
import { vi } from "vitest";
import { PlanError, placeholderFor, runPlan, type PlanOptions, type RecordedResource } from "../../src/planner/engine";
import { shortType, summarizeGpu } from "../../src/planner/report";
import type { GpuSummary } from "../../src/planner/document";
import { readStackFile } from "../../src/planner/stack-file";

export const projectDir = path.resolve(__dirname, "..", "..");

/** A recorded resource with its short kind, e.g. `fly:Machine`. */
export interface PlanResource extends RecordedResource {
  kind: string;
}

/** What the program registered under the mock engine: resources and outputs, no cost or diagram. */
export interface PlannedStack {
  resources: PlanResource[];
  outputs: Record<string, unknown>;
  /** Where the offline plan differs from a real run. */
  notes: string[];
  /** The GPU pool as the plan shows it: readiness mode and each node's architecture. */
  gpu: GpuSummary;
  ofKind(kind: string): PlanResource[];
  /** Resources under the component of the given type and name, at any depth. */
  inside(componentType: string, name: string): PlanResource[];
  /** Every recorded input and output as JSON text, for scanning. */
  text: string;
}

export async function planStack(
  stack: string,
  options: Pick<PlanOptions, "configOverrides" | "secretOverrides" | "omitSecrets" | "load"> = {},
): Promise<PlannedStack> {
  // A fresh copy of the program: test files share a module graph (.config/vitest.config.mts), and
  // a program registers its resources when it is loaded.
  const load = async () => {
    vi.resetModules();
    return import("../../src/index");
  };
  const run = await runPlan({ stack, projectDir, load, ...options });
  const resources = run.resources.map((r) => ({ ...r, kind: shortType(r.type) }));
  const descendants = (urn: string): PlanResource[] => resources.filter((r) => r.parent === urn).flatMap((r) => [r, ...descendants(r.urn)]);
  return {
    resources,
    outputs: run.outputs,
    notes: run.notes,
    gpu: summarizeGpu(run.resources, run.outputs),
    ofKind: (kind) => resources.filter((r) => r.kind === kind),
    inside: (componentType, name) => {
      const component = resources.find((r) => r.type === componentType && r.name === name);
      if (!component) throw new Error(`no ${componentType} named ${name} in the plan`);
      return descendants(component.urn);
    },
    text: JSON.stringify({ resources, outputs: run.outputs }),
  };
}

/**
 * Plans a stack the program must refuse, and returns the failure. When a program fails, the Pulumi
 * runtime's stack resource leaves rejected promises behind that nobody awaits (the CLI exits
 * first); those, and only those, are kept from vitest's unhandled-rejection report.
 */
export async function planFailure(stack: string, options: Parameters<typeof planStack>[1] = {}): Promise<PlanError> {
  const listeners = process.listeners("unhandledRejection");
  const strays: unknown[] = [];
  const collect = (reason: unknown) => void strays.push(reason);
  process.removeAllListeners("unhandledRejection");
  process.on("unhandledRejection", collect);
  try {
    const failure = await planStack(stack, options).then(
      () => new Error(`planning ${stack} succeeded, but it should have failed`),
      (err: unknown) => err,
    );
    if (!(failure instanceof PlanError)) throw failure;
    await new Promise((resolve) => setImmediate(resolve)); // Node reports the strays by now
    const foreign = strays.filter((reason) => !(reason instanceof Error && reason.message === failure.message));
    if (foreign.length > 0) throw foreign[0];
    return failure;
  } finally {
    process.off("unhandledRejection", collect);
    for (const listener of listeners) process.on("unhandledRejection", listener);
  }
}

export { placeholderFor };

/** Machine inputs as the Fly provider receives them. */
export interface MachineInputs {
  app: string;
  name: string;
  region: string;
  waitForChecks?: boolean;
  releaseAfter?: string[];
  config: {
    image: string;
    guest: { cpu_kind: string; cpus: number; memory_mb: number };
    env: Record<string, string>;
    services: { internal_port: number; autostop: string; autostart: boolean; min_machines_running: number; ports: { port: number; handlers?: string[]; force_https?: boolean }[]; concurrency: { type: string; soft_limit: number; hard_limit: number } }[];
    checks: Record<string, { type: string; path: string; interval: string; timeout: string; grace_period: string }>;
    mounts?: { volume: string; path: string }[];
    files?: { guest_path: string; raw_value?: string }[];
    metrics?: { port: number; path: string };
    metadata: Record<string, string>;
  };
}

export function machineInputs(resource: Pick<PlanResource, "inputs">): MachineInputs {
  return resource.inputs as unknown as MachineInputs;
}

/** The stack file's value of `key`, with `patch` merged in, as the engine expects config (JSON). */
export function stackValueWith(stack: string, key: string, patch: Record<string, unknown>): string {
  const current = JSON.parse(readStackFile(projectDir, stack).config[key] ?? "{}") as Record<string, unknown>;
  const merge = (base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> => {
    const out = { ...base };
    for (const [k, v] of Object.entries(extra)) {
      const b = out[k];
      out[k] = v !== null && typeof v === "object" && !Array.isArray(v) && b !== null && typeof b === "object" && !Array.isArray(b)
        ? merge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
    }
    return out;
  };
  return JSON.stringify(merge(current, patch));
}
