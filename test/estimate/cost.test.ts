import { describe, expect, it } from "vitest";
import { TYPES } from "../../src/estimate/resources";
import { parseStackConfig } from "../../src/stack-config";
import { computeCost, estimateCost, flyMachineHourly, usd, type CostInputs, type CostResource } from "../../src/estimate/cost";
import { DEFAULT_PRICES, resolvePrices } from "../../src/config/prices";
import { expectEach } from "../helpers/expect-each";

/** Tiny resource builders in the shape the components record (the plan's RESOURCE CONTRACT). */
let serial = 0;
const urn = (type: string, name: string) => `urn:pulumi:test::sophia::${type}::${name}-${serial++}`;
function service(name: string): CostResource {
  return { urn: urn(TYPES.service, name), type: TYPES.service, name, parent: null, inputs: {} };
}
function machine(
  parent: CostResource,
  opts: { region: string; cpuKind?: "shared" | "performance"; cpus?: number; memoryMb?: number; min?: number; autostop?: string },
): CostResource {
  const type = "pulumi-nodejs:dynamic/fly:Machine";
  return {
    urn: urn(type, `${parent.name}-m`),
    type,
    name: `${parent.name}-machine`,
    parent: parent.urn,
    inputs: {
      app: `app-${parent.name}`,
      region: opts.region,
      config: {
        guest: { cpu_kind: opts.cpuKind ?? "shared", cpus: opts.cpus ?? 1, memory_mb: opts.memoryMb ?? 256 },
        services: [{ autostop: opts.autostop ?? "stop", autostart: true, min_machines_running: opts.min ?? 0 }],
      },
    },
  };
}
function child(parent: CostResource | null, type: string, inputs: Record<string, unknown>): CostResource {
  return { urn: urn(type, "r"), type, name: "r", parent: parent?.urn ?? null, inputs };
}

/** Usage where every machine runs all month unless a test says otherwise. */
const ALWAYS_ON = {
  activeHoursPerWeek: 168, extraMachineShare: 1, onDemandGpuHours: 0, gpuSessionsPerMonth: 0, gpuBootMinutes: 0, gpuFilesystemGb: 0,
  rootfsGb: 1, egressGbPerMonth: 0, volumeUsedShare: 0.5, snapshotDailyChangeShare: 0, vercelSeats: 1,
};
/** The table's rates, as Fly publishes them: 30-day prices over 720 h. */
const SHARED_CPU_HOUR = 2.19 / 720;
const RAM_GB_HOUR = 6 / 720;

function cost(resources: CostResource[], overrides: Partial<CostInputs> = {}) {
  return computeCost({ resources, usage: ALWAYS_ON, prices: DEFAULT_PRICES, primaryRegion: "iad", gpuInstanceType: "gpu_1x_a100", ...overrides });
}

describe("cost model, hand-computed", () => {
  it("one shared-cpu-1x 256MB machine kept running in iad for 730 h costs 730 × $2.19/720 h", () => {
    const api = service("api");
    const estimate = cost([api, machine(api, { region: "iad", min: 1 })]);
    expect(estimate.total).toBeCloseTo(730 * SHARED_CPU_HOUR, 2); // $2.22
    expect(estimate.lines).toHaveLength(1);
    expect(estimate.lines[0].formula).toBe("1 × shared-cpu-1x 256MB (iad) × $0.003042/h × 730 h = $2.22");
  });

  it("one machine above the minimum runs the active hours (45 h a week ≈ 195.5 h) and pays rootfs while stopped", () => {
    const api = service("api");
    const estimate = cost([api, machine(api, { region: "iad", min: 0 })], { usage: { ...ALWAYS_ON, activeHoursPerWeek: 45 } });
    const hours = (45 * 730) / 168;
    expect(estimate.byKind.compute).toBeCloseTo(hours * SHARED_CPU_HOUR, 2);
    expect(estimate.byKind.rootfs).toBeCloseTo(1 * 0.15 * (1 - hours / 730), 2);
  });

  it("a shared-cpu-2x 2048MB machine pays for 1.5 GB of RAM above the 512 MB its CPUs include, at sjc's markup", () => {
    const hourly = flyMachineHourly({ cpu_kind: "shared", cpus: 2, memory_mb: 2048 }, "sjc", DEFAULT_PRICES);
    expect(hourly).toBeCloseTo((2 * SHARED_CPU_HOUR + 1.5 * RAM_GB_HOUR) * 1.192307692, 8);
  });

  it("a performance-1x 2GB machine costs the performance vCPU rate ($33 per 30 days) with no extra RAM", () => {
    expect(flyMachineHourly({ cpu_kind: "performance", cpus: 1, memory_mb: 2048 }, "iad", DEFAULT_PRICES)).toBeCloseTo(33 / 720, 8);
  });

  it("min_machines_running keeps machines on in the primary region only", () => {
    const api = service("api");
    const machines = [...Array(2)].flatMap(() => [machine(api, { region: "iad", min: 1 }), machine(api, { region: "lax", min: 1 })]);
    const estimate = cost([api, ...machines], { usage: { ...ALWAYS_ON, extraMachineShare: 0 } });
    const compute = estimate.lines.filter((l) => l.kind === "compute");
    expect(compute).toHaveLength(1);
    expect(compute[0]).toMatchObject({ quantity: 1, hours: 730 });
    expect(estimate.lines.filter((l) => l.kind === "rootfs").reduce((n, l) => n + l.quantity, 0)).toBe(3);
  });

  it("a machine with autostop off runs all month whatever its minimum", () => {
    const api = service("api");
    const estimate = cost([api, machine(api, { region: "iad", min: 0, autostop: "off" })], { usage: { ...ALWAYS_ON, extraMachineShare: 0 } });
    expect(estimate.total).toBeCloseTo(730 * SHARED_CPU_HOUR, 2);
  });

  it("one volume of 10 GB costs 10 × $0.15 a month", () => {
    const db = service("db");
    const estimate = cost([db, child(db, "pulumi-nodejs:dynamic/fly:Volume", { app: "app-db", name: "data", region: "iad", sizeGb: 10 })]);
    expect(estimate.byKind.volume).toBe(1.5);
    expect(estimate.lines[0]).toMatchObject({ service: "db", kind: "volume", formula: "1 volume × 10 GB × $0.15/GB-mo = $1.50" });
  });

  it("a dedicated IPv4 costs $2 a month and shared IPv4, IPv6 and Flycast addresses are free", () => {
    const api = service("api");
    const ips = ["v4", "shared_v4", "v6", "private_v6"].map((type) => child(api, "pulumi-nodejs:dynamic/fly:IpAddress", { app: "app-api", type }));
    const estimate = cost([api, ...ips]);
    expect(estimate.total).toBe(2);
    expect(estimate.byKind.ipv4).toBe(2);
  });

  it("a standing gpu_1x_gh200 runs 730 h at $2.29/h", () => {
    const pool = child(null, TYPES.gpuPool, {});
    const estimate = cost([pool, child(pool, "pulumi-nodejs:dynamic/lambda:Instance", { instanceType: "gpu_1x_gh200", region: "us-west-1", name: "gpu-0" })]);
    expect(estimate.total).toBeCloseTo(730 * 2.29, 2); // $1,671.70
    expect(estimate.byService["gpu-pool"]).toBeCloseTo(1671.7, 2);
    expect(estimate.gpuTotal).toBeCloseTo(1671.7, 2);
  });

  it("10 on-demand GPU-hours of gpu_1x_h100_pcie cost 10 × $2.86", () => {
    const estimate = cost([child(null, "sophia:gpu:Pool", {})], { usage: { ...ALWAYS_ON, onDemandGpuHours: 10 }, gpuInstanceType: "gpu_1x_h100_pcie" });
    expect(estimate.total).toBeCloseTo(28.6, 2);
    expect(estimate.lines[0].formula).toBe("10 h × gpu_1x_h100_pcie × $2.86/h = $28.60");
  });

  it("on-demand GPU-hours are priced at the standing instances' type when the pool has some", () => {
    const pool = child(null, "sophia:gpu:Pool", {});
    const gpu = child(pool, "pulumi-nodejs:dynamic/lambda:Instance", { instanceType: "gpu_1x_gh200" });
    const estimate = cost([pool, gpu], { usage: { ...ALWAYS_ON, onDemandGpuHours: 10 }, gpuInstanceType: "gpu_1x_a10" });
    expect(estimate.byKind["gpu-on-demand"]).toBeCloseTo(22.9, 2);
  });

  it("each on-demand session also pays its boot and the pool's idle timeout: 8 × (10 + 15) min at $0.86/h", () => {
    const pool = child(null, "sophia:gpu:Pool", {});
    const usage = { ...ALWAYS_ON, onDemandGpuHours: 10, gpuSessionsPerMonth: 8, gpuBootMinutes: 10 };
    const estimate = cost([pool], { usage, gpuInstanceType: "gpu_1x_a10", gpuIdleMinutes: 15 });
    expect(estimate.byKind["gpu-session-overhead"]).toBeCloseTo(((8 * 25) / 60) * 0.86, 2); // $2.87
    expect(estimate.gpuTotal).toBeCloseTo(8.6 + 2.87, 2);
  });

  it("a longer idle timeout raises the session overhead by the extra minutes per session", () => {
    const pool = child(null, "sophia:gpu:Pool", {});
    const usage = { ...ALWAYS_ON, onDemandGpuHours: 10, gpuSessionsPerMonth: 8, gpuBootMinutes: 10 };
    const short = cost([pool], { usage, gpuInstanceType: "gpu_1x_a10", gpuIdleMinutes: 15 });
    const long = cost([pool], { usage, gpuInstanceType: "gpu_1x_a10", gpuIdleMinutes: 45 });
    expect(long.total - short.total).toBeCloseTo(((8 * 30) / 60) * 0.86, 1);
  });

  it("the GPU filesystem bills the GiB it stores at $0.20/GiB-month while it exists", () => {
    const pool = child(null, "sophia:gpu:Pool", {});
    const fs = child(pool, "pulumi-nodejs:dynamic/lambda:Filesystem", { name: "models", region: "us-west-1" });
    expect(cost([pool, fs], { usage: { ...ALWAYS_ON, gpuFilesystemGb: 200 } }).byKind["gpu-filesystem"]).toBe(40);
    expect(cost([pool], { usage: { ...ALWAYS_ON, gpuFilesystemGb: 200 } }).byKind["gpu-filesystem"]).toBeUndefined();
  });

  it("volume snapshots above the free 10 GB bill $0.08/GB for the data they store, growing with days kept", () => {
    const db = service("db");
    const volume = (retention: number) => child(db, "pulumi-nodejs:dynamic/fly:Volume", { region: "iad", sizeGb: 100, snapshotRetention: retention, autoBackupEnabled: true });
    const usage = { ...ALWAYS_ON, volumeUsedShare: 0.5, snapshotDailyChangeShare: 0.05 };
    // 100 GB × 50% used × (1 + 5% × 13 more days) = 82.5 GB stored; 72.5 GB billed.
    expect(cost([db, volume(14)], { usage }).byKind.snapshot).toBeCloseTo(72.5 * 0.08, 2);
    // 100 GB × 50% × (1 + 5% × 0) = 50 GB; 40 GB billed.
    expect(cost([db, volume(1)], { usage }).byKind.snapshot).toBeCloseTo(40 * 0.08, 2);
  });

  it("egress is priced at the primary region's group: $0.02/GB in sjc, $0.04/GB in sin", () => {
    const api = service("api");
    const usage = { ...ALWAYS_ON, egressGbPerMonth: 100 };
    expect(cost([api, machine(api, { region: "sjc" })], { usage, primaryRegion: "sjc" }).byKind.egress).toBe(2);
    expect(cost([api, machine(api, { region: "sin" })], { usage, primaryRegion: "sin" }).byKind.egress).toBe(4);
  });

  it("every line names a dated price source from the estimate's sources", () => {
    const pool = child(null, "sophia:gpu:Pool", {});
    const api = service("api");
    const usage = { ...ALWAYS_ON, onDemandGpuHours: 5, gpuSessionsPerMonth: 2, egressGbPerMonth: 10 };
    const estimate = cost([api, machine(api, { region: "iad", min: 1 }), pool], { usage, gpuInstanceType: "gpu_1x_gh200" });
    expect(estimate.lines.length).toBeGreaterThan(2);
    for (const line of estimate.lines) {
      expect(line.asOf, line.formula).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(estimate.sources.find((s) => s.id === line.source)?.asOf).toBe(line.asOf);
    }
  });

  it("the first 10 certificates are free and each one after costs $0.10 a month", () => {
    const certs = [...Array(12)].map((_, i) => child(null, "pulumi-nodejs:dynamic/fly:Certificate", { app: "a", hostname: `h${i}.example.com` }));
    expect(cost(certs).total).toBeCloseTo(0.2, 2);
  });

  it("Vercel's Pro plan is billed per seat only when the plan holds a Vercel project", () => {
    const project = child(null, "vercel:index/project:Project", { name: "ui" });
    expect(cost([]).total).toBe(0);
    expect(cost([project], { usage: { ...ALWAYS_ON, vercelSeats: 2 } }).total).toBe(40);
  });

  it("every line's formula ends with the line's own amount", () => {
    const api = service("api");
    const estimate = cost([api, ...[0, 1, 2].map(() => machine(api, { region: "sjc", cpus: 4, memoryMb: 4096, min: 1 }))], {
      primaryRegion: "sjc",
      usage: { ...ALWAYS_ON, extraMachineShare: 0.25 },
    });
    expectEach(estimate.lines, (line) => expect(line.formula.endsWith(`= $${line.monthly.toFixed(2)}`), line.formula).toBe(true));
  });
});

describe("prices", () => {
  it("resolvePrices applies an override and names what it overrode", () => {
    const { prices, overridden } = resolvePrices({ fly: { volumeGbMonth: 0.3, regionMultiplier: { sjc: 1 } }, lambda: { perHour: { gpu_1x_gh200: 2 } } });
    expect(prices.fly.volumeGbMonth).toBe(0.3);
    expect(prices.fly.regionMultiplier).toMatchObject({ sjc: 1, lax: DEFAULT_PRICES.fly.regionMultiplier.lax });
    expect(prices.lambda.perHour).toMatchObject({ gpu_1x_gh200: 2, gpu_1x_a10: DEFAULT_PRICES.lambda.perHour.gpu_1x_a10 });
    expect(overridden.sort()).toEqual(["fly.regionMultiplier.sjc", "fly.volumeGbMonth", "lambda.perHour.gpu_1x_gh200"]);
  });

  it("a price override in sophia:cost.prices changes the total by exactly the repriced quantity", () => {
    const db = service("db");
    const resources = [db, child(db, "pulumi-nodejs:dynamic/fly:Volume", { region: "lax", sizeGb: 3 })];
    const base = estimateCost(resources, parseStackConfig({ profile: "single-user-lax" }, "dev"));
    expect(base.byKind.volume).toBeCloseTo(3 * 0.15, 2);
    const repriced = estimateCost(resources, parseStackConfig({ profile: "single-user-lax", cost: { prices: { fly: { volumeGbMonth: 0.25 } } } }, "dev"));
    expect(repriced.total - base.total).toBeCloseTo(3 * (0.25 - 0.15), 2);
    expect(repriced.priceOverrides).toEqual(["fly.volumeGbMonth"]);
  });

  it("an unknown key under sophia:cost.prices is rejected with the allowed keys", () => {
    expect(() => parseStackConfig({ profile: "single-user-lax", cost: { prices: { fly: { volumePerGb: 1 } } } }, "dev")).toThrow(
      /sophia:cost\.prices\.fly: unknown key "volumePerGb"; allowed keys here: sharedCpuPerHour/,
    );
  });
});

describe("usd", () => {
  it("writes dollars with thousands separators and cents", () => {
    expect([0, 1.5, 999.999, 1234.5, 1234567.891].map(usd)).toEqual(["$0.00", "$1.50", "$1,000.00", "$1,234.50", "$1,234,567.89"]);
  });
});
