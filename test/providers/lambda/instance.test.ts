import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { lambdaFilesystemProvider } from "../../../src/providers/lambda/resources/filesystem";
import { lambdaFirewallRulesetProvider } from "../../../src/providers/lambda/resources/firewall";
import { lambdaInstanceProvider, type InstanceInputs, type InstanceOutputs } from "../../../src/providers/lambda/resources/instance";
import { lambdaSshKeyProvider } from "../../../src/providers/lambda/resources/ssh-key";
import { setLambdaClientOverrides } from "../../../src/providers/lambda/api/client";
import { checkAndCreate, emulated, FAST, full, startHarness, TEST_TIMEOUT_MS, type Harness } from "./harness";

const provider = full(lambdaInstanceProvider);
const REGION = "us-west-1";
const USER_DATA_SECRET = "worker-token-5f2c9e1a";

describe("LambdaInstance provider", { timeout: TEST_TIMEOUT_MS }, () => {
  let h: Harness;
  let sshKeyName: string;
  let fileSystemName: string;
  let firewallRulesetId: string;
  const cleanup: (() => Promise<void>)[] = [];
  /** Instances launched by the current test, terminated after it so that a real account pays for minutes only. */
  let launchedIds: { id: string; outs: InstanceOutputs }[] = [];

  beforeAll(async () => {
    h = await startHarness();
    h.secrets.push(USER_DATA_SECRET);
    const key = await checkAndCreate(full(lambdaSshKeyProvider), { ...h.access, name: h.name("inst-key") });
    const fs = await checkAndCreate(full(lambdaFilesystemProvider), { ...h.access, name: h.name("inst-fs"), region: REGION });
    const fw = await checkAndCreate(full(lambdaFirewallRulesetProvider), {
      ...h.access,
      name: h.name("inst-fw"),
      region: REGION,
      rules: [{ protocol: "tcp", portRange: [22, 22], sourceNetwork: "203.0.113.7/32", description: "SSH" }],
    });
    h.secrets.push(String(key.outs.privateKey));
    sshKeyName = key.outs.keyName;
    fileSystemName = fs.outs.name;
    firewallRulesetId = fw.id;
    cleanup.push(
      () => full(lambdaFirewallRulesetProvider).delete(fw.id, fw.outs),
      () => full(lambdaFilesystemProvider).delete(fs.id, fs.outs),
      () => full(lambdaSshKeyProvider).delete(key.id, key.outs),
    );
  });
  afterEach(async () => {
    for (const { id, outs } of launchedIds) await provider.delete(id, outs);
    launchedIds = [];
  });
  afterAll(async () => {
    for (const step of cleanup) await step();
    await h.close();
  });

  const inputs = (extra: Partial<InstanceInputs> = {}): InstanceInputs => ({
    ...h.access,
    instanceType: "gpu_1x_a10",
    region: REGION,
    sshKeyName,
    fileSystemNames: [fileSystemName],
    firewallRulesetId,
    name: h.name("sophia-gpu"),
    tags: { stack: "test", role: "standing" },
    userData: `#cloud-config\nwrite_files:\n  - path: /etc/worker-token\n    content: ${USER_DATA_SECRET}\n`,
    ...extra,
  });

  async function launched(extra: Partial<InstanceInputs> = {}): Promise<{ id: string; inputs: InstanceInputs; outs: InstanceOutputs }> {
    const created = await checkAndCreate(provider, inputs(extra));
    launchedIds.push({ id: created.id, outs: created.outs });
    return created;
  }

  it("check lists the valid instance types for an unknown one", async () => {
    const result = await provider.check({} as InstanceInputs, inputs({ instanceType: "gpu_1x_a1000" }));
    expect(result.failures?.[0]?.property).toBe("instanceType");
    expect(result.failures?.[0]?.reason).toMatch(/Unknown Lambda instance type "gpu_1x_a1000".*gpu_1x_gh200/);
  });

  it("check rejects more than one SSH key", async () => {
    const news = { ...inputs(), sshKeyName: ["a", "b"] } as unknown as InstanceInputs;
    const result = await provider.check({} as InstanceInputs, news);
    expect(result.failures).toEqual([{ property: "sshKeyName", reason: expect.stringMatching(/exactly one SSH key/) }]);
  });

  it("check rejects a tag key the API would refuse", async () => {
    const result = await provider.check({} as InstanceInputs, inputs({ tags: { Stack: "x" } }));
    expect(result.failures?.map((failure) => failure.property)).toEqual(["tags.Stack"]);
  });

  it("check leaves values that are not known yet alone", async () => {
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const result = await provider.check({} as InstanceInputs, inputs({ sshKeyName: unknown, firewallRulesetId: unknown }));
    expect(result.failures).toEqual([]);
  });

  it("create waits until active and outputs addresses and status", async () => {
    const { outs } = await launched();
    expect(outs.status).toBe("active");
    expect(outs.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(outs.privateIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });

  it.skipIf(!emulated)("create passes user data and tags to the launch", async () => {
    const { id, inputs: checked } = await launched();
    expect((await h.steer().get<{ userData: string | null }>(`/instances/${id}`)).userData).toBe(checked.userData);
  });

  it("read after create shows no drift", async () => {
    const { id, inputs: checked, outs } = await launched();
    const read = await provider.read(id, outs);
    expect(read.id).toBe(id);
    expect((await provider.diff(id, read.props ?? outs, checked)).changes).toBe(false);
  });

  it("read shows a rename out of band, and update renames it back in place", async () => {
    const { id, inputs: checked, outs } = await launched();
    await h.client().renameInstance(id, "renamed-by-hand");
    const read = await provider.read(id, outs);
    expect(read.props?.name).toBe("renamed-by-hand");
    expect(await provider.diff(id, read.props ?? outs, checked)).toMatchObject({ changes: true, replaces: [] });
    const updated = await provider.update(id, read.props ?? outs, checked);
    expect(updated.outs?.name).toBe(checked.name);
    expect((await provider.read(id, outs)).props?.name).toBe(checked.name);
  });

  it("diff replaces on instance type, region or user data changes", async () => {
    const { id, inputs: checked, outs } = await launched();
    const diff = await provider.diff(id, outs, { ...checked, instanceType: "gpu_1x_gh200", region: "us-east-1", userData: "#cloud-config\n" });
    expect(diff.changes).toBe(true);
    expect([...(diff.replaces ?? [])].sort()).toEqual(["instanceType", "region", "userData"]);
  });

  it("diff ignores a rotated API key", async () => {
    const { id, inputs: checked, outs } = await launched();
    expect((await provider.diff(id, outs, { ...checked, apiKey: "rotated-key-value" })).changes).toBe(false);
  });

  it("read reports an instance terminated out of band as gone", async () => {
    const { id, outs } = await launched();
    await h.client().terminateInstance(id);
    await h.client().waitUntilTerminated(id);
    expect((await provider.read(id, outs)).id).toBeUndefined();
  });

  it.skipIf(!emulated)("read reports a preempted instance as gone", async () => {
    const { id, outs } = await launched();
    await h.steer().post(`/instances/${id}/preempt`);
    expect((await provider.read(id, outs)).id).toBeUndefined();
  });

  it("delete terminates the instance, and twice succeeds", async () => {
    const { id, outs } = await launched();
    await provider.delete(id, outs);
    await provider.delete(id, outs);
    const instance = await h.client().getInstance(id);
    expect(instance === undefined || instance.status === "terminated").toBe(true);
  });

  it.skipIf(!emulated)("create that never becomes active times out clearly and terminates the instance", async () => {
    await h.steer().put("/timing", { bootMs: 60_000 });
    setLambdaClientOverrides({ ...FAST, activeTimeoutMs: 100 });
    try {
      const checked = await provider.check({} as InstanceInputs, inputs({ name: h.name("stuck") }));
      const error = await h.rejection(provider.create(checked.inputs ?? inputs()));
      expect(error.message).toMatch(/did not become active within 0 s \(last status: booting\).*was terminated so that it does not bill unseen/);
      const stuck = (await h.client().listInstances()).filter((instance) => instance.name === h.name("stuck"));
      expect(stuck.map((instance) => instance.status).filter((status) => status !== "terminating")).toEqual([]);
      for (const instance of stuck) await h.client().waitUntilTerminated(instance.id);
    } finally {
      await h.restore();
      setLambdaClientOverrides(FAST);
    }
  });

  it.skipIf(!emulated)("no captured error message contains the API key or a secret", () => {
    h.expectNoSecretsInErrors();
  });
});
