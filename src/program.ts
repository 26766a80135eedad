/**
 * The Sophia platform: config → services → GPU pool → edge → outputs. Generic over the service
 * definitions it is given (components/services.ts); src/index.ts runs it with those.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig, type StackConfig } from "./stack-config";
import { valueOf } from "./output-value";
import { readSecrets, SECRETS, type ProviderSecretKey } from "./config/secrets";
import { assertNoPlaceholderSecrets, assertNoPlainTextSecrets } from "./config/secret-guards";
import { stackEnvironments } from "./config/stack-environments";
import { callEnv, createAccessKeys, createPlatformServices, declaredSecrets, isEnabled, planServices, publicUrl, secretsOf, type ServicePlan } from "../components/platform-services";
import type { ServiceDefinition } from "../components/services";
import { monitoringProblems, sloProblems } from "../components/observability/rules";
import { monitoringOutputs } from "../components/observability/services";
import { analysedServices, releaseProblems } from "../components/release-analysis";
import { assertGpuCapacity, assertOperatorCidrs, GpuPool } from "../components/gpu-pool";
import { Edge, usesVercel } from "../components/edge";
import { isLambdasOwnApi, livePriceReport } from "../components/gpu-prices";
import { resolvePrices } from "./config/prices";
import { lambdaClient } from "./providers/lambda";
import { messageOf } from "./providers/dynamic/errors";
import { planRecovery, type RecoveryPlan } from "../components/recovery/plan";
import { Recovery } from "../components/recovery/recovery";

/**
 * The secrets a stack reads, each with what needs it: the services' own, the release analysis's
 * metrics token, the providers' credentials, and the Vercel token where the stack uses Vercel.
 * The ESC templates are checked against this, so a template asks for nothing the stack never reads.
 */
export function neededSecrets(definitions: readonly ServiceDefinition[], config: StackConfig, plan: ServicePlan, recovery: RecoveryPlan = planRecovery(config, plan)) {
  const needed = declaredSecrets(definitions, config);
  const analysed = analysedServices(config, plan);
  if (analysed.length > 0) needed.set("flyPrometheusToken", [...(needed.get("flyPrometheusToken") ?? []), `the release analysis of ${analysed.join(", ")}`]);
  if (recovery.bucket) {
    const users = [`the backup bucket ${recovery.bucket.name}`, ...recovery.services.filter((s) => s.method !== "volume-snapshot").map((s) => s.service)];
    for (const key of ["backupAccessKeyId", "backupSecretAccessKey"] as const) needed.set(key, users);
  }
  needed.set("flyApiToken", ["every Fly.io resource"]);
  needed.set("lambdaApiKey", ["the GPU pool", ...(needed.get("lambdaApiKey") ?? [])]);
  const vercel = new Map<ProviderSecretKey, string[]>(usesVercel(config.edge) ? [["vercel:apiToken", ["the Vercel project and DNS records"]]] : []);
  return { needed, vercel };
}

/** Everything that can be wrong fails here, before the first resource exists. */
async function validate(definitions: readonly ServiceDefinition[]) {
  const stack = pulumi.getStack();
  // Messages about secrets name the ESC environments the stack file imports, not ones named after the stack.
  const home = { stack, environments: stackEnvironments(stack) };
  assertNoPlainTextSecrets(home);
  const config = loadStackConfig();
  const plan = planServices(config, definitions);
  const slo = [...sloProblems(config, plan), ...monitoringProblems(config)];
  if (slo.length > 0) throw new Error(`Invalid SLO or monitoring config (nothing was created):\n${slo.map((p) => `  - ${p}`).join("\n")}`);
  const release = releaseProblems(config, plan);
  if (release.length > 0) throw new Error(`Invalid release config (nothing was created):\n${release.map((p) => `  - ${p}`).join("\n")}`);
  const recovery = planRecovery(config, plan);
  const { needed, vercel } = neededSecrets(definitions, config, plan, recovery);
  const secrets = readSecrets(needed, home, vercel);
  assertNoPlaceholderSecrets(needed.keys(), vercel.keys(), home);
  if (config.preflightChecks) {
    // Checks against the real world; the offline plan, which has none, turns them off.
    assertOperatorCidrs(config.gpu);
    await assertGpuCapacity(config.gpu, config.appPrefix, await valueOf(secrets.lambdaApiKey), config.lambdaApiUrl);
    await reportLiveGpuPrices(config, await valueOf(secrets.lambdaApiKey));
  }
  return { config, plan, recovery, secrets };
}

/** Lambda's prices for the pool's type now, beside the cost table's; a failed read only warns. */
async function reportLiveGpuPrices(config: ReturnType<typeof loadStackConfig>, apiKey: string): Promise<void> {
  if (!isLambdasOwnApi(config.lambdaApiUrl)) return;
  try {
    const client = lambdaClient({ apiKey, apiUrl: config.lambdaApiUrl });
    for (const line of await livePriceReport(client, [config.gpu.instanceType], resolvePrices(config.cost.prices).prices)) pulumi.log.info(line);
  } catch (err) {
    pulumi.log.warn(`Could not read Lambda's live GPU prices (the cost table still applies): ${messageOf(err)}`);
  }
}

export async function sophia(definitions: readonly ServiceDefinition[]) {
  // A RunError is shown as its message alone: what to fix, without a stack trace around it.
  const { config, plan, recovery: recoveryPlan, secrets } = await validate(definitions).catch((err: unknown) => {
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
  const accessKeys = createAccessKeys(definitions.filter((d) => isEnabled(d, config)));
  const recovery = new Recovery("recovery", {
    config,
    plan: recoveryPlan,
    services: plan.fly,
    accessKeyId: secrets.backupAccessKeyId,
    secretAccessKey: secrets.backupSecretAccessKey,
    accessKeys,
    flyApiToken,
  });
  const services = createPlatformServices({
    config,
    plan,
    secrets,
    accessKeys,
    flyApiToken,
    extraSecrets: { [launcher.definition.name]: { [launcher.definition.gpuLaunchTemplateEnv!]: gpu.launchTemplate, GPU_POOL_TOKEN: gpu.poolToken } },
    recovery,
  });
  const backupAgent = recovery.finish(services);

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
            secrets: { ...Object.fromEntries(secretsOf(ui, config).map((key) => [SECRETS[key].envName, secrets[key]])), ...uiCalls.secrets },
          }
        : undefined,
    flyApiToken,
    flyApiUrl: config.flyApiUrl,
  });

  // Where the deploy check (src/deploy-check) asks each public service whether it is healthy.
  const healthPaths: Record<string, string> = Object.fromEntries(plan.fly.map((p) => [p.definition.name, p.spec.healthCheck.path]));
  if (ui) healthPaths[ui.name] = config.services[ui.name]?.healthCheck.path ?? ui.healthPath ?? "/";
  const healthUrls = Object.fromEntries(Object.entries(edge.urls).map(([name, url]) => [name, url.apply((u) => `${u}${healthPaths[name] ?? "/"}`)]));

  return {
    profile: config.profile,
    primaryRegion: config.primaryRegion,
    regions: config.regions,
    apps: Object.fromEntries([...Object.entries(services), ...(backupAgent ? [["backup-agent", backupAgent] as const] : [])].map(([name, s]) => [name, s.appName])),
    /** Each stateful service's backup method, RPO and restore regions; the bucket; where the data lives now. */
    recovery: {
      activeRegion: recoveryPlan.activeRegion,
      ...(recoveryPlan.lostRegion ? { lostRegion: recoveryPlan.lostRegion } : {}),
      rpoTargetMinutes: recoveryPlan.rpoTargetMinutes,
      bucket: recovery.bucket?.url ?? null,
      services: recoveryPlan.services,
    },
    publicUrls: edge.urls,
    /** Each public service's health endpoint: `npm run check-deploy` calls these after an up. */
    healthUrls,
    privateUrls: Object.fromEntries(Object.entries(services).flatMap(([name, s]) => (s.privateUrl ? [[name, s.privateUrl]] : []))),
    gpuStandingNodes: gpu.instances.length,
    gpuReadiness: config.gpu.readiness,
    gpuInstanceType: config.gpu.instanceType,
    ...monitoringOutputs(config, edge.urls, accessKeys),
  };
}
