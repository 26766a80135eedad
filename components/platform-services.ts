/**
 * The services wired together from their definitions (./services.ts), knowing none by name:
 * every spec is normalized and every definition checked before the first resource exists, then
 * each FlyService gets the URLs, keys and secrets its definition asks for.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { serviceRegions, type ServiceConfig, type StackConfig } from "../src/config/schema";
import { imagePinProblem } from "../src/config/images";
import { activeRegionOf, lostRegionOf } from "../src/config/recovery";
import { SECRETS, type SecretKey } from "../src/config/secrets";
import { FlyService, flycastUrl, normalizeFlyService, ServiceConfigError, type FlyServiceArgs, type FlyServiceSpec, type ImageSource } from "./fly-service";
import type { PlannedService, ServiceDefinition, ServicePlan } from "./service-definition";
import { releaseAnalysisFor } from "./release-analysis";

export type { PlannedService, ServicePlan, StackView } from "./service-definition";

/** The secrets a definition receives under this config. */
export function secretsOf(definition: Pick<ServiceDefinition, "secrets">, config: StackConfig): SecretKey[] {
  return typeof definition.secrets === "function" ? definition.secrets(config) : definition.secrets;
}

/** Whether this config runs the service at all. */
export function isEnabled(definition: Pick<ServiceDefinition, "enabled">, config: StackConfig): boolean {
  return definition.enabled?.(config) ?? true;
}

/**
 * Why a sophia:adopt entry for a service this config does not run is refused, and what to do. The
 * profiles size every defined service, so sophia:services lists the monitoring apps even when
 * monitoring is off; without this the entry would be ignored. A definition says when it runs only
 * as a predicate, so the monitoring switch is tried to name the setting that would run it.
 */
function notRunMessage(definition: ServiceDefinition, config: StackConfig): string {
  const { name } = definition;
  const withMonitoring: StackConfig = { ...config, monitoring: { ...config.monitoring, enabled: true } };
  if (!config.monitoring.enabled && isEnabled(definition, withMonitoring)) {
    return `sophia:adopt.${name}: ${name} runs only with sophia:monitoring.enabled: true, which this stack does not set, so there is no app to adopt; remove the entry or turn monitoring on`;
  }
  return `sophia:adopt.${name}: this stack does not run ${name}, so there is no app to adopt; remove the entry`;
}

/** The URL the world uses for a public service: its first custom hostname, else `<app>.fly.dev`. */
export function publicUrl(config: Pick<StackConfig, "edge">, spec: Pick<FlyServiceSpec, "service" | "appName">): string {
  const custom = config.edge.customDomain ? config.edge.hostnames[spec.service]?.[0] : undefined;
  return custom ? `https://${custom}` : `https://${spec.appName}.fly.dev`;
}

/** The URL other services are given for a planned one: Flycast when private, public otherwise. */
export function serviceUrl(config: Pick<StackConfig, "edge">, planned: PlannedService): string {
  return planned.spec.reach === "private" ? flycastUrl(planned.spec) : publicUrl(config, planned.spec);
}

/** Whether the stack serves this service on Fly: the UI moves to Vercel when the edge serves it there. */
export function runsOnFly(config: Pick<StackConfig, "edge">, definition: ServiceDefinition): boolean {
  return !(definition.vercelUi && config.edge.uiHost === "vercel");
}

/** Problems with the definitions themselves (a programming error, not a config one). */
function definitionProblems(definitions: readonly ServiceDefinition[]): string[] {
  const problems: string[] = [];
  const byName = new Map<string, ServiceDefinition>();
  for (const d of definitions) {
    if (byName.has(d.name)) problems.push(`service "${d.name}" is defined twice in components/services.ts`);
    byName.set(d.name, d);
  }
  for (const d of definitions) {
    for (const [callee, call] of Object.entries(d.calls ?? {})) {
      const target = byName.get(callee);
      if (!target) problems.push(`${d.name} calls "${callee}", which is not a service; services: ${[...byName.keys()].join(", ")}`);
      else if (call.key !== undefined && !target.accessKey) problems.push(`${d.name} expects a key for ${callee} in ${call.key}, but ${callee} has no accessKey`);
    }
  }
  for (const field of ["vercelUi", "gpuLaunchTemplateEnv"] as const) {
    const owners = definitions.filter((d) => d[field]).map((d) => d.name);
    if (owners.length > 1) problems.push(`only one service may set ${field}; ${owners.join(", ")} do`);
  }
  if (!definitions.some((d) => d.gpuLaunchTemplateEnv !== undefined)) {
    problems.push("no service sets gpuLaunchTemplateEnv: the GPU pool needs a service that launches its workers and receives their reports");
  }
  return problems;
}

/** What is wrong with a service's image: none given, or one that is not pinned. */
function imageConfigProblems(name: string, service: ServiceConfig, definition: ServiceDefinition): string[] {
  if (service.build) return [];
  const ref = service.image ?? definition.image;
  if (ref === undefined) return [`sophia:services.${name}.image is not set; give a pinned image reference (e.g. ghcr.io/org/${name}:1.2.3) or sophia:services.${name}.build`];
  const problem = imagePinProblem(ref);
  return problem === undefined ? [] : [`sophia:services.${name}.image: ${problem}`];
}

/** Normalizes every service the stack runs. Throws one error listing every problem, before any resource exists. */
export function planServices(config: StackConfig, definitions: readonly ServiceDefinition[]): ServicePlan {
  const problems = definitionProblems(definitions);
  const known = new Set(definitions.map((d) => d.name));
  for (const name of Object.keys(config.services)) {
    if (!known.has(name)) problems.push(`sophia:services.${name} is not a service; services: ${[...known].join(", ")}`);
  }
  const publicNames = definitions.filter((d) => d.reach === "public").map((d) => d.name);
  for (const name of Object.keys(config.edge.hostnames)) {
    if (!publicNames.includes(name)) problems.push(`sophia:edge.hostnames.${name}: only public services get hostnames; public services: ${publicNames.join(", ")}`);
  }

  const fly: PlannedService[] = [];
  let vercelUi: ServiceDefinition | undefined;
  let gpuLauncher: PlannedService | undefined;
  for (const definition of definitions) {
    const { name } = definition;
    if (!isEnabled(definition, config)) {
      if (config.adopt[name] !== undefined) problems.push(notRunMessage(definition, config));
      continue;
    }
    if (!runsOnFly(config, definition)) {
      vercelUi = definition;
      if (config.adopt[name] !== undefined) problems.push(`sophia:adopt.${name}: this stack serves ${name} from Vercel, not Fly, so there is no Fly app to adopt; remove the entry, or set sophia:edge.uiHost to "fly"`);
      continue;
    }
    const service = config.services[name];
    if (service === undefined) {
      problems.push(`sophia:services.${name} is missing; give its sizes in the profile (environments/profiles.ts) or the stack file`);
      continue;
    }
    // Every problem of every service at once: a user fixes them all before the next run.
    const imageProblems = imageConfigProblems(name, service, definition);
    const ownProblems = definition.configProblems?.({ config: service, regions: serviceRegions(config, service, name) }) ?? [];
    try {
      const spec = normalizeFlyService({
        service: name,
        config: service,
        appPrefix: config.appPrefix,
        org: config.flyOrg,
        // The minimums run in the active region: moved by a failover (sophia:recovery.activeRegion).
        primaryRegion: activeRegionOf(config),
        homeRegion: config.primaryRegion,
        regions: serviceRegions(config, service, name),
        defaults: definition,
        snapshotRetentionDays: config.volumes.snapshotRetentionDays,
        protectVolumes: config.volumes.protect,
        retainVolumes: config.volumes.retainOnDelete,
        adopt: config.adopt[name],
      });
      problems.push(...imageProblems, ...ownProblems);
      if (imageProblems.length > 0 || ownProblems.length > 0) continue;
      const ref = service.image ?? definition.image;
      const image: ImageSource = service.build ? { build: service.build } : { ref: ref! };
      const planned = { definition, spec, image, env: service.env ?? {} };
      fly.push(planned);
      if (definition.gpuLaunchTemplateEnv !== undefined) gpuLauncher = planned;
    } catch (err) {
      problems.push(...(err instanceof ServiceConfigError ? err.problems : [(err as Error).message]), ...imageProblems, ...ownProblems);
    }
  }

  // A callee whose own config failed is reported above; only one served elsewhere, or not run at
  // all, is a problem here.
  const enabled = definitions.filter((d) => isEnabled(d, config));
  const offFly = new Set(enabled.filter((d) => !runsOnFly(config, d)).map((d) => d.name));
  const off = new Set(definitions.filter((d) => !isEnabled(d, config)).map((d) => d.name));
  for (const d of enabled) {
    for (const callee of Object.keys(d.calls ?? {})) {
      if (offFly.has(callee)) problems.push(`${d.name} calls ${callee}, which this stack does not run on Fly; serve ${callee} from Fly or remove the call`);
      if (off.has(callee)) problems.push(`${d.name} calls ${callee}, which this stack does not run; turn ${callee} on or remove the call`);
    }
  }
  const launcherName = definitions.find((d) => d.gpuLaunchTemplateEnv !== undefined)?.name;
  if (gpuLauncher && gpuLauncher.spec.reach !== "public") {
    problems.push(`${gpuLauncher.definition.name} launches the GPU workers, which report to it from Lambda's network, so it must be public`);
  } else if (launcherName !== undefined && vercelUi?.name === launcherName) {
    problems.push(`${launcherName} launches the GPU workers, so it must run on Fly; set sophia:edge.uiHost to "fly"`);
  }
  if (problems.length > 0 || !gpuLauncher) throw new Error(`Invalid service config (nothing was created):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  return { fly, vercelUi, gpuLauncher };
}

/** The ESC secrets the services this config runs declare, each with the services that need it. */
export function declaredSecrets(definitions: readonly ServiceDefinition[], config: StackConfig): Map<SecretKey, string[]> {
  const needs = new Map<SecretKey, string[]>();
  for (const d of definitions.filter((d) => isEnabled(d, config))) {
    for (const key of secretsOf(d, config)) needs.set(key, [...(needs.get(key) ?? []), d.name]);
  }
  return needs;
}

/** Plain env (callee URLs) and secret env (callee keys) for a caller's `calls`. */
export function callEnv(
  config: Pick<StackConfig, "edge">,
  plan: ServicePlan,
  caller: ServiceDefinition,
  accessKeys: Record<string, pulumi.Output<string>>,
): { env: Record<string, string>; secrets: Record<string, pulumi.Output<string>> } {
  const env: Record<string, string> = {};
  const secrets: Record<string, pulumi.Output<string>> = {};
  for (const [callee, call] of Object.entries(caller.calls ?? {})) {
    const target = plan.fly.find((p) => p.definition.name === callee);
    // planServices has refused calls to services off Fly.
    if (!target) throw new Error(`${caller.name} calls ${callee}, which is not planned on Fly`);
    env[call.url] = serviceUrl(config, target);
    if (call.key !== undefined) secrets[call.key] = accessKeys[callee]!;
  }
  return { env, secrets };
}

/** One generated key per service that declares an `accessKey`, by service name. */
export function createAccessKeys(definitions: readonly ServiceDefinition[]): Record<string, pulumi.Output<string>> {
  return Object.fromEntries(
    definitions
      .filter((d) => d.accessKey)
      .map((d) => [
        d.name,
        new random.RandomPassword(`${d.name}-access-key`, { length: 40, special: false }, { aliases: (d.accessKey!.formerNames ?? []).map((name) => ({ name })) }).result,
      ]),
  );
}

export interface PlatformServicesArgs {
  config: StackConfig;
  plan: ServicePlan;
  secrets: Record<SecretKey, pulumi.Output<string>>;
  accessKeys: Record<string, pulumi.Output<string>>;
  flyApiToken: pulumi.Input<string>;
  /** Extra secret env per service name, e.g. the GPU launch template for the service that launches workers. */
  extraSecrets?: Record<string, Record<string, pulumi.Input<string>>>;
  /** What recovery adds to the services (components/recovery): backup settings, data regions, restores. @default nothing */
  recovery?: ServicesRecovery;
}

/** Recovery as the services see it (components/recovery/recovery.ts implements it). */
export interface ServicesRecovery {
  /** What a service's FlyService gets: backup settings, its data region, restores of its volumes. */
  serviceArgs(service: string): Pick<FlyServiceArgs, "env" | "secrets" | "machineEnv" | "files" | "dataDependsOn" | "prepareVolume">;
  /** Told once a service exists: a restore that needs the running service (Weaviate's) is made here. */
  created(service: string, created: FlyService): void;
  /** What a caller of `service` waits for before its machines start: the restore of `service`'s data. */
  readyFor(service: string): pulumi.Resource[];
}

/** Creates the services that run on Fly, by name. */
export function createPlatformServices(args: PlatformServicesArgs): Record<string, FlyService> {
  const { config, plan } = args;
  const created: Record<string, FlyService> = {};
  for (const planned of plan.fly) {
    const { definition, spec } = planned;
    const calls = callEnv(config, plan, definition, args.accessKeys);
    const ownKey = definition.accessKey ? { [definition.accessKey.env]: args.accessKeys[definition.name]! } : {};
    const fromStack = definition.fromStack?.({ config, plan, secrets: args.secrets }) ?? {};
    const analysis = releaseAnalysisFor(config, planned);
    const { env: recoveryEnv, secrets: recoverySecrets, machineEnv: recoveryMachineEnv, files: recoveryFiles, ...recoveryArgs } = args.recovery?.serviceArgs(definition.name) ?? {};
    // A caller that wrote before a restore would make data the restore then refuses to overwrite.
    const calleesReady = Object.keys(definition.calls ?? {}).flatMap((callee) => args.recovery?.readyFor(callee) ?? []);
    const ownMachineEnv = definition.machineEnv?.(spec);
    const files = [...(fromStack.files ?? []), ...(recoveryFiles ?? [])];
    const lost = lostRegionOf(config);
    created[definition.name] = new FlyService(definition.name, {
      spec,
      image: planned.image,
      env: { ...planned.env, ...calls.env, ...definition.env?.(spec), ...fromStack.env, ...recoveryEnv },
      files: files.length > 0 ? files : undefined,
      metrics: definition.metrics,
      internal: definition.internal,
      machineEnv: ownMachineEnv || recoveryMachineEnv ? (region, index) => ({ ...ownMachineEnv?.(region, index), ...recoveryMachineEnv?.(region, index) }) : undefined,
      ...recoveryArgs,
      ...(calleesReady.length > 0 ? { machineDependsOn: calleesReady } : {}),
      frozenRegions: lost === undefined ? [] : [lost],
      // A service that follows the active region leaves the lost one: its machines there are parked
      // (declared, never touched), since deleting them would fail while the region is down.
      ...(config.services[definition.name]?.regions === "active" ? { parkInFrozenRegions: true } : {}),
      init: definition.init?.(spec),
      checksOnCreate: definition.checksOnCreate?.(spec) ?? true,
      secrets: {
        ...Object.fromEntries(secretsOf(definition, config).map((key) => [SECRETS[key].envName, args.secrets[key]])),
        ...ownKey,
        ...calls.secrets,
        ...args.extraSecrets?.[definition.name],
        ...recoverySecrets,
      },
      release: analysis ? { analysis, metricsToken: args.secrets.flyPrometheusToken } : undefined,
      apiToken: args.flyApiToken,
      apiUrl: config.flyApiUrl,
    });
    args.recovery?.created(definition.name, created[definition.name]!);
  }
  return created;
}
