/**
 * FlyIpAddress: an address allocated to an app: shared IPv4, dedicated IPv4, IPv6, or a private
 * Flycast IPv6. Nothing about an address changes in place; it is released on delete.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { APP_NAME, REGION, changedKeys, compact, connectionOf, flyClient, validate } from "./common";
import { withSecretOutputs, type FlyConnectionArgs } from "./args";
import { type FlyConnectionInputs } from "../api/connection";
import { IP_TYPES, type FlyIpInfo, type FlyIpType } from "../api/schemas";
import { explainingFailures } from "../../dynamic/errors";

export type { FlyIpType } from "../api/schemas";

export interface FlyIpAddressArgs extends FlyConnectionArgs {
  /** App the address belongs to. Changing it replaces the address. */
  app: pulumi.Input<string>;
  /** "shared_v4" (free), "v4" (dedicated, billed), "v6", or "private_v6" (Flycast). Changing it replaces the address. */
  type: pulumi.Input<FlyIpType>;
  /** Region for a regional address. @default global (anycast) */
  region?: pulumi.Input<string>;
  /** Private network for a Flycast (private_v6) address. @default the org's default network */
  network?: pulumi.Input<string>;
}

export interface FlyIpAddressInputs extends FlyConnectionInputs {
  app: string;
  type: FlyIpType;
  region?: string;
  network?: string;
}

export interface FlyIpAddressOutputs extends FlyIpAddressInputs {
  address: string;
  shared?: boolean;
}

const REPLACE_KEYS = ["app", "type", "region", "network"] as const;

function inputSchema() {
  return z
    .object({
      app: z.string().regex(APP_NAME, "app must be a Fly app name"),
      type: z.enum(IP_TYPES, { error: `type must be one of ${IP_TYPES.join(", ")}` }),
      region: z.string().regex(REGION, 'region must be a Fly region code such as "sjc"').optional(),
      network: z.string().min(1).optional(),
      apiToken: z.string().optional(),
      apiUrl: z.string().optional(),
    })
    .refine((v) => v.network === undefined || v.type === "private_v6", {
      message: "network applies only to private_v6 (Flycast) addresses",
      path: ["network"],
    });
}

export const flyIpAddressProvider = explainingFailures({
  async check(_olds: Partial<FlyIpAddressInputs>, news: FlyIpAddressInputs) {
    const { failures } = validate(inputSchema(), news);
    return { inputs: news, failures };
  },

  async diff(_id: string, olds: FlyIpAddressOutputs, news: FlyIpAddressInputs) {
    const replaces = changedKeys(olds, news, REPLACE_KEYS);
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: FlyIpAddressInputs) {
    const client = flyClient(inputs, `FlyIpAddress ${inputs.type} for app "${inputs.app}"`);
    // An address has no name or marker: its identity is its app, type and region. An app of ours
    // holds one address of each (the service wiring asks for no more), so one already there is
    // what an interrupted or unanswered allocation left, and is adopted.
    const leftover = async () => (await client.listIps(inputs.app)).find((ip) => ipType(ip) === inputs.type && (ip.region ?? "global") === (inputs.region ?? "global"));
    const ip =
      (await leftover()) ??
      (await client.assignIp(inputs.app, compact({ type: inputs.type, region: inputs.region, network: inputs.network }), leftover));
    return { id: ip.ip, outs: ipOutputs(inputs, ip) };
  },

  async read(id: string, props: FlyIpAddressOutputs) {
    const client = flyClient(props, `FlyIpAddress ${id}`);
    const app = await client.getApp(props.app);
    if (!app) return {};
    const ip = (await client.listIps(props.app)).find((i) => i.ip === id);
    if (!ip) return {};
    return { id, props: ipOutputs(props, ip) };
  },

  async update(_id: string, olds: FlyIpAddressOutputs, news: FlyIpAddressInputs) {
    // Only connection settings reach here; everything else replaces.
    return { outs: { ...olds, ...connectionOf(news) } };
  },

  async delete(id: string, props: FlyIpAddressOutputs) {
    // 404 (address or app already gone) counts as released.
    await flyClient(props, `FlyIpAddress ${id}`).releaseIp(props.app, id);
  },
});

function ipOutputs(inputs: FlyIpAddressInputs, ip: FlyIpInfo): FlyIpAddressOutputs {
  return compact({
    ...connectionOf(inputs),
    app: inputs.app,
    type: typeOf(ip, inputs.type),
    region: inputs.region,
    network: inputs.network,
    address: ip.ip,
    shared: ip.shared ?? undefined,
  });
}

/** Fly's IP assignment has no type field; the address itself tells. */
function typeOf(ip: FlyIpInfo, fallback: FlyIpType): FlyIpType {
  if (ip.ip.includes(".")) return ip.shared ? "shared_v4" : "v4";
  if (/^fdaa:/i.test(ip.ip)) return "private_v6";
  if (ip.ip.includes(":")) return "v6";
  return fallback;
}

/** An IP address of a Fly app. `pulumi-nodejs:dynamic/fly:IpAddress`. */
export class FlyIpAddress extends pulumi.dynamic.Resource {
  declare readonly address: pulumi.Output<string>;
  declare readonly type: pulumi.Output<FlyIpType>;
  declare readonly shared: pulumi.Output<boolean | undefined>;

  constructor(name: string, args: FlyIpAddressArgs, opts?: pulumi.CustomResourceOptions) {
    super(flyIpAddressProvider, name, { ...args, address: undefined, shared: undefined }, withSecretOutputs(opts), "fly", "IpAddress");
  }
}

/** The type of a listed address, which the list does not name: shared, private (fdaa::/16), v6 or v4. */
function ipType(ip: FlyIpInfo): FlyIpType {
  if (ip.shared) return "shared_v4";
  if (ip.ip.includes(":")) return ip.ip.toLowerCase().startsWith("fdaa:") ? "private_v6" : "v6";
  return "v4";
}
