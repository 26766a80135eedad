/**
 * The Sophia platform: config → services → GPU pool → edge → outputs. Generic over the service
 * definitions it is given (components/services.ts); src/index.ts runs it with those.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "./stack-config";
import { valueOf } from "./output-value";
import { readSecrets, SECRETS, type ProviderSecretKey } from "./config/secrets";
import { assertNoPlaceholderSecrets, assertNoPlainTextSecrets } from "./config/secret-guards";
import { callEnv, createAccessKeys, createPlatformServices, declaredSecrets, planServices, publicUrl } from "../components/platform-services";
import type { ServiceDefinition } from "../components/services";
import { assertGpuCapacity, assertOperatorCidrs, GpuPool } from "../components/gpu-pool";
import { Edge, usesVercel } from "../components/edge";
import { livePriceReport } from "../components/gpu-prices";
import { resolvePrices } from "./config/prices";
import { lambdaClient } from "./providers/lambda";
import { messageOf } from "./providers/dynamic/errors";

/** Everything that can be wrong fails here, before the first resource exists. */
async function validate(definitions: readonly ServiceDefinition[]) {
  const stack = pulumi.getStack();
  assertNoPlainTextSecrets(stack);
  const config = loadStackConfig();
  const plan = planServices(config, definitions);
  const needed = declaredSecrets(definitions);
  needed.set("flyApiToken", ["every Fly.io resource"]);
  needed.set("lambdaApiKey", ["the GPU pool", ...(needed.get("lambdaApiKey") ?? [])]);
  const vercel = new Map<ProviderSecretKey, string[]>(usesVercel(config.edge) ? [["vercel:apiToken", ["the Vercel project and DNS records"]]] : []);
  const secrets = readSecrets(needed, stack, vercel);
  assertNoPlaceholderSecrets(needed.keys(), vercel.keys(), stack);
  if (config.preflightChecks) {
    // Checks against the real world; the offline plan, which has none, turns them off.
    assertOperatorCidrs(config.gpu);
    await assertGpuCapacity(config.gpu, config.appPrefix, await valueOf(secrets.lambdaApiKey), config.lambdaApiUrl);
    await reportLiveGpuPrices(config, await valueOf(secrets.lambdaApiKey));
  }
  return { config, plan, secrets };
}

/** Lambda's prices for the pool's type now, beside the cost table's; a failed read only warns. */
async function reportLiveGpuPrices(config: ReturnType<typeof loadStackConfig>, apiKey: string): Promise<void> {
  try {
    const client = lambdaClient({ apiKey, apiUrl: config.lambdaApiUrl });
    for (const line of await livePriceReport(client, [config.gpu.instanceType], resolvePrices(config.cost.prices).prices)) pulumi.log.info(line);
  } catch (err) {
    pulumi.log.warn(`Could not read Lambda's live GPU prices (the cost table still applies): ${messageOf(err)}`);
  }
}

export async function sophia(definitions: readonly ServiceDefinition[]) {
  // A RunError is shown as its message alone: what to fix, without a stack trace around it.
  const { config, plan, secrets } = await validate(definitions).catch((err: unknown) => {
    throw new pulumi.RunError(messageOf(err));
  });
  const flyApiToken = secrets.flyApiToken;
  const launcher = plan.gpuLauncher;

  const gpu = new GpuPool("gpu", {
    gpu: config.gpu,
    namePrefix: config.appPrefix,
    apiKey: secrets.lambdaApiKey,
    apiUrl: config.lambdaApiUrl,
    callbackUrl: publicUrl(config, launcher.spec),
    protectFilesystem: config.volumes.protect,
    retainFilesystem: config.volumes.retainOnDelete,
  });
  const accessKeys = createAccessKeys(definitions);
  const services = createPlatformServices({
    config,
    plan,
    secrets,
    accessKeys,
    flyApiToken,
    extraSecrets: { [launcher.definition.name]: { [launcher.definition.gpuLaunchTemplateEnv!]: gpu.launchTemplate, GPU_POOL_TOKEN: gpu.poolToken } },
  });

  const publicOnFly = plan.fly.filter((p) => p.spec.reach === "public");
  const ui = plan.vercelUi;
  const uiCalls = ui ? callEnv(config, plan, ui, accessKeys) : undefined;
  const edge = new Edge("edge", {
    edge: config.edge,
    fly: Object.fromEntries(
      publicOnFly.map((p) => [p.definition.name, { appName: services[p.definition.name]!.appName, url: publicUrl(config, p.spec), dependsOn: [services[p.definition.name]!.app, ...services[p.definition.name]!.ips] }]),
    ),
    vercelUi:
      ui && uiCalls
        ? {
            service: ui.name,
            env: uiCalls.env,
            secrets: { ...Object.fromEntries(ui.secrets.map((key) => [SECRETS[key].envName, secrets[key]])), ...uiCalls.secrets },
          }
        : undefined,
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
    gpuReadiness: config.gpu.readiness,
    gpuInstanceType: config.gpu.instanceType,
  };
}
