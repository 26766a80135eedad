import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lambdaFilesystemProvider, type FilesystemInputs } from "../../../src/providers/lambda/resources/filesystem";
import { lambdaSshKeyProvider } from "../../../src/providers/lambda/resources/ssh-key";
import { checkAndCreate, emulated, full, startHarness, TEST_TIMEOUT_MS, type Harness } from "./harness";

const provider = full(lambdaFilesystemProvider);

describe("LambdaFilesystem provider", { timeout: TEST_TIMEOUT_MS }, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const inputs = (extra: Partial<FilesystemInputs> = {}): FilesystemInputs => ({
    ...h.access,
    name: h.name("sophia-fs"),
    region: "us-west-1",
    ...extra,
  });

  /** Launches an instance that mounts the filesystem, outside Pulumi. */
  async function mountOutOfBand(fsName: string, region: string): Promise<string> {
    const key = await checkAndCreate(full(lambdaSshKeyProvider), { ...h.access, name: h.name(`key-${fsName}`) });
    h.secrets.push(String(key.outs.privateKey));
    return h.client().launchInstance({
      region_name: region,
      instance_type_name: "gpu_1x_a10",
      ssh_key_names: [key.outs.keyName],
      file_system_names: [fsName],
      name: h.name("mounter"),
    });
  }

  it("check lists the valid regions for an unknown one", async () => {
    const result = await provider.check({} as FilesystemInputs, inputs({ region: "lax" }));
    expect(result.failures?.[0]?.property).toBe("region");
    expect(result.failures?.[0]?.reason).toMatch(/Unknown Lambda region "lax".*us-west-1/);
  });

  it("check rejects a name that does not start with a letter", async () => {
    const result = await provider.check({} as FilesystemInputs, inputs({ name: "1-data" }));
    expect(result.failures?.map((failure) => failure.property)).toEqual(["name"]);
  });

  it("create outputs the mount point and read shows no drift", async () => {
    const { id, inputs: checked, outs } = await checkAndCreate(provider, inputs({ name: h.name("nodrift") }));
    expect(outs).toMatchObject({ region: "us-west-1", isInUse: false, mountPoint: `/lambda/nfs/${checked.name}` });
    const read = await provider.read(id, outs);
    expect(read.props).toEqual(outs);
    expect((await provider.diff(id, read.props ?? outs, checked)).changes).toBe(false);
    await provider.delete(id, outs);
  });

  it("diff replaces on a region change, deleting first because the name stays", async () => {
    const { id, inputs: checked, outs } = await checkAndCreate(provider, inputs({ name: h.name("move") }));
    const diff = await provider.diff(id, outs, { ...checked, region: "us-east-1" });
    expect(diff).toMatchObject({ changes: true, replaces: ["region"], deleteBeforeReplace: true });
    await provider.delete(id, outs);
  });

  it("diff replaces on a name change", async () => {
    const { id, inputs: checked, outs } = await checkAndCreate(provider, inputs({ name: h.name("name") }));
    expect(await provider.diff(id, outs, { ...checked, name: h.name("other") })).toMatchObject({ replaces: ["name"] });
    await provider.delete(id, outs);
  });

  it.skipIf(!emulated)("read shows an instance mounting it out of band as in use", async () => {
    const { id, outs } = await checkAndCreate(provider, inputs({ name: h.name("mounted") }));
    const instanceId = await mountOutOfBand(outs.name, outs.region);
    expect((await provider.read(id, outs)).props?.isInUse).toBe(true);
    await h.client().terminateInstance(instanceId);
    await h.client().waitUntilTerminated(instanceId);
    await provider.delete(id, outs);
  });

  it.skipIf(!emulated)("delete refuses while an instance uses it, saying what to do", async () => {
    const { id, outs } = await checkAndCreate(provider, inputs({ name: h.name("busy") }));
    const instanceId = await mountOutOfBand(outs.name, outs.region);
    const error = await h.rejection(provider.delete(id, outs));
    expect(error.message).toMatch(new RegExp(`filesystem "${outs.name}".*cannot be deleted.*Terminate the instances`));
    await h.client().terminateInstance(instanceId);
    await h.client().waitUntilTerminated(instanceId);
    await provider.delete(id, outs);
  });

  it("delete twice succeeds", async () => {
    const { id, outs } = await checkAndCreate(provider, inputs({ name: h.name("twice") }));
    await provider.delete(id, outs);
    await provider.delete(id, outs);
    expect((await provider.read(id, outs)).id).toBeUndefined();
  });

  // The failures above are only provoked against an emulator (an instance launch costs money elsewhere).
  it.skipIf(!emulated)("no captured error message contains the API key or a secret", () => {
    h.expectNoSecretsInErrors();
  });
});
