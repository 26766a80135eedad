/**
 * The two deployment profiles, side by side. A stack file picks one with `sophia:profile` and may
 * override any value below under the same key path (for example `sophia:services` →
 * `weaviate` → `maxMachines`). Code branches on these fields, never on the stack's name.
 */
import type { ProfileData, ProfileName } from "../src/config/schema";
import { HOURS_PER_MONTH, type PriceTable } from "../src/config/prices";

/** Every service in dev: one small machine that stops when idle and wakes on the next request. */
const scaleToZero = { minMachines: 0, maxMachines: 1, autostop: "stop", autostart: true, strategy: "immediate" } as const;
const devCheck = { intervalSeconds: 60, gracePeriodSeconds: 10, timeoutSeconds: 5 };
const devConcurrency = { type: "connections", softLimit: 5, hardLimit: 10 } as const;

/** Prod: health checks every 15 s; machines above the minimum stop when idle and start on demand. */
const prodCheck = { intervalSeconds: 15, gracePeriodSeconds: 30, timeoutSeconds: 5 };
const prodAutoscale = { autostop: "stop", autostart: true } as const;

/**
 * The GPU worker, the same in both profiles. One multi-arch image (linux/amd64 + linux/arm64):
 * dev's A10 is x86_64, prod's GH200 arm64. Workers dial out to announce readiness, so no SSH is open.
 * A function, so that neither profile shares an array with the other.
 */
const gpuWorker = () => ({
  workerImage: "ghcr.io/sophia-intel/gpu-worker:0.1.0",
  workerPort: 8000,
  readiness: "dial-out" as const,
  sshAllowedCidrs: [] as string[],
  workerSources: [] as string[],
});

/**
 * The alerts built from the SLOs, the same in both profiles. Burn rates are the SRE workbook's
 * multi-window tiers: 2% of a 30-day budget in an hour (14.4×), 5% in six hours (6×), 10% in a
 * day (3×) and in three days (1×); over our 14-day window the same rates spend 4.3%, 11%, 21%
 * and 21%. The first two page, the others open a ticket in chat. Rollback triggers are the seed's.
 */
const sloAlerts = (): Omit<ProfileData["slo"], "window" | "objectives" | "services"> => ({
  burnRateAlerts: [
    { longWindow: "1h", shortWindow: "5m", burnRate: 14.4, severity: "P0" },
    { longWindow: "6h", shortWindow: "30m", burnRate: 6, severity: "P1" },
    { longWindow: "1d", shortWindow: "2h", burnRate: 3, severity: "P2" },
    { longWindow: "3d", shortWindow: "6h", burnRate: 1, severity: "P3" },
  ],
  latencyAlert: { longWindow: "1h", shortWindow: "5m", severity: "P2" },
  rollback: {
    errorRate: { above: 0.05, for: "2m", severity: "P1" },
    latency: { quantile: 0.95, aboveMs: 500, for: "3m", severity: "P1" },
    healthChecks: { consecutiveFailures: 3, severity: "P1" },
  },
  infrastructure: {
    noRunningMachine: { for: "2m", severity: "P0" },
    machineOutOfMemory: { severity: "P2" },
    volumeAlmostFull: { abovePercent: 80, for: "15m", severity: "P2" },
    gpuNodeNotReady: { for: "10m", severity: "P1" },
  },
});

/**
 * The escalation matrix. The seeds name P0–P3 but give no response times, so these are ours:
 * P0 15 minutes, P1 an hour, P2 four hours, P3 a day; Alertmanager re-notifies at that pace while
 * an alert fires. `notify` says who hears: prod pages for P0 and P1.
 */
const escalation = (page: boolean): ProfileData["monitoring"]["escalation"] => ({
  P0: { respondWithin: "15m", notify: page ? ["pagerduty", "slack"] : ["slack"] },
  P1: { respondWithin: "1h", notify: page ? ["pagerduty", "slack"] : ["slack"] },
  P2: { respondWithin: "4h", notify: ["slack"] },
  P3: { respondWithin: "24h", notify: ["slack"] },
});

/** The monitoring apps: one small machine each, never stopped by the proxy (vmalert must keep evaluating). */
const monitoringApp = { cpuKind: "shared", cpus: 1, memoryMb: 256, minMachines: 1, maxMachines: 1, autostop: "off", autostart: true } as const;
const monitoringConcurrency = { type: "requests", softLimit: 20, hardLimit: 25 } as const;

export const profiles: Record<ProfileName, ProfileData> = {
  /** One person in Las Vegas; everything in lax; the smallest monthly bill. */
  "single-user-lax": {
    flyOrg: "personal",
    primaryRegion: "lax",
    regions: ["lax"],
    services: {
      weaviate: { cpuKind: "shared", cpus: 1, memoryMb: 1024, volumeGb: 3, ...scaleToZero, concurrency: devConcurrency, healthCheck: devCheck },
      "mcp-memory": { cpuKind: "shared", cpus: 1, memoryMb: 512, volumeGb: 1, ...scaleToZero, concurrency: devConcurrency, healthCheck: devCheck },
      "vector-store": { cpuKind: "shared", cpus: 1, memoryMb: 512, volumeGb: 1, ...scaleToZero, concurrency: devConcurrency, healthCheck: devCheck },
      "unified-api": { cpuKind: "shared", cpus: 2, memoryMb: 512, ...scaleToZero, concurrency: devConcurrency, healthCheck: devCheck },
      "agno-bridge": { cpuKind: "shared", cpus: 1, memoryMb: 256, ...scaleToZero, concurrency: devConcurrency, healthCheck: devCheck },
      "agent-ui": { cpuKind: "shared", cpus: 1, memoryMb: 512, ...scaleToZero, concurrency: devConcurrency, healthCheck: devCheck },
      // Only with sophia:monitoring.enabled. Grafana wakes on a visit, like the rest of dev.
      vmalert: { ...monitoringApp, strategy: "immediate", concurrency: monitoringConcurrency, healthCheck: devCheck },
      alertmanager: { ...monitoringApp, strategy: "immediate", concurrency: monitoringConcurrency, healthCheck: devCheck },
      grafana: { ...monitoringApp, memoryMb: 512, ...scaleToZero, concurrency: monitoringConcurrency, healthCheck: devCheck },
    },
    volumes: { snapshotRetentionDays: 5, protect: false, retainOnDelete: false },
    gpu: {
      // An A10 (24 GB) at $0.86/h keeps the seed's 10 GPU-hours, their session overhead and the
      // filesystem inside the $25 budget.
      instanceType: "gpu_1x_a10",
      region: "us-west-1",
      standing: 0,
      maxInstances: 1,
      idleMinutes: 15,
      ...gpuWorker(),
    },
    edge: {
      domain: "sophia-intel.ai",
      uiHost: "fly",
      customDomain: false,
      hostnames: {
        "agent-ui": ["dev-app.sophia-intel.ai"],
        "unified-api": ["dev-api.sophia-intel.ai"],
        "agno-bridge": ["dev-bridge.sophia-intel.ai"],
        grafana: ["dev-grafana.sophia-intel.ai"],
      },
      dnsTtl: 300,
      vercelProject: { name: "sophia-agent-ui-dev", repoType: "github", framework: "nextjs", publicEnvSensitive: true },
    },
    /**
     * The seed's usage: 9 am–6 pm on weekdays (≈195 h a month) and 10 GPU-hours a month, in 8
     * sessions (each pays 10 min of boot and the 15 min idle timeout), 15 GiB of model weights on
     * the filesystem (a 7B model in fp16), 5 GB of egress, volumes half full.
     */
    cost: {
      activeHoursPerWeek: 45, extraMachineShare: 1, onDemandGpuHours: 10, gpuSessionsPerMonth: 8, gpuBootMinutes: 10, gpuFilesystemGb: 15,
      rootfsGb: 1, egressGbPerMonth: 5, volumeUsedShare: 0.5, snapshotDailyChangeShare: 0.05, vercelSeats: 1,
    },
    /**
     * Fly's daily volume snapshots only: a day of data at most, restorable in lax. Backups to object
     * storage need an always-on scheduler (the README gives its monthly cost), which the $25 budget has no room for.
     */
    recovery: {
      rpoMinutes: 1440, backupEveryMinutes: 60, fullBackupEveryHours: 24, retentionDays: 5,
      bucket: { endpoint: "fly.storage.tigris.dev", region: "auto", useSsl: true },
      services: { weaviate: { method: "volume-snapshot" }, "mcp-memory": { method: "volume-snapshot" }, "vector-store": { method: "volume-snapshot" } },
    },
    /** The seeds' dev budget, USD a month. */
    budget: 25,
    /** Dev's objectives are looser: every machine wakes from a stop, which takes seconds. */
    slo: {
      window: "14d",
      objectives: { availability: 0.99, latency: [{ quantile: 0.95, thresholdMs: 1000 }, { quantile: 0.99, thresholdMs: 3000 }] },
      services: {},
      ...sloAlerts(),
    },
    /**
     * Off: the three small apps (≈ $6.60 a month) do not fit the dollar dev's budget has to spare.
     * `pulumi config set --path sophia:monitoring.enabled true` turns it on; dev then pages nobody.
     */
    monitoring: { enabled: false, evaluationInterval: "30s", escalation: escalation(false), heartbeatInterval: "5m" },
    /** Dev releases every machine at once (immediate), so there is nothing to analyse. */
    release: { analysis: false, lowTraffic: "proceed", minRequests: 100 },
  },

  /** Enterprise: primary sjc, failover lax, minimum counts for availability, standing GPUs. */
  "enterprise-multi-region": {
    flyOrg: "sophia",
    primaryRegion: "sjc",
    regions: ["sjc", "lax"],
    services: {
      // Raft voters must not be stopped by the proxy, or the cluster loses its quorum; three of them,
      // because a fourth tolerates no more failures than three do.
      weaviate: { cpuKind: "shared", cpus: 2, memoryMb: 2048, volumeGb: 20, minMachines: 3, maxMachines: 3, autostop: "off", autostart: true, strategy: "rolling", concurrency: { type: "requests", softLimit: 100, hardLimit: 150 }, healthCheck: prodCheck },
      "mcp-memory": { cpuKind: "shared", cpus: 2, memoryMb: 2048, volumeGb: 10, minMachines: 2, maxMachines: 8, ...prodAutoscale, strategy: "rolling", concurrency: { type: "requests", softLimit: 100, hardLimit: 150 }, healthCheck: prodCheck },
      "vector-store": { cpuKind: "shared", cpus: 2, memoryMb: 2048, volumeGb: 10, minMachines: 2, maxMachines: 12, ...prodAutoscale, strategy: "rolling", concurrency: { type: "requests", softLimit: 100, hardLimit: 150 }, healthCheck: prodCheck },
      "unified-api": { cpuKind: "shared", cpus: 4, memoryMb: 4096, minMachines: 4, maxMachines: 20, ...prodAutoscale, strategy: "canary", concurrency: { type: "requests", softLimit: 50, hardLimit: 100 }, healthCheck: prodCheck },
      "agno-bridge": { cpuKind: "shared", cpus: 1, memoryMb: 1024, minMachines: 2, maxMachines: 8, ...prodAutoscale, strategy: "bluegreen", concurrency: { type: "requests", softLimit: 100, hardLimit: 150 }, healthCheck: prodCheck },
      "agent-ui": { cpuKind: "shared", cpus: 1, memoryMb: 1024, minMachines: 2, maxMachines: 6, ...prodAutoscale, strategy: "rolling", concurrency: { type: "requests", softLimit: 100, hardLimit: 150 }, healthCheck: prodCheck },
      // One of each, always on, in the active region (moving with a failover): two Alertmanagers that do not gossip would
      // both notify, and Grafana keeps sessions in its own SQLite, so a second machine would log
      // people out. The watchdog's heartbeat covers a dead vmalert or Alertmanager.
      vmalert: { ...monitoringApp, regions: "active", strategy: "rolling", concurrency: monitoringConcurrency, healthCheck: prodCheck },
      alertmanager: { ...monitoringApp, regions: "active", strategy: "rolling", concurrency: monitoringConcurrency, healthCheck: prodCheck },
      grafana: { ...monitoringApp, memoryMb: 512, regions: "active", strategy: "rolling", concurrency: monitoringConcurrency, healthCheck: prodCheck },
    },
    // Retention is its own switch: un-protecting never lets an update delete the data as well.
    volumes: { snapshotRetentionDays: 14, protect: true, retainOnDelete: true },
    gpu: {
      instanceType: "gpu_1x_gh200",
      region: "us-west-1",
      // One standing GH200 ($2.29/h, ≈ $1,672 a month) answers at once; bursts run on demand up to
      // maxInstances. Three standing ones (≈ $5,015) alone were above the seed's whole range.
      standing: 1,
      maxInstances: 6,
      idleMinutes: 15,
      ...gpuWorker(),
    },
    edge: {
      domain: "sophia-intel.ai",
      uiHost: "vercel",
      customDomain: true,
      hostnames: {
        "agent-ui": ["app.sophia-intel.ai", "sophia-intel.ai"],
        "unified-api": ["api.sophia-intel.ai"],
        "agno-bridge": ["bridge.sophia-intel.ai"],
        grafana: ["grafana.sophia-intel.ai"],
      },
      dnsTtl: 60,
      // publicEnvSensitive: the URLs are public anyway (Next.js puts them in the browser bundle), so
      // hiding them in Vercel's dashboard costs nothing, and it never fails on a team that enforces
      // sensitive variables. Set false to read them in the dashboard.
      vercelProject: { name: "sophia-agent-ui", repo: "sophia-intel/sophia-agent-ui", repoType: "github", framework: "nextjs", publicEnvSensitive: true },
    },
    /**
     * Minimum machines and the standing GPU run all month; machines above the minimum a quarter of
     * it. Bursts: 80 on-demand GPU-hours in 40 sessions (10 min boot, 15 min idle each). 200 GiB of
     * model weights, 500 GB of egress, volumes half full with 5% changing a day.
     */
    cost: {
      activeHoursPerWeek: 168, extraMachineShare: 0.25, onDemandGpuHours: 80, gpuSessionsPerMonth: 40, gpuBootMinutes: 10, gpuFilesystemGb: 200,
      rootfsGb: 1, egressGbPerMonth: 500, volumeUsedShare: 0.5, snapshotDailyChangeShare: 0.05, vercelSeats: 1,
      // 20 SQLite databases uploading their WAL every 10 s while written (a quarter of the time):
      // ≈ 1.3 M; Weaviate's backups and the agent's listings ≈ 0.2 M.
      backupRequestsPerMonth: 1_500_000,
    },
    /**
     * The seed's targets: RPO 15 min, regional RTO 15 min. Weaviate backs up to Tigris every 10 min
     * (incremental, a full one a day), the SQLite services replicate continuously (Litestream);
     * chains are kept a week. `activeRegion: lax` is the failover (README, "Backups and recovery").
     */
    recovery: {
      rpoMinutes: 15, backupEveryMinutes: 10, fullBackupEveryHours: 24, retentionDays: 7,
      bucket: { endpoint: "fly.storage.tigris.dev", region: "auto", useSsl: true },
      services: {},
    },
    /** The top of the seeds' enterprise range, USD a month. */
    budget: 4500,
    /** The seeds: 99.9% available, P95 under 150 ms, P99 under 300 ms. Grafana is the operators' own tool. */
    slo: {
      window: "14d",
      objectives: { availability: 0.999, latency: [{ quantile: 0.95, thresholdMs: 150 }, { quantile: 0.99, thresholdMs: 300 }] },
      services: { grafana: { availability: 0.99, latency: [{ quantile: 0.95, thresholdMs: 2000 }] } },
      ...sloAlerts(),
    },
    monitoring: { enabled: true, evaluationInterval: "30s", escalation: escalation(true), heartbeatInterval: "5m" },
    /**
     * Canary and rolling releases of the services with an SLO are watched for the seed's trigger
     * windows (the longest, 3m) and rolled back on a breach. Too little traffic to judge (under 100
     * requests on the new machines) holds the release rather than passing it unjudged.
     */
    release: { analysis: true, lowTraffic: "hold", minRequests: 100 },
  },
};

/**
 * The project's requirements (the "seed" documents it was started from) give each profile a
 * monthly target, which the plan compares its estimate against.
 */
export interface SeedReference {
  /** Monthly total in USD; equal bounds are a single figure, a low of 0 is a ceiling. */
  low: number;
  high: number;
  /** GPU instance spend (standing, on-demand, session overhead) the seed allows, if it says. */
  gpu?: { low: number; high: number };
  /** Where the figure comes from, in words. */
  source: string;
  /** Why the profile's defaults are what they are; the plan prints those a stack keeps. */
  choices: ProfileChoice[];
  /** The seed's recovery targets, in minutes, which the plan shows beside each service's RPO. */
  recovery?: { rpoMinutes: number; rtoMinutes: number };
}

/** One reason behind a profile's defaults, and the settings it rests on. */
export interface ProfileChoice {
  /** What the choice is about, e.g. "the GPU type". */
  topic: string;
  /** The reason, at the stack's prices. */
  reason: (prices: PriceTable) => string;
  /**
   * The settings the reason rests on, as config paths (e.g. "gpu.instanceType"); a stack that
   * changes one of them is told the reason does not apply to it.
   */
  restsOn: string[];
}

const perHour = (prices: PriceTable, type: keyof PriceTable["lambda"]["perHour"]) => prices.lambda.perHour[type] ?? 0;
/** Whole dollars with thousands separators (not toLocaleString, which loads Intl). */
const dollars = (n: number) => `$${String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",")}`;
const serviceKeys = (profile: ProfileName, keys: string[]) => Object.keys(profiles[profile].services).flatMap((s) => keys.map((k) => `services.${s}.${k}`));

export const seedReferences: Record<ProfileName, SeedReference> = {
  "single-user-lax": {
    low: 0,
    high: 25,
    source: "the project's requirements: a single user for at most $25/month (45 active h a week, 10 GPU-hours a month)",
    choices: [
      {
        topic: "scaling to zero",
        reason: () => "every service stops when idle and wakes on the next request, so Fly bills only the 45 active hours a week",
        restsOn: serviceKeys("single-user-lax", ["minMachines", "autostop", "autostart"]),
      },
      {
        topic: "the GPU type",
        reason: (prices) =>
          `the GPU is a gpu_1x_a10 ($${perHour(prices, "gpu_1x_a10").toFixed(2)}/h), which keeps 10 GPU-hours, the sessions' boot and idle tail and 15 GiB of model weights inside $25`,
        restsOn: ["gpu.instanceType", "gpu.standing", "cost.onDemandGpuHours", "cost.gpuSessionsPerMonth", "cost.gpuFilesystemGb"],
      },
    ],
  },
  "enterprise-multi-region": {
    low: 1260,
    high: 4500,
    gpu: { low: 500, high: 2000 },
    source: "the project's requirements: enterprise production for $1,260–4,500/month, GPU instances $500–2,000 of it",
    choices: [
      {
        topic: "the standing GPU",
        reason: (prices) => {
          const hourly = perHour(prices, "gpu_1x_gh200");
          return (
            `one standing gpu_1x_gh200 (≈ ${dollars(hourly * HOURS_PER_MONTH)} a month at $${hourly.toFixed(2)}/h) answers at once; bursts run on demand ` +
            `up to gpu.maxInstances: three standing ones alone would cost ≈ ${dollars(3 * hourly * HOURS_PER_MONTH)}`
          );
        },
        restsOn: ["gpu.instanceType", "gpu.standing"],
      },
      {
        topic: "the minimum machine counts",
        reason: () => "minimum machine counts stay up in the primary region for availability; machines above them run on demand",
        restsOn: serviceKeys("enterprise-multi-region", ["minMachines", "autostop"]),
      },
    ],
    recovery: { rpoMinutes: 15, rtoMinutes: 15 },
  },
};
