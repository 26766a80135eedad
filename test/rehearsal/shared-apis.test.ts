/**
 * A rehearsal against APIs it did not start shares them between its phases: phase 3 deploys under
 * names of its own, phase 4 never counts them, and clearing one deployment leaves the other's.
 */
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FlyEmulator } from "../../src/emulators/fly/emulator";
import { LambdaEmulator } from "../../src/emulators/lambda/emulator";
import { FlyClient } from "../../src/providers/fly/api/client";
import { LambdaClient } from "../../src/providers/lambda/api/client";
import type { Endpoints } from "../../src/rehearsal/emulators";
import { clearScope, inventory } from "../../src/rehearsal/inventory";
import { sharedApisDeployment } from "../../src/rehearsal/phases";

const root = path.resolve(__dirname, "../..");

describe("phase 3's deployment on shared APIs", () => {
  const deployment = sharedApisDeployment({ stack: "prod", projectDir: root, timeScale: 1 }, "sophia-prod");
  const edge = deployment.edge as { domain: string; hostnames: Record<string, string[]> };

  it("uses its own app prefix", () => {
    expect(deployment.appPrefix).toBe("sophia-prod-i");
  });

  it("asks for certificates under a domain of its own, so phase 1's apps keep theirs", () => {
    expect(edge.domain).toBe("i.sophia-intel.ai");
    const hosts = Object.values(edge.hostnames).flat();
    expect(hosts.length).toBeGreaterThan(0);
    expect(hosts.filter((h) => h !== edge.domain && !h.endsWith(`.${edge.domain}`))).toEqual([]);
    expect(hosts).toContain("api.i.sophia-intel.ai");
  });
});

describe("inventory and clearing, by deployment", () => {
  let fly: FlyEmulator;
  let lambda: LambdaEmulator;
  let close: () => Promise<void>;
  let apis: Endpoints;
  beforeAll(async () => {
    fly = new FlyEmulator();
    lambda = new LambdaEmulator();
    const flyApiUrl = await fly.listen(0);
    const running = await lambda.listen(0);
    close = running.close;
    apis = { flyApiUrl, flyApiToken: "t", lambdaApiUrl: running.url, lambdaApiKey: lambda.settings.apiKeys[0]!, source: "external", s3Endpoint: "127.0.0.1:1", s3AccessKeyId: "k", s3SecretAccessKey: "s", close: async () => {} };
    const lambdaClient = new LambdaClient({ apiUrl: running.url, apiKey: apis.lambdaApiKey, requestIntervalMs: 0, launchIntervalMs: 0 });
    await lambdaClient.createFilesystem("sophia-prod-gpu-fs-us-west-1", "us-west-1");
    await lambdaClient.createFilesystem("sophia-prod-i-gpu-fs-us-west-1", "us-west-1");
    const flyClient = new FlyClient({ apiUrl: flyApiUrl, apiToken: "t", tuning: { rateLimit: null } });
    await flyClient.createApp({ name: "sophia-prod-i-weaviate", org_slug: "personal" });
    await flyClient.createApp({ name: "sophia-prod-weaviate", org_slug: "personal" });
  });
  afterAll(async () => {
    await fly.close();
    await close();
  });

  it("a stack's inventory leaves out what phase 3 made under its longer prefix", async () => {
    const items = await inventory(apis, { apps: [], lambdaPrefix: "sophia-prod", lambdaExcludedPrefixes: ["sophia-prod-i-"], certificates: [], rulesetIds: [] });
    expect(items.map((i) => i.name)).toEqual(["sophia-prod-gpu-fs-us-west-1"]);
  });

  it("clearing phase 3 removes its apps and named resources, data included, and nothing of the stack's", async () => {
    await clearScope(apis, { apps: ["sophia-prod-i-weaviate"], lambdaPrefix: "sophia-prod-i-", certificates: [], rulesetIds: [] });
    expect([...fly.model.apps.keys()]).toEqual(["sophia-prod-weaviate"]);
    const left = await inventory(apis, { apps: [], lambdaPrefix: "sophia-prod", certificates: [], rulesetIds: [] });
    expect(left.map((i) => i.name)).toEqual(["sophia-prod-gpu-fs-us-west-1"]);
  });
});
