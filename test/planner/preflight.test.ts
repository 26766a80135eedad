/**
 * The program runs its checks against the real clouds only when `sophia:preflightChecks` says so;
 * the offline plan, which has no cloud, always turns them off through that key (no env flag).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { runPlan } from "../../src/planner/engine";
import { ConfigError, parseStackConfig } from "../../src/stack-config";
import { planStack, projectDir, type PlannedStack } from "../helpers/plan";

let plan: PlannedStack;
beforeAll(async () => {
  // Pulumi.prod.yaml keeps the documentation-range SSH address, which a preflight check refuses.
  plan = await planStack("prod", { configOverrides: { "sophia:preflightChecks": "true" } });
}, 60_000);

describe("preflight checks", () => {
  it("are on unless the stack turns them off", () => {
    expect(parseStackConfig({ profile: "single-user-lax" }, "dev").preflightChecks).toBe(true);
    expect(parseStackConfig({ profile: "single-user-lax", preflightChecks: false }, "dev").preflightChecks).toBe(false);
  });

  it("stay off in the offline plan even when the stack file turns them on", () => {
    expect(plan.ofKind("lambda:Instance").length).toBeGreaterThan(0);
  });

  it("a value the plan replaces is still checked: one a real run would refuse is refused", async () => {
    // A new runPlan fails before the program (and Pulumi's global runtime) is touched.
    const run = runPlan({ stack: "dev", projectDir, configOverrides: { "sophia:preflightChecks": "yes" } });
    await expect(run).rejects.toThrow(/sophia:preflightChecks: must be true or false \(got "yes"\)/);
    await expect(run).rejects.toBeInstanceOf(ConfigError);
  });
});
