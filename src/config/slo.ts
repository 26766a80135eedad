/**
 * `sophia:slo`: the service level objectives as data. Every public service gets `objectives`
 * unless `services.<name>` overrides part of them; the alerts built from them (burn rates,
 * latency, the release rollback triggers, the infrastructure alerts) each carry a severity P0–P3,
 * which `sophia:monitoring.escalation` routes (components/observability turns both into files).
 * Ratios are ratios: 0.999, not 99.9.
 */
import { z } from "zod";
import { FLY_PROMETHEUS } from "../platform";
import { nearestName } from "./nearest";
import { strictObject as strict } from "./strict-object";
import { describeDuration, durationSchema, durationSeconds } from "./duration";

export const SEVERITIES = ["P0", "P1", "P2", "P3"] as const;
export type Severity = (typeof SEVERITIES)[number];
export const severitySchema = z.enum(SEVERITIES);

/** Rounds away binary noise, so 99.9 / 100 prints as 0.999. */
const tidy = (n: number) => Number(n.toPrecision(12));

/**
 * A ratio strictly between 0 and 1. A number that reads as a percentage is refused with the ratio
 * to write instead, and 1 (100%) with why: it leaves nothing to spend.
 */
export function ratioSchema(what: string, example: number) {
  return z.number().superRefine((value, ctx) => {
    const add = (message: string) => ctx.addIssue({ code: "custom", message });
    if (value > 0 && value < 1) return;
    if (value === 1 || value === 100) {
      add(`${value} is ${what} of 100%, which leaves no room for a single failure; write a ratio below 1, e.g. ${example}`);
    } else if (value > 1 && value < 100) {
      add(`${value} reads as a percentage; ${what} is a ratio: write ${tidy(value / 100)} for ${value}%`);
    } else {
      add(`${what} is a ratio between 0 and 1, e.g. ${example} for ${tidy(example * 100)}%`);
    }
  });
}

const availability = ratioSchema("an availability objective", 0.999);
const quantile = ratioSchema("a latency quantile", 0.95);

/** "P95 under 150 ms": the share `quantile` of successful responses is faster than `thresholdMs`. */
const latencyObjective = strict({
  quantile,
  thresholdMs: z.number().positive("must be a latency in ms, more than 0"),
});

const objectivesSchema = strict({
  /** Share of responses that are not 5xx, over `sophia:slo.window`. */
  availability,
  /** Latency objectives, e.g. P95 under 150 ms and P99 under 300 ms. */
  latency: z.array(latencyObjective),
});

/** A service's own objectives; what it leaves out comes from `sophia:slo.objectives`. */
const serviceObjectivesSchema = strict({
  availability: availability.optional(),
  latency: z.array(latencyObjective).optional(),
});

/** One tier of the SRE workbook's multi-window, multi-burn-rate alerts. */
const burnRateTier = strict({
  /** Window over which the budget must be burning at `burnRate` or faster. */
  longWindow: durationSchema,
  /** Shorter window that must agree, so that the alert resolves soon after the burn stops. */
  shortWindow: durationSchema,
  /** How many times faster than "exactly spent at the end of the window" the budget burns. */
  burnRate: z.number(),
  severity: severitySchema,
});

const forSeverity = strict({ for: durationSchema, severity: severitySchema });

export const sloSchema = strict({
  /** Rolling window the error budget is counted over. Fly's Prometheus keeps about 15 days. */
  window: durationSchema,
  /** Objectives every public service gets; absent means none unless `services` sets them. */
  objectives: objectivesSchema.optional(),
  /** Per public service, objectives that replace the defaults above. @default {} */
  services: z.record(z.string(), serviceObjectivesSchema).default({}),
  /** Error-budget burn alerts (SRE workbook): page on fast burns, ticket on slow ones. */
  burnRateAlerts: z.array(burnRateTier).nonempty(),
  /** Latency objective alerts: the quantile over both windows is above its threshold. */
  latencyAlert: strict({ longWindow: durationSchema, shortWindow: durationSchema, severity: severitySchema }),
  /**
   * The seed's release rollback triggers, evaluated over each machine's own proxy metrics
   * (components/observability/triggers.ts); the release gate applies the same definitions.
   */
  rollback: strict({
    /** Share of 5xx responses above `above` for `for`. */
    errorRate: strict({ above: ratioSchema("an error-rate trigger", 0.05), for: durationSchema, severity: severitySchema }),
    /** The `quantile` latency above `aboveMs` for `for`. */
    latency: strict({ quantile, aboveMs: z.number().positive("must be a latency in ms, more than 0"), for: durationSchema, severity: severitySchema }),
    /** Health checks failing this many check intervals in a row. */
    healthChecks: strict({ consecutiveFailures: z.number().int().min(1).max(20), severity: severitySchema }),
  }),
  /** Alerts about the platform under the services. */
  infrastructure: strict({
    /** A service that should always run has no machine running. */
    noRunningMachine: forSeverity,
    /** A machine was killed for running out of memory. */
    machineOutOfMemory: strict({ severity: severitySchema }),
    /** A volume fuller than `abovePercent`. */
    volumeAlmostFull: strict({ abovePercent: z.number().min(1).max(99), for: durationSchema, severity: severitySchema }),
    /** The GPU pool has standing nodes but none is ready. */
    gpuNodeNotReady: forSeverity,
  }),
});

export type SloConfig = z.infer<typeof sloSchema>;
export type Objectives = z.infer<typeof objectivesSchema>;
export type LatencyObjective = z.infer<typeof latencyObjective>;
export type BurnRateTier = z.infer<typeof burnRateTier>;

/** The objectives a service has once its own replace the defaults; undefined when it has none. */
export function objectivesOf(slo: SloConfig, service: string): Objectives | undefined {
  const own = slo.services[service];
  const availabilityObjective = own?.availability ?? slo.objectives?.availability;
  if (availabilityObjective === undefined) return undefined;
  return { availability: availabilityObjective, latency: own?.latency ?? slo.objectives?.latency ?? [] };
}

type Add = (path: (string | number)[], message: string) => void;

const LONGEST_SECONDS = FLY_PROMETHEUS.longestWindowDays * 86_400;
const RETENTION = `Fly's Prometheus keeps about ${FLY_PROMETHEUS.retentionDays} days`;

/** Cross-field rules of `sophia:slo`; `services` are the stack's service names. */
export function checkSlo(slo: SloConfig, services: readonly string[], add: Add): void {
  for (const name of Object.keys(slo.services)) {
    if (services.includes(name)) continue;
    const near = nearestName(name, services);
    add(["slo", "services", name], `is not a service${near ? `; did you mean "${near}"?` : ""} Services: ${services.join(", ")}`);
  }
  // Every SLO alert of a service starts from its availability objective (objectivesOf): an entry
  // without one anywhere would be accepted and alert on nothing.
  if (slo.objectives === undefined) {
    for (const [name, own] of Object.entries(slo.services)) {
      if (own.availability !== undefined) continue;
      const what = own.latency !== undefined && own.latency.length > 0 ? "has latency objectives but no availability objective" : "has no availability objective";
      add(
        ["slo", "services", name],
        `${what}, here or in sophia:slo.objectives, so ${name} would get no SLO alert at all; add sophia:slo.services.${name}.availability (e.g. 0.999), or objectives for every public service under sophia:slo.objectives`,
      );
    }
  }
  const windowSeconds = durationSeconds(slo.window);
  if (windowSeconds !== undefined && windowSeconds > LONGEST_SECONDS) {
    add(["slo", "window"], `"${slo.window}" is longer than ${RETENTION}, so the error budget could not be counted; use at most ${FLY_PROMETHEUS.longestWindowDays}d`);
  }
  const checkWindows = (at: (string | number)[], long: string, short: string) => {
    const longSeconds = durationSeconds(long);
    const shortSeconds = durationSeconds(short);
    if (longSeconds === undefined || shortSeconds === undefined) return;
    if (shortSeconds >= longSeconds) add([...at, "shortWindow"], `"${short}" must be shorter than longWindow "${long}"`);
    if (longSeconds > LONGEST_SECONDS) add([...at, "longWindow"], `"${long}" is longer than ${RETENTION}; use at most ${FLY_PROMETHEUS.longestWindowDays}d`);
    else if (windowSeconds !== undefined && longSeconds > windowSeconds) {
      add([...at, "longWindow"], `"${long}" is longer than the SLO window "${slo.window}" (${describeDuration(windowSeconds)})`);
    }
  };
  slo.burnRateAlerts.forEach((tier, i) => {
    const at = ["slo", "burnRateAlerts", i];
    checkWindows(at, tier.longWindow, tier.shortWindow);
    if (tier.burnRate < 1) {
      add([...at, "burnRate"], `${tier.burnRate} is below 1: at that pace the budget outlasts the window, so there is nothing to alert on; use 1 or more (the SRE workbook's tiers are 14.4, 6, 3 and 1)`);
    }
  });
  checkWindows(["slo", "latencyAlert"], slo.latencyAlert.longWindow, slo.latencyAlert.shortWindow);

  // A burn-rate threshold of 100% errors or more can never be crossed.
  const objectiveSets: [(string | number)[], number | undefined][] = [
    [["slo", "objectives", "availability"], slo.objectives?.availability],
    ...Object.entries(slo.services).map(([name, o]): [(string | number)[], number | undefined] => [["slo", "services", name, "availability"], o.availability]),
  ];
  for (const [at, objective] of objectiveSets) {
    if (objective === undefined || !(objective > 0 && objective < 1)) continue;
    const fastest = Math.max(...slo.burnRateAlerts.map((t) => t.burnRate));
    if (fastest * (1 - objective) >= 1) {
      add(at, `${objective} leaves a budget of ${tidy((1 - objective) * 100)}% errors; at the burn rate ${fastest} that is ${tidy(fastest * (1 - objective) * 100)}% errors, which can never happen, so the alert could never fire; raise the objective above ${tidy(1 - 1 / fastest)} or lower the burn rate`);
    }
  }
}
