/**
 * Monthly cost estimate, computed from the resources the plan holds (machines, sizes, counts,
 * volumes, IPs, certificates, GPU instances and filesystems, Vercel projects) with the profile's
 * usage assumptions and the price table. Pure: no Pulumi, no I/O. One function per cost kind; every
 * line says how it was computed and which dated price source it used.
 */
import type { CostConfig, GpuConfig, StackConfig } from "../config/schema";
import { profiles, seedReferences, type SeedReference } from "../../environments/profiles";
import type { LambdaInstanceType } from "../platform";
import { machineSize, serviceOwner, TYPES, type Guest, type MachineInputs } from "./resources";
import {
  FLY_INCLUDED_RAM_GB_PER_CPU,
  HOURS_PER_MONTH,
  PRICE_SOURCES,
  WEEKS_PER_MONTH,
  lambdaPriceSource,
  resolvePrices,
  type PriceSource,
  type PriceSourceId,
  type PriceTable,
} from "../config/prices";

/**
 * The project's monthly target for the profile (its "seed" requirements), with the profile's
 * reasons: `choices` are those this stack keeps, `choicesOverridden` say which the stack's own
 * settings set aside.
 */
export interface SeedTarget extends Omit<SeedReference, "choices"> {
  choices: string[];
  choicesOverridden: string[];
}

/** What the estimate needs of a resource; both RecordedResource and PlanResource fit. */
export interface CostResource {
  urn: string;
  type: string;
  name: string;
  parent?: string | null;
  inputs: Record<string, unknown>;
}

export const KIND_ORDER = [
  "compute", "rootfs", "volume", "snapshot", "ipv4", "certificate", "egress",
  "gpu-standing", "gpu-on-demand", "gpu-session-overhead", "gpu-filesystem", "vercel",
  "backup-storage", "backup-requests",
] as const;
export type CostKind = (typeof KIND_ORDER)[number];

/** Kinds that are GPU instance time, the seed's "GPU spend". */
export const GPU_KINDS: readonly CostKind[] = ["gpu-standing", "gpu-on-demand", "gpu-session-overhead"];

export interface CostLine {
  /** Service name, or "gpu-pool" / "edge" / "fly-org" for the pool, the edge and organization-wide lines. */
  service: string;
  kind: CostKind;
  /** What is being paid for, e.g. "machines kept running (min 2)". */
  description: string;
  quantity: number;
  /** USD per unit per hour (priceUnit "hour"), per month, or per GB (priceUnit "gb"). */
  unitPrice: number;
  priceUnit: "hour" | "month" | "gb";
  /** Hours a month, for hourly prices. */
  hours?: number;
  /** Share of the month, for rootfs of machines that are stopped part of it. */
  share?: number;
  monthly: number;
  /** quantity × unit price × hours = monthly, as text. */
  formula: string;
  /** The usage assumption behind the quantity, when it is not read from the plan's resources. */
  assumption?: string;
  /** The id of the price source (see `sources`) and its date. */
  source: PriceSourceId;
  asOf: string;
}

export interface CostAssumptions {
  hoursPerMonth: number;
  activeHoursPerWeek: number;
  /** Hours a month a machine above the minimum runs: active hours × extraMachineShare. */
  extraMachineHours: number;
  extraMachineShare: number;
  onDemandGpuHours: number;
  gpuSessionsPerMonth: number;
  gpuBootMinutes: number;
  /** The pool's idle timeout: each on-demand session runs at least this long after its last job. */
  gpuIdleMinutes: number;
  gpuFilesystemGb: number;
  /** Instance type the on-demand hours are priced at. */
  gpuInstanceType: string;
  rootfsGb: number;
  egressGbPerMonth: number;
  volumeUsedShare: number;
  snapshotDailyChangeShare: number;
  vercelSeats: number;
  /** Region where min_machines_running applies (Fly counts it there only). */
  primaryRegion: string;
}

export interface CostEstimate {
  currency: "USD";
  assumptions: CostAssumptions;
  /** The price table used, overrides applied. */
  prices: PriceTable;
  /** Dotted paths of prices overridden in config, e.g. "fly.volumeGbMonth". */
  priceOverrides: string[];
  /** Every price source, each with the id that lines name in `source`. */
  sources: (PriceSource & { id: PriceSourceId })[];
  lines: CostLine[];
  byService: Record<string, number>;
  byKind: Partial<Record<CostKind, number>>;
  /** GPU instance time: standing, on-demand and session overhead. */
  gpuTotal: number;
  total: number;
  seedReference: SeedTarget | null;
}

export type CostUsage = Omit<CostConfig, "prices" | "backupRequestsPerMonth"> & { backupRequestsPerMonth?: number };

export interface CostInputs {
  resources: CostResource[];
  usage: CostUsage;
  prices: PriceTable;
  priceOverrides?: string[];
  primaryRegion: string;
  /** Pool instance type from config; a recorded lambda:Instance's type wins. */
  gpuInstanceType: LambdaInstanceType;
  /** The pool's idle timeout in minutes. @default 15 */
  gpuIdleMinutes?: number;
  /** How long backup chains are kept and how often a full one starts (sophia:recovery). @default 7 d, 24 h */
  backups?: { retentionDays: number; fullBackupEveryHours: number };
  profile?: string;
  /** The stack's settings, to tell which of the profile's reasons still apply. @default the profile's own */
  settings?: unknown;
}

const cents = (n: number) => Math.round(n * 100) / 100;
/** Dollars as people read them: $1,234.56. (Not toLocaleString: loading Intl costs a tenth of a plan.) */
export const usd = (n: number) => {
  const [whole, fraction] = Math.abs(n).toFixed(2).split(".");
  return `${n < 0 ? "-" : ""}$${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${fraction}`;
};
/** Unit prices with enough digits that quantity × price × hours reproduces the line. */
const rate = (n: number) => `$${n >= 1 || cents(n) === n ? n.toFixed(2) : Number(n.toPrecision(4)).toString()}`;
const hoursText = (h: number) => `${Number(h.toFixed(1))} h`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const percent = (share: number) => `${Number((share * 100).toFixed(1))}%`;

/** $/h of a Fly machine of this size in this region. */
export function flyMachineHourly(guest: Guest, region: string, prices: PriceTable): number {
  const cpuRate = guest.cpu_kind === "performance" ? prices.fly.performanceCpuPerHour : prices.fly.sharedCpuPerHour;
  const extraRamGb = Math.max(0, guest.memory_mb / 1024 - guest.cpus * FLY_INCLUDED_RAM_GB_PER_CPU[guest.cpu_kind]);
  const multiplier = (prices.fly.regionMultiplier as Record<string, number | undefined>)[region] ?? 1;
  return (guest.cpus * cpuRate + extraRamGb * prices.fly.ramGbPerHour) * multiplier;
}

/** A line before rounding: `monthly` is rounded and appended to the formula, the source dated. */
type Draft = Omit<CostLine, "asOf">;

/** What every per-kind function reads. */
interface CostContext {
  input: CostInputs;
  usage: CostUsage;
  prices: PriceTable;
  ofType(type: string): CostResource[];
  serviceOf(resource: CostResource): string;
  /** Hours a month a machine above its app's minimum runs. */
  extraHours: number;
  activeHours: number;
  /** The pool's instance type: the standing instances' type, else config's. */
  poolType: LambdaInstanceType;
  gpuPrice(type: string): number;
}

function machineLines(c: CostContext): Draft[] {
  const { usage, prices, extraHours, activeHours, input } = c;
  const lines: Draft[] = [];
  // Machines, grouped by service, region and size; min_machines_running counts in the primary region only.
  const groups = new Map<string, { service: string; region: string; guest: Guest; autostop: string; min: number; count: number }>();
  for (const m of c.ofType(TYPES.machine)) {
    const inputs = m.inputs as MachineInputs;
    const g = inputs.config?.guest;
    const guest: Guest = { cpu_kind: g?.cpu_kind ?? "shared", cpus: g?.cpus ?? 1, memory_mb: g?.memory_mb ?? 256 };
    const proxy = inputs.config?.services?.[0];
    const service = c.serviceOf(m);
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
      lines.push({
        service: group.service, kind: "compute", quantity: alwaysOn, unitPrice: hourly, priceUnit: "hour", hours: HOURS_PER_MONTH, source: "fly",
        description: group.autostop === "off" ? `machines always on (autostop off), ${where}` : `machines kept running (min ${group.min}), ${where}`,
        monthly: alwaysOn * hourly * HOURS_PER_MONTH,
        formula: `${alwaysOn} × ${size} (${group.region}) × ${rate(hourly)}/h × ${hoursText(HOURS_PER_MONTH)}`,
      });
    }
    if (extra > 0 && extraHours > 0) {
      lines.push({
        service: group.service, kind: "compute", quantity: extra, unitPrice: hourly, priceUnit: "hour", hours: extraHours, source: "fly",
        description: `machines above the minimum, started on demand, ${where}`,
        monthly: extra * hourly * extraHours,
        formula: `${extra} × ${size} (${group.region}) × ${rate(hourly)}/h × ${hoursText(extraHours)}`,
        assumption: `they run ${percent(usage.extraMachineShare)} of ${hoursText(activeHours)} active a month (cost.activeHoursPerWeek, cost.extraMachineShare)`,
      });
    }
    const stoppedShare = 1 - extraHours / HOURS_PER_MONTH;
    if (extra > 0 && stoppedShare > 0) {
      lines.push({
        service: group.service, kind: "rootfs", quantity: extra * usage.rootfsGb, unitPrice: prices.fly.rootfsGbMonth, priceUnit: "month", share: Number(stoppedShare.toFixed(4)), source: "fly",
        description: `rootfs of stopped machines (${usage.rootfsGb} GB each), ${group.region}`,
        monthly: extra * usage.rootfsGb * prices.fly.rootfsGbMonth * stoppedShare,
        formula: `${plural(extra, "machine")} × ${usage.rootfsGb} GB × ${rate(prices.fly.rootfsGbMonth)}/GB-mo × ${percent(stoppedShare)} of the month stopped`,
        assumption: "a stopped machine's rootfs is about its image size (cost.rootfsGb)",
      });
    }
  }
  return lines;
}

function volumeLines(c: CostContext): Draft[] {
  const volumes = new Map<string, { service: string; region: string; sizeGb: number; count: number }>();
  for (const v of c.ofType(TYPES.volume)) {
    const service = c.serviceOf(v);
    const region = String(v.inputs.region ?? "?");
    const sizeGb = Number(v.inputs.sizeGb ?? 0);
    const key = `${service}|${region}|${sizeGb}`;
    const group = volumes.get(key) ?? { service, region, sizeGb, count: 0 };
    group.count++;
    volumes.set(key, group);
  }
  const price = c.prices.fly.volumeGbMonth;
  return [...volumes.values()].map((v) => ({
    service: v.service, kind: "volume", quantity: v.count * v.sizeGb, unitPrice: price, priceUnit: "month", source: "fly",
    description: `volumes in ${v.region}`,
    monthly: v.count * v.sizeGb * price,
    formula: `${plural(v.count, "volume")} × ${v.sizeGb} GB × ${rate(price)}/GB-mo`,
  }));
}

/**
 * Snapshots store data, not provisioned size, and each daily one after the first stores what
 * changed that day. The free allowance is per organization, so one line for all volumes.
 */
function snapshotLines(c: CostContext): Draft[] {
  const { usage, prices } = c;
  const volumes = c.ofType(TYPES.volume).filter((v) => v.inputs.autoBackupEnabled !== false);
  if (volumes.length === 0) return [];
  let storedGb = 0;
  const retentions = new Set<number>();
  for (const v of volumes) {
    const retention = Number(v.inputs.snapshotRetention ?? 5);
    retentions.add(retention);
    storedGb += Number(v.inputs.sizeGb ?? 0) * usage.volumeUsedShare * (1 + usage.snapshotDailyChangeShare * (retention - 1));
  }
  storedGb = Number(storedGb.toFixed(2));
  const billable = Math.max(0, storedGb - prices.fly.freeSnapshotGb);
  const days = [...retentions].sort((a, b) => a - b).join("/");
  return [{
    service: "fly-org", kind: "snapshot", quantity: Number(billable.toFixed(2)), unitPrice: prices.fly.snapshotGbMonth, priceUnit: "month", source: "fly",
    description: `daily volume snapshots, ${days} days kept, first ${prices.fly.freeSnapshotGb} GB free`,
    monthly: billable * prices.fly.snapshotGbMonth,
    formula: `max(0, ${storedGb} GB stored − ${prices.fly.freeSnapshotGb} GB free) × ${rate(prices.fly.snapshotGbMonth)}/GB-mo`,
    assumption:
      `stored = Σ volume GB × ${percent(usage.volumeUsedShare)} used (cost.volumeUsedShare) × ` +
      `(1 + ${percent(usage.snapshotDailyChangeShare)} changed a day (cost.snapshotDailyChangeShare) × (days kept − 1))`,
  }];
}

/** Dedicated IPv4 only; shared IPv4, IPv6 and Flycast addresses are free. */
function ipv4Lines(c: CostContext): Draft[] {
  const dedicated = new Map<string, number>();
  for (const ip of c.ofType(TYPES.ip).filter((r) => r.inputs.type === "v4")) dedicated.set(c.serviceOf(ip), (dedicated.get(c.serviceOf(ip)) ?? 0) + 1);
  const price = c.prices.fly.dedicatedIpv4Month;
  return [...dedicated].map(([service, count]) => ({
    service, kind: "ipv4", quantity: count, unitPrice: price, priceUnit: "month", source: "fly",
    description: "dedicated IPv4 addresses",
    monthly: count * price,
    formula: `${count} × ${rate(price)}/mo`,
  }));
}

/** The free allowance is per organization, so one line for all certificates. */
function certificateLines(c: CostContext): Draft[] {
  const certificates = c.ofType(TYPES.certificate).length;
  if (certificates === 0) return [];
  const { certificateMonth, freeCertificates } = c.prices.fly;
  const billable = Math.max(0, certificates - freeCertificates);
  return [{
    service: "edge", kind: "certificate", quantity: billable, unitPrice: certificateMonth, priceUnit: "month", source: "fly",
    description: `${plural(certificates, "Fly certificate")}, first ${freeCertificates} free`,
    monthly: billable * certificateMonth,
    formula: `max(0, ${certificates} − ${freeCertificates} free) × ${rate(certificateMonth)}/mo`,
  }];
}

/** Outbound data to the internet, at the primary region's rate; Lambda and inbound data are free. */
function egressLines(c: CostContext): Draft[] {
  const gb = c.usage.egressGbPerMonth;
  if (gb === 0 || c.ofType(TYPES.machine).length === 0) return [];
  const region = c.input.primaryRegion;
  const price = (c.prices.fly.egressGb as Record<string, number | undefined>)[region] ?? Math.max(...Object.values(c.prices.fly.egressGb));
  return [{
    service: "fly-org", kind: "egress", quantity: gb, unitPrice: price, priceUnit: "gb", source: "fly",
    description: `outbound data to the internet, at ${region}'s rate`,
    monthly: gb * price,
    formula: `${gb} GB × ${rate(price)}/GB`,
    assumption: "an estimate of responses and UI traffic leaving Fly (cost.egressGbPerMonth); traffic within a region is free",
  }];
}

/** Standing instances run all month. */
function gpuStandingLines(c: CostContext): Draft[] {
  const standing = new Map<string, number>();
  for (const gpu of c.ofType(TYPES.gpuInstance)) {
    const type = String(gpu.inputs.instanceType ?? c.input.gpuInstanceType);
    standing.set(type, (standing.get(type) ?? 0) + 1);
  }
  return [...standing].map(([type, count]) => ({
    service: "gpu-pool", kind: "gpu-standing", quantity: count, unitPrice: c.gpuPrice(type), priceUnit: "hour", hours: HOURS_PER_MONTH,
    source: lambdaPriceSource(type as LambdaInstanceType),
    description: `standing ${type} instances, 24/7`,
    monthly: count * c.gpuPrice(type) * HOURS_PER_MONTH,
    formula: `${count} × ${type} × ${rate(c.gpuPrice(type))}/h × ${hoursText(HOURS_PER_MONTH)}`,
  }));
}

/** On-demand work, priced at the pool's type; only when the plan has a GPU pool. */
function gpuOnDemandLines(c: CostContext): Draft[] {
  const hours = c.usage.onDemandGpuHours;
  if (hours === 0 || c.ofType(TYPES.gpuPool).length === 0) return [];
  const price = c.gpuPrice(c.poolType);
  return [{
    service: "gpu-pool", kind: "gpu-on-demand", quantity: 1, unitPrice: price, priceUnit: "hour", hours, source: lambdaPriceSource(c.poolType),
    description: `on-demand ${c.poolType} workers, working`,
    monthly: hours * price,
    formula: `${hoursText(hours)} × ${c.poolType} × ${rate(price)}/h`,
    assumption: "GPU-hours of work a month (cost.onDemandGpuHours)",
  }];
}

/**
 * Each on-demand session is billed from launch: its boot before the worker serves, and after the
 * last job the idle timeout before it terminates itself.
 */
function gpuSessionOverheadLines(c: CostContext): Draft[] {
  const { gpuSessionsPerMonth: sessions, gpuBootMinutes: boot } = c.usage;
  const idle = c.input.gpuIdleMinutes ?? 15;
  if (sessions === 0 || c.usage.onDemandGpuHours === 0 || c.ofType(TYPES.gpuPool).length === 0) return [];
  const hours = (sessions * (boot + idle)) / 60;
  const price = c.gpuPrice(c.poolType);
  return [{
    service: "gpu-pool", kind: "gpu-session-overhead", quantity: sessions, unitPrice: price, priceUnit: "hour", hours: Number(hours.toFixed(2)),
    source: lambdaPriceSource(c.poolType),
    description: `on-demand ${c.poolType} boot and idle tail, per session`,
    monthly: hours * price,
    formula: `${plural(sessions, "session")} × (${boot} min boot + ${idle} min idle) = ${hoursText(hours)} × ${rate(price)}/h`,
    assumption: "sessions a month (cost.gpuSessionsPerMonth), boot minutes each (cost.gpuBootMinutes), idle timeout gpu.idleMinutes",
  }];
}

/** The pool's shared filesystem bills per GiB used while it exists. */
function gpuFilesystemLines(c: CostContext): Draft[] {
  const filesystems = c.ofType(TYPES.gpuFilesystem).length;
  const gb = c.usage.gpuFilesystemGb;
  if (filesystems === 0 || gb === 0) return [];
  const price = c.prices.lambda.filesystemGbMonth;
  return [{
    service: "gpu-pool", kind: "gpu-filesystem", quantity: filesystems * gb, unitPrice: price, priceUnit: "month", source: "lambdaFilesystem",
    description: "Lambda filesystem storage (model weights)",
    monthly: filesystems * gb * price,
    formula: `${plural(filesystems, "filesystem")} × ${gb} GiB × ${rate(price)}/GiB-mo`,
    assumption: "GiB stored (cost.gpuFilesystemGb)",
  }];
}

/** A fixed plan line, only when the plan holds a Vercel project. */
function vercelLines(c: CostContext): Draft[] {
  const seats = c.usage.vercelSeats;
  if (c.ofType(TYPES.vercelProject).length === 0 || seats === 0) return [];
  const price = c.prices.vercel.proSeatMonth;
  return [{
    service: "edge", kind: "vercel", quantity: seats, unitPrice: price, priceUnit: "month", source: "vercel",
    description: "Vercel Pro plan",
    monthly: seats * price,
    formula: `${plural(seats, "seat")} × ${rate(price)}/mo`,
  }];
}

/**
 * The backup bucket: what its backups store and the requests that make them. Each service's data
 * is its volumes' used share. Weaviate keeps a full copy per chain (one a `fullBackupEveryHours`,
 * kept `retentionDays`, plus the chain being built) and each day's changes; Litestream a snapshot
 * and about a day of WAL.
 */
function backupLines(c: CostContext): Draft[] {
  if (c.ofType(TYPES.bucket).length === 0) return [];
  const { usage, prices } = c;
  const backups = c.input.backups ?? { retentionDays: 7, fullBackupEveryHours: 24 };
  const methodOf = new Map<string, string>();
  for (const r of c.ofType(TYPES.recoveryRestore)) methodOf.set(String(r.inputs.service), String(r.inputs.method));
  let storedGb = 0;
  const parts: string[] = [];
  for (const [service, method] of methodOf) {
    const dataGb = c.ofType(TYPES.volume).filter((v) => c.serviceOf(v) === service).reduce((sum, v) => sum + Number(v.inputs.sizeGb ?? 0), 0) * usage.volumeUsedShare;
    const copies = method === "weaviate-backup"
      ? Math.ceil((backups.retentionDays * 24) / backups.fullBackupEveryHours) + 1 + usage.snapshotDailyChangeShare * backups.retentionDays
      : 1 + usage.snapshotDailyChangeShare;
    storedGb += dataGb * copies;
    parts.push(`${service} ${Number(dataGb.toFixed(1))} GB × ${Number(copies.toFixed(2))}`);
  }
  storedGb = Number(storedGb.toFixed(2));
  const { gbMonth, freeGb, classAPer1000, freeClassA } = prices.objectStorage;
  const billableGb = Math.max(0, storedGb - freeGb);
  const requests = usage.backupRequestsPerMonth ?? 0;
  const billableRequests = Math.max(0, requests - freeClassA);
  return [
    {
      service: "backups", kind: "backup-storage", quantity: Number(billableGb.toFixed(2)), unitPrice: gbMonth, priceUnit: "month", source: "tigris",
      description: "backups stored in the bucket, first GB free",
      monthly: billableGb * gbMonth,
      formula: `max(0, ${storedGb} GB stored − ${freeGb} GB free) × ${rate(gbMonth)}/GB-mo`,
      assumption: `stored = ${parts.join(" + ") || "nothing"} (data = volume GB × ${percent(usage.volumeUsedShare)} used; Weaviate: one full copy per chain kept plus daily changes, Litestream: a snapshot and a day of WAL)`,
    },
    ...(requests > 0
      ? [{
          service: "backups", kind: "backup-requests" as const, quantity: billableRequests, unitPrice: classAPer1000 / 1000, priceUnit: "month" as const, source: "tigris" as const,
          description: "class A requests (uploads, listings), first ones free",
          monthly: (billableRequests / 1000) * classAPer1000,
          formula: `max(0, ${requests} − ${freeClassA} free) ÷ 1000 × ${rate(classAPer1000)}`,
          assumption: "Litestream's WAL uploads, Weaviate's backups and the agent's listings a month (cost.backupRequestsPerMonth)",
        }]
      : []),
  ];
}

/** One function per cost kind, in the order the estimate lists them. */
const LINE_BUILDERS = [
  machineLines, volumeLines, snapshotLines, ipv4Lines, certificateLines, egressLines,
  gpuStandingLines, gpuOnDemandLines, gpuSessionOverheadLines, gpuFilesystemLines, vercelLines, backupLines,
];

function context(input: CostInputs): CostContext {
  const { resources, usage, prices } = input;
  const ownerOf = serviceOwner(resources);
  const ofType = (type: string) => resources.filter((r) => r.type === type);
  const activeHours = usage.activeHoursPerWeek * WEEKS_PER_MONTH;
  const firstStanding = ofType(TYPES.gpuInstance)[0]?.inputs.instanceType;
  return {
    input,
    usage,
    prices,
    ofType,
    serviceOf: (r) => ownerOf(r) ?? String(r.inputs.app ?? r.name),
    activeHours,
    extraHours: Math.min(HOURS_PER_MONTH, activeHours * usage.extraMachineShare),
    poolType: (typeof firstStanding === "string" ? firstStanding : input.gpuInstanceType) as LambdaInstanceType,
    gpuPrice: (type) => {
      const price = prices.lambda.perHour[type as LambdaInstanceType];
      if (price === undefined) throw new Error(`no price for Lambda instance type "${type}"; add it under sophia:cost.prices.lambda.perHour`);
      return price;
    },
  };
}

export function computeCost(input: CostInputs): CostEstimate {
  const c = context(input);
  const lines: CostLine[] = LINE_BUILDERS.flatMap((build) => build(c)).map((line) => {
    const monthly = cents(line.monthly);
    return { ...line, monthly, formula: `${line.formula} = ${usd(monthly)}`, asOf: PRICE_SOURCES[line.source].asOf };
  });

  // Group the lines by service (in plan order), then by kind.
  const serviceOrder = [...input.resources.filter((r) => r.type === TYPES.service).map((r) => r.name), "fly-org", "backups", "gpu-pool", "edge"];
  const rank = (l: CostLine) => [serviceOrder.indexOf(l.service) === -1 ? serviceOrder.length : serviceOrder.indexOf(l.service), KIND_ORDER.indexOf(l.kind)];
  lines.sort((a, b) => rank(a)[0] - rank(b)[0] || rank(a)[1] - rank(b)[1]);

  const sum = (pick: (l: CostLine) => string) =>
    lines.reduce<Record<string, number>>((acc, l) => ({ ...acc, [pick(l)]: cents((acc[pick(l)] ?? 0) + l.monthly) }), {});
  const { usage } = input;
  return {
    currency: "USD",
    assumptions: {
      hoursPerMonth: HOURS_PER_MONTH,
      activeHoursPerWeek: usage.activeHoursPerWeek,
      extraMachineHours: Number(c.extraHours.toFixed(2)),
      extraMachineShare: usage.extraMachineShare,
      onDemandGpuHours: usage.onDemandGpuHours,
      gpuSessionsPerMonth: usage.gpuSessionsPerMonth,
      gpuBootMinutes: usage.gpuBootMinutes,
      gpuIdleMinutes: input.gpuIdleMinutes ?? 15,
      gpuFilesystemGb: usage.gpuFilesystemGb,
      gpuInstanceType: c.poolType,
      rootfsGb: usage.rootfsGb,
      egressGbPerMonth: usage.egressGbPerMonth,
      volumeUsedShare: usage.volumeUsedShare,
      snapshotDailyChangeShare: usage.snapshotDailyChangeShare,
      vercelSeats: usage.vercelSeats,
      primaryRegion: input.primaryRegion,
    },
    prices: input.prices,
    priceOverrides: input.priceOverrides ?? [],
    sources: (Object.keys(PRICE_SOURCES) as PriceSourceId[]).map((id) => ({ id, ...PRICE_SOURCES[id] })),
    lines,
    byService: sum((l) => l.service),
    byKind: sum((l) => l.kind),
    gpuTotal: cents(lines.filter((l) => GPU_KINDS.includes(l.kind)).reduce((acc, l) => acc + l.monthly, 0)),
    total: cents(lines.reduce((acc, l) => acc + l.monthly, 0)),
    seedReference: seedTarget(input.profile, input.settings, input.prices),
  };
}

/** Reads a dotted config path, e.g. "services.weaviate.autostop". */
function valueAtPath(root: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((node, key) => (node !== null && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined), root);
}

/** The profile's target, with each reason kept or set aside by the stack's settings. */
function seedTarget(profile: string | undefined, settings: unknown, prices: PriceTable): SeedTarget | null {
  const seed = profile !== undefined ? (seedReferences as Record<string, SeedReference | undefined>)[profile] : undefined;
  if (seed === undefined) return null;
  const profileData = (profiles as Record<string, unknown>)[profile!];
  const choices: string[] = [];
  const choicesOverridden: string[] = [];
  for (const choice of seed.choices) {
    const changed = settings === undefined ? [] : choice.restsOn.filter((p) => JSON.stringify(valueAtPath(settings, p)) !== JSON.stringify(valueAtPath(profileData, p)));
    if (changed.length === 0) {
      choices.push(choice.reason(prices));
      continue;
    }
    const shown = changed.slice(0, 3).map((p) => `${p} ${JSON.stringify(valueAtPath(settings, p)) ?? "removed"} (profile: ${JSON.stringify(valueAtPath(profileData, p))})`);
    const more = changed.length > 3 ? ` and ${changed.length - 3} more` : "";
    choicesOverridden.push(`the profile's reasoning on ${choice.topic} does not apply: this stack sets ${shown.join(", ")}${more}`);
  }
  return { ...seed, choices, choicesOverridden };
}

/** What the estimate reads of the stack config. */
export type CostStackConfig = Pick<StackConfig, "cost" | "primaryRegion" | "profile"> & {
  gpu: Pick<GpuConfig, "instanceType" | "idleMinutes">;
  recovery?: Pick<StackConfig["recovery"], "retentionDays" | "fullBackupEveryHours" | "activeRegion">;
};

/**
 * The monthly estimate for a stack: its recorded resources with the stack's usage assumptions and
 * prices. The plan and the budget policy both call this.
 */
export function estimateCost(resources: CostResource[], config: CostStackConfig): CostEstimate {
  const { prices: overrides, ...usage } = config.cost;
  const { prices, overridden } = resolvePrices(overrides);
  return computeCost({
    resources,
    usage,
    prices,
    priceOverrides: overridden,
    // Minimums run in the active region: where a failover moved them.
    primaryRegion: config.recovery?.activeRegion ?? config.primaryRegion,
    gpuInstanceType: config.gpu.instanceType,
    gpuIdleMinutes: config.gpu.idleMinutes,
    profile: config.profile,
    settings: config,
    ...(config.recovery ? { backups: { retentionDays: config.recovery.retentionDays, fullBackupEveryHours: config.recovery.fullBackupEveryHours } } : {}),
  });
}
