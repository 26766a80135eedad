/**
 * Serializes every Lambda dynamic provider with Pulumi's closure serializer, loads the text the
 * way the engine does, and drives the loaded copies through create → read → delete against the
 * emulator, with rate limiting on. Prints one JSON line per provider.
 *
 * serialize.test.ts runs this in a tsx child process: under vitest, modules do not go through
 * Node's require, so the serializer would try to inline zod instead of emitting require("zod").
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { setLambdaClientOverrides } from "../../../src/providers/lambda/api/client";
import { lambdaFilesystemProvider } from "../../../src/providers/lambda/resources/filesystem";
import { lambdaFirewallRulesetProvider } from "../../../src/providers/lambda/resources/firewall";
import { lambdaInstanceProvider } from "../../../src/providers/lambda/resources/instance";
import { lambdaSshKeyProvider } from "../../../src/providers/lambda/resources/ssh-key";
import { LambdaEmulator } from "../../../src/emulators/lambda/emulator";

type Provider = pulumi.dynamic.ResourceProvider;
type Props = Record<string, unknown>;

const providers: Record<string, Provider> = {
  lambdaSshKeyProvider,
  lambdaFilesystemProvider,
  lambdaFirewallRulesetProvider,
  lambdaInstanceProvider,
};

async function load(dir: string, name: string, provider: Provider): Promise<Provider> {
  const serialized = await pulumi.runtime.serializeFunction(() => provider);
  const file = join(dir, `${name}.js`);
  writeFileSync(file, serialized.text);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(file) as { handler: () => Provider }).handler();
}

async function lifecycle(provider: Provider, news: Props): Promise<Props> {
  const checked = await provider.check?.({}, news);
  if (checked?.failures?.length) throw new Error(`check failed: ${JSON.stringify(checked.failures)}`);
  const created = await provider.create(checked?.inputs ?? news);
  const read = await provider.read?.(created.id, created.outs);
  if (read?.id !== created.id) throw new Error("read lost the resource");
  return { id: created.id, outs: created.outs };
}

async function main(): Promise<void> {
  // Inside the project, so that the serialized require("zod") resolves as it does for Pulumi.
  const dir = mkdtempSync(join(__dirname, ".serialized-"));
  const emulator = new LambdaEmulator();
  const running = await emulator.listen(0);
  // Real code paths (spacing, polling), with short intervals.
  setLambdaClientOverrides({ requestIntervalMs: 2, launchIntervalMs: 5, pollIntervalMs: 5 });
  const access = { apiUrl: running.url, apiKey: emulator.settings.apiKeys[0] };
  try {
    const loaded: Record<string, Provider> = {};
    for (const [name, provider] of Object.entries(providers)) {
      try {
        loaded[name] = await load(dir, name, provider);
        console.log(JSON.stringify({ name, serialized: true }));
      } catch (err) {
        console.log(JSON.stringify({ name, serialized: false, error: err instanceof Error ? err.message.split("\n")[0] : String(err) }));
      }
    }
    const run = async (name: string, news: Props): Promise<Props | undefined> => {
      const provider = loaded[name];
      if (!provider) return undefined;
      try {
        const result = await lifecycle(provider, { ...access, ...news });
        console.log(JSON.stringify({ name, lifecycle: true }));
        return result;
      } catch (err) {
        console.log(JSON.stringify({ name, lifecycle: false, error: err instanceof Error ? err.message : String(err) }));
        return undefined;
      }
    };
    const key = await run("lambdaSshKeyProvider", { name: "ser-key" });
    const fs = await run("lambdaFilesystemProvider", { name: "ser-fs", region: "us-west-1" });
    const fw = await run("lambdaFirewallRulesetProvider", {
      name: "ser-fw",
      region: "us-west-1",
      rules: [{ protocol: "tcp", portRange: [22, 22], sourceNetwork: "203.0.113.7/32", description: "SSH" }],
    });
    const instance = await run("lambdaInstanceProvider", {
      instanceType: "gpu_1x_a10",
      region: "us-west-1",
      sshKeyName: String((key?.outs as Props | undefined)?.keyName ?? "ser-key"),
      fileSystemNames: ["ser-fs"],
      firewallRulesetId: fw?.id,
      name: "ser-gpu",
    });
    for (const [name, created] of [["lambdaInstanceProvider", instance], ["lambdaFirewallRulesetProvider", fw], ["lambdaFilesystemProvider", fs], ["lambdaSshKeyProvider", key]] as const) {
      if (!created) continue;
      try {
        await loaded[name]?.delete?.(String(created.id), created.outs as Props);
        console.log(JSON.stringify({ name, deleted: true }));
      } catch (err) {
        console.log(JSON.stringify({ name, deleted: false, error: err instanceof Error ? err.message : String(err) }));
      }
    }
  } finally {
    setLambdaClientOverrides(undefined);
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
