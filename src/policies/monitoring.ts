/**
 * The monitoring promises in production: every public service has an SLO that the deployed rule
 * file evaluates, and every severity reaches someone. Read from what would be deployed: the rule
 * file on vmalert's machine, Alertmanager's machine, and the routing the stack's config generates.
 */
import { objectivesOf, SEVERITIES } from "../config/slo";
import { alertmanagerConfig, HEARTBEAT_RECEIVER, PLACEHOLDER_RECEIVERS, receiverName } from "../../components/observability/alertmanager";
import { ALERTMANAGER_CONFIG_PATH } from "../../components/observability/services";
import { alertsOf, deployedRuleFile } from "../estimate/monitoring";
import { byService, isProduction, isUnknown, ofType, TYPES } from "./inspect";
import type { PolicyResource, SophiaPolicy, Violation } from "./types";

const TURN_ON = "set sophia:monitoring.enabled to true (the enterprise profile's default)";

/** Public services: those with an address other than Flycast. */
function publicServices(resources: PolicyResource[]): { name: string; urn?: string }[] {
  return [...byService(resources)]
    .filter(([, inside]) => ofType(inside, TYPES.ip).some((ip) => ip.inputs.type !== "private_v6" && !isUnknown(ip.inputs.type)))
    .map(([name]) => ({ name, urn: resources.find((r) => r.type === TYPES.service && r.name === name)?.urn }));
}

/** Whether some machine's config is not known yet (a preview of something new): then nothing is judged. */
const machinesUnknown = (resources: PolicyResource[]) => ofType(resources, TYPES.machine).some((m) => isUnknown(m.inputs.config));

export const everyPublicServiceHasSlo: SophiaPolicy = {
  name: "prod-slo-every-public-service",
  description: "Every public service in production has an SLO, and the deployed rule file alerts on its error budget.",
  enforcement: (config) => (isProduction(config) ? "mandatory" : undefined),
  check({ resources, config }) {
    if (machinesUnknown(resources)) return [];
    const ruleFile = deployedRuleFile(resources);
    if (ruleFile === undefined) {
      return [
        {
          message:
            "No rule file is deployed (sophia:monitoring.enabled is false), so nothing evaluates the SLOs and nobody learns that a service is down " +
            `until a user says so. Fix: ${TURN_ON}.`,
        },
      ];
    }
    const burning = new Set(alertsOf(ruleFile).filter((a) => a.name === "ErrorBudgetBurn").map((a) => a.service));
    return publicServices(resources).flatMap(({ name, urn }): Violation[] => {
      if (!objectivesOf(config.slo, name)) {
        return [
          {
            urn,
            message:
              `The public service ${name} has no SLO, so no alert tells anyone it fails its users. ` +
              `Fix: give it objectives under sophia:slo.services.${name} (availability, latency), or set sophia:slo.objectives for every public service.`,
          },
        ];
      }
      if (!burning.has(name)) {
        return [{ urn, message: `The rule file vmalert gets has no ErrorBudgetBurn alert for ${name}, although it has an SLO; the program generates one, so the file was changed by hand.` }];
      }
      return [];
    });
  },
};

export const everySeverityRouted: SophiaPolicy = {
  name: "prod-every-severity-routed",
  description: "In production, Alertmanager runs and every severity (P0–P3) reaches at least one receiver; the watchdog reaches the heartbeat.",
  enforcement: (config) => (isProduction(config) ? "mandatory" : undefined),
  check({ resources, config }) {
    if (machinesUnknown(resources)) return [];
    const routed = ofType(resources, TYPES.machine).some((m) =>
      ((m.inputs.config as { files?: { guest_path?: string }[] } | undefined)?.files ?? []).some((f) => f.guest_path === ALERTMANAGER_CONFIG_PATH),
    );
    if (!routed) {
      return [{ message: `No Alertmanager is deployed, so no alert reaches anyone. Fix: ${TURN_ON}.` }];
    }
    const routing = alertmanagerConfig(config.monitoring, PLACEHOLDER_RECEIVERS) as {
      route: { routes: { receiver: string; matchers: string[] }[] };
      receivers: Record<string, unknown>[];
    };
    const integrations = (name: string) =>
      Object.entries(routing.receivers.find((r) => r.name === name) ?? {}).filter(([key, value]) => key.endsWith("_configs") && Array.isArray(value) && value.length > 0).length;
    const violations: Violation[] = SEVERITIES.flatMap((severity) => {
      const route = routing.route.routes.find((r) => r.matchers.includes(`severity="${severity}"`));
      if (route && route.receiver === receiverName(severity) && integrations(route.receiver) > 0) return [];
      return [
        {
          message:
            `${severity} alerts reach nobody: sophia:monitoring.escalation.${severity}.notify is empty. ` +
            `Fix: list who is told, e.g. notify: [pagerduty, slack] for a page or [slack] for chat.`,
        },
      ];
    });
    const watchdog = routing.route.routes.find((r) => r.matchers.includes('alertname="Watchdog"'));
    if (watchdog?.receiver !== HEARTBEAT_RECEIVER || integrations(HEARTBEAT_RECEIVER) === 0) {
      violations.push({ message: "The watchdog does not reach the heartbeat receiver, so a dead alerting pipeline would go unnoticed." });
    }
    return violations;
  },
};
