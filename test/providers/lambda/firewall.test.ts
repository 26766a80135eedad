import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lambdaFirewallRulesetProvider, type FirewallRuleArgs, type FirewallRulesetInputs } from "../../../src/providers/lambda/resources/firewall";
import { checkAndCreate, full, startHarness, TEST_TIMEOUT_MS, type Harness } from "./harness";

const provider = full(lambdaFirewallRulesetProvider);
const SSH: FirewallRuleArgs = { protocol: "tcp", portRange: [22, 22], sourceNetwork: "203.0.113.7/32", description: "SSH from the office" };
const WORKER: FirewallRuleArgs = { protocol: "tcp", portRange: [8000, 8000], sourceNetwork: "198.51.100.10/32", description: "worker port from the API egress IP" };

describe("LambdaFirewallRuleset provider", { timeout: TEST_TIMEOUT_MS }, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const inputs = (extra: Partial<FirewallRulesetInputs> = {}): FirewallRulesetInputs => ({
    ...h.access,
    name: h.name("sophia-fw"),
    region: "us-west-1",
    rules: [SSH, WORKER],
    ...extra,
  });

  it("check rejects a portRange on an icmp rule", async () => {
    const icmp: FirewallRuleArgs = { protocol: "icmp", portRange: [1, 1], sourceNetwork: "0.0.0.0/0", description: "ping" };
    const result = await provider.check({} as FirewallRulesetInputs, inputs({ rules: [icmp] }));
    expect(result.failures).toEqual([{ property: "rules[0].portRange", reason: expect.stringMatching(/icmp rules take no portRange/) }]);
  });

  it("check requires a portRange on a tcp rule", async () => {
    const open: FirewallRuleArgs = { protocol: "tcp", sourceNetwork: "0.0.0.0/0", description: "all tcp" };
    const result = await provider.check({} as FirewallRulesetInputs, inputs({ rules: [open] }));
    expect(result.failures?.map((failure) => failure.property)).toEqual(["rules[0].portRange"]);
  });

  it("check rejects a source network that is not IPv4 CIDR", async () => {
    const result = await provider.check({} as FirewallRulesetInputs, inputs({ rules: [{ ...SSH, sourceNetwork: "10.0.0.0/33" }] }));
    expect(result.failures?.map((failure) => failure.property)).toEqual(["rules[0].sourceNetwork"]);
  });

  it("check writes a bare address as /32, as the API stores it", async () => {
    const result = await provider.check({} as FirewallRulesetInputs, inputs({ rules: [{ ...SSH, sourceNetwork: "203.0.113.7" }] }));
    expect(result.inputs?.rules[0]?.sourceNetwork).toBe("203.0.113.7/32");
  });

  it("create admits only the given rules and read shows no drift", async () => {
    const { id, inputs: checked, outs } = await checkAndCreate(provider, inputs({ name: h.name("nodrift") }));
    expect(outs.rules).toEqual([SSH, WORKER]);
    const read = await provider.read(id, outs);
    expect(read.props).toEqual(outs);
    expect((await provider.diff(id, read.props ?? outs, checked)).changes).toBe(false);
    await provider.delete(id, outs);
  });

  it("read shows rules changed out of band, and update restores them in place", async () => {
    const { id, inputs: checked, outs } = await checkAndCreate(provider, inputs({ name: h.name("drift") }));
    await h.client().updateFirewallRuleset(id, { rules: [{ protocol: "all", port_range: [1, 65535], source_network: "0.0.0.0/0", description: "oops" }] });
    const read = await provider.read(id, outs);
    expect(read.props?.rules).toEqual([{ protocol: "all", portRange: [1, 65535], sourceNetwork: "0.0.0.0/0", description: "oops" }]);
    const diff = await provider.diff(id, read.props ?? outs, checked);
    expect(diff).toMatchObject({ changes: true, replaces: [] });
    const updated = await provider.update(id, read.props ?? outs, checked);
    expect(updated.outs?.rules).toEqual([SSH, WORKER]);
    expect((await provider.read(id, outs)).props?.rules).toEqual([SSH, WORKER]);
    await provider.delete(id, outs);
  });

  it("update renames the ruleset in place", async () => {
    const { id, inputs: checked, outs } = await checkAndCreate(provider, inputs({ name: h.name("old") }));
    const renamed = { ...checked, name: h.name("new") };
    expect(await provider.diff(id, outs, renamed)).toMatchObject({ changes: true, replaces: [] });
    expect((await provider.update(id, outs, renamed)).outs?.name).toBe(renamed.name);
    await provider.delete(id, outs);
  });

  it("diff replaces on a region change", async () => {
    const { id, inputs: checked, outs } = await checkAndCreate(provider, inputs({ name: h.name("move") }));
    expect(await provider.diff(id, outs, { ...checked, region: "us-east-1" })).toMatchObject({ changes: true, replaces: ["region"] });
    await provider.delete(id, outs);
  });

  it("delete twice succeeds", async () => {
    const { id, outs } = await checkAndCreate(provider, inputs({ name: h.name("twice") }));
    await provider.delete(id, outs);
    await provider.delete(id, outs);
    expect((await provider.read(id, outs)).id).toBeUndefined();
  });
});
