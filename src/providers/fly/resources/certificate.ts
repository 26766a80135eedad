/**
 * FlyCertificate: an ACME certificate for a hostname served by a Fly app. Its DNS requirements
 * come out shaped for the edge to turn into DNS records, so issuance needs no manual step.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ApiError } from "../../http";
import { APP_NAME, changedKeys, compact, connectionOf, flyClient, validate } from "./common";
import { withSecretOutputs, type FlyConnectionArgs } from "./args";
import { type FlyConnectionInputs } from "../api/connection";
import type { FlyCertificateInfo } from "../api/schemas";
import { explainingFailures } from "../../dynamic/errors";

export interface FlyCertificateArgs extends FlyConnectionArgs {
  /** App that serves the hostname. Changing it replaces the certificate. */
  app: pulumi.Input<string>;
  /** Fully qualified hostname, e.g. "api.example.com". Changing it replaces the certificate. */
  hostname: pulumi.Input<string>;
}

export interface FlyCertificateInputs extends FlyConnectionInputs {
  app: string;
  hostname: string;
}

/** What DNS must say for the hostname to reach the app and for ACME validation to succeed. */
export interface FlyDnsRequirements {
  /** IPv4 addresses for A records (apex or subdomain); empty until the app has an IPv4. */
  a: string[];
  /** IPv6 addresses for AAAA records; empty until the app has a public IPv6. */
  aaaa: string[];
  /** CNAME target, the usual choice for a subdomain, e.g. "my-app.fly.dev". */
  cname: string;
  /** DNS-01 challenge: a CNAME from `name` to `target`. */
  acmeChallenge: { name: string; target: string };
  /** TXT record proving ownership when A/AAAA point elsewhere (e.g. behind another proxy). */
  ownership?: { name: string; appValue?: string; orgValue?: string };
}

/** One record to create, with a fully qualified name. */
export interface FlyDnsRecord {
  type: "A" | "AAAA" | "CNAME";
  name: string;
  value: string;
}

export interface FlyCertificateOutputs extends FlyCertificateInputs {
  status?: string;
  configured: boolean;
  dnsRequirements: FlyDnsRequirements;
  /** A/AAAA for the hostname plus the ACME challenge CNAME: the records the edge should create. */
  dnsRecords: FlyDnsRecord[];
}

const HOSTNAME = /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

function inputSchema() {
  return z.object({
    app: z.string().regex(APP_NAME, "app must be a Fly app name"),
    hostname: z
      .string()
      .regex(HOSTNAME, 'hostname must be a lowercase fully qualified domain name such as "api.example.com"')
      .refine((h) => !h.endsWith(".fly.dev"), "fly.dev hostnames are already covered by Fly's own certificate"),
    apiToken: z.string().optional(),
    apiUrl: z.string().optional(),
  });
}

export const flyCertificateProvider = explainingFailures({
  async check(_olds: Partial<FlyCertificateInputs>, news: FlyCertificateInputs) {
    const { failures } = validate(inputSchema(), news);
    return { inputs: news, failures };
  },

  async diff(_id: string, olds: FlyCertificateOutputs, news: FlyCertificateInputs) {
    const replaces = changedKeys(olds, news, ["app", "hostname"] as const);
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: FlyCertificateInputs) {
    const client = flyClient(inputs, `FlyCertificate ${inputs.hostname}`);
    // A hostname has one certificate per app: one already there (an interrupted run's) is adopted.
    let cert: FlyCertificateInfo | undefined = await client.getCertificate(inputs.app, inputs.hostname);
    try {
      cert ??= await client.requestAcmeCertificate(inputs.app, inputs.hostname);
    } catch (err) {
      if (err instanceof ApiError && err.status === 422 && /another app|already/i.test(err.apiMessage ?? "")) {
        throw new Error(
          `request ACME certificate for ${inputs.hostname} in app "${inputs.app}": ${err.apiMessage}. ` +
            "Remove the hostname from the other app first (fly certs remove), or use another hostname.",
        );
      }
      throw err;
    }
    return { id: inputs.hostname, outs: certificateOutputs(inputs, cert) };
  },

  async read(id: string, props: FlyCertificateOutputs) {
    const cert = await flyClient(props, `FlyCertificate ${id}`).getCertificate(props.app, id);
    if (!cert) return {};
    return { id, props: certificateOutputs(props, cert, props.dnsRequirements) };
  },

  async update(_id: string, olds: FlyCertificateOutputs, news: FlyCertificateInputs) {
    // Only connection settings reach here; everything else replaces.
    return { outs: { ...olds, ...connectionOf(news) } };
  },

  async delete(id: string, props: FlyCertificateOutputs) {
    await flyClient(props, `FlyCertificate ${id}`).deleteCertificate(props.app, id);
  },
});

function certificateOutputs(inputs: FlyCertificateInputs, cert: FlyCertificateInfo, previous?: FlyDnsRequirements): FlyCertificateOutputs {
  const req = cert.dns_requirements;
  const challenge = req?.acme_challenge;
  const acmeChallenge =
    challenge?.name && challenge.target ? { name: challenge.name, target: challenge.target } : previous?.acmeChallenge;
  if (!acmeChallenge) {
    throw new Error(
      `request ACME certificate for ${cert.hostname} in app "${inputs.app}": Fly returned no ACME challenge to publish. ` +
        "Check the certificate with `fly certs show` and run the command again.",
    );
  }
  const dnsRequirements: FlyDnsRequirements = compact({
    a: req?.a ?? [],
    aaaa: req?.aaaa ?? [],
    // Fly's documented CNAME target, should an older API omit it.
    cname: req?.cname ?? `${inputs.app}.fly.dev`,
    acmeChallenge,
    ownership: req?.ownership?.name
      ? compact({ name: req.ownership.name, appValue: req.ownership.app_value ?? undefined, orgValue: req.ownership.org_value ?? undefined })
      : undefined,
  });
  return compact({
    ...connectionOf(inputs),
    app: inputs.app,
    hostname: cert.hostname,
    status: cert.status ?? undefined,
    configured: cert.configured ?? false,
    dnsRequirements,
    dnsRecords: dnsRecordsFor(cert.hostname, dnsRequirements),
  });
}

/** A/AAAA work for apex and subdomains alike, so they are preferred over the CNAME. */
export function dnsRecordsFor(hostname: string, req: FlyDnsRequirements): FlyDnsRecord[] {
  const records: FlyDnsRecord[] = [
    ...req.a.map((value) => ({ type: "A" as const, name: hostname, value })),
    ...req.aaaa.map((value) => ({ type: "AAAA" as const, name: hostname, value })),
  ];
  if (records.length === 0) records.push({ type: "CNAME", name: hostname, value: req.cname });
  records.push({ type: "CNAME", name: req.acmeChallenge.name, value: req.acmeChallenge.target });
  return records;
}

/** An ACME certificate of a Fly app. `pulumi-nodejs:dynamic/fly:Certificate`. */
export class FlyCertificate extends pulumi.dynamic.Resource {
  declare readonly hostname: pulumi.Output<string>;
  declare readonly status: pulumi.Output<string | undefined>;
  declare readonly configured: pulumi.Output<boolean>;
  declare readonly dnsRequirements: pulumi.Output<FlyDnsRequirements>;
  declare readonly dnsRecords: pulumi.Output<FlyDnsRecord[]>;

  constructor(name: string, args: FlyCertificateArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = { status: undefined, configured: undefined, dnsRequirements: undefined, dnsRecords: undefined };
    super(flyCertificateProvider, name, { ...args, ...outputs }, withSecretOutputs(opts), "fly", "Certificate");
  }
}
