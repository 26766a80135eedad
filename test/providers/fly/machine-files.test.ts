/**
 * Machine `files` and `metrics` through the machine provider, against the emulator (or a real
 * endpoint): a file written from the config (base64 raw_value) or from an app secret that holds
 * its contents (secret_name), which must exist first, and the metrics endpoint Fly scrapes.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { flyMachineProvider, type FlyMachineConfig, type FlyMachineInputs } from "../../../src/providers/fly/resources/machine";
import { createTestApp, expectNoLeaks, failureOf, startFlyTestEnv, trackSecret, type FlyTestEnv } from "./helpers";

let env: FlyTestEnv;
let app: string;
let counter = 0;
const base64 = (text: string) => Buffer.from(text).toString("base64");

function inputs(extra: Partial<FlyMachineConfig>): FlyMachineInputs {
  counter += 1;
  const config: FlyMachineConfig = {
    image: env.image,
    guest: { cpu_kind: "shared", cpus: 1, memory_mb: 256 },
    checks: { health: { type: "http", port: 8080, path: "/health", interval: "10s", timeout: "2s" } },
    ...extra,
  };
  return { app, name: `files-${counter}`, region: env.region, config, ...env.connection };
}

beforeAll(async () => {
  env = await startFlyTestEnv();
  app = await createTestApp(env, "files");
  await env.client.updateSecrets(app, { FILE_ETC_APP_SECRET_YML: trackSecret(base64("token: s3cr3t-file-value\n")) });
});
afterAll(async () => {
  await env.client.deleteApp(app);
  await env.close();
  expectNoLeaks();
});

describe("machine files and metrics", () => {
  test("a machine gets a file from its config, one from an app secret, and a metrics endpoint; read shows no drift", async () => {
    const news = inputs({
      files: [
        { guest_path: "/etc/app/rules.yml", raw_value: base64("groups: []\n") },
        { guest_path: "/etc/app/secret.yml", secret_name: "FILE_ETC_APP_SECRET_YML" },
      ],
      metrics: { port: 9091, path: "/metrics" },
    });
    const created = await flyMachineProvider.create(news);
    const read = await flyMachineProvider.read(created.id, created.outs);
    expect(read.props?.config).toEqual(created.outs.config);
    expect((await flyMachineProvider.diff(created.id, read.props!, news)).changes).toBe(false);
    const live = (await env.client.getMachine(app, created.id))!;
    expect((live.config as FlyMachineConfig).files).toEqual(news.config.files);
    expect((live.config as FlyMachineConfig).metrics).toEqual({ port: 9091, path: "/metrics" });
  });

  test("a file from a secret the app does not have is refused, naming the secret", async () => {
    const message = await failureOf(flyMachineProvider.create(inputs({ files: [{ guest_path: "/etc/app/missing.yml", secret_name: "FILE_NOT_SET" }] })));
    expect(message).toMatch(/secret FILE_NOT_SET not found in app/);
  });

  test("check refuses a file with both sources, or neither", async () => {
    const both = await flyMachineProvider.check({}, inputs({ files: [{ guest_path: "/etc/x", raw_value: base64("x"), secret_name: "FILE_ETC_APP_SECRET_YML" }] }));
    const neither = await flyMachineProvider.check({}, inputs({ files: [{ guest_path: "/etc/x" }] }));
    expect(both.failures.map((f) => f.reason)).toEqual([expect.stringContaining("exactly one of raw_value and secret_name")]);
    expect(neither.failures.map((f) => f.reason)).toEqual([expect.stringContaining("exactly one of raw_value and secret_name")]);
  });

  test("check refuses a relative guest path and a metrics path without a leading slash", async () => {
    const result = await flyMachineProvider.check({}, inputs({ files: [{ guest_path: "etc/x", raw_value: "" }], metrics: { port: 9091, path: "metrics" } }));
    expect(result.failures.map((f) => f.reason).join("\n")).toMatch(/guest_path must be absolute[\s\S]*metrics path must start with \//);
  });
});
