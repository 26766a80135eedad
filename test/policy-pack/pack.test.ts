/**
 * The policy pack's exported policies (index.ts is not imported: its PolicyPack starts a server).
 * pack-cli.slow.test.ts starts the pack itself the way the Pulumi CLI starts it.
 */
import type { PolicyResource as AnalyzerResource, ReportViolation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../src/stack-config";
import { POLICIES } from "../../src/policies";
import { packPolicies, type PackStack } from "../../src/policy-pack/policies";


const stackOf = (stack: "dev" | "prod"): PackStack => ({
  stack,
  config: parseStackConfig(
    stack === "dev" ? { profile: "single-user-lax" } : { profile: "enterprise-multi-region" },
    stack,
  ),
  secretValues: [{ key: "sophia:databaseUrl", value: "postgres://app:correct-horse-battery@db/sophia" }],
});

/** A resource as @pulumi/policy hands it to a stack policy. */
function analyzerResource(kind: string, name: string, props: Record<string, unknown>, protect = false): AnalyzerResource {
  return {
    type: `pulumi-nodejs:dynamic/${kind}`,
    name,
    urn: `urn:pulumi:prod::sophia::pulumi-nodejs:dynamic:Resource::${name}`,
    props,
    opts: { protect, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
    dependencies: [],
    propertyDependencies: {},
    isType: () => false,
    asType: () => undefined,
  };
}

/** Runs one exported policy over resources; returns its violations, or its not-applicable reason. */
async function validate(policy: StackValidationPolicy, resources: AnalyzerResource[]): Promise<{ violations: { message: string; urn?: string }[]; notApplicable?: string }> {
  const violations: { message: string; urn?: string }[] = [];
  const report: ReportViolation = (message, urn) => violations.push({ message, urn });
  const args: StackValidationArgs = {
    resources,
    stackTags: new Map(),
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: (reason?: string): never => {
      throw Object.assign(new Error(reason), { notApplicable: reason });
    },
  };
  try {
    await policy.validateStack(args, report);
  } catch (err) {
    const reason = (err as { notApplicable?: string }).notApplicable;
    if (reason === undefined) throw err;
    return { violations, notApplicable: reason };
  }
  return { violations };
}

const byName = (policies: StackValidationPolicy[], name: string) => {
  const found = policies.find((p) => p.name === name);
  if (!found) throw new Error(`no policy ${name}`);
  return found;
};

describe("the exported policies", () => {
  it("are the guardrails of src/policies, one each", () => {
    expect(POLICIES.length).toBeGreaterThan(0);
    expect(packPolicies(stackOf("dev")).map((p) => p.name)).toEqual(POLICIES.map((p) => p.name));
  });

  it("are all mandatory in prod", () => {
    expect(packPolicies(stackOf("prod")).map((p) => p.enforcementLevel)).toEqual(POLICIES.map(() => "mandatory"));
  });

  it("hold dev to its budget only as advice", () => {
    expect(byName(packPolicies(stackOf("dev")), "monthly-budget").enforcementLevel).toBe("advisory");
  });

  it("report the production-only policies as not applicable to dev", async () => {
    const result = await validate(byName(packPolicies(stackOf("dev")), "prod-data-protected"), []);
    expect(result.notApplicable).toBe("does not apply to the single-user-lax profile");
  });

  it("flag an unprotected prod volume by its URN, from the analyzer's protect option", async () => {
    const volume = analyzerResource("fly:Volume", "weaviate-vol-sjc-0", { app: "a", region: "sjc", sizeGb: 20 });
    const result = await validate(byName(packPolicies(stackOf("prod")), "prod-data-protected"), [volume]);
    expect(result.violations).toEqual([{ urn: volume.urn, message: expect.stringMatching(/^fly:Volume weaviate-vol-sjc-0 holds production data but lacks protect: /) }]);
  });

  it("pass a protected prod volume", async () => {
    const volume = analyzerResource("fly:Volume", "weaviate-vol-sjc-0", { app: "a", region: "sjc", sizeGb: 20 }, true);
    expect(await validate(byName(packPolicies(stackOf("prod")), "prod-data-protected"), [volume])).toEqual({ violations: [] });
  });

  it("flag a world-open SSH rule", async () => {
    const firewall = analyzerResource("lambda:FirewallRuleset", "gpu-firewall", { rules: [{ protocol: "tcp", portRange: [22, 22], sourceNetwork: "0.0.0.0/0" }], apiKey: "[secret]" });
    const result = await validate(byName(packPolicies(stackOf("prod")), "gpu-firewall-not-world-open"), [firewall]);
    expect(result.violations.map((v) => v.message)).toEqual([expect.stringMatching(/^lambda:FirewallRuleset gpu-firewall opens SSH to 0\.0\.0\.0\/0/)]);
  });
});
