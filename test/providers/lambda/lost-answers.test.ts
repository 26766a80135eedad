/**
 * Every Lambda write whose answer keeps getting lost after Lambda acted (more times than the
 * client retries) is found done by reading the state back, and is sent once: creates, the
 * launch, renames, ruleset updates, terminations and deletes. The emulator loses the answers on
 * request, through its control API, so these run against any emulator.
 */
import { generateKeyPairSync } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { lambdaFilesystemProvider } from "../../../src/providers/lambda/resources/filesystem";
import { lambdaFirewallRulesetProvider, type FirewallRulesetInputs } from "../../../src/providers/lambda/resources/firewall";
import { lambdaInstanceProvider } from "../../../src/providers/lambda/resources/instance";
import { lambdaSshKeyProvider } from "../../../src/providers/lambda/resources/ssh-key";
import { checkAndCreate, emulated, FAST, full, startHarness, TEST_TIMEOUT_MS, type Harness } from "./harness";

const sshKeys = full(lambdaSshKeyProvider);
const filesystems = full(lambdaFilesystemProvider);
const rulesets = full(lambdaFirewallRulesetProvider);
const instances = full(lambdaInstanceProvider);
const REGION = "us-east-1";
/** More losses than the client has attempts: only reading back can end the operation. */
const ALWAYS = Math.max(FAST.retry?.maxAttempts ?? 6, FAST.launchAttempts ?? 5) + 5;

function publicKey(): string {
  const raw = generateKeyPairSync("ed25519").publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const part = (buf: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, buf.length]), buf]);
  return `ssh-ed25519 ${Buffer.concat([part(Buffer.from("ssh-ed25519")), part(raw)]).toString("base64")} test`;
}

describe.skipIf(!emulated)("Lambda writes whose answers are always lost", { timeout: TEST_TIMEOUT_MS }, () => {
  let h: Harness;
  let counter = 0;
  const unique = (label: string) => h.name(`${label}${(counter += 1)}`);

  beforeAll(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    // Forgets the losses not used up.
    await h.restore();
  });
  afterAll(async () => {
    await h.close();
  });

  /** Runs `operation` while every answer to `method` on matching paths is lost; how many such requests were sent. */
  async function withAnswersLost<T>(method: string, path: RegExp, operation: () => Promise<T>): Promise<{ result: T; sent: number }> {
    const control = h.steer();
    const mark = await control.mark();
    await control.loseAnswer({ method, path, count: ALWAYS });
    const result = await operation();
    const sent = (await control.requests(mark)).filter((r) => r.method === method && path.test(r.path.replace(/^\/api\/v1/, "")));
    expect(sent.map((r) => r.status)).toContain("reset");
    return { result, sent: sent.length };
  }

  it("an uploaded SSH key is found by its name and public key, and its delete found done", async () => {
    const name = unique("always-key");
    const added = await withAnswersLost("POST", /^\/ssh-keys$/, () => checkAndCreate(sshKeys, { ...h.access, name, publicKey: publicKey() }));
    expect(added.sent).toBe(1);
    expect((await h.client().listSshKeys()).filter((k) => k.name === name).map((k) => k.id)).toEqual([added.result.id]);
    const deleted = await withAnswersLost("DELETE", /^\/ssh-keys\//, () => sshKeys.delete(added.result.id, added.result.outs));
    expect(deleted.sent).toBe(1);
    expect(await h.client().getSshKey(added.result.id)).toBeUndefined();
  });

  it("a generated SSH key is found by its name and public key: the provider made the pair, so nothing was in the answer", async () => {
    const added = await withAnswersLost("POST", /^\/ssh-keys$/, () => checkAndCreate(sshKeys, { ...h.access, name: unique("always-gen") }));
    h.secrets.push(String(added.result.outs.privateKey));
    expect(added.sent).toBe(1);
    expect(added.result.outs.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect((await h.client().listSshKeys()).filter((k) => k.name === added.result.outs.keyName).map((k) => k.id)).toEqual([added.result.id]);
  });

  it("a filesystem create and delete are found done by listing filesystems", async () => {
    const name = unique("always-fs");
    const created = await withAnswersLost("POST", /^\/filesystems$/, () => checkAndCreate(filesystems, { ...h.access, name, region: REGION }));
    expect(created.sent).toBe(1);
    const deleted = await withAnswersLost("DELETE", /^\/filesystems\//, () => filesystems.delete(created.result.id, created.result.outs));
    expect(deleted.sent).toBe(1);
    expect(await h.client().getFilesystem(created.result.id)).toBeUndefined();
  });

  it("a firewall ruleset create, rules update and delete are each found done by reading the ruleset back", async () => {
    const news: FirewallRulesetInputs = {
      ...h.access,
      name: unique("always-fw"),
      region: REGION,
      rules: [{ protocol: "tcp", portRange: [22, 22], sourceNetwork: "203.0.113.7/32", description: "SSH" }],
    };
    const created = await withAnswersLost("POST", /^\/firewall-rulesets$/, () => checkAndCreate(rulesets, news));
    expect(created.sent).toBe(1);
    const id = created.result.id;
    const changed = { ...created.result.inputs, rules: [...created.result.inputs.rules, { protocol: "icmp" as const, sourceNetwork: "203.0.113.0/24", description: "ping" }] };
    const updated = await withAnswersLost("PATCH", /^\/firewall-rulesets\//, () => rulesets.update(id, created.result.outs, changed));
    expect(updated.sent).toBe(1);
    expect((await h.client().getFirewallRuleset(id))?.rules).toHaveLength(2);
    const deleted = await withAnswersLost("DELETE", /^\/firewall-rulesets\//, () => rulesets.delete(id, updated.result.outs ?? created.result.outs));
    expect(deleted.sent).toBe(1);
    expect(await h.client().getFirewallRuleset(id)).toBeUndefined();
  });

  it("a launch, a rename and a termination are each found done by reading the instance back", async () => {
    const key = await checkAndCreate(sshKeys, { ...h.access, name: unique("always-gpu-key"), publicKey: publicKey() });
    const name = unique("always-gpu");
    const inputs = { ...h.access, instanceType: "gpu_1x_a10", region: REGION, sshKeyName: key.outs.keyName, name, marker: `test/lost/${name}` };
    const launched = await withAnswersLost("POST", /^\/instance-operations\/launch$/, () => checkAndCreate(instances, inputs));
    expect(launched.sent).toBe(1);
    const id = launched.result.id;
    const renamed = await withAnswersLost("POST", /^\/instances\//, () => instances.update(id, launched.result.outs, { ...launched.result.inputs, name: `${name}-b` }));
    expect(renamed.sent).toBe(1);
    expect((await h.client().getInstance(id))?.name).toBe(`${name}-b`);
    const terminated = await withAnswersLost("POST", /^\/instance-operations\/terminate$/, () => instances.delete(id, renamed.result.outs ?? launched.result.outs));
    expect(terminated.sent).toBe(1);
    expect((await h.client().getInstance(id))?.status).toBe("terminated");
    await sshKeys.delete(key.id, key.outs);
  });
});
