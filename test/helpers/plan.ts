/**
 * Runs the real program under the mock engine in this test process. The Pulumi runtime is global,
 * so a test file plans exactly one stack configuration (vitest gives each file its own process).
 */
import * as path from "node:path";
import { placeholderFor, runPlan } from "../../src/planner/engine";
import type { PlanDocument, PlanResource } from "../../src/planner/document";
import { buildPlanDocument } from "../../src/planner/report";
import { loadStackConfig } from "../../src/config";
import { readStackFile } from "../../src/planner/stack-file";

export const projectDir = path.resolve(__dirname, "..", "..");

export interface PlannedStack extends PlanDocument {
  ofKind(kind: string): PlanResource[];
  /** Resources under the component of the given type and name, at any depth. */
  inside(componentType: string, name: string): PlanResource[];
  /** The whole plan as JSON text, for scanning. */
  text: string;
}

export async function planStack(
  stack: string,
  options: { configOverrides?: Record<string, string>; secretOverrides?: Record<string, string>; omitSecrets?: string[] } = {},
): Promise<PlannedStack> {
  const run = await runPlan({ stack, projectDir, load: () => import("../../src/index"), ...options });
  const doc = buildPlanDocument(run, loadStackConfig());
  const descendants = (urn: string): PlanResource[] =>
    doc.resources.filter((r) => r.parent === urn).flatMap((r) => [r, ...descendants(r.urn)]);
  return {
    ...doc,
    ofKind: (kind) => doc.resources.filter((r) => r.kind === kind),
    inside: (componentType, name) => {
      const component = doc.resources.find((r) => r.type === componentType && r.name === name);
      if (!component) throw new Error(`no ${componentType} named ${name} in the plan`);
      return descendants(component.urn);
    },
    text: JSON.stringify(doc),
  };
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
    metadata: Record<string, string>;
  };
}

export function machineInputs(resource: PlanResource): MachineInputs {
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
