/** The GPU nodes' firewall never admits the world to SSH or to the worker port. */
import { describe, isUnknown, ofType, POLICY_TYPES } from "./inspect";
import type { SophiaPolicy, Violation } from "./types";

const SSH_PORT = 22;
/** A source range this wide (a /7 or wider, 33 million addresses or more) counts as the world. */
const WORLD_PREFIX_MAX = 7;

interface Rule {
  protocol?: string;
  portRange?: [number, number];
  sourceNetwork?: string;
}

/** The prefix length of a source network; a bare address is a /32. Undefined if it is not an IPv4 CIDR. */
function prefixLength(network: string): number | undefined {
  const match = /^\d{1,3}(\.\d{1,3}){3}(\/(\d{1,2}))?$/.exec(network);
  if (!match) return undefined;
  return match[3] === undefined ? 32 : Number(match[3]);
}

function opensPort(rule: Rule, port: number): boolean {
  if (rule.protocol === "all") return true;
  if (rule.protocol !== "tcp") return false;
  return rule.portRange === undefined || (rule.portRange[0] <= port && port <= rule.portRange[1]);
}

export const gpuFirewallClosed: SophiaPolicy = {
  name: "gpu-firewall-not-world-open",
  description: "The GPU firewall never opens SSH or the worker port to the whole internet.",
  enforcement: () => "mandatory",
  check({ resources, config }) {
    const ports = [
      { port: SSH_PORT, what: "SSH", key: "sshAllowedCidrs" },
      { port: config.gpu.workerPort, what: `the worker port ${config.gpu.workerPort}`, key: "workerSources" },
    ];
    return ofType(resources, POLICY_TYPES.lambdaFirewall).flatMap((ruleset): Violation[] => {
      const rules = ruleset.inputs.rules;
      if (!Array.isArray(rules)) return [];
      return (rules as Rule[]).flatMap((rule) => {
        if (isUnknown(rule) || typeof rule.sourceNetwork !== "string") return [];
        const prefix = prefixLength(rule.sourceNetwork);
        if (prefix === undefined || prefix > WORLD_PREFIX_MAX) return [];
        return ports
          .filter(({ port }) => opensPort(rule, port))
          .map(({ what, key }) => ({
            urn: ruleset.urn,
            message:
              `${describe(ruleset)} opens ${what} to ${rule.sourceNetwork}, which is the whole internet` +
              `${prefix === 0 ? "" : " or most of it"}. Fix: list only your own egress address in sophia:gpu.${key} ` +
              `(e.g. "203.0.113.7/32"), or leave it empty: the workers dial out to the API and need no inbound port.`,
          }));
      });
    });
  },
};
