/**
 * Run by serialize.test.ts in a tsx child process: Pulumi's closure serializer needs CommonJS
 * modules in require.cache, which vitest's module runner doesn't provide. Serializes every Fly
 * provider as Pulumi does at deployment time, loads each text back as plain JavaScript, and runs
 * one create + delete through the deserialized app provider against an in-process emulator.
 */
import { createRequire } from "node:module";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import {
  flyAppProvider,
  flyCertificateProvider,
  flyIpAddressProvider,
  flyMachineProvider,
  flySecretsProvider,
  flyVolumeProvider,
} from "../../../src/providers/fly";
import { FlyEmulator } from "../../fakes/fly/emulator";

interface Loaded {
  create(inputs: Record<string, unknown>): Promise<{ id: string }>;
  delete(id: string, props: Record<string, unknown>): Promise<void>;
  [method: string]: unknown;
}

const providers = {
  App: flyAppProvider,
  Volume: flyVolumeProvider,
  Machine: flyMachineProvider,
  Secrets: flySecretsProvider,
  IpAddress: flyIpAddressProvider,
  Certificate: flyCertificateProvider,
};

async function main(): Promise<void> {
  const projectRequire = createRequire(path.resolve(__dirname, "../../../package.json"));
  const report: Record<string, { bytes: number; methods: string[] }> = {};
  const loaded: Record<string, Loaded> = {};
  for (const [name, provider] of Object.entries(providers)) {
    const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
    const module = { exports: {} as { handler: () => Loaded } };
    new Function("exports", "require", "module", serialized.text)(module.exports, projectRequire, module);
    const instance = module.exports.handler();
    loaded[name] = instance;
    report[name] = {
      bytes: serialized.text.length,
      methods: Object.keys(instance).filter((k) => typeof instance[k] === "function").sort(),
    };
  }
  const emulator = new FlyEmulator();
  const apiUrl = await emulator.listen(0);
  const inputs = { name: "serialized-app", org: "personal", apiToken: "child-token", apiUrl };
  const created = await loaded.App.create(inputs);
  await loaded.App.delete(created.id, inputs);
  await emulator.close();
  console.log(JSON.stringify({ report, createdId: created.id }));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
