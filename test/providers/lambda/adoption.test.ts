/**
 * Safe to interrupt, safe to retry, for every Lambda resource kind: a create whose answer is lost
 * after Lambda acted leaves exactly one resource, recorded; what an interrupted run made is
 * adopted; a same-named resource that is not ours fails with a message naming it. Lost answers
 * are asked of the emulator through its control API, so these run against any emulator.
 */
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { lambdaFilesystemProvider } from "../../../src/providers/lambda/resources/filesystem";
import { lambdaFirewallRulesetProvider, type FirewallRulesetInputs } from "../../../src/providers/lambda/resources/firewall";
import { INSTANCE_MARKER_TAG, lambdaInstanceProvider, type InstanceInputs } from "../../../src/providers/lambda/resources/instance";
import { lambdaSshKeyProvider } from "../../../src/providers/lambda/resources/ssh-key";
import { checkAndCreate, emulated, full, startHarness, TEST_TIMEOUT_MS, type Harness } from "./harness";

const sshKeys = full(lambdaSshKeyProvider);
const filesystems = full(lambdaFilesystemProvider);
const rulesets = full(lambdaFirewallRulesetProvider);
const instances = full(lambdaInstanceProvider);
const REGION = "us-east-1";

/** An OpenSSH ed25519 public key line. */
function publicKey(): string {
  const raw = generateKeyPairSync("ed25519").publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const part = (buf: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, buf.length]), buf]);
  return `ssh-ed25519 ${Buffer.concat([part(Buffer.from("ssh-ed25519")), part(raw)]).toString("base64")} test`;
}

describe.skipIf(!emulated)("Lambda creates adopt instead of duplicating", { timeout: TEST_TIMEOUT_MS }, () => {
  let h: Harness;
  let counter = 0;
  const unique = (label: string) => h.name(`${label}${(counter += 1)}`);
  let sshKeyName: string;

  beforeAll(async () => {
    h = await startHarness();
    const key = await checkAndCreate(sshKeys, { ...h.access, name: unique("adopt-key") });
    h.secrets.push(String(key.outs.privateKey));
    sshKeyName = key.outs.keyName;
  });
  afterEach(async () => {
    await h.restore();
  });
  afterAll(async () => {
    await h.close();
  });

  const named = async <T extends { name?: string | null }>(list: Promise<T[]>, name: string) => (await list).filter((item) => item.name === name);

  it("an uploaded SSH key whose answer is lost leaves one key, recorded", async () => {
    const name = unique("lost-key");
    await h.steer().loseAnswer({ method: "POST", path: /^\/ssh-keys$/ });
    const { id } = await checkAndCreate(sshKeys, { ...h.access, name, publicKey: publicKey() });
    expect((await named(h.client().listSshKeys(), name)).map((k) => k.id)).toEqual([id]);
  });

  it("a generated SSH key whose answer is lost is found, and its private key is the pair of the key Lambda holds", async () => {
    const name = unique("lost-gen");
    const control = h.steer();
    const mark = await control.mark();
    await control.loseAnswer({ method: "POST", path: /^\/ssh-keys$/ });
    const { id, outs } = await checkAndCreate(sshKeys, { ...h.access, name });
    h.secrets.push(String(outs.privateKey));
    expect((await named(h.client().listSshKeys(), outs.keyName)).map((k) => k.id)).toEqual([id]);
    // Sent once: the key the lost answer made is ours, not made again.
    expect((await control.requests(mark)).filter((r) => r.method === "POST" && r.path.endsWith("/ssh-keys"))).toHaveLength(1);
    const publicOf = createPublicKey(String(outs.privateKey)).export({ format: "der", type: "spki" }).subarray(-32);
    expect(Buffer.from(outs.publicKey.split(" ")[1] ?? "", "base64").subarray(-32).equals(publicOf)).toBe(true);
  });

  it("a generated SSH key left by an interrupted earlier run is replaced: one key, whose private half is known", async () => {
    const name = unique("left-gen");
    const first = await checkAndCreate(sshKeys, { ...h.access, name, marker: "test/stack/left-gen" });
    // The earlier run's answer never reached state; the next run creates the same resource again.
    const { id, outs } = await checkAndCreate(sshKeys, { ...h.access, name, marker: "test/stack/left-gen" });
    h.secrets.push(String(outs.privateKey), String(first.outs.privateKey));
    expect(outs.keyName).toBe(first.outs.keyName);
    expect(outs.privateKey).toMatch(/PRIVATE KEY/);
    expect((await named(h.client().listSshKeys(), outs.keyName)).map((k) => k.id)).toEqual([id]);
  });

  it("a generated key's name carries its marker's digest, so a same-named key of someone else's is left alone", async () => {
    const name = unique("plain-gen");
    const theirs = await h.client().addSshKey(name, publicKey());
    const { outs } = await checkAndCreate(sshKeys, { ...h.access, name, marker: "test/stack/plain-gen" });
    expect(outs.keyName).toMatch(new RegExp(`^${name}-[0-9a-f]{8}$`));
    expect((await named(h.client().listSshKeys(), name)).map((k) => k.id)).toEqual([theirs.id]);
  });

  it("an SSH key with the same public key left by an interrupted run is adopted", async () => {
    const name = unique("left-key");
    const key = publicKey();
    const left = await h.client().addSshKey(name, key);
    const { id } = await checkAndCreate(sshKeys, { ...h.access, name, publicKey: key });
    expect(id).toBe(left.id);
    expect(await named(h.client().listSshKeys(), name)).toHaveLength(1);
  });

  it("a same-named SSH key with another public key is not adopted, and the error names it", async () => {
    const name = unique("their-key");
    const theirs = await h.client().addSshKey(name, publicKey());
    const error = await h.rejection(checkAndCreate(sshKeys, { ...h.access, name, publicKey: publicKey() }));
    expect(error.message).toMatch(new RegExp(`create SSH key "${name}": a key with this name \\(${theirs.id}\\) already exists but its public key is not the one in publicKey`));
    expect(error.message).toMatch(/rename yours.*or delete it/);
  });

  it("a filesystem whose answer is lost leaves one filesystem, recorded", async () => {
    const name = unique("lost-fs");
    await h.steer().loseAnswer({ method: "POST", path: /^\/filesystems$/ });
    const { id } = await checkAndCreate(filesystems, { ...h.access, name, region: REGION });
    expect((await named(h.client().listFilesystems(), name)).map((f) => f.id)).toEqual([id]);
  });

  it("a filesystem left by an interrupted run is adopted", async () => {
    const name = unique("left-fs");
    const left = await h.client().createFilesystem(name, REGION);
    const { id } = await checkAndCreate(filesystems, { ...h.access, name, region: REGION });
    expect(id).toBe(left.id);
  });

  it("a same-named filesystem in another region is not adopted, and the error names it", async () => {
    const name = unique("far-fs");
    const theirs = await h.client().createFilesystem(name, "us-west-1");
    const error = await h.rejection(checkAndCreate(filesystems, { ...h.access, name, region: REGION }));
    expect(error.message).toMatch(new RegExp(`a filesystem with this name \\(${theirs.id}, in us-west-1\\) already exists but it is in us-west-1`));
  });

  const ruleset = (name: string): FirewallRulesetInputs => ({
    ...h.access,
    name,
    region: REGION,
    rules: [{ protocol: "tcp", portRange: [22, 22], sourceNetwork: "203.0.113.7/32", description: "SSH" }],
  });
  const rulesetsNamed = async (name: string) => (await h.client().listFirewallRulesets()).filter((r) => r.name === name);

  it("a firewall ruleset whose answer is lost leaves one ruleset, recorded", async () => {
    const name = unique("lost-fw");
    await h.steer().loseAnswer({ method: "POST", path: /^\/firewall-rulesets$/ });
    const { id } = await checkAndCreate(rulesets, ruleset(name));
    expect((await rulesetsNamed(name)).map((r) => r.id)).toEqual([id]);
  });

  it("a firewall ruleset left by an interrupted run is adopted, with our rules", async () => {
    const name = unique("left-fw");
    const left = await h.client().createFirewallRuleset(name, REGION, []);
    const { id } = await checkAndCreate(rulesets, ruleset(name));
    expect(id).toBe(left.id);
    expect((await rulesetsNamed(name)).map((r) => r.rules.length)).toEqual([1]);
  });

  it("a same-named ruleset that instances use is not adopted, and the error names it", async () => {
    const name = unique("used-fw");
    const theirs = await h.client().createFirewallRuleset(name, REGION, []);
    const instanceId = await h.client().launchInstance({ region_name: REGION, instance_type_name: "gpu_1x_a10", ssh_key_names: [sshKeyName], firewall_rulesets: [{ id: theirs.id }] });
    const error = await h.rejection(checkAndCreate(rulesets, ruleset(name)));
    expect(error.message).toMatch(new RegExp(`a ruleset with this name \\(${theirs.id}\\) already exists but instances this stack did not launch use it \\(${instanceId}\\)`));
    await h.client().terminateInstance(instanceId);
  });

  const instance = (name: string): InstanceInputs => ({
    ...h.access,
    instanceType: "gpu_1x_a10",
    region: REGION,
    sshKeyName,
    name,
    marker: `test/adopt/${name}`,
  });
  const alive = async (name: string) =>
    (await named(h.client().listInstances(), name)).filter((i) => !["terminating", "terminated", "preempted"].includes(i.status));

  it("a launch whose answer is lost leaves one instance, recorded", async () => {
    const name = unique("lost-gpu");
    await h.steer().loseAnswer({ method: "POST", path: /^\/instance-operations\/launch$/ });
    const { id, outs } = await checkAndCreate(instances, instance(name));
    expect((await alive(name)).map((i) => i.id)).toEqual([id]);
    await instances.delete(id, outs);
  });

  it("an instance with our name and marker launched by an interrupted run is adopted", async () => {
    const name = unique("left-gpu");
    const inputs = instance(name);
    const left = await h.client().launchInstance({
      region_name: REGION,
      instance_type_name: "gpu_1x_a10",
      ssh_key_names: [sshKeyName],
      name,
      tags: [{ key: INSTANCE_MARKER_TAG, value: inputs.marker ?? "" }],
    });
    const { id, outs } = await checkAndCreate(instances, inputs);
    expect(id).toBe(left);
    expect((await alive(name)).map((i) => i.id)).toEqual([left]);
    // The marker tag is not one of the instance's tags: it causes no diff (a tags change replaces a GPU).
    expect((await instances.diff(id, outs, inputs)).changes).toBe(false);
  });

  it("a launch interrupted during boot, then a fresh create for the same node, gives one instance, adopted", async () => {
    const name = unique("boot-gpu");
    const control = h.steer();
    const since = await control.mark();
    await control.put("/timing", { bootMs: 400 });
    // The first run's create is under way (launched, booting) when the second run starts.
    const first = checkAndCreate(instances, instance(name));
    for (let i = 0; i < 200 && (await alive(name)).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await checkAndCreate(instances, instance(name));
    expect((await alive(name)).map((i) => i.id)).toEqual([second.id]);
    expect((await first).id).toBe(second.id);
    const launches = (await control.requests(since)).filter((entry) => entry.path.endsWith("/instance-operations/launch") && entry.status === 200);
    expect(launches).toHaveLength(1);
  });

  it("a same-named instance without our marker is not adopted, and the error names it", async () => {
    const name = unique("their-gpu");
    const theirs = await h.client().launchInstance({ region_name: REGION, instance_type_name: "gpu_1x_a10", ssh_key_names: [sshKeyName], name });
    const error = await h.rejection(checkAndCreate(instances, instance(name)));
    expect(error.message).toMatch(new RegExp(`create instance "${name}": instance ${theirs} with this name already exists but it carries no marker of this stack`));
    expect(await alive(name)).toHaveLength(1);
    await h.client().terminateInstance(theirs);
  });

  it("no captured error message contains the API key or a secret", () => {
    expect(h.errors.length).toBeGreaterThan(0);
    h.expectNoSecretsInErrors();
  });
});
