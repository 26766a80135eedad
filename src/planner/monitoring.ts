/**
 * The plan's view of the monitoring: the SLOs, the alerts of the rule file the plan's vmalert
 * machine carries, and the two files the plan writes beside its JSON, `<stack>.rules.yml` (the
 * exact rule file) and `<stack>.alertmanager.yml` (the routing config with placeholders where
 * ESC supplies secrets, so that it still loads).
 */
import type { StackConfig } from "../stack-config";
import { objectivesOf, SEVERITIES } from "../config/slo";
import { PLACEHOLDER_RECEIVERS, renderAlertmanagerConfig } from "../../components/observability/alertmanager";
import { alertsOf, deployedRuleFile } from "../estimate/monitoring";
import type { MonitoringSummary, ServiceSummary } from "./document";

interface Placed {
  type: string;
  inputs: Record<string, unknown>;
}

/** The file names the plan writes for a stack. */
export const monitoringFileNames = (stack: string) => ({ rules: `${stack}.rules.yml`, alertmanager: `${stack}.alertmanager.yml` });

/** The rule file and the placeholder routing config, or undefined when the stack runs no monitoring. */
export function monitoringArtifacts(resources: readonly Placed[], config: StackConfig): { rules: string; alertmanager: string } | undefined {
  const rules = deployedRuleFile(resources);
  if (rules === undefined || !config.monitoring.enabled) return undefined;
  return { rules, alertmanager: renderAlertmanagerConfig(config.monitoring, PLACEHOLDER_RECEIVERS) };
}

export function summarizeMonitoring(
  stack: string,
  resources: readonly Placed[],
  services: readonly ServiceSummary[],
  config: StackConfig,
  outputs: Record<string, unknown>,
): MonitoringSummary {
  const publicServices = services.filter((s) => s.reach === "public").map((s) => s.name);
  const slos = publicServices.flatMap((service) => {
    const objectives = objectivesOf(config.slo, service);
    return objectives ? [{ service, availability: objectives.availability, latency: objectives.latency.map((l) => ({ ...l })) }] : [];
  });
  const artifacts = monitoringArtifacts(resources, config);
  return {
    enabled: config.monitoring.enabled,
    sloWindow: config.slo.window,
    slos,
    withoutSlo: publicServices.filter((s) => !slos.some((o) => o.service === s)),
    escalation: SEVERITIES.map((severity) => ({
      severity,
      notify: [...config.monitoring.escalation[severity].notify],
      respondWithin: config.monitoring.escalation[severity].respondWithin,
    })),
    alerts: artifacts ? alertsOf(artifacts.rules).map(({ name, severity, service, labels }) => ({ name, severity, service, labels })) : [],
    files: artifacts ? monitoringFileNames(stack) : null,
    grafanaUrl: typeof outputs.grafanaUrl === "string" ? outputs.grafanaUrl : null,
  };
}
