/** The availability promises: public prod services never drop below two running machines, and every machine is health-checked. */
import { INTERNAL_KEY } from "../../components/fly-service";
import { serviceOwner, type MachineInputs } from "../estimate/resources";
import { byService, describe, isProduction, isUnknown, ofType, TYPES } from "./inspect";
import type { PolicyResource, SophiaPolicy, Violation } from "./types";

/** The fewest machines a public prod service keeps running in the primary region. */
export const MIN_RUNNING_PUBLIC = 2;

interface MachineConfig {
  services?: { autostop?: string | boolean; min_machines_running?: number; checks?: unknown[] }[];
  checks?: Record<string, unknown>;
  metadata?: Record<string, string>;
}


/** The machine's config, or undefined while the engine does not know it yet. */
function configOf(machine: PolicyResource): MachineConfig | undefined {
  const config = (machine.inputs as { config?: unknown }).config;
  return config === undefined || isUnknown(config) || typeof config !== "object" || config === null ? undefined : (config as MachineConfig);
}

export const publicServicesKeepRunning: SophiaPolicy = {
  name: "prod-public-services-two-running",
  description: `Every public service in production keeps at least ${MIN_RUNNING_PUBLIC} machines running in the primary region (operators' tools such as Grafana excepted).`,
  enforcement: (config) => (isProduction(config) ? "mandatory" : undefined),
  check({ resources, config }) {
    const violations: Violation[] = [];
    for (const [service, inside] of byService(resources)) {
      const isPublic = ofType(inside, TYPES.ip).some((ip) => ip.inputs.type !== "private_v6" && !isUnknown(ip.inputs.type));
      if (!isPublic) continue;
      const machines = ofType(inside, TYPES.machine).filter((m) => (m.inputs as MachineInputs).region === config.primaryRegion);
      const configs = machines.map(configOf);
      if (configs.some((c) => c === undefined)) continue; // not known until the machines exist
      // An operators' tool (Grafana) serves the team, not the users; one machine keeps its sessions.
      if (configs.length > 0 && configs.every((c) => c?.metadata?.[INTERNAL_KEY] === "true")) continue;
      const proxy = configs[0]?.services?.[0];
      // Fly Proxy never stops a machine whose autostop is off; otherwise it keeps min_machines_running.
      const alwaysOn = proxy?.autostop === "off" || proxy?.autostop === false;
      const running = alwaysOn ? machines.length : Math.min(proxy?.min_machines_running ?? 0, machines.length);
      if (running >= MIN_RUNNING_PUBLIC) continue;
      const component = resources.find((r) => r.type === TYPES.service && r.name === service);
      violations.push({
        urn: component?.urn ?? machines[0]?.urn,
        message:
          `The public service ${service} keeps ${running} machine${running === 1 ? "" : "s"} running in the primary region ` +
          `${config.primaryRegion} (${machines.length} created there, min_machines_running ${proxy?.min_machines_running ?? 0}); ` +
          `production needs at least ${MIN_RUNNING_PUBLIC}, so that one failure or release does not take it down. ` +
          `Fix: set sophia:services.${service}.minMachines to ${MIN_RUNNING_PUBLIC} or more (and maxMachines at least as many).`,
      });
    }
    return violations;
  },
};

export const healthChecked: SophiaPolicy = {
  name: "every-service-health-checked",
  description: "Every Fly machine has a health check, and Fly Proxy routes to it only while that check passes.",
  enforcement: () => "mandatory",
  check({ resources }) {
    const serviceOf = serviceOwner(resources);
    return ofType(resources, TYPES.machine).flatMap((machine): Violation[] => {
      const config = configOf(machine);
      if (config === undefined) return [];
      const machineCheck = config.checks !== undefined && Object.keys(config.checks).length > 0;
      const proxyCheck = (config.services ?? []).length === 0 || (config.services ?? []).some((s) => (s.checks ?? []).length > 0);
      if (machineCheck && proxyCheck) return [];
      const where = [!machineCheck ? "in its config.checks" : undefined, !proxyCheck ? "on its proxy service (services[].checks)" : undefined]
        .filter(Boolean)
        .join(" and ");
      const service = serviceOf(machine);
      return [
        {
          urn: machine.urn,
          message:
            `${describe(machine)} has no health check ${where}, so a broken release would keep taking traffic. ` +
            `Fix: give it an HTTP health check ${where}` +
            (service ? ` (FlyService builds both from sophia:services.${service}.healthCheck).` : "."),
        },
      ];
    });
  },
};
