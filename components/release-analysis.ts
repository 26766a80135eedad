/**
 * What each service's machines are given to judge a release: the rollback triggers of
 * `sophia:slo.rollback`, built by the same functions the alert rules use
 * (observability/triggers.ts), over the machines of the new release instead of the whole app,
 * and the settings of `sophia:release`. The alerts and the gate cannot disagree, because the gate
 * evaluates each alert's own breach expression.
 */
import type { StackConfig } from "../src/config/schema";
import { objectivesOf, type SloConfig } from "../src/config/slo";
import { releaseOf, type TriggerKind } from "../src/config/release";
import { activeRegionOf } from "../src/config/recovery";
import { durationSeconds } from "../src/config/duration";
import { FLY_PROMETHEUS } from "../src/platform";
import { APP_PLACEHOLDER, INSTANCES_PLACEHOLDER, type ReleaseAnalysis, type ReleaseTrigger } from "../src/providers/fly";
import { num, type Selector } from "./observability/promql";
import { rollbackTriggers, TRIGGER_RATE_WINDOW } from "./observability/triggers";
import type { PlannedService, ServicePlan } from "./service-definition";

/** The new release's machines of the app: placeholders the machine provider fills in, escaping the ids (forMachines). */
const NEW_MACHINES: Selector = [
  { label: "app", op: "=", value: APP_PLACEHOLDER },
  { label: "instance", op: "=~", value: INSTANCES_PLACEHOLDER },
];

/** Strategies whose releases are ordered machine by machine, so that a step can be judged. */
const GATED_STRATEGIES: readonly string[] = ["canary", "rolling"];

export const NO_SLO = "health checks only: no SLO to judge it against";

/** How a service's releases are judged when not on metrics, or undefined when they are analysed. */
export function notAnalysedBecause(
  config: StackConfig,
  service: { name: string; strategy: string; reach: "public" | "private"; internal: boolean },
): string | undefined {
  if (!GATED_STRATEGIES.includes(service.strategy)) {
    return service.strategy === "bluegreen" ? "health checks only: new machines pass them before the old ones go" : "every machine at once, without waiting for health checks";
  }
  if (!releaseOf(config.release, service.name).analysis) return "health checks only: analysis is off (sophia:release)";
  // A failover must not wait for an analysis window, nor be stopped by one: the region that just
  // took every request has no baseline to judge a release against. Moving back resumes it.
  const active = activeRegionOf(config);
  if (active !== config.primaryRegion) return `health checks only: failed over to ${active} (sophia:recovery.activeRegion); analysis resumes in ${config.primaryRegion}`;
  // Operators' tools see too little traffic to judge, and their alerts never page.
  if (service.internal) return "health checks only: an operators' tool, not part of the product";
  if (service.reach !== "public" || objectivesOf(config.slo, service.name) === undefined) return NO_SLO;
  return undefined;
}

const serviceOf = ({ definition, spec }: PlannedService) => ({ name: definition.name, strategy: spec.strategy, reach: spec.reach, internal: definition.internal ?? false });

/** The analysis a service's releases get, or undefined when they are judged on health checks alone. */
export function releaseAnalysisFor(config: StackConfig, planned: PlannedService): ReleaseAnalysis | undefined {
  if (notAnalysedBecause(config, serviceOf(planned)) !== undefined) return undefined;
  const { spec, definition } = planned;
  const settings = releaseOf(config.release, definition.name);
  const triggers = gateTriggers(config.slo.rollback, spec.healthCheck.intervalSeconds, settings.triggers);
  return {
    service: definition.name,
    prometheusUrl: config.release.prometheusUrl ?? FLY_PROMETHEUS.queryUrl(config.flyOrg),
    windowSeconds: settings.windowSeconds ?? Math.max(FLY_PROMETHEUS.scrapeIntervalSeconds, ...triggers.map((t) => t.forSeconds)),
    triggers,
    // The triggers' rates read this range: the new machines must have served within it at the end.
    rateWindowSeconds: durationSeconds(TRIGGER_RATE_WINDOW),
    // Fly Proxy routes nothing to a machine failing its checks, so the Prometheus trigger cannot see
    // checks that fail after they first passed: the machine provider reads them from the Machines API.
    ...(settings.triggers.includes("healthChecks")
      ? { healthChecks: { consecutiveFailures: config.slo.rollback.healthChecks.consecutiveFailures, intervalSeconds: spec.healthCheck.intervalSeconds } }
      : {}),
    minRequests: settings.minRequests,
    lowTraffic: settings.lowTraffic,
  };
}

/** The rollback triggers of `sophia:slo.rollback`, as the machine provider takes them: over the new machines. */
export function gateTriggers(rollback: SloConfig["rollback"], checkIntervalSeconds: number, kinds: readonly TriggerKind[]): ReleaseTrigger[] {
  return rollbackTriggers(rollback, checkIntervalSeconds)
    .filter((t) => kinds.includes(t.kind))
    .map((t) => ({
      metric: metricName(rollback, t.kind),
      description: t.text,
      value: t.value(NEW_MACHINES),
      breach: t.breach(NEW_MACHINES),
      threshold: t.threshold,
      forSeconds: durationSeconds(t.for) ?? 0,
      unit: t.unit,
    }));
}

function metricName(rollback: SloConfig["rollback"], kind: TriggerKind): string {
  switch (kind) {
    case "errorRate":
      return "error ratio";
    case "latency":
      return `P${num(rollback.latency.quantile * 100)} latency`;
    case "healthChecks":
      return "failed share of a machine's responses";
  }
}

/** Problems with sophia:release that only the service definitions reveal. */
export function releaseProblems(config: StackConfig, plan: ServicePlan): string[] {
  return Object.entries(config.release.services).flatMap(([name, own]) => {
    const planned = plan.fly.find((p) => p.definition.name === name);
    if (!planned || own.analysis === false) return [];
    const asked = own.analysis === true || own.triggers !== undefined || own.window !== undefined;
    if (!asked) return [];
    const reason = notAnalysedBecause(config, serviceOf(planned));
    if (reason === undefined || reason.includes("analysis is off")) return [];
    if (reason === NO_SLO) {
      return [
        `sophia:release.services.${name}: ${name} has no SLO, so its releases have no trigger to be judged by` +
          (planned.spec.reach === "private" ? " (it is private, and SLOs are measured at Fly's edge)" : `; give it one under sophia:slo.services.${name}`) +
          `, or remove sophia:release.services.${name}`,
      ];
    }
    // Asked for an analysis its releases cannot have: blue-green, immediate, an operators' tool.
    return [`sophia:release.services.${name}: ${name}'s releases cannot be analysed (${reason}); only canary and rolling releases of services with an SLO are. Remove it`];
  });
}

/** The services whose releases are analysed: they need the read-only Prometheus token. */
export function analysedServices(config: StackConfig, plan: ServicePlan): string[] {
  return plan.fly.filter((p) => releaseAnalysisFor(config, p) !== undefined).map((p) => p.definition.name);
}
