/**
 * LambdaFirewallRuleset: the inbound rules attached to instances at launch. A ruleset is an
 * allow-list, so everything it does not list is denied. Name and rules update in place
 * (PATCH /firewall-rulesets/{id}); the API cannot move a ruleset, so a region change replaces it.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  accessOf,
  Checker,
  configureFromStack,
  diffProps,
  containsUnknown,
  withClient,
  sameValue,
  withSecretOutputs,
  type LambdaAccess,
  type LambdaAccessArgs,
} from "./common";
import { notOursError } from "../../dynamic/identity";
import { LAMBDA_REGIONS, NETWORK_PROTOCOLS, type FirewallRule, type FirewallRuleset, type NetworkProtocol } from "../api/schemas";
import { explainingFailures } from "../../dynamic/errors";

export interface FirewallRuleArgs {
  /** `tcp`, `udp`, `icmp` or `all`. */
  protocol: NetworkProtocol;
  /** Inclusive `[first, last]` ports; one port is `[22, 22]`. Required except for `icmp`, where it is not allowed. */
  portRange?: [number, number];
  /** Public IPv4 CIDR that may connect, e.g. `203.0.113.7/32`; a bare address means /32. */
  sourceNetwork: string;
  /** Why the rule exists (shown in the dashboard), at most 128 characters. */
  description: string;
}

export interface LambdaFirewallRulesetArgs extends LambdaAccessArgs {
  /** Ruleset name. Updated in place. */
  name: pulumi.Input<string>;
  /** Lambda region; must match the instances it is attached to. Changing it replaces the ruleset. */
  region: pulumi.Input<string>;
  /** The only inbound traffic admitted. Updated in place. */
  rules: pulumi.Input<pulumi.Input<FirewallRuleArgs>[]>;
}

export interface FirewallRulesetInputs extends LambdaAccess {
  name: string;
  region: string;
  rules: FirewallRuleArgs[];
}

export interface FirewallRulesetOutputs extends FirewallRulesetInputs {
  /** Instances the ruleset is attached to. */
  instanceIds: string[];
}

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(\/(\d{1,2}))?$/;

function validCidr(value: string): boolean {
  const match = IPV4_CIDR.exec(value);
  if (!match) return false;
  const octetsOk = match.slice(1, 5).every((octet) => Number(octet) <= 255);
  return octetsOk && (match[6] === undefined || Number(match[6]) <= 32);
}

/** The API assumes /32 for a bare address; writing it out keeps read and inputs equal. */
function normalizeRule(rule: FirewallRuleArgs): FirewallRuleArgs {
  if (containsUnknown(rule) || typeof rule.sourceNetwork !== "string" || rule.sourceNetwork.includes("/")) return rule;
  return { ...rule, sourceNetwork: `${rule.sourceNetwork}/32` };
}

export function toApiRule(rule: FirewallRuleArgs): FirewallRule {
  const api: FirewallRule = { protocol: rule.protocol, source_network: rule.sourceNetwork, description: rule.description };
  if (rule.portRange) api.port_range = [rule.portRange[0], rule.portRange[1]];
  return api;
}

function fromApiRule(rule: FirewallRule): FirewallRuleArgs {
  const out: FirewallRuleArgs = { protocol: rule.protocol, sourceNetwork: rule.source_network, description: rule.description };
  if (rule.port_range) out.portRange = [rule.port_range[0], rule.port_range[1]];
  return out;
}

function observed(ruleset: FirewallRuleset): Omit<FirewallRulesetOutputs, keyof LambdaAccess> {
  return {
    name: ruleset.name,
    region: ruleset.region.name,
    rules: ruleset.rules.map(fromApiRule),
    instanceIds: ruleset.instance_ids,
  };
}

function checkRule(checker: Checker, index: number, rule: FirewallRuleArgs): void {
  const at = `rules[${index}]`;
  if (containsUnknown(rule)) return;
  if (typeof rule !== "object" || rule === null) {
    checker.check(at, rule, false, `${at} must be an object with protocol, portRange, sourceNetwork and description.`);
    return;
  }
  checker.oneOf(`${at}.protocol`, rule.protocol, NETWORK_PROTOCOLS, "protocol");
  const range = rule.portRange;
  if (rule.protocol === "icmp") {
    checker.check(`${at}.portRange`, range, range === undefined, `${at}: icmp rules take no portRange; remove it.`);
  } else {
    checker.check(
      `${at}.portRange`,
      range,
      () =>
        Array.isArray(range) &&
        range.length === 2 &&
        range.every((port) => Number.isInteger(port) && port >= 1 && port <= 65535) &&
        range[0] <= range[1],
      `${at}.portRange must be [first, last] with 1 <= first <= last <= 65535 (one port is [22, 22]); it is required for ${String(rule.protocol)}.`,
    );
  }
  checker.check(`${at}.sourceNetwork`, rule.sourceNetwork, () => typeof rule.sourceNetwork === "string" && validCidr(rule.sourceNetwork),
    `${at}.sourceNetwork must be an IPv4 address or CIDR such as 203.0.113.7/32 or 0.0.0.0/0.`);
  checker.check(`${at}.description`, rule.description, () => typeof rule.description === "string" && rule.description.length <= 128,
    `${at}.description is required, at most 128 characters.`);
}

export const lambdaFirewallRulesetProvider: pulumi.dynamic.ResourceProvider<FirewallRulesetInputs, FirewallRulesetOutputs> = explainingFailures({
  configure: configureFromStack,

  async check(_olds, news) {
    const checker = new Checker();
    checker.requiredString("name", news.name, 64);
    checker.oneOf("region", news.region, LAMBDA_REGIONS, "Lambda region");
    if (!containsUnknown(news.rules)) {
      if (!Array.isArray(news.rules)) {
        checker.check("rules", news.rules, false, "rules must be a list (an empty list denies all inbound traffic).");
      } else {
        news.rules.forEach((rule, index) => checkRule(checker, index, rule));
      }
    }
    const inputs = Array.isArray(news.rules) ? { ...news, rules: news.rules.map(normalizeRule) } : news;
    return { inputs, failures: checker.failures };
  },

  async diff(_id, olds, news) {
    const { changed, replaces } = diffProps(olds, news, { replace: ["region"], update: ["name", "rules"] });
    return { changes: changed.length > 0, replaces };
  },

  async create(inputs) {
    const rules = inputs.rules.map(toApiRule);
    const ruleset = await withClient(accessOf(inputs), async (client) => {
      // Rulesets carry no marker. One with our name in our region that no instance uses is what an
      // interrupted or unanswered create leaves: adopt it, with our rules.
      const leftover = async (): Promise<FirewallRuleset | undefined> => {
        const named = (await client.listFirewallRulesets()).filter((r) => r.name === inputs.name && r.region.name === inputs.region);
        const free = named.find((r) => r.instance_ids.length === 0);
        if (free || named.length === 0) return free;
        throw notOursError(
          `create firewall ruleset "${inputs.name}" in ${inputs.region}: a ruleset with this name (${named[0]?.id})`,
          `instances this stack did not launch use it (${named[0]?.instance_ids.join(", ")})`,
          { rename: "change the pool's name prefix", remove: "delete it in the Lambda Cloud dashboard under Firewall, after its instances" },
        );
      };
      const found = await leftover();
      if (!found) return client.createFirewallRuleset(inputs.name, inputs.region, rules, leftover);
      return sameValue(found.rules, rules) ? found : client.updateFirewallRuleset(found.id, { rules });
    });
    return { id: ruleset.id, outs: { ...accessOf(inputs), ...observed(ruleset) } };
  },

  async read(id, props) {
    const stored = props ?? ({ name: "", region: "", rules: [], instanceIds: [] } as FirewallRulesetOutputs);
    const ruleset = await withClient(accessOf(stored), (client) => client.getFirewallRuleset(id), true);
    if (!ruleset) return {};
    return { id, props: { ...stored, ...observed(ruleset) } };
  },

  async update(id, _olds, news) {
    const ruleset = await withClient(accessOf(news), (client) =>
      client.updateFirewallRuleset(id, { name: news.name, rules: news.rules.map(toApiRule) }),
    );
    return { outs: { ...accessOf(news), ...observed(ruleset) } };
  },

  async delete(id, props) {
    await withClient(accessOf(props), (client) => client.deleteFirewallRuleset(id), true);
  },
});

export class LambdaFirewallRuleset extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly region: pulumi.Output<string>;
  declare readonly rules: pulumi.Output<FirewallRuleArgs[]>;
  declare readonly instanceIds: pulumi.Output<string[]>;

  constructor(name: string, args: LambdaFirewallRulesetArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      lambdaFirewallRulesetProvider,
      name,
      { ...args, instanceIds: undefined },
      withSecretOutputs(opts, ["apiKey"]),
      "lambda",
      "FirewallRuleset",
    );
  }
}
