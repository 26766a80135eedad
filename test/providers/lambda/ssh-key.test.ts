import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lambdaSshKeyProvider, type SshKeyInputs } from "../../../src/providers/lambda/resources/ssh-key";
import { checkAndCreate, full, startHarness, TEST_TIMEOUT_MS, type Harness } from "./harness";

const provider = full(lambdaSshKeyProvider);
const PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICN+lJwsONkwrdsSnQsu1ydUkIuIg5oOC+Eslvmtt60T sophia-test";
const OTHER_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPIwEkhVHsasYAufDI2qgpJl77OikQ1biM/36jSW7O3i other";

describe("LambdaSshKey provider", { timeout: TEST_TIMEOUT_MS }, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const inputs = (extra: Partial<SshKeyInputs> = {}): SshKeyInputs => ({ ...h.access, name: h.name("sophia-key"), ...extra });

  it("check rejects a private key passed as publicKey without echoing it", async () => {
    const privateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n-----END OPENSSH PRIVATE KEY-----";
    h.secrets.push(privateKey);
    const result = await provider.check({} as SshKeyInputs, inputs({ publicKey: privateKey }));
    const reasons = (result.failures ?? []).map((failure) => failure.reason);
    expect(reasons.join("\n")).toMatch(/private key/);
    h.errors.push(...reasons);
  });

  it("check rejects an empty name", async () => {
    const result = await provider.check({} as SshKeyInputs, inputs({ name: "" }));
    expect(result.failures?.map((failure) => failure.property)).toEqual(["name"]);
  });

  it("create uploads the given public key and read shows no drift", async () => {
    const { id, inputs: checked, outs } = await checkAndCreate(provider, inputs({ name: h.name("given"), publicKey: PUBLIC_KEY }));
    expect(outs.publicKey).toBe(PUBLIC_KEY);
    expect(outs.privateKey).toBeUndefined();
    const read = await provider.read(id, outs);
    expect(read.id).toBe(id);
    expect((await provider.diff(id, read.props ?? outs, checked)).changes).toBe(false);
    await provider.delete(id, outs);
  });

  it("create without publicKey outputs the generated private key", async () => {
    const { id, outs } = await checkAndCreate(provider, inputs({ name: h.name("generated") }));
    expect(outs.privateKey).toMatch(/PRIVATE KEY/);
    expect(outs.publicKey).toMatch(/^ssh-/);
    h.secrets.push(outs.privateKey ?? "");
    // Lambda keeps no copy of the private key: a refresh must not lose it.
    const read = await provider.read(id, outs);
    expect(read.props?.privateKey).toBe(outs.privateKey);
    await provider.delete(id, outs);
  });

  it("diff replaces on a public key change, deleting first because the name stays", async () => {
    const { id, inputs: checked, outs } = await checkAndCreate(provider, inputs({ name: h.name("rekey"), publicKey: PUBLIC_KEY }));
    const diff = await provider.diff(id, outs, { ...checked, publicKey: OTHER_PUBLIC_KEY });
    expect(diff).toMatchObject({ changes: true, replaces: ["publicKey"], deleteBeforeReplace: true });
    await provider.delete(id, outs);
  });

  it("diff replaces on a name change without deleting first", async () => {
    const { id, inputs: checked, outs } = await checkAndCreate(provider, inputs({ name: h.name("rename"), publicKey: PUBLIC_KEY }));
    const diff = await provider.diff(id, outs, { ...checked, name: h.name("renamed") });
    expect(diff).toMatchObject({ changes: true, replaces: ["name"], deleteBeforeReplace: false });
    await provider.delete(id, outs);
  });

  it("diff ignores a rotated API key", async () => {
    const { id, inputs: checked, outs } = await checkAndCreate(provider, inputs({ name: h.name("rotate"), publicKey: PUBLIC_KEY }));
    expect((await provider.diff(id, outs, { ...checked, apiKey: "rotated-key-value" })).changes).toBe(false);
    await provider.delete(id, outs);
  });

  it("read reports a key deleted out of band as gone", async () => {
    const { id, outs } = await checkAndCreate(provider, inputs({ name: h.name("oob"), publicKey: PUBLIC_KEY }));
    await h.client().deleteSshKey(id);
    expect((await provider.read(id, outs)).id).toBeUndefined();
  });

  it("delete twice succeeds", async () => {
    const { id, outs } = await checkAndCreate(provider, inputs({ name: h.name("twice"), publicKey: PUBLIC_KEY }));
    await provider.delete(id, outs);
    await provider.delete(id, outs);
    expect(await h.client().getSshKey(id)).toBeUndefined();
  });

  it("no captured error message contains the API key or a secret", () => {
    expect(h.errors.length).toBeGreaterThan(0);
    h.expectNoSecretsInErrors();
  });
});
