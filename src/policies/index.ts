/**
 * The guardrails: every policy, and how they run over a set of resources. The offline plan
 * (src/planner) and the policy pack (src/policy-pack) both run exactly these.
 */
import { withinBudget } from "./budget";
import { privateDataServices, protectedData } from "./data";
import { healthChecked, publicServicesKeepRunning } from "./availability";
import { gpuFirewallClosed } from "./gpu-firewall";
import { secretsStaySecret } from "./secrets";
import { soldSizes } from "./sizes";
import { everyPublicServiceHasSlo, everySeverityRouted } from "./monitoring";
import type { Enforcement, PolicyContext, SophiaPolicy, Violation } from "./types";

export { everyPublicServiceHasSlo, everySeverityRouted } from "./monitoring";
export type { Enforcement, PolicyContext, PolicyResource, SecretValue, SophiaPolicy, Violation } from "./types";

export const POLICIES: readonly SophiaPolicy[] = [
  protectedData,
  privateDataServices,
  publicServicesKeepRunning,
  healthChecked,
  gpuFirewallClosed,
  secretsStaySecret,
  soldSizes,
  withinBudget,
  everyPublicServiceHasSlo,
  everySeverityRouted,
];

export interface PolicyResult {
  name: string;
  description: string;
  /** How its violations count for this stack; "not applicable" when it does not apply to the stack. */
  enforcement: Enforcement | "not applicable";
  violations: Violation[];
}

export interface PolicyReport {
  /** Policies that apply to the stack and found nothing. */
  passed: number;
  /** Policies with at least one violation. */
  failed: number;
  notApplicable: number;
  /** Violations of mandatory policies: any stops a deploy. */
  mandatoryViolations: number;
  results: PolicyResult[];
}

export function evaluatePolicies(context: PolicyContext, policies: readonly SophiaPolicy[] = POLICIES): PolicyReport {
  const results = policies.map((policy): PolicyResult => {
    const enforcement = policy.enforcement(context.config);
    return {
      name: policy.name,
      description: policy.description,
      enforcement: enforcement ?? "not applicable",
      violations: enforcement === undefined ? [] : policy.check(context),
    };
  });
  const applicable = results.filter((r) => r.enforcement !== "not applicable");
  return {
    passed: applicable.filter((r) => r.violations.length === 0).length,
    failed: applicable.filter((r) => r.violations.length > 0).length,
    notApplicable: results.length - applicable.length,
    mandatoryViolations: results.filter((r) => r.enforcement === "mandatory").reduce((n, r) => n + r.violations.length, 0),
    results,
  };
}
