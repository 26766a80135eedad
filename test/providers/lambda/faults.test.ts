/**
 * Every lifecycle converges when a fifth of all requests get 429 or 503 (and, in one test,
 * connections drop as well): the client retries with backoff and the launch is never doubled.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { lambdaFilesystemProvider } from "../../../src/providers/lambda/resources/filesystem";
import { lambdaFirewallRulesetProvider, type FirewallRulesetInputs } from "../../../src/providers/lambda/resources/firewall";
import { lambdaInstanceProvider, type InstanceInputs } from "../../../src/providers/lambda/resources/instance";
import { lambdaSshKeyProvider } from "../../../src/providers/lambda/resources/ssh-key";
import { checkAndCreate, emulated, full, startHarness, TEST_TIMEOUT_MS, type Harness } from "./harness";

// Every lifecycle here converges, so no error message is captured to check for leaks: the other
// suites, which provoke failures, check that.

const sshKeys = full(lambdaSshKeyProvider);
const filesystems = full(lambdaFilesystemProvider);
const rulesets = full(lambdaFirewallRulesetProvider);
const instances = full(lambdaInstanceProvider);

describe.skipIf(!emulated)("Lambda lifecycles under injected faults", { timeout: TEST_TIMEOUT_MS }, () => {
  let h: Harness;
  let mark = 0;
  beforeAll(async () => {
    h = await startHarness({ faults: { errorRate: 0.2 } });
    mark = await h.steer().mark();
  });
  afterEach(async () => {
    await h.restore();
  });
  afterAll(async () => {
    await h.close();
  });

  it("an SSH key lifecycle converges with 20% 429/503", async () => {
    const { id, inputs, outs } = await checkAndCreate(sshKeys, { ...h.access, name: h.name("faulty-key") });
    h.secrets.push(String(outs.privateKey));
    const read = await sshKeys.read(id, outs);
    expect((await sshKeys.diff(id, read.props ?? outs, inputs)).changes).toBe(false);
    await sshKeys.delete(id, outs);
    await sshKeys.delete(id, outs);
    expect((await sshKeys.read(id, outs)).id).toBeUndefined();
  });

  it("a filesystem lifecycle converges with 20% 429/503", async () => {
    const { id, inputs, outs } = await checkAndCreate(filesystems, { ...h.access, name: h.name("faulty-fs"), region: "us-east-1" });
    const read = await filesystems.read(id, outs);
    expect((await filesystems.diff(id, read.props ?? outs, inputs)).changes).toBe(false);
    await filesystems.delete(id, outs);
    await filesystems.delete(id, outs);
    expect((await filesystems.read(id, outs)).id).toBeUndefined();
  });

  it("a firewall ruleset lifecycle with an in-place update converges with 20% 429/503", async () => {
    const news: FirewallRulesetInputs = {
      ...h.access,
      name: h.name("faulty-fw"),
      region: "us-east-1",
      rules: [{ protocol: "tcp", portRange: [22, 22], sourceNetwork: "203.0.113.7/32", description: "SSH" }],
    };
    const { id, inputs, outs } = await checkAndCreate(rulesets, news);
    const changed = { ...inputs, rules: [...inputs.rules, { protocol: "icmp" as const, sourceNetwork: "0.0.0.0/0", description: "ping" }] };
    expect((await rulesets.diff(id, outs, changed)).replaces).toEqual([]);
    const updated = await rulesets.update(id, outs, changed);
    const read = await rulesets.read(id, updated.outs ?? outs);
    expect((await rulesets.diff(id, read.props ?? outs, changed)).changes).toBe(false);
    await rulesets.delete(id, outs);
    await rulesets.delete(id, outs);
    expect((await rulesets.read(id, outs)).id).toBeUndefined();
  });

  it("an instance lifecycle converges with 20% 429/503 and dropped connections, launching once", async () => {
    const control = h.steer();
    const since = await control.mark();
    await control.setFaults({ errorRate: 0.2, resetRate: 0.05 });
    {
      const key = await checkAndCreate(sshKeys, { ...h.access, name: h.name("faulty-inst-key") });
      h.secrets.push(String(key.outs.privateKey));
      const news: InstanceInputs = { ...h.access, instanceType: "gpu_1x_a10", region: "us-east-1", sshKeyName: key.outs.keyName, name: h.name("faulty-gpu") };
      const { id, inputs, outs } = await checkAndCreate(instances, news);
      expect(outs.status).toBe("active");
      const renamed = { ...inputs, name: h.name("faulty-gpu-2") };
      expect((await instances.diff(id, outs, renamed)).replaces).toEqual([]);
      await instances.update(id, outs, renamed);
      const read = await instances.read(id, outs);
      expect((await instances.diff(id, read.props ?? outs, renamed)).changes).toBe(false);
      await instances.delete(id, outs);
      await instances.delete(id, outs);
      expect((await instances.read(id, outs)).id).toBeUndefined();
      const launches = (await control.requests(since)).filter((entry) => entry.path.endsWith("/instance-operations/launch") && entry.status === 200);
      expect(launches).toHaveLength(1);
      await sshKeys.delete(key.id, key.outs);
    }
  });

  it("a pool's creates leave one resource each when a quarter of writes lose their answer after acting", async () => {
    const control = h.steer();
    const since = await control.mark();
    await control.setFaults({ errorRate: 0.2, lostAnswerRate: 0.25 });
    {
      const key = await checkAndCreate(sshKeys, { ...h.access, name: h.name("lossy-key") });
      h.secrets.push(String(key.outs.privateKey));
      const fs = await checkAndCreate(filesystems, { ...h.access, name: h.name("lossy-fs"), region: "us-east-1" });
      const fw = await checkAndCreate(rulesets, { ...h.access, name: h.name("lossy-fw"), region: "us-east-1", rules: [] });
      const nodes = [];
      for (const i of [0, 1, 2]) {
        nodes.push(await checkAndCreate(instances, {
          ...h.access, instanceType: "gpu_1x_a10", region: "us-east-1", sshKeyName: key.outs.keyName, name: h.name(`lossy-gpu-${i}`),
          fileSystemNames: [fs.outs.name], firewallRulesetId: fw.id, marker: `test/lossy/${i}`,
        }));
      }
      const client = h.client();
      expect((await client.listSshKeys()).filter((k) => k.name === key.outs.keyName).map((k) => k.id)).toEqual([key.id]);
      expect((await client.listFilesystems()).filter((f) => f.name === fs.outs.name).map((f) => f.id)).toEqual([fs.id]);
      expect((await client.listFirewallRulesets()).filter((r) => r.name === fw.outs.name).map((r) => r.id)).toEqual([fw.id]);
      const names = nodes.map((n) => n.outs.name);
      const live = (await client.listInstances()).filter((i) => names.includes(i.name ?? "") && i.status !== "terminated");
      expect(live.map((i) => i.id).sort()).toEqual(nodes.map((n) => n.id).sort());
      expect((await control.requests(since)).filter((entry) => entry.status === "reset").length).toBeGreaterThan(0);
      for (const node of nodes) await instances.delete(node.id, node.outs);
      await rulesets.delete(fw.id, fw.outs);
      await filesystems.delete(fs.id, fs.outs);
      await sshKeys.delete(key.id, key.outs);
    }
  });

  it("the emulator really answered with 429 and 503 along the way", async () => {
    const statuses = new Set((await h.steer().requests(mark)).map((entry) => entry.status));
    expect(statuses.has(429) && statuses.has(503)).toBe(true);
  });
});
