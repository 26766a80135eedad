/**
 * Monthly cost estimate, computed from the resources the plan holds (machines, sizes, counts,
 * volumes, IPs, certificates, GPU instances, Vercel projects) with the profile's usage assumptions
 * and the price table. Pure: no Pulumi, no I/O. Every line says how it was computed.
 */
import type { CostConfig, StackConfig } from "../config";
import type { LambdaInstanceType } from "../platform";
import { machineSize, serviceOwner, TYPES, type Guest, type MachineInputs } from "./resources";
import {
  FLY_INCLUDED_RAM_GB_PER_CPU,
  HOURS_PER_MONTH,
  PRICE_SOURCES,
  WEEKS_PER_MONTH,
  resolvePrices,
  type PriceSource,
  type PriceTable,
} from "./prices";

/** What the estimate needs of a resource; both RecordedResource and PlanResource fit. */
export interface CostResource {
  urn: string;
  type: string;
  name: string;
  parent?: string | null;
  inputs: Record<string, unknown>;
}

export const KIND_ORDER = ["compute", "rootfs", "volume", "ipv4", "certificate", "gpu-standing", "gpu-on-demand", "vercel"] as const;
export type CostKind = (typeof KIND_ORDER)[number];

export interface CostLine {
  /** Service name, or "gpu-pool" / "edge" for the pool and the edge. */
  service: string;
  kind: CostKind;
  /** What is being paid for, e.g. "machines kept running (min 2)". */
  description: string;
  quantity: number;
  /** USD per unit per hour (priceUnit "hour") or per month. */
  unitPrice: number;
  priceUnit: "hour" | "month";
  /** Hours a month, for hourly prices. */
  hours?: number;
  /** Share of the month, for rootfs of machines that are stopped part of it. */
  share?: number;
  monthly: number;
  /** quantity × unit price × hours = monthly, as text. */
  formula: string;
}

export interface CostAssumptions {
  hoursPerMonth: number;
  activeHoursPerWeek: number;
  /** Hours a month a machine above the minimum runs: active hours × extraMachineShare. */
  extraMachineHours: number;
  extraMachineShare: number;
  onDemandGpuHours: number;
  /** Instance type the on-demand hours are priced at. */
  gpuInstanceType: string;
  rootfsGb: number;
  vercelSeats: number;
  /** Region where min_machines_running applies (Fly counts it there only). */
  primaryRegion: string;
}

/** The seeds' monthly figures for each profile, to compare against. */
export interface SeedReference {
  low: number;
  high: number;
  source: string;
}

export const SEED_REFERENCES: Record<string, SeedReference> = {
  "single-user-lax": { low: 38, high: 38, source: "seed: single-user setup ≈ $38/month" },
  "enterprise-multi-region": { low: 1260, high: 4500, source: "seed: enterprise production $1,260–4,500/month" },
};

export interface CostEstimate {
  currency: "USD";
  assumptions: CostAssumptions;
  /** The price table used, overrides applied. */
  prices: PriceTable;
  /** Dotted paths of prices overridden in config, e.g. "fly.volumeGbMonth". */
  priceOverrides: string[];
  sources: PriceSource[];
  lines: CostLine[];
  byService: Record<string, number>;
  byKind: Partial<Record<CostKind, number>>;
  total: number;
  seedReference: SeedReference | null;
}

export interface CostInputs {
  resources: CostResource[];
  usage: Omit<CostConfig, "prices">;
  prices: PriceTable;
  priceOverrides?: string[];
  primaryRegion: string;
  /** Pool instance type from config; a recorded lambda:Instance's type wins. */
  gpuInstanceType: LambdaInstanceType;
  profile?: string;
}




const cents = (n: number) => Math.round(n * 100) / 100;
/** Dollars as people read them: $1,234.56. */
export const usd = (n: number) => `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
/** Unit prices with enough digits that quantity × price × hours reproduces the line. */
const rate = (n: number) => `$${n >= 1 || cents(n) === n ? n.toFixed(2) : Number(n.toPrecision(4)).toString()}`;
const hoursText = (h: number) => `${Number(h.toFixed(1))} h`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** $/h of a Fly machine of this size in this region. */
export function flyMachineHourly(guest: Guest, region: string, prices: PriceTable): number {
  const cpuRate = guest.cpu_kind === "performance" ? prices.fly.performanceCpuPerHour : prices.fly.sharedCpuPerHour;
  const extraRamGb = Math.max(0, guest.memory_mb / 1024 - guest.cpus * FLY_INCLUDED_RAM_GB_PER_CPU[guest.cpu_kind]);
  const multiplier = (prices.fly.regionMultiplier as Record<string, number | undefined>)[region] ?? 1;
  return (guest.cpus * cpuRate + extraRamGb * prices.fly.ramGbPerHour) * multiplier;
}


export function computeCost(input: CostInputs): CostEstimate {
  const { resources, usage, prices } = input;
  const ownerOf = serviceOwner(resources);
  const serviceOf = (r: CostResource) => ownerOf(r) ?? String(r.inputs.app ?? r.name);
  const ofType = (type: string) => resources.filter((r) => r.type === type);
  const lines: CostLine[] = [];
  const add = (line: CostLine) => {
    const monthly = cents(line.monthly);
    lines.push({ ...line, monthly, formula: `${line.formula} = ${usd(monthly)}` });
  };

  const activeHours = usage.activeHoursPerWeek * WEEKS_PER_MONTH;
  const extraHours = Math.min(HOURS_PER_MONTH, activeHours * usage.extraMachineShare);

  // Machines, grouped by service, region and size; min_machines_running counts in the primary region only.
  const groups = new Map<string, { service: string; region: string; guest: Guest; autostop: string; min: number; count: number }>();
  for (const m of ofType(TYPES.machine)) {
    const inputs = m.inputs as MachineInputs;
    const g = inputs.config?.guest;
    const guest: Guest = { cpu_kind: g?.cpu_kind ?? "shared", cpus: g?.cpus ?? 1, memory_mb: g?.memory_mb ?? 256 };
    const proxy = inputs.config?.services?.[0];
    const service = serviceOf(m);
    const region = inputs.region ?? input.primaryRegion;
    const key = [service, region, guest.cpu_kind, guest.cpus, guest.memory_mb].join("|");
    const group = groups.get(key) ?? { service, region, guest, autostop: proxy?.autostop ?? "off", min: proxy?.min_machines_running ?? 0, count: 0 };
    group.count++;
    groups.set(key, group);
  }
  const minLeft = new Map<string, number>();
  for (const group of groups.values()) {
    const size = machineSize(group.guest);
    const hourly = flyMachineHourly(group.guest, group.region, prices);
    const where = `${size} in ${group.region}`;
    // An app's minimum is shared by its size groups in the primary region.
    const left = group.region === input.primaryRegion ? (minLeft.get(group.service) ?? group.min) : 0;
    const alwaysOn = group.autostop === "off" ? group.count : Math.min(left, group.count);
    if (group.region === input.primaryRegion) minLeft.set(group.service, left - alwaysOn);
    const extra = group.count - alwaysOn;
    if (alwaysOn > 0) {
      add({
        service: group.service, kind: "compute", quantity: alwaysOn, unitPrice: hourly, priceUnit: "hour", hours: HOURS_PER_MONTH,
        description: group.autostop === "off" ? `machines always on (autostop off), ${where}` : `machines kept running (min ${group.min}), ${where}`,
        monthly: alwaysOn * hourly * HOURS_PER_MONTH,
        formula: `${alwaysOn} × ${size} (${group.region}) × ${rate(hourly)}/h × ${hoursText(HOURS_PER_MONTH)}`,
      });
    }
    if (extra > 0 && extraHours > 0) {
      const share = `${Number((usage.extraMachineShare * 100).toFixed(1))}% of ${hoursText(activeHours)} active`;
      add({
        service: group.service, kind: "compute", quantity: extra, unitPrice: hourly, priceUnit: "hour", hours: extraHours,
        description: `machines above the minimum, started on demand, ${where}`,
        monthly: extra * hourly * extraHours,
        formula: `${extra} × ${size} (${group.region}) × ${rate(hourly)}/h × ${hoursText(extraHours)} (${share})`,
      });
    }
    const stoppedShare = 1 - extraHours / HOURS_PER_MONTH;
    if (extra > 0 && stoppedShare > 0) {
      add({
        service: group.service, kind: "rootfs", quantity: extra * usage.rootfsGb, unitPrice: prices.fly.rootfsGbMonth, priceUnit: "month", share: Number(stoppedShare.toFixed(4)),
        description: `rootfs of stopped machines (${usage.rootfsGb} GB each), ${group.region}`,
        monthly: extra * usage.rootfsGb * prices.fly.rootfsGbMonth * stoppedShare,
        formula: `${plural(extra, "machine")} × ${usage.rootfsGb} GB × ${rate(prices.fly.rootfsGbMonth)}/GB-mo × ${Number((stoppedShare * 100).toFixed(1))}% of the month stopped`,
      });
    }
  }

  // Volumes, grouped by service, region and size.
  const volumes = new Map<string, { service: string; region: string; sizeGb: number; count: number }>();
  for (const v of ofType(TYPES.volume)) {
    const service = serviceOf(v);
    const region = String(v.inputs.region ?? "?");
    const sizeGb = Number(v.inputs.sizeGb ?? 0);
    const key = `${service}|${region}|${sizeGb}`;
    const group = volumes.get(key) ?? { service, region, sizeGb, count: 0 };
    group.count++;
    volumes.set(key, group);
  }
  for (const v of volumes.values()) {
    add({
      service: v.service, kind: "volume", quantity: v.count * v.sizeGb, unitPrice: prices.fly.volumeGbMonth, priceUnit: "month",
      description: `volumes in ${v.region}`,
      monthly: v.count * v.sizeGb * prices.fly.volumeGbMonth,
      formula: `${plural(v.count, "volume")} × ${v.sizeGb} GB × ${rate(prices.fly.volumeGbMonth)}/GB-mo`,
    });
  }

  // Dedicated IPv4 only; shared IPv4, IPv6 and Flycast addresses are free.
  const dedicated = new Map<string, number>();
  for (const ip of ofType(TYPES.ip).filter((r) => r.inputs.type === "v4")) dedicated.set(serviceOf(ip), (dedicated.get(serviceOf(ip)) ?? 0) + 1);
  for (const [service, count] of dedicated) {
    add({
      service, kind: "ipv4", quantity: count, unitPrice: prices.fly.dedicatedIpv4Month, priceUnit: "month",
      description: "dedicated IPv4 addresses",
      monthly: count * prices.fly.dedicatedIpv4Month,
      formula: `${count} × ${rate(prices.fly.dedicatedIpv4Month)}/mo`,
    });
  }

  // Certificates: the free allowance is per organization, so one line for all of them.
  const certificates = ofType(TYPES.certificate).length;
  if (certificates > 0) {
    const billable = Math.max(0, certificates - prices.fly.freeCertificates);
    add({
      service: "edge", kind: "certificate", quantity: billable, unitPrice: prices.fly.certificateMonth, priceUnit: "month",
      description: `${plural(certificates, "Fly certificate")}, first ${prices.fly.freeCertificates} free`,
      monthly: billable * prices.fly.certificateMonth,
      formula: `max(0, ${certificates} − ${prices.fly.freeCertificates} free) × ${rate(prices.fly.certificateMonth)}/mo`,
    });
  }

  // GPUs: standing instances run all month; on-demand hours are priced at the pool's type.
  const standing = new Map<string, number>();
  for (const gpu of ofType(TYPES.gpuInstance)) {
    const type = String(gpu.inputs.instanceType ?? input.gpuInstanceType);
    standing.set(type, (standing.get(type) ?? 0) + 1);
  }
  const gpuPrice = (type: string) => {
    const price = prices.lambda.perHour[type as LambdaInstanceType];
    if (price === undefined) throw new Error(`no price for Lambda instance type "${type}"; add it under sophia:cost.prices.lambda.perHour`);
    return price;
  };
  for (const [type, count] of standing) {
    add({
      service: "gpu-pool", kind: "gpu-standing", quantity: count, unitPrice: gpuPrice(type), priceUnit: "hour", hours: HOURS_PER_MONTH,
      description: `standing ${type} instances, 24/7`,
      monthly: count * gpuPrice(type) * HOURS_PER_MONTH,
      formula: `${count} × ${type} × ${rate(gpuPrice(type))}/h × ${hoursText(HOURS_PER_MONTH)}`,
    });
  }
  const poolType = [...standing.keys()][0] ?? input.gpuInstanceType;
  if (usage.onDemandGpuHours > 0) {
    add({
      service: "gpu-pool", kind: "gpu-on-demand", quantity: 1, unitPrice: gpuPrice(poolType), priceUnit: "hour", hours: usage.onDemandGpuHours,
      description: `on-demand ${poolType} workers`,
      monthly: usage.onDemandGpuHours * gpuPrice(poolType),
      formula: `${hoursText(usage.onDemandGpuHours)} × ${poolType} × ${rate(gpuPrice(poolType))}/h`,
    });
  }

  // Vercel: a fixed plan line, only when the plan holds a Vercel project.
  if (ofType(TYPES.vercelProject).length > 0 && usage.vercelSeats > 0) {
    add({
      service: "edge", kind: "vercel", quantity: usage.vercelSeats, unitPrice: prices.vercel.proSeatMonth, priceUnit: "month",
      description: "Vercel Pro plan",
      monthly: usage.vercelSeats * prices.vercel.proSeatMonth,
      formula: `${plural(usage.vercelSeats, "seat")} × ${rate(prices.vercel.proSeatMonth)}/mo`,
    });
  }

  // Group the lines by service (in plan order), then by kind.
  const serviceOrder = [...resources.filter((r) => r.type === TYPES.service).map((r) => r.name), "gpu-pool", "edge"];
  const rank = (l: CostLine) => [serviceOrder.indexOf(l.service) === -1 ? serviceOrder.length : serviceOrder.indexOf(l.service), KIND_ORDER.indexOf(l.kind)];
  lines.sort((a, b) => rank(a)[0] - rank(b)[0] || rank(a)[1] - rank(b)[1]);

  const sum = (pick: (l: CostLine) => string) =>
    lines.reduce<Record<string, number>>((acc, l) => ({ ...acc, [pick(l)]: cents((acc[pick(l)] ?? 0) + l.monthly) }), {});
  return {
    currency: "USD",
    assumptions: {
      hoursPerMonth: HOURS_PER_MONTH,
      activeHoursPerWeek: usage.activeHoursPerWeek,
      extraMachineHours: Number(extraHours.toFixed(2)),
      extraMachineShare: usage.extraMachineShare,
      onDemandGpuHours: usage.onDemandGpuHours,
      gpuInstanceType: poolType,
      rootfsGb: usage.rootfsGb,
      vercelSeats: usage.vercelSeats,
      primaryRegion: input.primaryRegion,
    },
    prices,
    priceOverrides: input.priceOverrides ?? [],
    sources: PRICE_SOURCES,
    lines,
    byService: sum((l) => l.service),
    byKind: sum((l) => l.kind),
    total: cents(lines.reduce((acc, l) => acc + l.monthly, 0)),
    seedReference: (input.profile !== undefined ? SEED_REFERENCES[input.profile] : undefined) ?? null,
  };
}

/** The estimate for a stack: the plan's resources with the stack's usage assumptions and prices. */
export function estimateCost(resources: CostResource[], config: Pick<StackConfig, "cost" | "primaryRegion" | "gpu" | "profile">): CostEstimate {
  const { prices: overrides, ...usage } = config.cost;
  const { prices, overridden } = resolvePrices(overrides);
  return computeCost({
    resources,
    usage,
    prices,
    priceOverrides: overridden,
    primaryRegion: config.primaryRegion,
    gpuInstanceType: config.gpu.instanceType,
    profile: config.profile,
  });
}
