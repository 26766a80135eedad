/** The Sophia platform: config → profile → components → outputs. */
import * as pulumi from "@pulumi/pulumi";
import { isOfflinePlan, loadStackConfig } from "./config";
import { valueOf } from "./output-value";
import { readSecrets, SECRETS, type ProviderSecretKey } from "./config/secrets";
import { createPlatformServices, declaredSecrets, planServices, publicUrl } from "../components/platform-services";
import { assertGpuCapacity, assertOperatorCidrs, GpuPool } from "../components/gpu-pool";
import { Edge, usesVercel } from "../components/edge";
import { livePriceReport } from "../components/gpu-prices";
import { resolvePrices } from "./config/prices";
import { lambdaClient } from "./providers/lambda";

/** Everything that can be wrong fails here, before the first resource exists. */
async function validate() {
  const config = loadStackConfig();
  const planned = planServices(config);
  const needed = declaredSecrets();
  needed.set("flyApiToken", ["every Fly.io resource"]);
  needed.set("lambdaApiKey", ["the GPU pool", ...(needed.get("lambdaApiKey") ?? [])]);
  const vercel = new Map<ProviderSecretKey, string[]>(usesVercel(config.edge) ? [["vercel:apiToken", ["the Vercel project and DNS records"]]] : []);
  const secrets = readSecrets(needed, pulumi.getStack(), vercel);
  if (!isOfflinePlan()) {
    // Checks against the real world, which the offline plan has no access to.
    assertOperatorCidrs(config.gpu);
    await assertGpuCapacity(config.gpu, config.appPrefix, await valueOf(secrets.lambdaApiKey), config.lambdaApiUrl);
    await reportLiveGpuPrices(config, await valueOf(secrets.lambdaApiKey));
  }
  return { config, planned, secrets };
}

/** Lambda's prices for the pool's type now, beside the cost table's; a failed read only warns. */
async function reportLiveGpuPrices(config: ReturnType<typeof loadStackConfig>, apiKey: string): Promise<void> {
  try {
    const client = lambdaClient({ apiKey, apiUrl: config.lambdaApiUrl });
    for (const line of await livePriceReport(client, [config.gpu.instanceType], resolvePrices(config.cost.prices).prices)) pulumi.log.info(line);
  } catch (err) {
    pulumi.log.warn(`Could not read Lambda's live GPU prices (the cost table still applies): ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function main() {
  // A RunError is shown as its message alone: what to fix, without a stack trace around it.
  const { config, planned, secrets } = await validate().catch((err: unknown) => {
    throw new pulumi.RunError(err instanceof Error ? err.message : String(err));
  });
  const flyApiToken = secrets.flyApiToken;
  const apiUrl = publicUrl(config, planned["unified-api"]!.spec);

  const gpu = new GpuPool("gpu", {
    gpu: config.gpu,
    namePrefix: config.appPrefix,
    apiKey: secrets.lambdaApiKey,
    apiUrl: config.lambdaApiUrl,
    callbackUrl: apiUrl,
  });
  const services = createPlatformServices({
    config,
    planned,
    secrets,
    flyApiToken,
    extraSecrets: { "unified-api": { GPU_LAUNCH_TEMPLATE: gpu.launchTemplate } },
  });
  const endpoint = (name: "unified-api" | "agno-bridge" | "agent-ui") => {
    const service = services[name];
    const plan = planned[name];
    return service && plan ? { appName: service.appName, url: publicUrl(config, plan.spec), dependsOn: service } : undefined;
  };
  const edge = new Edge("edge", {
    edge: config.edge,
    fly: { "unified-api": endpoint("unified-api"), "agno-bridge": endpoint("agno-bridge"), "agent-ui": endpoint("agent-ui") },
    uiEnv: {
      NEXT_PUBLIC_API_URL: apiUrl,
      NEXT_PUBLIC_AGNO_BRIDGE_URL: publicUrl(config, planned["agno-bridge"]!.spec),
    },
    uiSecrets: { [SECRETS.uiSessionSecret.envName]: secrets.uiSessionSecret },
    flyApiToken,
    flyApiUrl: config.flyApiUrl,
  });

  return {
    profile: config.profile,
    primaryRegion: config.primaryRegion,
    regions: config.regions,
    apps: Object.fromEntries(Object.entries(services).map(([name, s]) => [name, s.appName])),
    publicUrls: edge.urls,
    privateUrls: Object.fromEntries(Object.entries(services).flatMap(([name, s]) => (s.privateUrl ? [[name, s.privateUrl]] : []))),
    gpuStandingNodes: gpu.instances.length,
  };
}

export = main();
