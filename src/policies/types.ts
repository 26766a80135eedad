/**
 * What a policy sees and says. The same policy functions run in the offline plan (over the
 * resources the mock engine recorded) and in the policy pack (over what `pulumi preview` and
 * `pulumi up` hand to the analyzer), so both speak this shape.
 */
import type { StackConfig } from "../config/schema";

export type Enforcement = "mandatory" | "advisory";

/** A resource as a policy reads it. */
export interface PolicyResource {
  urn: string;
  /** Pulumi type token, e.g. `pulumi-nodejs:dynamic/fly:Volume`. */
  type: string;
  name: string;
  /** URN of the parent resource; none for the stack. */
  parent?: string | null;
  protect: boolean;
  /** Whether it is kept when deleted; undefined where the engine does not say (the policy pack). */
  retainOnDelete?: boolean;
  /** Properties with every Pulumi secret reading "[secret]" and every unknown "[unknown]". */
  inputs: Record<string, unknown>;
}

/** A secret config value, so that a policy can find it wherever it travels in plain text. */
export interface SecretValue {
  /** Full config key, e.g. `sophia:databaseUrl`. */
  key: string;
  value: string;
}

export interface PolicyContext {
  stack: string;
  /** The stack config the program ran with. */
  config: StackConfig;
  resources: PolicyResource[];
  /** The values of the secret config keys; only ever compared, never printed. */
  secretValues: SecretValue[];
}

export interface Violation {
  /** The resource at fault; none when the whole stack is. */
  urn?: string;
  /** What is wrong, naming the resource, and how to fix it. */
  message: string;
}

export interface SophiaPolicy {
  /** Stable id, kebab-case, as the policy pack reports it. */
  name: string;
  description: string;
  /** How a violation counts for this stack, or undefined where the policy does not apply. */
  enforcement(config: StackConfig): Enforcement | undefined;
  check(context: PolicyContext): Violation[];
}
