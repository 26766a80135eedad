/**
 * The six services wired together: specs are normalized and secrets checked for every service
 * before the first resource exists, then each FlyService gets the URLs and secrets it needs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { serviceRegions, type StackConfig } from "../src/config/schema";
import { SERVICE_CALLS, SERVICE_NAMES, type FlyRegion, type ServiceName } from "../src/platform";
import { SECRETS, type SecretKey } from "../src/config/secrets";
import { FlyService, flycastUrl, normalizeFlyService, type FlyServiceArgs, type FlyServiceSpec, type ImageSource } from "./fly-service";
import { SERVICE_DEFINITIONS } from "./services";

export interface PlannedService {
  spec: FlyServiceSpec;
  image: ImageSource;
  env: Record<string, string>;
}

/** The URL the world uses for a public service: its first custom hostname, else `<app>.fly.dev`. */
export function publicUrl(config: StackConfig, spec: Pick<FlyServiceSpec, "service" | "appName">): string {
  const role = spec.service as keyof StackConfig["edge"]["hostnames"];
  const custom = config.edge.customDomain ? config.edge.hostnames[role]?.[0] : undefined;
  return custom ? `https://${custom}` : `https://${spec.appName}.fly.dev`;
}

/** Which services the stack runs: the agent UI moves to Vercel when the edge serves it there. */
export function enabledServices(config: StackConfig): ServiceName[] {
  return SERVICE_NAMES.filter((name) => !(name === "agent-ui" && config.edge.uiHost === "vercel"));
}

/** Normalizes every enabled service. Throws one error listing every problem, before any resource exists. */
export function planServices(config: StackConfig): Record<ServiceName, PlannedService | undefined> {
  const problems: string[] = [];
  const planned = {} as Record<ServiceName, PlannedService | undefined>;
  for (const name of enabledServices(config)) {
    const service = config.services[name];
    const definition = SERVICE_DEFINITIONS[name];
    try {
      const spec = normalizeFlyService({
        service: name,
        config: service,
        appPrefix: config.appPrefix,
        org: config.flyOrg,
        primaryRegion: config.primaryRegion,
        regions: serviceRegions(config, service),
        defaults: definition,
        snapshotRetentionDays: config.volumes.snapshotRetentionDays,
        protectVolumes: config.volumes.protect,
        retainVolumes: config.volumes.retainOnDelete,
      });
      const ref = service.image ?? definition.image;
      let image: ImageSource;
      if (service.build) image = { build: service.build };
      else if (ref !== undefined) image = { ref };
      else throw new Error(`sophia:services.${name}.image is not set; give a pinned image reference (e.g. ghcr.io/org/${name}:1.2.3) or sophia:services.${name}.build`);
      planned[name] = { spec, image, env: service.env ?? {} };
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length > 0) throw new Error(`Invalid service config (nothing was created):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  return planned;
}

/** The ESC secrets the services declare, each with the services that need it. The UI needs its own on Vercel too. */
export function declaredSecrets(): Map<SecretKey, string[]> {
  const needs = new Map<SecretKey, string[]>();
  for (const name of SERVICE_NAMES) {
    for (const key of SERVICE_DEFINITIONS[name].secrets) needs.set(key, [...(needs.get(key) ?? []), name]);
  }
  return needs;
}

export interface PlatformServicesArgs {
  config: StackConfig;
  planned: Record<ServiceName, PlannedService | undefined>;
  secrets: Record<SecretKey, pulumi.Output<string>>;
  flyApiToken: pulumi.Input<string>;
  /** Extra secret env per service, e.g. the GPU launch template for the API. */
  extraSecrets?: Partial<Record<ServiceName, Record<string, pulumi.Input<string>>>>;
}

/** Creates the enabled services in dependency order. */
export function createPlatformServices(args: PlatformServicesArgs): Partial<Record<ServiceName, FlyService>> {
  const { config, planned } = args;
  // Generated secrets (D12): Weaviate's API key, and the token the bridge presents to the API.
  const weaviateKey = new random.RandomPassword("weaviate-api-key", { length: 40, special: false }).result;
  const bridgeToken = new random.RandomPassword("bridge-api-token", { length: 40, special: false }).result;
  const generated: Partial<Record<ServiceName, Record<string, pulumi.Input<string>>>> = {
    weaviate: { AUTHENTICATION_APIKEY_ALLOWED_KEYS: weaviateKey },
    "mcp-memory": { WEAVIATE_API_KEY: weaviateKey },
    "vector-store": { WEAVIATE_API_KEY: weaviateKey },
    "unified-api": { WEAVIATE_API_KEY: weaviateKey, BRIDGE_API_TOKEN: bridgeToken },
    "agno-bridge": { UNIFIED_API_TOKEN: bridgeToken },
  };

  const urlOf = (name: ServiceName): string => {
    const target = planned[name];
    if (!target) throw new Error(`${name} is not deployed on Fly in this stack, but a service calls it`);
    return target.spec.reach === "private" ? flycastUrl(target.spec) : publicUrl(config, target.spec);
  };

  const created: Partial<Record<ServiceName, FlyService>> = {};
  for (const name of SERVICE_NAMES) {
    const plan = planned[name];
    if (!plan) continue;
    const definition = SERVICE_DEFINITIONS[name];
    const env: Record<string, pulumi.Input<string>> = { ...plan.env };
    for (const callee of SERVICE_CALLS[name]) {
      const envName = definition.urlEnv[callee];
      if (envName === undefined) throw new Error(`${name} calls ${callee} but SERVICE_DEFINITIONS has no env var for it`);
      env[envName] = urlOf(callee);
    }
    const secrets: Record<string, pulumi.Input<string>> = {
      ...Object.fromEntries(definition.secrets.map((key) => [SECRETS[key].envName, args.secrets[key]])),
      ...generated[name],
      ...args.extraSecrets?.[name],
    };
    created[name] = new FlyService(
      name,
      {
        spec: plan.spec,
        image: plan.image,
        env: { ...env, ...(name === "weaviate" ? weaviateEnv(plan.spec) : {}) },
        machineEnv: name === "weaviate" ? weaviateNodeEnv(plan.spec) : undefined,
        init: name === "weaviate" ? weaviateInit(plan.spec) : undefined,
        // A Weaviate node is ready only inside a quorum, so the first of a cluster can't pass alone.
        checksOnCreate: !(name === "weaviate" && weaviateNodes(plan.spec) > 1),
        secrets,
        apiToken: args.flyApiToken,
        apiUrl: config.flyApiUrl,
      },
    );
  }
  return created;
}

/** Weaviate with API-key auth on and anonymous access off. */
function weaviateEnv(spec: FlyServiceSpec): Record<string, string> {
  return {
    PERSISTENCE_DATA_PATH: spec.volume?.mountPath ?? "/var/lib/weaviate",
    AUTHENTICATION_APIKEY_ENABLED: "true",
    AUTHENTICATION_APIKEY_USERS: "sophia",
    AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED: "false",
    DEFAULT_VECTORIZER_MODULE: "none",
    QUERY_DEFAULTS_LIMIT: "25",
  };
}

/**
 * A cluster gossips over Fly's private IPv6 network (6PN). Weaviate would advertise the machine's
 * IPv4, which other machines cannot reach, so each node advertises its 6PN address (FLY_PRIVATE_IP,
 * known only inside the machine, hence the shell) and listens on IPv6 too.
 */
function weaviateInit(spec: FlyServiceSpec): FlyServiceArgs["init"] {
  if (weaviateNodes(spec) < 2) return undefined;
  return {
    entrypoint: ["/bin/sh", "-c"],
    cmd: [`CLUSTER_ADVERTISE_ADDR="$FLY_PRIVATE_IP" exec /bin/weaviate --host :: --port ${spec.ports[0].internalPort} --scheme http`],
  };
}

function weaviateNodes(spec: FlyServiceSpec): number {
  return spec.maxMachines * spec.regions.length;
}

/**
 * Stable node names always, so that a replaced machine rejoins under its old name. With more
 * than one node, the cluster settings too: gossip through the first node's 6PN address, and Raft
 * bootstrapped with every node.
 */
function weaviateNodeEnv(
  spec: FlyServiceSpec,
): (region: FlyRegion, index: number, previous: { machineId: pulumi.Output<string> }[]) => Record<string, pulumi.Input<string>> {
  const nodes = weaviateNodes(spec);
  const nodeNames = Array.from({ length: nodes }, (_, i) => `node-${i}`);
  return (_region, index, previous) => ({
    CLUSTER_HOSTNAME: `node-${index}`,
    ...(nodes < 2
      ? {}
      : {
          CLUSTER_GOSSIP_BIND_PORT: "7100",
          CLUSTER_DATA_BIND_PORT: "7101",
          RAFT_JOIN: nodeNames.join(","),
          RAFT_BOOTSTRAP_EXPECT: String(nodes),
          ...(index === 0 ? {} : { CLUSTER_JOIN: pulumi.interpolate`${previous[0].machineId}.vm.${spec.appName}.internal:7100` }),
        }),
  });
}
