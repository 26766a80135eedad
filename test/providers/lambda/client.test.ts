import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { checkCapacity, regionsWithCapacity } from "../../../src/providers/lambda/api/capacity";
import { LAMBDA_DEFAULTS, LambdaClient, lambdaClient, resolveApiUrl } from "../../../src/providers/lambda/api/client";
import { lambdaFilesystemProvider } from "../../../src/providers/lambda/resources/filesystem";
import { lambdaInstanceProvider, type InstanceInputs } from "../../../src/providers/lambda/resources/instance";
import { lambdaSshKeyProvider } from "../../../src/providers/lambda/resources/ssh-key";
import { checkAndCreate, emulated, FAST, full, startHarness, TEST_TIMEOUT_MS, type Harness } from "./harness";

const instances = full(lambdaInstanceProvider);
const sshKeys = full(lambdaSshKeyProvider);
const BAD_KEY = "secret_bad-key-9a8b7c6d5e";

describe("Lambda client", { timeout: TEST_TIMEOUT_MS }, () => {
  let h: Harness;
  let sshKeyName: string;
  beforeAll(async () => {
    h = await startHarness({ apiKeys: ["lambda-emulator-key", "rotated-emulator-key"] });
    h.secrets.push(BAD_KEY, "rotated-emulator-key");
    const key = await checkAndCreate(sshKeys, { ...h.access, name: h.name("client-key") });
    h.secrets.push(String(key.outs.privateKey));
    sshKeyName = key.outs.keyName;
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await h.restore();
  });
  afterAll(async () => {
    await h.close();
  });

  const launchInputs = (extra: Partial<InstanceInputs> = {}): InstanceInputs => ({
    ...h.access,
    instanceType: "gpu_1x_gh200",
    region: "us-west-1",
    sshKeyName,
    name: h.name("client-gpu"),
    ...extra,
  });

  it("the API URL comes from the input, then LAMBDA_API_URL, then the public endpoint", () => {
    vi.stubEnv("LAMBDA_API_URL", "");
    expect(resolveApiUrl()).toBe(LAMBDA_DEFAULTS.apiUrl);
    vi.stubEnv("LAMBDA_API_URL", "http://127.0.0.1:1/api/v1");
    expect(resolveApiUrl()).toBe("http://127.0.0.1:1/api/v1");
    expect(resolveApiUrl("http://explicit/api/v1")).toBe("http://explicit/api/v1");
  });

  it("a missing API key says to set sophia:lambdaApiKey or LAMBDA_API_KEY", async () => {
    vi.stubEnv("LAMBDA_API_KEY", "");
    const error = await h.rejection(sshKeys.create({ apiUrl: h.apiUrl, name: h.name("nokey") }));
    expect(error.message).toMatch(/No Lambda Cloud API key.*pulumi config set --secret sophia:lambdaApiKey.*LAMBDA_API_KEY/);
  });

  it("an invalid API key gets a message that says what to do and omits the key", async () => {
    const error = await h.rejection(sshKeys.create({ apiUrl: h.apiUrl, apiKey: BAD_KEY, name: h.name("badkey") }));
    expect(error.message).toMatch(/rejected the API key \[global\/invalid-api-key\].*sophia:lambdaApiKey.*LAMBDA_API_KEY/);
    expect(error.message).not.toContain(BAD_KEY);
  });

  it.skipIf(!emulated)("insufficient capacity names the type, the region and the regions that have capacity", async () => {
    await h.steer().put("/capacity", { type: "gpu_1x_gh200", region: "us-west-1", count: 0 });
    await h.steer().put("/capacity", { type: "gpu_1x_gh200", region: "us-south-1", count: 2 });
    const error = await h.rejection(instances.create(launchInputs()));
    expect(error.message).toBe(
      "Lambda Cloud has no capacity for gpu_1x_gh200 in us-west-1. Regions with capacity for gpu_1x_gh200 right now: " +
        "us-east-1, us-south-1. Move the GPU pool to one of them, or retry later.",
    );
  });

  it.skipIf(!emulated)("regionsWithCapacity lists the regions reported by /instance-types", async () => {
    await h.steer().put("/capacity", { type: "gpu_1x_a100", region: "us-south-1", count: 1 });
    expect(await regionsWithCapacity(h.client(), "gpu_1x_a100")).toEqual(["us-east-1", "us-south-1", "us-west-1"]);
  });

  it.skipIf(!emulated)("checkCapacity fails before any launch when the region has none", async () => {
    await h.steer().put("/capacity", { type: "gpu_1x_h100_pcie", region: "us-west-1", count: 0 });
    const error = await h.rejection(checkCapacity(h.client(), "gpu_1x_h100_pcie", "us-west-1"));
    expect(error.message).toMatch(/no capacity for gpu_1x_h100_pcie in us-west-1\. Regions with capacity .*: us-east-1\./);
  });

  it("checkCapacity rejects an unknown instance type, listing the valid ones", async () => {
    const error = await h.rejection(checkCapacity(h.client(), "gpu_1x_tpu", "us-west-1"));
    expect(error.message).toMatch(/Unknown Lambda instance type "gpu_1x_tpu"\. Use one of: .*gpu_1x_a100.*gpu_1x_gh200/);
  });

  it.skipIf(!emulated)("quota exceeded says what to do", async () => {
    await h.steer().put("/quota", { maxInstances: 0 });
    const error = await h.rejection(instances.create(launchInputs({ instanceType: "gpu_1x_a10" })));
    expect(error.message).toMatch(/quota exceeded \[global\/quota-exceeded\].*ask Lambda Support to raise the quota/);
  });

  it.skipIf(!emulated)("a filesystem in another region gets a launch error naming both regions", async () => {
    const fs = await checkAndCreate(full(lambdaFilesystemProvider), { ...h.access, name: h.name("east-fs"), region: "us-east-1" });
    const error = await h.rejection(instances.create(launchInputs({ instanceType: "gpu_1x_a10", fileSystemNames: [fs.outs.name] })));
    expect(error.message).toMatch(
      new RegExp(`cannot launch gpu_1x_a10 in us-west-1: filesystems ${fs.outs.name} must be in the instance's region \\("${fs.outs.name}" is in us-east-1\\).*create a LambdaFilesystem in us-west-1`),
    );
    await full(lambdaFilesystemProvider).delete(fs.id, fs.outs);
  });

  it.skipIf(!emulated)("launches are spaced by the launch interval", async () => {
    // A fake clock: the client's waits advance it, and each launch request notes when it left.
    let clock = 0;
    const sentAt: number[] = [];
    const noting: typeof fetch = async (input, init) => {
      if (String(input).endsWith("/instance-operations/launch")) sentAt.push(clock);
      return fetch(input, init);
    };
    const client = new LambdaClient({
      ...FAST,
      ...h.access,
      launchIntervalMs: LAMBDA_DEFAULTS.launchIntervalMs,
      fetch: noting,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
    });
    const launch = () => client.launchInstance({ region_name: "us-east-1", instance_type_name: "gpu_1x_a10", ssh_key_names: [sshKeyName] });
    const ids = [await launch(), await launch()];
    expect(sentAt).toHaveLength(2);
    expect((sentAt[1] ?? 0) - (sentAt[0] ?? 0)).toBeGreaterThanOrEqual(LAMBDA_DEFAULTS.launchIntervalMs);
    for (const id of ids) await client.terminateInstance(id);
  });

  it.skipIf(!emulated)("a launch whose answer is lost is not sent again without looking first", async () => {
    await h.steer().loseAnswer({ method: "POST", path: /\/instance-operations\/launch$/ });
    const client = new LambdaClient({ ...FAST, ...h.access });
    const name = h.name("lost-answer");
    const error = await h.rejection(client.launchInstance({ region_name: "us-east-1", instance_type_name: "gpu_1x_a10", ssh_key_names: [sshKeyName], name }));
    expect(error.message).toMatch(/The request may have taken effect/);
    const named = (await client.listInstances()).filter((instance) => instance.name === name);
    expect(named).toHaveLength(1);
    for (const instance of named) await client.terminateInstance(instance.id);
  });

  it.skipIf(!emulated)("read and delete fall back to the current key after a rotation", async () => {
    const key = await checkAndCreate(sshKeys, { ...h.access, name: h.name("rotation") });
    h.secrets.push(String(key.outs.privateKey));
    await h.steer().put("/api-keys", { keys: ["rotated-emulator-key"] });
    vi.stubEnv("LAMBDA_API_KEY", "rotated-emulator-key");
    expect((await sshKeys.read(key.id, key.outs)).id).toBe(key.id);
    await sshKeys.delete(key.id, key.outs);
    expect(await lambdaClient({ apiUrl: h.apiUrl, apiKey: "rotated-emulator-key" }).getSshKey(key.id)).toBeUndefined();
  });

  it("no captured error message contains the API key or a secret", () => {
    expect(h.errors.length).toBeGreaterThan(0);
    h.expectNoSecretsInErrors();
  });
});
