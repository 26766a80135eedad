/**
 * Edge: the Vercel project for the agent UI (when the profile serves it there), its domains and
 * environment variables, and for every hostname served by Fly a Fly ACME certificate whose DNS
 * requirements become Vercel DNS records, so HTTPS on the custom domain needs no manual step.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as vercel from "@pulumiverse/vercel";
import type { EdgeConfig } from "../src/config/schema";
import { FlyCertificate } from "../src/providers/fly";

/** A public service on Fly that may get custom hostnames. */
export interface FlyEndpoint {
  appName: pulumi.Input<string>;
  /** Its public URL (see publicUrl in platform-services.ts). */
  url: string;
  /**
   * What a certificate for the app waits for: the app and its IPs, not the machines, so that a first
   * deployment issues certificates while the fleet starts.
   */
  dependsOn: pulumi.Resource[];
}

/** The UI service when Vercel serves it. */
export interface VercelUi {
  /** Its service name: its hostnames are `sophia:edge.hostnames.<service>`. */
  service: string;
  /** Plain environment variables, e.g. the public URLs it calls. */
  env: Record<string, pulumi.Input<string>>;
  /** Secret environment variables, for production only and always `sensitive`; previews get a generated value of their own. */
  secrets: Record<string, pulumi.Input<string>>;
}

export interface EdgeArgs {
  edge: EdgeConfig;
  /** Public services on Fly, by service name; each may have custom hostnames. */
  fly: Record<string, FlyEndpoint>;
  /** The UI, when Vercel serves it. @default none */
  vercelUi?: VercelUi;
  flyApiToken: pulumi.Input<string>;
  flyApiUrl?: string;
}

/** Whether the edge creates anything in Vercel (and so needs the Vercel token). */
export function usesVercel(edge: EdgeConfig): boolean {
  return edge.uiHost === "vercel" || edge.customDomain;
}

/** A DNS record as Vercel DNS wants it: `name` relative to the domain, "" for the apex. */
export function relativeName(hostname: string, domain: string): string {
  return hostname === domain ? "" : hostname.slice(0, -(domain.length + 1));
}

export const EDGE_TYPE = "sophia:edge:Edge";

export class Edge extends pulumi.ComponentResource {
  /** Public URL per service: the first custom hostname, the Vercel URL, or `<app>.fly.dev`. */
  readonly urls: Record<string, pulumi.Output<string>> = {};

  constructor(name: string, args: EdgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super(EDGE_TYPE, name, {}, opts);
    const { edge } = args;
    const teamId = edge.vercelTeam;

    if (args.vercelUi) this.createVercelUi(name, edge, args.vercelUi, teamId);

    for (const [service, endpoint] of Object.entries(args.fly)) {
      const hostnames = edge.customDomain ? (edge.hostnames[service] ?? []) : [];
      this.urls[service] = pulumi.output(endpoint.url);
      for (const hostname of hostnames) this.pointAtFly(name, hostname, endpoint, args, teamId);
    }
    this.registerOutputs({ urls: this.urls });
  }

  private createVercelUi(name: string, edge: EdgeConfig, ui: VercelUi, teamId: string | undefined): void {
    const repo = edge.vercelProject.repo;
    // The config schema rejects a Vercel UI without a repository; this guards direct use.
    if (repo === undefined) throw new Error(`sophia:edge.vercelProject.repo is required when uiHost is "vercel"`);
    const project = new vercel.Project(
      `${name}-ui`,
      {
        name: edge.vercelProject.name,
        framework: edge.vercelProject.framework,
        gitRepository: { type: edge.vercelProject.repoType, repo },
        rootDirectory: edge.vercelProject.rootDirectory,
        teamId,
      },
      { parent: this },
    );
    const hostnames = edge.customDomain ? (edge.hostnames[ui.service] ?? []) : [];
    // Vercel DNS answers for a project's domains itself once the domain is delegated; no records needed.
    hostnames.forEach((domain) => new vercel.ProjectDomain(`${name}-ui-domain-${domain}`, { projectId: project.id, domain, teamId }, { parent: this }));
    this.urls[ui.service] = hostnames.length > 0 ? pulumi.output(`https://${hostnames[0]}`) : pulumi.output(`https://${edge.vercelProject.name}.vercel.app`);

    const sensitive = edge.vercelProject.publicEnvSensitive;
    for (const [key, value] of Object.entries(ui.env)) {
      new vercel.ProjectEnvironmentVariable(
        `${name}-ui-env-${key}`,
        { projectId: project.id, key, value, targets: ["production", "preview"], sensitive, teamId },
        { parent: this },
      );
    }
    // A preview builds any branch's code, so it never sees a production secret: it gets its own.
    for (const [key, value] of Object.entries(ui.secrets)) {
      new vercel.ProjectEnvironmentVariable(
        `${name}-ui-env-${key}`,
        { projectId: project.id, key, value: pulumi.secret(value), targets: ["production"], sensitive: true, teamId },
        { parent: this },
      );
      const previewValue = new random.RandomPassword(`${name}-ui-preview-${key}`, { length: 40, special: false }, { parent: this }).result;
      new vercel.ProjectEnvironmentVariable(
        `${name}-ui-env-${key}-preview`,
        { projectId: project.id, key, value: previewValue, targets: ["preview"], sensitive: true, teamId },
        { parent: this },
      );
    }
  }

  /** A Fly certificate for the hostname, and the records it asks for. */
  private pointAtFly(name: string, hostname: string, endpoint: FlyEndpoint, args: EdgeArgs, teamId: string | undefined): void {
    const { edge } = args;
    const certificate = new FlyCertificate(
      `${name}-cert-${hostname}`,
      { app: endpoint.appName, hostname, apiToken: args.flyApiToken, apiUrl: args.flyApiUrl },
      { parent: this, dependsOn: endpoint.dependsOn },
    );
    const requirements = certificate.dnsRequirements;
    const record = (suffix: string, type: string, recordName: string, value: pulumi.Input<string>) =>
      new vercel.DnsRecord(
        `${name}-dns-${hostname}-${suffix}`,
        { domain: edge.domain, name: recordName, type, value, ttl: edge.dnsTtl, teamId, comment: "managed by sophia (pulumi)" },
        { parent: this },
      );
    const relative = relativeName(hostname, edge.domain);
    if (relative === "") {
      // The apex cannot be a CNAME, so it gets Fly's addresses.
      record("a", "A", "", requirements.apply((r) => r.a[0]));
      record("aaaa", "AAAA", "", requirements.apply((r) => r.aaaa[0]));
    } else {
      record("cname", "CNAME", relative, pulumi.all([requirements, endpoint.appName]).apply(([r, app]) => r.cname ?? `${app}.fly.dev`));
    }
    const acmeTarget = requirements.apply((r) => {
      if (!r.acmeChallenge) throw new Error(`Fly reported no ACME challenge for ${hostname}; run \`pulumi refresh\` and retry, or check the certificate in the Fly dashboard`);
      return r.acmeChallenge.target;
    });
    record("acme", "CNAME", relativeName(`_acme-challenge.${hostname}`, edge.domain), acmeTarget);
  }
}
