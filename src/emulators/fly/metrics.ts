/**
 * Fly's managed Prometheus as the emulator answers it: the per-instance proxy series
 * (`fly_app_http_responses_count{app,region,host,instance,status}`, the histogram
 * `fly_app_http_response_time_seconds{…,le}`) and the edge series without `instance`, synthesised
 * from a traffic model: every machine that serves (started, checks passing) gets a steady request
 * rate, and a release can be told to misbehave (a share of errors, a slower latency). Samples are
 * "scraped" every 15 s of platform time, as Fly scrapes; the emulator's time scale maps real time
 * onto platform time, so a 3-minute window passes in milliseconds in a test.
 *
 * Queries are PromQL text, parsed and evaluated by promql.ts, and answered in the Prometheus HTTP
 * API's shape (`{status, data: {resultType, result}}`).
 */
import { createHash } from "node:crypto";
import type { MachineServing } from "./model";
import { evaluate, matchesLabel, QueryError, type Labels, type Matcher, type Series, type Value } from "./promql";

/** Fly scrapes every 15 s. */
export const SCRAPE_INTERVAL_SECONDS = 15;
/** A series disappears this long after its instance last served (Prometheus's staleness). */
const STALE_AFTER_SECONDS = 300;
/** Fly does not document its buckets; rules must not assume any of these. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, Infinity];
/** Spread of the latency distribution (log-normal) around its median. */
const LATENCY_SIGMA = 0.5;

export interface Behaviour {
  /** Share of requests answered 5xx. */
  errorShare: number;
  /** Median response time. */
  latencySeconds: number;
}

export interface TrafficModel extends Behaviour {
  /** Requests per platform second that each serving machine receives. */
  requestsPerSecond: number;
}

export const defaultTraffic = (): TrafficModel => ({ requestsPerSecond: 2, errorShare: 0.002, latencySeconds: 0.08 });

interface Segment {
  /** Platform seconds. */
  from: number;
  to?: number;
  release: string | undefined;
}

interface Instance {
  app: string;
  org: string;
  region: string;
  id: string;
  host: string;
  segments: Segment[];
}

export interface QueryReply {
  status: number;
  body: unknown;
}

export class FlyMetrics {
  private readonly instances = new Map<string, Instance>();
  /** Per release, from when (platform seconds) which misbehaviour holds; it changes only what follows. */
  private readonly behaviours = new Map<string, { from: number; behaviour: Partial<Behaviour> }[]>();
  private traffic: TrafficModel = defaultTraffic();

  /** @param platformSeconds maps a real time (ms) to platform time (unix seconds) */
  constructor(private readonly platformSeconds: (realMs: number) => number) {}

  /** Machines on `release` answer this share with errors and/or this slowly; undefined restores normal. */
  misbehave(release: string, behaviour: Partial<Behaviour> | undefined, nowMs = Date.now()): void {
    const history = this.behaviours.get(release) ?? [];
    history.push({ from: this.platformSeconds(nowMs), behaviour: behaviour ?? {} });
    this.behaviours.set(release, history);
  }

  /** Changes the traffic every serving machine gets (e.g. too little to judge a release). */
  setTraffic(traffic: Partial<TrafficModel>): void {
    this.traffic = { ...this.traffic, ...traffic };
  }

  /** Back to steady traffic, every release behaving from now on; what was counted stays. */
  reset(nowMs = Date.now()): void {
    this.traffic = defaultTraffic();
    for (const release of this.behaviours.keys()) this.misbehave(release, undefined, nowMs);
  }

  machineChanged(change: MachineServing): void {
    const instance = this.instances.get(change.id) ?? {
      app: change.app,
      org: change.org,
      region: change.region,
      id: change.id,
      host: createHash("sha256").update(change.id).digest("hex").slice(0, 4),
      segments: [],
    };
    this.instances.set(change.id, instance);
    const now = this.platformSeconds(change.at);
    const open = instance.segments.at(-1);
    if (open && open.to === undefined) {
      open.to = Math.max(open.from, now);
    }
    if (change.servingFrom !== undefined) {
      instance.segments.push({ from: this.platformSeconds(change.servingFrom), release: change.release });
    }
  }

  /** Answers `GET|POST /prometheus/<org>/api/v1/query` with `query` and optional `time`. */
  query(org: string, params: URLSearchParams, nowMs: number): QueryReply {
    const text = params.get("query");
    if (!text) return failure(400, "bad_data", "invalid parameter \"query\": missing query");
    const time = parseTime(params.get("time")) ?? this.platformSeconds(nowMs);
    if (time === undefined || Number.isNaN(time)) return failure(400, "bad_data", `invalid parameter "time": cannot parse "${params.get("time")}"`);
    try {
      const value = evaluate(text, time, (matchers) => this.select(org, matchers));
      return { status: 200, body: { status: "success", data: formatValue(value, time) } };
    } catch (err) {
      if (err instanceof QueryError) return failure(err.kind === "bad_data" ? 400 : 422, err.kind, err.message);
      throw err;
    }
  }

  /** A release's behaviour over time: pieces [from, to) each with one behaviour. */
  private behaviourOf(release: string | undefined): { from: number; behaviour: Behaviour }[] {
    const base = { errorShare: this.traffic.errorShare, latencySeconds: this.traffic.latencySeconds };
    const history = release === undefined ? [] : (this.behaviours.get(release) ?? []);
    return [{ from: -Infinity, behaviour: base }, ...history.map((h) => ({ from: h.from, behaviour: { ...base, ...h.behaviour } }))];
  }

  /** Requests an instance served up to `t`, each weighted by `share` of the behaviour at the time. */
  private served(instance: Instance, t: number, share: (b: Behaviour) => number): number {
    let total = 0;
    for (const segment of instance.segments) {
      const pieces = this.behaviourOf(segment.release);
      pieces.forEach((piece, i) => {
        const from = Math.max(segment.from, piece.from);
        const to = Math.min(t, segment.to ?? t, pieces[i + 1]?.from ?? Infinity);
        if (to > from) total += (to - from) * this.traffic.requestsPerSecond * share(piece.behaviour);
      });
    }
    return total;
  }

  /** Whether the instance's series exist at `t`: it has served by then and not gone stale. */
  private exists(instance: Instance, t: number): boolean {
    const first = instance.segments[0];
    const last = instance.segments.at(-1);
    if (!first || !last || first.from > t) return false;
    return last.to === undefined || t <= last.to + STALE_AFTER_SECONDS;
  }

  private select(org: string, matchers: Matcher[]): Series[] {
    // Instances the selector's own labels rule out are left out before their series are built: an
    // emulator that has run for hours holds every machine it ever ran, and a query names one app.
    const instanceLabels = (i: Instance): Labels => ({ app: i.app, region: i.region, host: i.host, instance: i.id });
    const couldMatch = (labels: Labels) => matchers.every((m) => !(m.name in labels) || matchesLabel(m, labels[m.name] ?? ""));
    const members = [...this.instances.values()].filter((i) => i.org === org && couldMatch({ app: i.app, region: i.region }));
    const out: Series[] = [];
    const add = (labels: Labels, group: Instance[], share: (b: Behaviour) => number, present: (i: Instance) => boolean = () => true) => {
      if (!matchers.every((m) => matchesLabel(m, labels[m.name] ?? ""))) return;
      out.push({
        labels,
        samples: (start, end) => {
          const points: [number, number][] = [];
          for (let t = Math.ceil(start / SCRAPE_INTERVAL_SECONDS) * SCRAPE_INTERVAL_SECONDS; t <= end; t += SCRAPE_INTERVAL_SECONDS) {
            if (t <= start) continue;
            const live = group.filter((i) => this.exists(i, t) && present(i));
            if (live.length > 0) points.push([t, live.reduce((sum, i) => sum + this.served(i, t, share), 0)]);
          }
          return points;
        },
      });
    };
    const statuses: [string, (b: Behaviour) => number][] = [
      ["200", (b) => 1 - b.errorShare],
      ["500", (b) => b.errorShare],
    ];
    // A status appears once a response with it was counted.
    const answered = (share: (b: Behaviour) => number) => (i: Instance) => i.segments.some((s) => this.behaviourOf(s.release).some((p) => share(p.behaviour) > 0));
    const families: { prefix: string; groups: { labels: Labels; members: Instance[] }[] }[] = [
      { prefix: "fly_app", groups: members.filter((i) => couldMatch(instanceLabels(i))).map((i) => ({ labels: instanceLabels(i), members: [i] })) },
      { prefix: "fly_edge", groups: edgeGroups(members) },
    ];
    for (const { prefix, groups } of families) {
      for (const group of groups) {
        for (const [status, share] of statuses) {
          const ok = answered(share);
          add({ __name__: `${prefix}_http_responses_count`, ...group.labels, status }, group.members, share, ok);
          for (const le of BUCKETS) {
            const cdf = (b: Behaviour) => share(b) * latencyCdf(le, b.latencySeconds);
            add({ __name__: `${prefix}_http_response_time_seconds_bucket`, ...group.labels, status, le: formatNumber(le) }, group.members, cdf, ok);
          }
          add({ __name__: `${prefix}_http_response_time_seconds_count`, ...group.labels, status }, group.members, share, ok);
          const meanFactor = Math.exp((LATENCY_SIGMA * LATENCY_SIGMA) / 2);
          add({ __name__: `${prefix}_http_response_time_seconds_sum`, ...group.labels, status }, group.members, (b) => share(b) * b.latencySeconds * meanFactor, ok);
        }
      }
    }
    return out;
  }
}

/** The edge sees an app per region, without `instance`. */
function edgeGroups(members: Instance[]): { labels: Labels; members: Instance[] }[] {
  const groups = new Map<string, { labels: Labels; members: Instance[] }>();
  for (const i of members) {
    const key = `${i.app}\n${i.region}`;
    const group = groups.get(key) ?? { labels: { app: i.app, region: i.region }, members: [] };
    group.members.push(i);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** Share of requests answered within `le` seconds: a log-normal around the median. */
function latencyCdf(le: number, median: number): number {
  if (le === Infinity) return 1;
  if (le <= 0) return 0;
  return normalCdf(Math.log(le / median) / LATENCY_SIGMA);
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26, error below 1.5e-7). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-z * z);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

function parseTime(text: string | null): number | undefined {
  if (text === null || text === "") return undefined;
  const seconds = Number(text);
  if (Number.isFinite(seconds)) return seconds;
  const date = Date.parse(text);
  return Number.isNaN(date) ? NaN : date / 1000;
}

/** Go's FormatFloat as Prometheus writes sample values. */
function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function formatValue(value: Value, time: number): unknown {
  switch (value.type) {
    case "scalar":
      return { resultType: "scalar", result: [time, formatNumber(value.value)] };
    case "string":
      return { resultType: "string", result: [time, value.value] };
    case "vector":
      return { resultType: "vector", result: value.samples.map((s) => ({ metric: s.labels, value: [time, formatNumber(s.value)] })) };
    case "matrix":
      return {
        resultType: "matrix",
        result: value.series.map((s) => ({ metric: s.labels, values: s.points.filter(([t]) => t > value.windowStart).map(([t, v]) => [t, formatNumber(v)]) })),
      };
  }
}

function failure(status: number, errorType: string, error: string): QueryReply {
  return { status, body: { status: "error", errorType, error } };
}
