/**
 * Run once by serialized.test.ts, under tsx: Pulumi's closure serializer needs CommonJS modules in
 * require.cache, which vitest's module runner does not provide (under it, zod would be inlined
 * instead of required). Serializes every dynamic provider as a deployment does, and every Error
 * class a provider module exports, writes each text to a file inside the project (so that its
 * `require("zod")` resolves as it does for Pulumi), and prints where, as one JSON line. The test
 * then loads and drives the texts itself: serializing (which loads TypeScript) is the expensive
 * part, done once for all of them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { flyAppProvider, flyCertificateProvider, flyIpAddressProvider, flyMachineProvider, flySecretsProvider, flyVolumeProvider } from "../../src/providers/fly";
import { setFlyClientTuning } from "../../src/providers/fly/api/connection";
import { lambdaFilesystemProvider } from "../../src/providers/lambda/resources/filesystem";
import { lambdaFirewallRulesetProvider } from "../../src/providers/lambda/resources/firewall";
import { lambdaInstanceProvider } from "../../src/providers/lambda/resources/instance";
import { lambdaSshKeyProvider } from "../../src/providers/lambda/resources/ssh-key";
import { ApiError } from "../../src/providers/http";
import { InsufficientCapacityError } from "../../src/providers/lambda/api/capacity";
import { MissingApiKeyError, WaitTimeoutError } from "../../src/providers/lambda/api/client";
import { ReleaseStopped } from "../../src/providers/fly/resources/release-gate";

const providers: Record<string, unknown> = {
  App: flyAppProvider,
  Volume: flyVolumeProvider,
  Machine: flyMachineProvider,
  Secrets: flySecretsProvider,
  IpAddress: flyIpAddressProvider,
  Certificate: flyCertificateProvider,
  lambdaSshKeyProvider,
  lambdaFilesystemProvider,
  lambdaFirewallRulesetProvider,
  lambdaInstanceProvider,
};

/** Every Error class exported by a module under src/providers. */
function providerErrorClasses(): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
  for (const file of walk(path.resolve(__dirname, "../../src/providers"))) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    for (const value of Object.values(require(file) as Record<string, unknown>)) {
      if (typeof value === "function" && value.prototype instanceof Error) found[value.name] = value;
    }
  }
  return found;
}

/** Each error class the providers throw, thrown from a serialized copy. */
const throwers: Record<string, () => never> = {
  ApiError: () => {
    throw new ApiError("create app: 422 name taken", 422, undefined, "create app", "app", "name taken");
  },
  InsufficientCapacityError: () => {
    throw new InsufficientCapacityError("gpu_1x_gh200", "us-west-1", ["us-east-1"]);
  },
  MissingApiKeyError: () => {
    throw new MissingApiKeyError();
  },
  WaitTimeoutError: () => {
    throw new WaitTimeoutError("i-1", ["active"], "booting", 60_000);
  },
  ReleaseStopped: () => {
    throw new ReleaseStopped({ state: "failed", release: "r2", at: 0, machine: "canary" }, "the release was stopped at machine canary");
  },
};

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(__dirname, ".serialized-"));
  // Captured with the Fly providers (module state), so their copies run fast against an emulator.
  setFlyClientTuning({ retry: { maxAttempts: 5, maxTotalMs: 10_000, baseDelayMs: 2, maxDelayMs: 20 }, rateLimit: null, pollIntervalMs: 10, waitRequestSeconds: 5, timeScale: 0.01 });
  const files: Record<string, string> = {};
  const write = async (name: string, value: unknown) => {
    const text = (await pulumi.runtime.serializeFunction(() => value, { allowSecrets: true })).text;
    files[name] = path.join(dir, `${name}.js`);
    fs.writeFileSync(files[name], text);
  };
  for (const [name, provider] of Object.entries(providers)) await write(name, provider);
  await write("errorClasses", providerErrorClasses());
  await write("throwers", throwers);
  console.log(JSON.stringify({ dir, files }));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
