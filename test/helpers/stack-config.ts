/**
 * A project stack's config as the program parses it (Pulumi.<stack>.yaml onto its profile), with
 * overrides on top, and the plan of its services: what pure generators are tested from.
 */
import { readStackFile } from "../../src/planner/stack-file";
import { decodeConfigValue, parseStackConfig, type StackConfig } from "../../src/stack-config";
import { planServices } from "../../components/platform-services";
import { SERVICE_DEFINITIONS } from "../../components/services";
import type { ServicePlan } from "../../components/service-definition";
import { projectDir } from "./plan";

/** `overrides` are `sophia:` keys without the namespace, as values; objects replace the file's. */
export function stackConfig(stack: string, overrides: Record<string, unknown> = {}): StackConfig {
  const file = readStackFile(projectDir, stack).config;
  const sophia = Object.fromEntries(
    Object.entries(file)
      .filter(([key]) => key.startsWith("sophia:"))
      .map(([key, raw]) => [key.slice("sophia:".length), decodeConfigValue(raw)]),
  );
  return parseStackConfig({ ...sophia, ...overrides }, stack);
}

export function stackPlan(config: StackConfig): ServicePlan {
  return planServices(config, SERVICE_DEFINITIONS);
}
