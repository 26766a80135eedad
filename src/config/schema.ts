/**
 * The stack config schema: one zod schema with its types and cross-field rules. A profile
 * (environments/profiles.ts) supplies the sizes, scaling, regions, GPU pool, edge and cost
 * assumptions; the stack file may override any of them under the `sophia:` namespace, and gives
 * what no profile has: the images (and, where the service has no default, the port and health
 * path) of the services the Sophia team builds. Secrets are not part of this schema: they stay
 * Pulumi secrets and are read in src/config/secrets.ts.
 */
import { z } from "zod";
import { strictObject } from "./strict-object";
import { checkSlo, sloSchema } from "./slo";
import { checkMonitoring, monitoringSchema } from "./monitoring";
import { checkRelease, releaseSchema } from "./release";
import { imagePinProblem } from "./images";
import { adoptSchema, adoptionProblems } from "./adopt";
import { activeRegionOf, checkRecovery, dataRegionOf, recoverySchema, type RecoveryConfig } from "./recovery";
import {
  FLY_SOLD_CPU_COUNTS,
  FLY_MEMORY_PER_CPU_MB,
  FLY_REGIONS,
  FLY_SUSPEND_MAX_MEMORY_MB,
  FLY_VOLUME_GB,
  GPU_READINESS_MODES,
  gpuArchitecture,
  LAMBDA_INSTANCE_TYPES,
  LAMBDA_REGIONS,
} from "../platform";

export const PROFILE_NAMES = ["single-user-lax", "enterprise-multi-region"] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];


const flyRegion = z.enum(FLY_REGIONS);
const wholeGb = z.number().int("must be a whole number of GB").positive("must be at least 1 GB");
const volumeGb = wholeGb.max(FLY_VOLUME_GB.max, `Fly volumes are at most ${FLY_VOLUME_GB.max} GB; allowed 1–${FLY_VOLUME_GB.max}`);

const buildSchema = strictObject({
  /** Docker build context, relative to the project directory. */
  context: z.string().min(1),
  /** Dockerfile path inside the context. @default "Dockerfile" */
  dockerfile: z.string().min(1).optional(),
});

export const serviceSchema = strictObject({
  /** Fly CPU class. */
  cpuKind: z.enum(["shared", "performance"]),
  /** vCPUs per machine: shared 1, 2, 4 or 8; performance 1, 2, 4, 8 or 16. */
  cpus: z.number().int("must be a whole number of CPUs"),
  /** Memory per machine in MB, a multiple of 256. */
  memoryMb: z.number().int().multipleOf(256, "must be a multiple of 256 MB"),
  /** Data volume per machine in GB; absent means the service is stateless. */
  volumeGb: volumeGb.optional(),
  /**
   * Regions the service runs in, or "active": only the active region (sophia:recovery.activeRegion,
   * else the primary), moving with a failover, e.g. a single-machine tool.
   * @default the data region for stateful services, all regions otherwise
   */
  regions: z.union([z.literal("active"), z.array(flyRegion).nonempty()]).optional(),
  /** Machines kept running in the primary region (Fly's min_machines_running). */
  minMachines: z.number().int().min(0),
  /** Machines created per region; the proxy starts the ones above the minimum on demand. */
  maxMachines: z.number().int().min(1),
  /** What Fly Proxy does with an idle machine. */
  autostop: z.enum(["off", "stop", "suspend"]),
  /** Whether Fly Proxy starts a stopped machine on the next request. */
  autostart: z.boolean(),
  /** Release strategy; canary and bluegreen need a service without a volume. */
  strategy: z.enum(["immediate", "rolling", "canary", "bluegreen"]),
  /** Fly Proxy load limits per machine. */
  concurrency: strictObject({
    type: z.enum(["connections", "requests"]),
    softLimit: z.number().int().positive(),
    hardLimit: z.number().int().positive(),
  }),
  /** HTTP health check; the path defaults to the service's own. */
  healthCheck: strictObject({
    path: z.string().startsWith("/").optional(),
    intervalSeconds: z.number().int().positive(),
    gracePeriodSeconds: z.number().int().min(0),
    timeoutSeconds: z.number().int().positive(),
  }),
  /** Pinned image reference: a release tag or a digest, never `:latest` or untagged. Give this or `build`. */
  image: z.string().min(1).optional(),
  /** Build the image from source and push it to registry.fly.io/<app>. */
  build: buildSchema.optional(),
  /** Port the service listens on inside the machine. @default the service's own */
  port: z.number().int().min(1).max(65535).optional(),
  /** Plain (non-secret) environment variables added to the machine. */
  env: z.record(z.string(), z.string()).optional(),
});

/** Sizes per service name; which names exist is the service definitions' business (components/services.ts). */
const servicesSchema = z.record(z.string(), serviceSchema);

/** Why `value` is not an IPv4 CIDR that Lambda's firewall accepts, or undefined when it is one. */
export function cidrProblem(value: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (m === null) return `"${value}" is not an IPv4 CIDR; write one address as 203.0.113.7/32, or a network as 198.51.100.0/24`;
  const octets = m.slice(1, 5).map(Number);
  const over = octets.find((o) => o > 255);
  if (over !== undefined) return `"${value}" is not an IPv4 address: ${over} is above 255 (each of the four numbers is 0–255)`;
  const prefix = Number(m[5]);
  if (prefix > 32) return `"${value}" has the prefix /${prefix}, above 32; use /32 for one address`;
  // Lambda checks source_network as an IPv4 network, which refuses bits past the prefix.
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  if (address % size !== 0) {
    const network = address - (address % size);
    const dotted = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join(".");
    return `"${value}" has address bits past /${prefix}; use ${octets.join(".")}/32 for this one address, or ${dotted}/${prefix} for its network`;
  }
  return undefined;
}

const cidr = z.string().superRefine((value, ctx) => {
  const problem = cidrProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});

/**
 * A worker image: one multi-arch reference (an OCI index with linux/arm64 and linux/amd64), or a
 * reference per architecture. GH200 nodes are arm64, the others x86_64 (src/platform.ts).
 */
const workerImageSchema = z.union([
  z.string().min(1),
  strictObject({ arm64: z.string().min(1).optional(), x86_64: z.string().min(1).optional() }),
]);

const gpuSchema = strictObject({
  /** Lambda instance type for standing and on-demand workers. */
  instanceType: z.enum(LAMBDA_INSTANCE_TYPES),
  /** Lambda region for the pool and its filesystem. */
  region: z.enum(LAMBDA_REGIONS),
  /** Instances that run all the time. */
  standing: z.number().int().min(0),
  /** The most instances the pool may run at once, standing ones included. */
  maxInstances: z.number().int().min(0),
  /** Minutes without GPU work before an on-demand worker terminates itself. */
  idleMinutes: z.number().int().min(1),
  /** Container image of the GPU worker: multi-arch, or `{arm64, x86_64}` per architecture. */
  workerImage: workerImageSchema,
  /** Port the worker serves on. */
  workerPort: z.number().int().min(1).max(65535),
  /**
   * How a standing node's readiness is known. "dial-out": the node reports itself to unified-api
   * with the pool token and no inbound port is open; `pulumi up` does not wait for it. "ssh":
   * `pulumi up` checks each node over SSH from a fixed deploy address (sshAllowedCidrs).
   */
  readiness: z.enum(GPU_READINESS_MODES),
  /** With readiness "ssh" only: the fixed egress address(es) of where `pulumi up` runs. */
  sshAllowedCidrs: z.array(cidr),
  /** CIDRs allowed to reach the worker port. Empty keeps it closed: workers dial out to the API. */
  workerSources: z.array(cidr),
});

const hostnameSchema = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a lower-case DNS hostname");

const edgeSchema = strictObject({
  /** Apex domain, delegated to Vercel DNS. */
  domain: hostnameSchema,
  /** Where the agent UI is served: a Vercel project, or the agent-ui Fly app. */
  uiHost: z.enum(["vercel", "fly"]),
  /** Whether public services get hostnames under `domain`; otherwise they use *.fly.dev. */
  customDomain: z.boolean(),
  /** Hostnames per public service name, each inside `domain`; the first is the service's URL. */
  hostnames: z.record(z.string(), z.array(hostnameSchema)),
  /** TTL of the DNS records, in seconds. */
  dnsTtl: z.number().int().min(60),
  /** Vercel team slug or id; omit for a personal account. */
  vercelTeam: z.string().min(1).optional(),
  /** The Vercel project for the UI (used when uiHost is vercel). */
  vercelProject: strictObject({
    name: z.string().min(1),
    /** Git repository as "owner/name". */
    repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'must be "owner/name"').optional(),
    repoType: z.enum(["github", "gitlab", "bitbucket"]),
    rootDirectory: z.string().optional(),
    framework: z.string().min(1),
    /**
     * Whether the UI's public variables (NEXT_PUBLIC_*, the API and bridge URLs) are created as
     * Vercel "sensitive" variables. Teams that enforce sensitive variables refuse any other kind.
     */
    publicEnvSensitive: z.boolean(),
  }),
});

const volumesSchema = strictObject({
  /** Days Fly keeps daily volume snapshots. */
  snapshotRetentionDays: z.number().int().min(1).max(60),
  /** Protect data stores (volumes, their apps, the GPU models filesystem) from `pulumi destroy`. */
  protect: z.boolean(),
  /**
   * Keep data stores when they leave the program or are replaced: Pulumi forgets them, Fly and
   * Lambda keep them. Separate from `protect`, so that un-protecting is a step of its own that
   * cannot delete data in the same update (README, "Moving a stateful service").
   */
  retainOnDelete: z.boolean(),
});

const price = z.number().min(0, "must be a price in USD, 0 or more");

/** A partial record keyed by `keys`, whose unknown-key error lists them. */
function partialRecordOf<K extends readonly [string, ...string[]], V extends z.ZodType>(keys: K, value: V) {
  return z.partialRecord(z.enum(keys), value, {
    // zod types this hook for its key checks only, but it also receives the record's unknown keys.
    error: (raw) => {
      const issue = raw as { code?: string; keys?: string[] };
      return issue.code === "unrecognized_keys" ? `unknown key ${(issue.keys ?? []).map((k) => `"${k}"`).join(", ")}; allowed keys here: ${keys.join(", ")}` : undefined;
    },
  });
}

/** Partial price table; anything left out comes from src/config/prices.ts. Units as there. */
const priceOverridesSchema = strictObject({
  fly: strictObject({
    sharedCpuPerHour: price.optional(),
    performanceCpuPerHour: price.optional(),
    ramGbPerHour: price.optional(),
    regionMultiplier: partialRecordOf(FLY_REGIONS, z.number().positive()).optional(),
    volumeGbMonth: price.optional(),
    rootfsGbMonth: price.optional(),
    snapshotGbMonth: price.optional(),
    freeSnapshotGb: z.number().min(0).optional(),
    dedicatedIpv4Month: price.optional(),
    certificateMonth: price.optional(),
    freeCertificates: z.number().int().min(0).optional(),
    egressGb: z.partialRecord(flyRegion, price).optional(),
  }).optional(),
  lambda: strictObject({
    /** $/h per instance type. */
    perHour: partialRecordOf(LAMBDA_INSTANCE_TYPES, price).optional(),
    filesystemGbMonth: price.optional(),
  }).optional(),
  vercel: strictObject({
    proSeatMonth: price.optional(),
  }).optional(),
  objectStorage: strictObject({
    gbMonth: price.optional(),
    freeGb: z.number().min(0).optional(),
    classAPer1000: price.optional(),
    freeClassA: z.number().int().min(0).optional(),
  }).optional(),
});

/** Usage assumptions behind the plan's monthly cost estimate (src/estimate/cost.ts). */
const costSchema = strictObject({
  /** Hours a week the platform is in use; machines above the minimum run only then. */
  activeHoursPerWeek: z.number().min(0).max(168),
  /** Share (0–1) of the active hours that machines above the minimum are running. */
  extraMachineShare: z.number().min(0).max(1),
  /** Instance-hours a month of on-demand GPU work, priced at the pool's instance type. */
  onDemandGpuHours: z.number().min(0),
  /** On-demand GPU sessions a month; each also pays its boot and its idle tail (gpu.idleMinutes). */
  gpuSessionsPerMonth: z.number().int().min(0),
  /** Minutes a session is billed before its worker serves: boot, image pull, model load. */
  gpuBootMinutes: z.number().min(0),
  /** GiB stored on the GPU pool's shared filesystem (model weights and caches). */
  gpuFilesystemGb: z.number().min(0),
  /** GB a month sent from the Fly apps to the internet, priced at the primary region's rate. */
  egressGbPerMonth: z.number().min(0),
  /** Share (0–1) of each volume that holds data; snapshots store data, not provisioned size. */
  volumeUsedShare: z.number().min(0).max(1),
  /** Share (0–1) of a volume's data that changes each day; each retained daily snapshot stores that. */
  snapshotDailyChangeShare: z.number().min(0).max(1),
  /** Root filesystem of a stopped machine in GB, about its image size. */
  rootfsGb: z.number().positive(),
  /** Vercel Pro seats billed when the plan holds a Vercel project. */
  vercelSeats: z.number().int().min(0),
  /** Class A requests (PUT, LIST) a month to the backup bucket: Litestream's uploads, Weaviate's backups, the agent's listings. @default 0 */
  backupRequestsPerMonth: z.number().min(0).default(0),
  /** Price overrides, e.g. `{fly: {volumeGbMonth: 0.18}}`. */
  prices: priceOverridesSchema.optional(),
});

/** The whole config after the profile and the stack file are merged. */
export const stackConfigSchema = strictObject({
  /** Which profile supplies the defaults. */
  profile: z.enum(PROFILE_NAMES),
  /** Fly organization slug that owns the apps. */
  flyOrg: z.string().min(1),
  /** Prefix of every Fly app name; app names are global on Fly. */
  // At most 30 characters, so the longest machine name (prefix, service, region, index and a
  // blue-green digest) stays within Fly's 63.
  appPrefix: z.string().regex(/^[a-z][a-z0-9-]{1,29}$/, "must be 2–30 lower-case letters, digits and dashes, starting with a letter"),
  /** Override of the Fly Machines API endpoint, e.g. a local emulator. */
  flyApiUrl: z.url("must be an http(s) URL such as http://127.0.0.1:4280/v1").optional(),
  /** Override of the Lambda Cloud API endpoint. */
  lambdaApiUrl: z.url("must be an http(s) URL such as http://127.0.0.1:4281/api/v1").optional(),
  /** Check the clouds before creating anything (GPU capacity, operator addresses). The offline plan, which has no cloud, turns this off. @default true */
  preflightChecks: z.boolean().default(true),
  /** The home region: where stateful services and the minimums live unless sophia:recovery.activeRegion moves them. */
  primaryRegion: flyRegion,
  /** Every region the stack uses; stateless services span them all. */
  regions: z.array(flyRegion).nonempty(),
  services: servicesSchema,
  volumes: volumesSchema,
  gpu: gpuSchema,
  edge: edgeSchema,
  cost: costSchema,
  /** Backups and failover (src/config/recovery.ts). */
  recovery: recoverySchema,
  /** Monthly budget in USD; the plan's cost estimate must stay within it (src/policies/budget.ts). */
  budget: z.number().positive("must be a monthly budget in USD, more than 0"),
  /** Service level objectives and the severity of each alert (src/config/slo.ts). */
  slo: sloSchema,
  /** Alerting and dashboards: on or off, and who is told about each severity (src/config/monitoring.ts). */
  monitoring: monitoringSchema,
  /** How canary and rolling releases are judged on metrics and rolled back (src/config/release.ts). */
  release: releaseSchema,
  /** Existing Fly apps, volumes and machines that services take over (src/config/adopt.ts). @default none */
  adopt: adoptSchema.default({}),
}).superRefine(checkCrossFieldRules);

export type StackConfig = z.infer<typeof stackConfigSchema>;
export type ServiceConfig = z.infer<typeof serviceSchema>;
export type GpuConfig = z.infer<typeof gpuSchema>;
export type EdgeConfig = z.infer<typeof edgeSchema>;
export type CostConfig = z.infer<typeof costSchema>;
/** What a profile must supply: everything but the stack-specific keys. */
export type ProfileData = Omit<z.input<typeof stackConfigSchema>, "profile" | "appPrefix" | "flyApiUrl" | "lambdaApiUrl" | "preflightChecks" | "adopt">;

/** The regions a service runs in once defaults apply: stateful ones where their data lives (src/config/recovery.ts), the others everywhere. */
export function serviceRegions(config: Pick<StackConfig, "primaryRegion" | "regions"> & { recovery?: RecoveryConfig }, service: ServiceConfig, name = "") {
  if (service.regions === "active") return [activeRegionOf(config)];
  return service.regions ?? (service.volumeGb === undefined ? config.regions : [dataRegionOf(config, name)]);
}

function checkCrossFieldRules(config: z.output<z.ZodObject>, ctx: z.RefinementCtx): void {
  const c = config as unknown as StackConfig;
  const add = (path: (string | number)[], message: string) => ctx.addIssue({ code: "custom", path, message });

  if (!c.regions.includes(c.primaryRegion)) {
    add(["primaryRegion"], `"${c.primaryRegion}" is not in regions [${c.regions.join(", ")}]; add it to sophia:regions or pick one of them`);
  }
  if (new Set(c.regions).size !== c.regions.length) add(["regions"], `lists a region twice: [${c.regions.join(", ")}]`);

  for (const [name, s] of Object.entries(c.services)) {
    const at = (key: string) => ["services", name, key];
    const regions = serviceRegions(c, s, name);
    const active = activeRegionOf(c);
    const activeName = active === c.primaryRegion ? `the primary region "${active}"` : `the active region "${active}" (sophia:recovery.activeRegion)`;
    if (s.volumeGb === undefined && !regions.includes(active)) {
      add(at("regions"), `[${regions.join(", ")}] must include ${activeName}`);
    }
    const outside = regions.filter((r) => !c.regions.includes(r));
    if (outside.length > 0) add(at("regions"), `[${outside.join(", ")}] not in the stack's regions [${c.regions.join(", ")}]`);
    const dataRegion = dataRegionOf(c, name);
    if (s.volumeGb !== undefined && (regions.length > 1 || regions[0] !== dataRegion)) {
      const home = dataRegion === c.primaryRegion ? `the primary region "${dataRegion}"` : `its data region "${dataRegion}" (sophia:recovery)`;
      add(at("regions"), `a service with a volume stays in ${home} (its volume cannot follow it); remove the other regions, or remove the volume`);
    }
    if (s.minMachines > s.maxMachines) {
      add(at("minMachines"), `${s.minMachines} is more than maxMachines ${s.maxMachines}; lower minMachines or raise maxMachines`);
    }
    if (s.volumeGb !== undefined && (s.strategy === "canary" || s.strategy === "bluegreen")) {
      add(at("strategy"), `"${s.strategy}" is not possible with a volume (volumeGb ${s.volumeGb}): Fly forbids canary and bluegreen for machines with volumes. Use "rolling" or "immediate", or make the service stateless`);
    }
    if (s.concurrency.softLimit > s.concurrency.hardLimit) {
      add(["services", name, "concurrency", "softLimit"], `${s.concurrency.softLimit} is more than hardLimit ${s.concurrency.hardLimit}`);
    }
    const counts: readonly number[] = FLY_SOLD_CPU_COUNTS[s.cpuKind];
    if (!counts.includes(s.cpus)) {
      add(at("cpus"), `Fly does not sell ${s.cpuKind}-cpu-${s.cpus}x; ${s.cpuKind} CPUs come in ${counts.join(", ")}${s.cpuKind === "shared" ? ' (for more, use cpuKind "performance")' : ""}`);
      continue;
    }
    const perCpu = FLY_MEMORY_PER_CPU_MB[s.cpuKind];
    if (s.memoryMb < perCpu.min * s.cpus || s.memoryMb > perCpu.max * s.cpus) {
      add(at("memoryMb"), `${s.memoryMb} MB does not fit ${s.cpuKind}-cpu-${s.cpus}x; allowed ${perCpu.min * s.cpus}–${perCpu.max * s.cpus} MB`);
    }
    if (s.autostop === "suspend" && s.memoryMb > FLY_SUSPEND_MAX_MEMORY_MB) {
      add(at("autostop"), `"suspend" needs at most ${FLY_SUSPEND_MAX_MEMORY_MB} MB of memory (has ${s.memoryMb}); use "stop"`);
    }
    if (s.image !== undefined && s.build !== undefined) add(at("image"), `give either image or build, not both`);
  }

  checkGpu(c, add);
  if (c.gpu.standing > c.gpu.maxInstances) {
    add(["gpu", "standing"], `${c.gpu.standing} standing instances is more than maxInstances ${c.gpu.maxInstances}; raise sophia:gpu.maxInstances or lower standing`);
  }

  checkEdge(c, add);
  checkSlo(c.slo, Object.keys(c.services), add);
  checkMonitoring(c.monitoring, add);
  checkRelease(c.release, Object.keys(c.services), add);
  for (const [path, message] of adoptionProblems(c, (name) => serviceRegions(c, c.services[name]!, name).length)) add(path, message);
  checkRecovery(c, add);
}

/** Prefixes shorter than this are not "a fixed deploy address": /0 is the whole internet. */
export const SSH_MIN_PREFIX = 24;

function checkGpu(c: StackConfig, add: (path: (string | number)[], message: string) => void): void {
  const gpu = c.gpu;
  if (gpu.readiness === "dial-out" && gpu.sshAllowedCidrs.length > 0) {
    add(["gpu", "sshAllowedCidrs"], `lists [${gpu.sshAllowedCidrs.join(", ")}], but readiness is "dial-out", where the firewall admits no inbound SSH; remove sshAllowedCidrs, or set sophia:gpu.readiness to "ssh" if you deploy from a fixed address`);
  }
  if (gpu.readiness === "ssh" && gpu.standing > 0 && gpu.sshAllowedCidrs.length === 0) {
    add(["gpu", "sshAllowedCidrs"], `is empty, but readiness "ssh" checks ${gpu.standing} standing GPU node${gpu.standing === 1 ? "" : "s"} over SSH from where \`pulumi up\` runs; add that fixed egress address as a CIDR (e.g. "203.0.113.7/32"), or use readiness "dial-out"`);
  }
  gpu.sshAllowedCidrs.forEach((entry, i) => {
    const prefix = Number(entry.split("/")[1]);
    if (prefix < SSH_MIN_PREFIX) {
      add(["gpu", "sshAllowedCidrs", i], `"${entry}" opens SSH to ${prefix === 0 ? "the whole internet" : `2^${32 - prefix} addresses`}; SSH readiness is for a fixed deploy address (a /32, or at most a /${SSH_MIN_PREFIX}). Deploys from CI runners without a fixed address use readiness "dial-out"`);
    }
  });
  const workerImages = typeof gpu.workerImage === "string" ? [["workerImage", gpu.workerImage]] : Object.entries(gpu.workerImage).map(([arch, ref]) => [`workerImage.${arch}`, ref]);
  for (const [key, ref] of workerImages) {
    const problem = ref === undefined ? undefined : imagePinProblem(ref);
    if (problem !== undefined) add(["gpu", ...key!.split(".")], problem);
  }
  if (typeof gpu.workerImage !== "string") {
    const arch = gpuArchitecture(gpu.instanceType);
    if (gpu.workerImage[arch] === undefined) {
      add(["gpu", "workerImage", arch], `is missing: ${gpu.instanceType} nodes are ${arch}; give an ${arch} image, or one multi-arch reference as sophia:gpu.workerImage`);
    }
  }
}

function checkEdge(c: StackConfig, add: (path: (string | number)[], message: string) => void): void {
  const edge = c.edge;
  if (edge.uiHost === "vercel" && edge.vercelProject.repo === undefined) {
    add(["edge", "vercelProject", "repo"], `is required when uiHost is "vercel": set it to the UI's git repository as "owner/name", or set uiHost to "fly"`);
  }
  if (!edge.customDomain) return;
  const owner = new Map<string, string>();
  for (const [service, hosts] of Object.entries(edge.hostnames)) {
    hosts.forEach((host, i) => {
      if (host !== edge.domain && !host.endsWith(`.${edge.domain}`)) {
        add(["edge", "hostnames", service, i], `"${host}" is outside the domain "${edge.domain}"; use a name under it or change sophia:edge.domain`);
      }
      const other = owner.get(host);
      if (other !== undefined) add(["edge", "hostnames", service, i], `"${host}" is already claimed by ${other}; each hostname belongs to one service`);
      owner.set(host, service);
    });
  }
}

