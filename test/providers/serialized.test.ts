/**
 * Pulumi stores each dynamic provider in state as the text of its serialized closure, and runs
 * that text, not the project's modules. serialize-child.ts serializes every Fly and Lambda
 * provider and every provider Error class once (under tsx: see there); this file loads the texts
 * as the dynamic-provider host does and drives them against the emulators, so every path a
 * deployed provider takes (read and delete from the copy in state included) runs as deployed.
 *
 * It also holds the errors to account: Pulumi's serializer drops `super(message)`'s effect, and an
 * Error subclass's prototype chain unless its prototype has a member besides the constructor. A
 * deployed provider's errors were then plain objects that printed "[object Object]".
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FlyEmulator } from "../../src/emulators/fly/emulator";
import { LambdaEmulator } from "../../src/emulators/lambda/emulator";
import { setLambdaClientOverrides } from "../../src/providers/lambda/api/client";
import { expectEach } from "../helpers/expect-each";

const root = path.resolve(__dirname, "../..");
type Props = Record<string, unknown>;
interface Provider {
  check?(olds: Props, news: Props): Promise<{ inputs?: Props; failures?: unknown[] }>;
  create(inputs: Props): Promise<{ id: string; outs: Props }>;
  read(id: string, props: Props): Promise<{ id?: string; props?: Props }>;
  update(id: string, olds: Props, news: Props): Promise<{ outs?: Props }>;
  delete(id: string, props: Props): Promise<void>;
  [method: string]: unknown;
}

let serialized: { dir: string; files: Record<string, string> };
/** Loads a serialized text as the dynamic-provider host does: a CommonJS module whose `handler()` is the value. */
const load = <T>(name: string): T => (createRequire(path.join(root, "package.json"))(serialized.files[name]!) as { handler: () => T }).handler();

beforeAll(async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["--require", "tsx/cjs", path.join(__dirname, "serialize-child.ts")], {
    cwd: root,
    timeout: 90_000,
    env: { ...process.env, FLY_API_URL: "", FLY_API_TOKEN: "", LAMBDA_API_URL: "", LAMBDA_API_KEY: "" },
  });
  serialized = JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as typeof serialized;
}, 90_000);

afterAll(() => {
  if (serialized?.dir) fs.rmSync(serialized.dir, { recursive: true, force: true });
});

describe("Fly providers, serialized", () => {
  it("each keeps every provider method", () => {
    for (const name of ["App", "Volume", "Machine", "Secrets", "IpAddress", "Certificate"]) {
      const provider = load<Provider>(name);
      expect(Object.keys(provider).filter((k) => typeof provider[k] === "function").sort(), name).toEqual(["check", "create", "delete", "diff", "read", "update"]);
    }
  });

  it("run a whole lifecycle (app, volume, machine, secrets) against the emulator, reading and deleting from state", async () => {
    const [App, Volume, Machine, Secrets] = ["App", "Volume", "Machine", "Secrets"].map((n) => load<Provider>(n));
    const emulator = new FlyEmulator();
    const connection = { apiToken: "serialized-token", apiUrl: await emulator.listen(0) };
    try {
      const app = { name: "serialized-app", org: "personal", ...connection };
      const createdApp = await App!.create(app);
      expect(createdApp.id).toBe("serialized-app");
      const volume = { app: app.name, name: "data", region: "lax", sizeGb: 1, ...connection };
      const createdVolume = await Volume!.create(volume);
      const config = (image: string) => ({ image, guest: { cpu_kind: "shared", cpus: 1, memory_mb: 256 }, mounts: [{ volume: createdVolume.id, path: "/data" }] });
      const machine = { app: app.name, name: "serialized-machine", region: "lax", config: config("nginx:1.27"), ...connection };
      const createdMachine = await Machine!.create(machine);
      expect((await Machine!.read(createdMachine.id, createdMachine.outs)).id).toBe(createdMachine.id);
      const updatedMachine = await Machine!.update(createdMachine.id, createdMachine.outs, { ...machine, config: config("nginx:1.28") });
      expect((updatedMachine.outs?.config as { image?: string }).image).toBe("nginx:1.28");
      expect((await Volume!.read(createdVolume.id, createdVolume.outs)).id).toBe(createdVolume.id);
      const grownVolume = await Volume!.update(createdVolume.id, createdVolume.outs, { ...volume, sizeGb: 2 });
      expect(grownVolume.outs?.sizeGb).toBe(2);
      const secrets = { app: app.name, values: { API_KEY: "serialized-secret-1" }, ...connection };
      const createdSecrets = await Secrets!.create(secrets);
      await Secrets!.update(createdSecrets.id, createdSecrets.outs, { ...secrets, values: { API_KEY: "serialized-secret-2" } });
      await Machine!.delete(createdMachine.id, { ...createdMachine.outs, ...updatedMachine.outs });
      await Volume!.delete(createdVolume.id, { ...createdVolume.outs, ...grownVolume.outs });
      await Secrets!.delete(createdSecrets.id, createdSecrets.outs);
      await App!.delete(createdApp.id, app);
      expect(emulator.model.apps.size).toBe(0);
    } finally {
      await emulator.close();
    }
  });
});

describe("a release gated by metrics, from the serialized machine provider", () => {
  it("runs its analysis, its Prometheus client and its step marks from the copy in state", async () => {
    const Machine = load<Provider>("Machine");
    // The copy was serialized with a metrics clock of 0.01 (serialize-child.ts); the emulator's runs at the same.
    const emulator = new FlyEmulator({ timeScale: 0.01 });
    const connection = { apiToken: "serialized-token", apiUrl: await emulator.listen(0) };
    try {
      emulator.model.createApp({ name: "serialized-gate", org_slug: "personal" });
      const ratio = 'sum(rate(fly_app_http_responses_count{app="$app",instance=~"$instances",status=~"5.."}[30s])) / sum(rate(fly_app_http_responses_count{app="$app",instance=~"$instances"}[30s]))';
      const gated = (release: string) => ({
        app: "serialized-gate",
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
            triggers: [{ metric: "error ratio", description: "5xx above 5%", value: ratio, breach: `(${ratio}) > 0.05`, threshold: 0.05, forSeconds: 0, unit: "ratio" }],
            minRequests: 1,
            lowTraffic: "hold",
          },
        },
        metricsToken: "serialized-token",
        ...connection,
      });
      const canary = await Machine.create(gated("r1"));
      const update = await Machine.update(canary.id, canary.outs, gated("r2"));
      expect(String(update.outs?.releaseAnalysis)).toMatch(/^passed/);
      await Machine.delete(canary.id, { ...canary.outs, ...update.outs });
    } finally {
      await emulator.close();
    }
  });
});

describe("Lambda providers, serialized", () => {
  let emulator: LambdaEmulator;
  let access: { apiUrl: string; apiKey: string };
  let close: () => Promise<void>;
  beforeAll(async () => {
    emulator = new LambdaEmulator();
    const running = await emulator.listen(0);
    close = running.close;
    access = { apiUrl: running.url, apiKey: emulator.settings.apiKeys[0]! };
    // Real code paths (spacing, polling), with short intervals; read by the copies from globalThis.
    setLambdaClientOverrides({ requestIntervalMs: 2, launchIntervalMs: 5, pollIntervalMs: 5 });
  });
  afterAll(async () => {
    setLambdaClientOverrides(undefined);
    await close();
  });

  it("run check, create, read and delete of a key, a filesystem, a ruleset and an instance using them", async () => {
    const names = ["lambdaSshKeyProvider", "lambdaFilesystemProvider", "lambdaFirewallRulesetProvider", "lambdaInstanceProvider"] as const;
    const [keys, filesystems, rulesets, instances] = names.map((n) => load<Provider>(n));
    const lifecycle = async (provider: Provider, news: Props) => {
      const checked = await provider.check?.({}, { ...access, ...news });
      expect(checked?.failures ?? []).toEqual([]);
      const created = await provider.create(checked?.inputs ?? { ...access, ...news });
      expect((await provider.read(created.id, created.outs)).id).toBe(created.id);
      return created;
    };
    const key = await lifecycle(keys!, { name: "ser-key" });
    const fs = await lifecycle(filesystems!, { name: "ser-fs", region: "us-west-1" });
    const fw = await lifecycle(rulesets!, { name: "ser-fw", region: "us-west-1", rules: [{ protocol: "tcp", portRange: [22, 22], sourceNetwork: "203.0.113.7/32", description: "SSH" }] });
    const gpu = await lifecycle(instances!, {
      instanceType: "gpu_1x_a10",
      region: "us-west-1",
      sshKeyName: String(key.outs.keyName),
      fileSystemNames: ["ser-fs"],
      firewallRulesetId: fw.id,
      name: "ser-gpu",
    });
    await instances!.delete(gpu.id, gpu.outs);
    await rulesets!.delete(fw.id, fw.outs);
    await filesystems!.delete(fs.id, fs.outs);
    await keys!.delete(key.id, key.outs);
    expect(emulator.instanceStatus(gpu.id)).toBe("terminated");
  });
});

describe("provider errors, thrown from a serialized provider", () => {
  it("every Error class a provider module exports is still an Error", () => {
    const classes = load<Record<string, new (...args: never[]) => Error>>("errorClasses");
    expect(Object.keys(classes)).toEqual(expect.arrayContaining(["ApiError", "InsufficientCapacityError", "MissingApiKeyError", "ReleaseStopped", "WaitTimeoutError"]));
    expectEach(Object.entries(classes), ([name, copy]) => expect(copy.prototype instanceof Error, `${name} in a serialized provider`).toBe(true));
  });

  it("every error a provider throws keeps its message and prints it", () => {
    const thrown: Record<string, unknown> = {};
    for (const [name, thrower] of Object.entries(load<Record<string, () => never>>("throwers"))) {
      try {
        thrower();
      } catch (err) {
        thrown[name] = err;
      }
    }
    expect(Object.keys(thrown).sort()).toEqual(["ApiError", "InsufficientCapacityError", "MissingApiKeyError", "ReleaseStopped", "WaitTimeoutError"]);
    const message = (name: string) => (thrown[name] as { message?: unknown }).message;
    expect(message("ApiError")).toBe("create app: 422 name taken");
    expect(message("InsufficientCapacityError")).toMatch(/no capacity for gpu_1x_gh200 in us-west-1/);
    expect(message("MissingApiKeyError")).toMatch(/^No Lambda Cloud API key/);
    expect(message("WaitTimeoutError")).toMatch(/did not become active within 60 s/);
    expect(message("ReleaseStopped")).toBe("the release was stopped at machine canary");
    expectEach(Object.entries(thrown), ([name, err]) => {
      expect(err instanceof Error, `${name} is an Error`).toBe(true);
      expect(String(err), `${name} printed`).toContain(String(message(name)));
    });
  });
});
