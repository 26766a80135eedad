/**
 * The program runs its checks against the real clouds only when `sophia:preflightChecks` says so;
 * the offline plan, which has no cloud, always turns them off through that key (no env flag).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { parseStackConfig } from "../../src/stack-config";
import { planStack, type PlannedStack } from "../helpers/plan";

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
});
