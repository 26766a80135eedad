/**
 * The alert rules, generated from the SLOs (sophia:slo) and the services the stack runs, as a
 * standard Prometheus rule file that vmalert evaluates against Fly's managed Prometheus. Every
 * alert carries the labels `severity` (P0–P3) and `service` (a service definition's name, or
 * `platform`), and the annotations `summary`, `description` and `runbook` (a README anchor).
 *
 * No recording rules: vmalert could only keep their results by remote-writing them, and Fly's
 * Prometheus takes no writes, so every alert computes its ratios inline.
 *
 * Latency never names an `le`: Fly does not document its histograms' buckets, and a rule that
 * selects `le="0.15"` finds nothing (and so never fires) when no such bucket exists. The rules
 * compare `histogram_quantile` with the objective instead. At a bucket boundary that is exact;
 * between boundaries `histogram_quantile` interpolates linearly, so the alert is as precise as
 * the buckets around the threshold, and it works for any layout whose largest finite bucket lies
 * above the threshold. The alternative, the share of requests slower than the threshold, needs a
 * bucket at the threshold (or MetricsQL's `histogram_share`, which plain PromQL and promtool lack).
 */
import { stringify } from "yaml";
import type { StackConfig } from "../../src/config/schema";
import { objectivesOf, type Objectives, type Severity, type SloConfig } from "../../src/config/slo";
import { RUNBOOK_EXAMPLE, type MonitoringConfig } from "../../src/config/monitoring";
import { durationSeconds } from "../../src/config/duration";
import type { ServicePlan } from "../service-definition";
import { appSelector, braces, num, percent, roughPercent } from "./promql";
import { edgeErrorRatio, edgeLatency } from "./queries";
import { rollbackTriggers } from "./triggers";

/** One alert, in our own terms; `renderRuleFile` turns it into a Prometheus alerting rule. */
export interface AlertDefinition {
  /** The alert's name (`alertname`), e.g. "ErrorBudgetBurn". */
  name: string;
  /** PromQL that returns a series while the alert should fire. */
  expr: string;
  /** How long the condition must hold before it fires. @default at once */
  for?: string;
  severity: Severity;
  /** The service definition's name, or "platform". */
  service: string;
  summary: string;
  description: string;
  /** The anchor of its runbook section in the README, e.g. "errorbudgetburn". */
  runbook: string;
  /** Labels beyond severity and service, e.g. a burn tier's windows. @default none */
  labels?: Record<string, string>;
}

export interface AlertGroup {
  name: string;
  /** How often vmalert evaluates it. @default sophia:monitoring.evaluationInterval */
  interval?: string;
  alerts: AlertDefinition[];
}

/** A service as the rules see it. */
export interface MonitoredService {
  name: string;
  app: string;
  reach: "public" | "private";
  /** Fly Proxy keeps a machine running (autostop off, or a minimum): none running is an outage. */
  alwaysRunning: boolean;
  hasVolume: boolean;
  checkIntervalSeconds: number;
  /** False for operators' tools: their P0 and P1 become P2. */
  mayPage: boolean;
  /** Its SLO; only public services on Fly have one. */
  objectives?: Objectives;
}

export interface RuleInput {
  slo: SloConfig;
  monitoring: Pick<MonitoringConfig, "evaluationInterval">;
  services: MonitoredService[];
  /** The GPU pool, when it has standing nodes: the app that reports their readiness. */
  gpu?: { standing: number; reporterApp: string };
}

/** The services of a plan as the rules see them. */
export function monitoredServices(config: Pick<StackConfig, "slo">, plan: ServicePlan): MonitoredService[] {
  return plan.fly.map(({ definition, spec }) => ({
    name: definition.name,
    app: spec.appName,
    reach: spec.reach,
    alwaysRunning: spec.autostop === "off" || spec.minMachines > 0,
    hasVolume: spec.volume !== undefined,
    checkIntervalSeconds: spec.healthCheck.intervalSeconds,
    mayPage: !definition.internal,
    objectives: spec.reach === "public" ? objectivesOf(config.slo, definition.name) : undefined,
  }));
}

/** Problems with sophia:slo that only the service definitions reveal. */
export function sloProblems(config: Pick<StackConfig, "slo">, plan: ServicePlan): string[] {
  return Object.keys(config.slo.services).flatMap((name) => {
    if (plan.vercelUi?.name === name) return [`sophia:slo.services.${name}: ${name} is served by Vercel here, where Fly's metrics cannot see it; remove its SLO or serve it from Fly`];
    const planned = plan.fly.find((p) => p.definition.name === name);
    if (planned && planned.spec.reach === "private") {
      return [`sophia:slo.services.${name}: ${name} is private (Flycast only); SLOs are measured at Fly's edge, which only public services have. Remove it`];
    }
    return [];
  });
}

/**
 * Problems with sophia:monitoring that no profile can settle: the runbook URL is the stack's own
 * (its repository's README), so a stack that runs the monitoring must give one.
 */
export function monitoringProblems(config: Pick<StackConfig, "monitoring">): string[] {
  const { enabled, runbookUrl } = config.monitoring;
  return enabled && runbookUrl === undefined ? [RUNBOOK_URL_MISSING] : [];
}

const RUNBOOK_URL_MISSING =
  "sophia:monitoring.runbookUrl is not set, and every alert links its runbook to it from Slack and PagerDuty. " +
  `Set it to the README as your repository serves it: pulumi config set --path sophia:monitoring.runbookUrl ${RUNBOOK_EXAMPLE}`;

const PAGING: readonly Severity[] = ["P0", "P1"];
/** Operators' tools never page: their most urgent alerts go to chat as P2. */
const severityFor = (service: Pick<MonitoredService, "mayPage">, severity: Severity): Severity =>
  !service.mayPage && PAGING.includes(severity) ? "P2" : severity;

/** Tiers whose long window is this long or longer are evaluated every 5 minutes: they change slowly. */
const SLOW_TIER_SECONDS = 86_400;
const SLOW_INTERVAL = "5m";

function burnRateAlerts(slo: SloConfig, service: MonitoredService, objectives: Objectives, slow: boolean): AlertDefinition[] {
  const budget = 1 - objectives.availability;
  const windowSeconds = durationSeconds(slo.window) ?? 1;
  return slo.burnRateAlerts
    .filter((tier) => ((durationSeconds(tier.longWindow) ?? 0) >= SLOW_TIER_SECONDS) === slow)
    .map((tier) => {
      const threshold = tier.burnRate * budget;
      const spent = (tier.burnRate * (durationSeconds(tier.longWindow) ?? 0)) / windowSeconds;
      return {
        name: "ErrorBudgetBurn",
        expr: `(${edgeErrorRatio(service.app, tier.longWindow)}) > ${num(threshold)} and (${edgeErrorRatio(service.app, tier.shortWindow)}) > ${num(threshold)}`,
        severity: severityFor(service, tier.severity),
        service: service.name,
        labels: { slo: "availability", long_window: tier.longWindow, short_window: tier.shortWindow },
        summary: `${service.name} is spending its error budget ${num(tier.burnRate)}× too fast`,
        description:
          `More than ${percent(threshold)} of ${service.name}'s responses at Fly's edge were 5xx over the last ${tier.longWindow} and the last ${tier.shortWindow}. ` +
          `Its objective is ${percent(objectives.availability)} over ${slo.window}; at this rate ${roughPercent(spent)} of the budget goes in ${tier.longWindow}.`,
        runbook: "errorbudgetburn",
      };
    });
}

function latencyAlerts(slo: SloConfig, service: MonitoredService, objectives: Objectives): AlertDefinition[] {
  const { longWindow, shortWindow, severity } = slo.latencyAlert;
  return objectives.latency.map((objective) => {
    const seconds = objective.thresholdMs / 1000;
    const p = `P${num(objective.quantile * 100)}`;
    return {
      name: "LatencyAboveObjective",
      expr: `${edgeLatency(service.app, objective.quantile, longWindow)} > ${num(seconds)} and ${edgeLatency(service.app, objective.quantile, shortWindow)} > ${num(seconds)}`,
      severity: severityFor(service, severity),
      service: service.name,
      labels: { slo: "latency", quantile: num(objective.quantile) },
      summary: `${service.name}'s ${p} latency is above ${num(objective.thresholdMs)} ms`,
      description:
        `${service.name}'s ${p} response time at Fly's edge (successful responses) was above its objective of ${num(objective.thresholdMs)} ms ` +
        `over the last ${longWindow} and the last ${shortWindow}, as estimated from Fly's latency histogram.`,
      runbook: "latencyaboveobjective",
    };
  });
}

function triggerAlerts(slo: SloConfig, service: MonitoredService): AlertDefinition[] {
  return rollbackTriggers(slo.rollback, service.checkIntervalSeconds).map((trigger) => ({
    name: trigger.alert,
    expr: trigger.breach(appSelector(service.app)),
    for: trigger.for,
    severity: severityFor(service, trigger.severity),
    service: service.name,
    labels: { trigger: trigger.kind },
    // A per-machine trigger fires once per machine; the notification names it (vmalert fills in the template).
    summary: `${service.name}${trigger.perMachine ? " machine {{ $labels.instance }}" : ""} breaches a rollback trigger: ${trigger.text}`,
    description:
      `Fly Proxy's view of ${service.name}'s machines shows ${trigger.text}. A release in progress would be rolled back; ` +
      `outside a release, look at what changed last.`,
    runbook: trigger.alert.toLowerCase(),
  }));
}

function infrastructureAlerts(slo: SloConfig, service: MonitoredService): AlertDefinition[] {
  const infra = slo.infrastructure;
  const alerts: AlertDefinition[] = [
    {
      name: "MachineOutOfMemory",
      expr: `max by (instance, region) (max_over_time(fly_instance_exit_oom${braces(appSelector(service.app))}[15m])) > 0`,
      severity: severityFor(service, infra.machineOutOfMemory.severity),
      service: service.name,
      summary: `A ${service.name} machine was killed for running out of memory`,
      description: `Fly reported an out-of-memory exit of a ${service.name} machine (${service.app}) in the last 15 minutes; it restarts, and it will again under the same load.`,
      runbook: "machineoutofmemory",
    },
  ];
  if (service.alwaysRunning) {
    alerts.push({
      name: "NoRunningMachine",
      expr: `absent(fly_instance_up${braces(appSelector(service.app))} == 1)`,
      for: infra.noRunningMachine.for,
      severity: severityFor(service, infra.noRunningMachine.severity),
      service: service.name,
      summary: `${service.name} has no machine running`,
      description: `No machine of ${service.name} (${service.app}) has reported to Fly's metrics for ${infra.noRunningMachine.for}, although Fly Proxy should keep at least one running.`,
      runbook: "norunningmachine",
    });
  }
  if (service.hasVolume) {
    const full = infra.volumeAlmostFull;
    alerts.push({
      name: "VolumeAlmostFull",
      expr: `max by (id) (fly_volume_used_pct${braces(appSelector(service.app))}) > ${num(full.abovePercent)}`,
      for: full.for,
      severity: severityFor(service, full.severity),
      service: service.name,
      summary: `A ${service.name} volume is more than ${num(full.abovePercent)}% full`,
      description: `A volume of ${service.name} (${service.app}) has been more than ${num(full.abovePercent)}% full for ${full.for}. Volumes grow but never shrink: raise sophia:services.${service.name}.volumeGb.`,
      runbook: "volumealmostfull",
    });
  }
  return alerts;
}

function gpuAlerts(slo: SloConfig, gpu: NonNullable<RuleInput["gpu"]>): AlertDefinition[] {
  const notReady = slo.infrastructure.gpuNodeNotReady;
  const ready = `sophia_gpu_nodes_ready${braces(appSelector(gpu.reporterApp), { label: "kind", op: "=", value: "standing" })}`;
  return [
    {
      name: "GpuStandingNodeNotReady",
      expr: `(max(${ready}) or vector(0)) < 1`,
      for: notReady.for,
      severity: notReady.severity,
      service: "platform",
      summary: "No standing GPU node is ready",
      description:
        `The pool has ${gpu.standing} standing GPU node${gpu.standing === 1 ? "" : "s"}, but ${gpu.reporterApp} has counted none ready (a heartbeat within the last minutes) ` +
        `for ${notReady.for}; GPU work waits for on-demand workers.`,
      runbook: "gpustandingnodenotready",
    },
  ];
}

/** The watchdog: always firing, so that a silence at the heartbeat receiver means the pipeline is dead. */
export const WATCHDOG: AlertDefinition = {
  name: "Watchdog",
  expr: "vector(1)",
  severity: "P3",
  service: "platform",
  summary: "The alerting pipeline is alive",
  description: "Always firing. Alertmanager sends it to the heartbeat receiver; when the heartbeats stop, vmalert, Alertmanager or Fly's metrics are down.",
  runbook: "watchdog",
};

/** Every alert group the stack evaluates; `extra` adds groups from other capabilities (e.g. backups). */
export function alertGroups(input: RuleInput, extra: readonly AlertGroup[] = []): AlertGroup[] {
  const { slo, services } = input;
  const withSlo = services.filter((s): s is MonitoredService & { objectives: Objectives } => s.objectives !== undefined);
  const groups: AlertGroup[] = [
    {
      name: "sophia-slo",
      alerts: withSlo.flatMap((s) => [...burnRateAlerts(slo, s, s.objectives, false), ...latencyAlerts(slo, s, s.objectives)]),
    },
    { name: "sophia-slo-slow-burn", interval: SLOW_INTERVAL, alerts: withSlo.flatMap((s) => burnRateAlerts(slo, s, s.objectives, true)) },
    // Release triggers guard the product's releases; the monitoring apps take no traffic to judge.
    { name: "sophia-rollback-triggers", alerts: services.filter((s) => s.mayPage).flatMap((s) => triggerAlerts(slo, s)) },
    {
      name: "sophia-infrastructure",
      alerts: [...services.flatMap((s) => infrastructureAlerts(slo, s)), ...(input.gpu && input.gpu.standing > 0 ? gpuAlerts(slo, input.gpu) : [])],
    },
    { name: "sophia-watchdog", alerts: [WATCHDOG] },
    ...extra,
  ];
  return groups.filter((g) => g.alerts.length > 0);
}

/** A duration of zero means "at once": the rule gets no `for`. */
const hasFor = (value: string | undefined): value is string => value !== undefined && durationSeconds(value) !== 0;

/** The rule file, in Prometheus's format: what vmalert loads, promtool checks and the plan writes. */
export function renderRuleFile(groups: readonly AlertGroup[], options: { evaluationInterval: string; runbookUrl?: string }): string {
  if (options.runbookUrl === undefined) throw new Error(RUNBOOK_URL_MISSING);
  const header = [
    "# Generated by the sophia Pulumi program from sophia:slo and the service definitions; do not edit.",
    "# vmalert evaluates it against Fly's managed Prometheus (components/observability/rules.ts).",
  ];
  const doc = {
    groups: groups.map((g) => ({
      name: g.name,
      interval: g.interval ?? options.evaluationInterval,
      rules: g.alerts.map((a) => ({
        alert: a.name,
        expr: a.expr,
        ...(hasFor(a.for) ? { for: a.for } : {}),
        labels: { severity: a.severity, service: a.service, ...a.labels },
        annotations: { summary: a.summary, description: a.description, runbook: `${options.runbookUrl}#${a.runbook}` },
      })),
    })),
  };
  return `${header.join("\n")}\n${stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
