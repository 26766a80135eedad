/**
 * A project stack's config as the program parses it (Pulumi.<stack>.yaml onto its profile), with
 * overrides on top, and the plan of its services: what pure generators are tested from.
 */
import { readStackFile } from "../../src/planner/stack-file";
import { ConfigError, decodeConfigValue, parseStackConfig, type StackConfig } from "../../src/stack-config";
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

/** The message of the ConfigError that parsing these `sophia:` values throws; fails the test when they parse. */
export function configRefusal(values: Record<string, unknown>, stack: string): string {
  try {
    parseStackConfig(values, stack);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.message;
  }
  throw new Error("expected the config to be refused");
}
