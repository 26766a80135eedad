import { beforeAll, describe, expect, it } from "vitest";
import { planStack, type PlannedStack } from "../helpers/plan";

describe("prod stack with SSH readiness from a fixed deploy address", () => {
  let ssh: PlannedStack;
  beforeAll(async () => {
    ssh = await planStack("prod", { configOverrides: { "sophia:gpu": JSON.stringify({ readiness: "ssh", sshAllowedCidrs: ["34.82.10.7/32"] }) } });
  }, 60_000);

  it("checks each standing node over SSH", () => {
    const nodes = ssh.ofKind("lambda:Instance");
    expect(nodes.length).toBeGreaterThan(0);
    expect(ssh.ofKind("command:Command")).toHaveLength(nodes.length);
    expect(ssh.gpu.readiness).toBe("ssh");
  });

  it("admits SSH from that address alone", () => {
    const rules = ssh.ofKind("lambda:FirewallRuleset")[0].inputs.rules as { sourceNetwork: string; portRange: number[] }[];
    expect(rules.map((r) => [r.sourceNetwork, r.portRange])).toEqual([["34.82.10.7/32", [22, 22]]]);
  });
});
