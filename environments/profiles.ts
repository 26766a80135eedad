/**
 * The two deployment profiles, side by side. A stack file picks one with `sophia:profile` and may
 * override any value below under the same key path (for example `sophia:services` →
 * `weaviate` → `maxMachines`). Code branches on these fields, never on the stack's name.
 */
import type { ProfileData, ProfileName } from "../src/config/schema";

/** Every service in dev: one small machine that stops when idle and wakes on the next request. */
const scaleToZero = { minMachines: 0, maxMachines: 1, autostop: "stop", autostart: true, strategy: "immediate" } as const;
const devCheck = { intervalSeconds: 60, gracePeriodSeconds: 10, timeoutSeconds: 5 };
const devConcurrency = { type: "connections", softLimit: 5, hardLimit: 10 } as const;

/** Prod: health checks every 15 s; machines above the minimum stop when idle and start on demand. */
const prodCheck = { intervalSeconds: 15, gracePeriodSeconds: 30, timeoutSeconds: 5 };
const prodAutoscale = { autostop: "stop", autostart: true } as const;

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
    },
    volumes: { snapshotRetentionDays: 5, protect: false, retainOnDelete: false },
    gpu: {
      instanceType: "gpu_1x_a100",
      region: "us-west-1",
      standing: 0,
      maxInstances: 1,
      idleMinutes: 15,
      // One multi-arch reference (linux/amd64 + linux/arm64): dev's A100 is x86_64, prod's GH200 arm64.
      workerImage: "ghcr.io/sophia-intel/gpu-worker:0.1.0",
      workerPort: 8000,
      readiness: "dial-out",
      sshAllowedCidrs: [],
      workerSources: [],
    },
    edge: {
      domain: "sophia-intel.ai",
      uiHost: "fly",
      customDomain: false,
      hostnames: {
        "agent-ui": ["dev-app.sophia-intel.ai"],
        "unified-api": ["dev-api.sophia-intel.ai"],
        "agno-bridge": ["dev-bridge.sophia-intel.ai"],
      },
      dnsTtl: 300,
      vercelProject: { name: "sophia-agent-ui-dev", repoType: "github", framework: "nextjs", publicEnvSensitive: true },
    },
    /** The seed's usage: 9 am–6 pm on weekdays (≈195 h a month) and 10 GPU-hours a month. */
    cost: { activeHoursPerWeek: 45, extraMachineShare: 1, onDemandGpuHours: 10, rootfsGb: 1, vercelSeats: 1 },
    /** The seeds' dev budget, USD a month. */
    budget: 25,
  },

  /** Enterprise: primary sjc, failover lax, minimum counts for availability, standing GPUs. */
  "enterprise-multi-region": {
    flyOrg: "sophia",
    primaryRegion: "sjc",
    regions: ["sjc", "lax"],
    services: {
      // Raft voters must not be stopped by the proxy, or the cluster loses its quorum.
      weaviate: { cpuKind: "shared", cpus: 2, memoryMb: 2048, volumeGb: 20, minMachines: 2, maxMachines: 4, autostop: "off", autostart: true, strategy: "rolling", concurrency: { type: "requests", softLimit: 100, hardLimit: 150 }, healthCheck: prodCheck },
      "mcp-memory": { cpuKind: "shared", cpus: 2, memoryMb: 2048, volumeGb: 10, minMachines: 2, maxMachines: 8, ...prodAutoscale, strategy: "rolling", concurrency: { type: "requests", softLimit: 100, hardLimit: 150 }, healthCheck: prodCheck },
      "vector-store": { cpuKind: "shared", cpus: 2, memoryMb: 2048, volumeGb: 10, minMachines: 2, maxMachines: 12, ...prodAutoscale, strategy: "rolling", concurrency: { type: "requests", softLimit: 100, hardLimit: 150 }, healthCheck: prodCheck },
      "unified-api": { cpuKind: "shared", cpus: 4, memoryMb: 4096, minMachines: 4, maxMachines: 20, ...prodAutoscale, strategy: "canary", concurrency: { type: "requests", softLimit: 50, hardLimit: 100 }, healthCheck: prodCheck },
      "agno-bridge": { cpuKind: "shared", cpus: 1, memoryMb: 1024, minMachines: 2, maxMachines: 8, ...prodAutoscale, strategy: "bluegreen", concurrency: { type: "requests", softLimit: 100, hardLimit: 150 }, healthCheck: prodCheck },
      "agent-ui": { cpuKind: "shared", cpus: 1, memoryMb: 1024, minMachines: 2, maxMachines: 6, ...prodAutoscale, strategy: "rolling", concurrency: { type: "requests", softLimit: 100, hardLimit: 150 }, healthCheck: prodCheck },
    },
    // Retention is its own switch: un-protecting never lets an update delete the data as well.
    volumes: { snapshotRetentionDays: 14, protect: true, retainOnDelete: true },
    gpu: {
      instanceType: "gpu_1x_gh200",
      region: "us-west-1",
      standing: 3,
      maxInstances: 6,
      idleMinutes: 15,
      // One multi-arch reference (linux/amd64 + linux/arm64): dev's A100 is x86_64, prod's GH200 arm64.
      workerImage: "ghcr.io/sophia-intel/gpu-worker:0.1.0",
      workerPort: 8000,
      readiness: "dial-out",
      sshAllowedCidrs: [],
      workerSources: [],
    },
    edge: {
      domain: "sophia-intel.ai",
      uiHost: "vercel",
      customDomain: true,
      hostnames: {
        "agent-ui": ["app.sophia-intel.ai", "sophia-intel.ai"],
        "unified-api": ["api.sophia-intel.ai"],
        "agno-bridge": ["bridge.sophia-intel.ai"],
      },
      dnsTtl: 60,
      // publicEnvSensitive: the URLs are public anyway (Next.js puts them in the browser bundle), so
      // hiding them in Vercel's dashboard costs nothing, and it never fails on a team that enforces
      // sensitive variables. Set false to read them in the dashboard.
      vercelProject: { name: "sophia-agent-ui", repo: "sophia-intel/sophia-agent-ui", repoType: "github", framework: "nextjs", publicEnvSensitive: true },
    },
    /** Minimum machines and standing GPUs run all month; machines above the minimum a quarter of it. */
    cost: { activeHoursPerWeek: 168, extraMachineShare: 0.25, onDemandGpuHours: 0, rootfsGb: 1, vercelSeats: 1 },
    /** The top of the seeds' enterprise range, USD a month. */
    budget: 4500,
  },
};
