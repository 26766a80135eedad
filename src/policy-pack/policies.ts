/**
 * The policy pack's policies: each guardrail of src/policies as a @pulumi/policy stack policy, with
 * its enforcement level for the stack being deployed. Kept apart from index.ts, whose PolicyPack
 * starts a server as soon as it is constructed, so that tests can run this array.
 */
import * as pulumi from "@pulumi/pulumi";
import type { PolicyResource as AnalyzerResource, StackValidationPolicy } from "@pulumi/policy";
import { loadStackConfig, type StackConfig } from "../stack-config";
import { secretConfigKeys } from "../config/secrets";
import { POLICIES, type PolicyResource, type SecretValue, type SophiaPolicy } from "../policies";

/** The stack the CLI runs the pack for. */
export interface PackStack {
  stack: string;
  config: StackConfig;
  secretValues: SecretValue[];
}

/**
 * The CLI starts the pack with the stack's name in PULUMI_STACK/PULUMI_NODEJS_STACK and its whole
 * config, secrets decrypted and ESC values included, in PULUMI_CONFIG; Pulumi's runtime reads both.
 */
export function stackFromEnvironment(): PackStack {
  const all = pulumi.runtime.allConfig();
  let config: StackConfig;
  try {
    config = loadStackConfig();
  } catch (err) {
    throw new Error(`The sophia guardrails could not read the stack config, so they cannot check this stack:\n${(err as Error).message}`);
  }
  const secretValues = secretConfigKeys().flatMap(({ key }) => (all[key] === undefined ? [] : [{ key, value: all[key] }]));
  return { stack: pulumi.getStack(), config, secretValues };
}

/** What the analyzer hands a stack policy, as the policies read it. */
export function fromAnalyzer(resource: AnalyzerResource): PolicyResource {
  return {
    urn: resource.urn,
    type: resource.type,
    name: resource.name,
    parent: resource.parent?.urn ?? resource.opts.parent ?? null,
    protect: resource.opts.protect,
    // The analyzer protocol does not carry retainOnDelete; the offline plan checks it.
    retainOnDelete: undefined,
    inputs: resource.props,
  };
}

function toStackPolicy(policy: SophiaPolicy, stack: PackStack): StackValidationPolicy {
  const enforcement = policy.enforcement(stack.config);
  return {
    name: policy.name,
    description: policy.description,
    enforcementLevel: enforcement ?? "advisory",
    validateStack: (args, reportViolation) => {
      if (enforcement === undefined) args.notApplicable(`does not apply to the ${stack.config.profile} profile`);
      const context = { stack: stack.stack, config: stack.config, resources: args.resources.map(fromAnalyzer), secretValues: stack.secretValues };
      for (const violation of policy.check(context)) reportViolation(violation.message, violation.urn);
    },
  };
}

/** Every guardrail, with this stack's enforcement levels. */
export function packPolicies(stack: PackStack): StackValidationPolicy[] {
  return POLICIES.map((policy) => toStackPolicy(policy, stack));
}
