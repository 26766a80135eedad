import { describe, expect, it } from "vitest";
import { TYPES } from "../../src/planner/resources";
import { parseStackConfig } from "../../src/config";
import { computeCost, estimateCost, flyMachineHourly, type CostInputs, type CostResource } from "../../src/planner/cost";
import { DEFAULT_PRICES, resolvePrices } from "../../src/planner/prices";
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
const ALWAYS_ON = { activeHoursPerWeek: 168, extraMachineShare: 1, onDemandGpuHours: 0, rootfsGb: 1, vercelSeats: 1 };

function cost(resources: CostResource[], overrides: Partial<CostInputs> = {}) {
  return computeCost({ resources, usage: ALWAYS_ON, prices: DEFAULT_PRICES, primaryRegion: "iad", gpuInstanceType: "gpu_1x_a100", ...overrides });
}

describe("cost model, hand-computed", () => {
  it("one shared-cpu-1x 256MB machine kept running in iad for 730 h costs 730 × $0.0027", () => {
    const api = service("api");
    const estimate = cost([api, machine(api, { region: "iad", min: 1 })]);
    expect(estimate.total).toBeCloseTo(730 * 0.0027, 2); // $1.97
    expect(estimate.lines).toHaveLength(1);
    expect(estimate.lines[0].formula).toBe("1 × shared-cpu-1x 256MB (iad) × $0.0027/h × 730 h = $1.97");
  });

  it("one machine above the minimum runs the active hours (45 h a week ≈ 195.5 h) and pays rootfs while stopped", () => {
    const api = service("api");
    const estimate = cost([api, machine(api, { region: "iad", min: 0 })], { usage: { ...ALWAYS_ON, activeHoursPerWeek: 45 } });
    const hours = (45 * 730) / 168;
    expect(estimate.byKind.compute).toBeCloseTo(hours * 0.0027, 2);
    expect(estimate.byKind.rootfs).toBeCloseTo(1 * 0.15 * (1 - hours / 730), 2);
  });

  it("a shared-cpu-2x 2048MB machine pays for 1.5 GB of RAM above the 512 MB its CPUs include, at sjc's markup", () => {
    const hourly = flyMachineHourly({ cpu_kind: "shared", cpus: 2, memory_mb: 2048 }, "sjc", DEFAULT_PRICES);
    expect(hourly).toBeCloseTo((2 * 0.0027 + 1.5 * 0.006948) * 1.192307692, 8);
  });

  it("a performance-1x 2GB machine costs the performance vCPU rate with no extra RAM", () => {
    expect(flyMachineHourly({ cpu_kind: "performance", cpus: 1, memory_mb: 2048 }, "iad", DEFAULT_PRICES)).toBeCloseTo(0.043056, 8);
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
    expect(estimate.total).toBeCloseTo(730 * 0.0027, 2);
  });

  it("one volume of 10 GB costs 10 × $0.15 a month", () => {
    const db = service("db");
    const estimate = cost([db, child(db, "pulumi-nodejs:dynamic/fly:Volume", { app: "app-db", name: "data", region: "iad", sizeGb: 10 })]);
    expect(estimate.total).toBe(1.5);
    expect(estimate.lines[0]).toMatchObject({ service: "db", kind: "volume", formula: "1 volume × 10 GB × $0.15/GB-mo = $1.50" });
  });

  it("a dedicated IPv4 costs $2 a month and shared IPv4, IPv6 and Flycast addresses are free", () => {
    const api = service("api");
    const ips = ["v4", "shared_v4", "v6", "private_v6"].map((type) => child(api, "pulumi-nodejs:dynamic/fly:IpAddress", { app: "app-api", type }));
    const estimate = cost([api, ...ips]);
    expect(estimate.total).toBe(2);
    expect(estimate.byKind.ipv4).toBe(2);
  });

  it("a standing gpu_1x_gh200 runs 730 h at $1.49/h", () => {
    const pool = child(null, TYPES.gpuPool, {});
    const estimate = cost([pool, child(pool, "pulumi-nodejs:dynamic/lambda:Instance", { instanceType: "gpu_1x_gh200", region: "us-west-1", name: "gpu-0" })]);
    expect(estimate.total).toBeCloseTo(730 * 1.49, 2); // $1,087.70
    expect(estimate.byService["gpu-pool"]).toBeCloseTo(1087.7, 2);
  });

  it("10 on-demand GPU-hours of gpu_1x_h100_pcie cost 10 × $2.49", () => {
    const estimate = cost([], { usage: { ...ALWAYS_ON, onDemandGpuHours: 10 }, gpuInstanceType: "gpu_1x_h100_pcie" });
    expect(estimate.total).toBeCloseTo(24.9, 2);
    expect(estimate.lines[0].formula).toBe("10 h × gpu_1x_h100_pcie × $2.49/h = $24.90");
  });

  it("on-demand GPU-hours are priced at the standing instances' type when the pool has some", () => {
    const gpu = child(null, "pulumi-nodejs:dynamic/lambda:Instance", { instanceType: "gpu_1x_gh200" });
    const estimate = cost([gpu], { usage: { ...ALWAYS_ON, onDemandGpuHours: 10 }, gpuInstanceType: "gpu_1x_a100" });
    expect(estimate.byKind["gpu-on-demand"]).toBeCloseTo(14.9, 2);
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
    expect(prices.lambda.perHour).toMatchObject({ gpu_1x_gh200: 2, gpu_1x_a100: 1.29 });
    expect(overridden.sort()).toEqual(["fly.regionMultiplier.sjc", "fly.volumeGbMonth", "lambda.perHour.gpu_1x_gh200"]);
  });

  it("a price override in sophia:cost.prices changes the total by exactly the repriced quantity", () => {
    const db = service("db");
    const resources = [db, child(db, "pulumi-nodejs:dynamic/fly:Volume", { region: "lax", sizeGb: 3 })];
    const base = estimateCost(resources, parseStackConfig({ profile: "single-user-lax" }, "dev"));
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
