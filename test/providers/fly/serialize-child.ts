/**
 * Run by serialize.test.ts in a tsx child process: Pulumi's closure serializer needs CommonJS
 * modules in require.cache, which vitest's module runner doesn't provide. Serializes every Fly
 * provider as Pulumi does at deployment time, loads each text back as plain JavaScript, and runs
 * a whole lifecycle (app, volume, machine, secrets: create, read, update, delete) through the
 * deserialized providers against an in-process emulator. Read and delete run from the copy in
 * state, so every state-dependent path must survive serialization.
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
import { setFlyClientTuning } from "../../../src/providers/fly/api/connection";
import { FlyEmulator } from "../../../src/emulators/fly/emulator";

type Props = Record<string, unknown>;
interface Loaded {
  create(inputs: Props): Promise<{ id: string; outs: Props }>;
  read(id: string, props: Props): Promise<{ id?: string; props?: Props }>;
  update(id: string, olds: Props, news: Props): Promise<{ outs?: Props }>;
  delete(id: string, props: Props): Promise<void>;
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
  // Captured with the providers, so the deserialized copies run fast against the emulator.
  setFlyClientTuning({ retry: { maxAttempts: 5, maxTotalMs: 10_000, baseDelayMs: 2, maxDelayMs: 20 }, rateLimit: null, pollIntervalMs: 10, waitRequestSeconds: 5, timeScale: 0.01 });
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
  const emulator = new FlyEmulator({ timeScale: 0.01 });
  const apiUrl = await emulator.listen(0);
  const connection = { apiToken: "child-token", apiUrl };
  const app = { name: "serialized-app", org: "personal", ...connection };
  const createdApp = await loaded.App.create(app);

  const volume = { app: app.name, name: "data", region: "lax", sizeGb: 1, ...connection };
  const createdVolume = await loaded.Volume.create(volume);
  const machineConfig = (image: string) => ({ image, guest: { cpu_kind: "shared", cpus: 1, memory_mb: 256 }, mounts: [{ volume: createdVolume.id, path: "/data" }] });
  const machine = { app: app.name, name: "serialized-machine", region: "lax", config: machineConfig("nginx:1.27"), ...connection };
  const createdMachine = await loaded.Machine.create(machine);
  const readMachine = await loaded.Machine.read(createdMachine.id, createdMachine.outs);
  const updatedMachine = await loaded.Machine.update(createdMachine.id, createdMachine.outs, { ...machine, config: machineConfig("nginx:1.28") });
  // A release gated by metrics: the analysis, its Prometheus client and the step marks run from the copy too.
  const ratio = 'sum(rate(fly_app_http_responses_count{app="$app",instance=~"$instances",status=~"5.."}[30s])) / sum(rate(fly_app_http_responses_count{app="$app",instance=~"$instances"}[30s]))';
  const gated = (release: string) => ({
    app: app.name,
    name: "serialized-canary",
    region: "lax",
    config: { image: `nginx:${release}`, metadata: { sophia_release: release } },
    releaseGate: {
      fleet: ["serialized-canary"],
      analyse: true,
      analysis: {
        service: "serialized",
        prometheusUrl: emulator.prometheusUrl("personal"),
        windowSeconds: 30,
        triggers: [{ metric: "error ratio", description: "5xx above 5%", value: ratio, breach: `(${ratio}) > 0.05`, threshold: 0.05, forSeconds: 0 }],
        minRequests: 1,
        lowTraffic: "hold",
      },
    },
    metricsToken: "child-token",
    ...connection,
  });
  const canary = await loaded.Machine.create(gated("r1"));
  const gatedUpdate = await loaded.Machine.update(canary.id, canary.outs, gated("r2"));
  await loaded.Machine.delete(canary.id, { ...canary.outs, ...gatedUpdate.outs });
  const readVolume = await loaded.Volume.read(createdVolume.id, createdVolume.outs);
  const grownVolume = await loaded.Volume.update(createdVolume.id, createdVolume.outs, { ...volume, sizeGb: 2 });

  const secrets = { app: app.name, values: { API_KEY: "child-secret-1" }, ...connection };
  const createdSecrets = await loaded.Secrets.create(secrets);
  await loaded.Secrets.update(createdSecrets.id, createdSecrets.outs, { ...secrets, values: { API_KEY: "child-secret-2" } });

  await loaded.Machine.delete(createdMachine.id, { ...createdMachine.outs, ...updatedMachine.outs });
  await loaded.Volume.delete(createdVolume.id, { ...createdVolume.outs, ...grownVolume.outs });
  await loaded.Secrets.delete(createdSecrets.id, createdSecrets.outs);
  await loaded.App.delete(createdApp.id, app);
  await emulator.close();
  console.log(
    JSON.stringify({
      report,
      createdId: createdApp.id,
      lifecycle: {
        machineRead: readMachine.id === createdMachine.id,
        machineImage: (updatedMachine.outs?.config as { image?: string } | undefined)?.image,
        volumeRead: readVolume.id === createdVolume.id,
        volumeSize: grownVolume.outs?.sizeGb,
        gatedRelease: String(gatedUpdate.outs?.releaseAnalysis).split(":")[0],
      },
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
