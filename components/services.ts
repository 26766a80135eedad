/**
 * The services, one definition each: everything that makes a service different from the next,
 * beyond the sizes its profile gives it. The wiring (platform-services.ts, src/program.ts, the
 * edge and the plan) reads these fields and knows no service by name, so adding a service is one
 * more entry here plus its sizes in each profile (environments/profiles.ts) or stack file.
 */
import type { ServiceConfig } from "../src/config/schema";
import type { FlyRegion } from "../src/platform";
import type { FlyServiceArgs, FlyServiceSpec } from "./fly-service";
import type { ServiceDefinition } from "./service-definition";
import { MONITORING_DEFINITIONS } from "./observability/services";

export type { RecoveryDeclaration, ServiceCall, ServiceDefinition } from "./service-definition";

/**
 * Weaviate 1.37.0 and 1.36.6 are the first releases that cluster over IPv6 (upstream #10722
 * formats every node address with net.JoinHostPort); older ones fail to open the meta store on a
 * Fly 6PN address. Pinned to a current patch release.
 */
export const WEAVIATE_VERSION = "1.38.11";
const WEAVIATE_GOSSIP_PORT = 7100;

const weaviate: ServiceDefinition = {
  name: "weaviate",
  image: `cr.weaviate.io/semitechnologies/weaviate:${WEAVIATE_VERSION}`,
  port: 8080,
  extraPorts: [{ internalPort: 50051, kind: "tcp" }],
  healthPath: "/v1/.well-known/ready",
  mountPath: "/var/lib/weaviate",
  reach: "private",
  secrets: [],
  accessKey: { env: "AUTHENTICATION_APIKEY_ALLOWED_KEYS", formerNames: ["weaviate-api-key"] },
  // API-key auth on, anonymous access off.
  env: (spec) => ({
    PERSISTENCE_DATA_PATH: spec.volume?.mountPath ?? "/var/lib/weaviate",
    AUTHENTICATION_APIKEY_ENABLED: "true",
    AUTHENTICATION_APIKEY_USERS: "sophia",
    AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED: "false",
    DEFAULT_VECTORIZER_MODULE: "none",
    QUERY_DEFAULTS_LIMIT: "25",
  }),
  machineEnv: weaviateNodeEnv,
  init: weaviateInit,
  // A Weaviate node is ready only inside a quorum, so the first of a cluster can't pass alone.
  checksOnCreate: (spec) => weaviateNodes(spec) < 2,
  configProblems: weaviateClusterProblems,
  recovery: { method: "weaviate-backup" },
};

/** The services, in the order they are created. */
export const SERVICE_DEFINITIONS: readonly ServiceDefinition[] = [
  weaviate,
  {
    name: "mcp-memory",
    healthPath: "/health",
    mountPath: "/data",
    reach: "private",
    secrets: ["openaiApiKey"],
    calls: { weaviate: { url: "WEAVIATE_URL", key: "WEAVIATE_API_KEY" } },
    // SQLite (FTS5 and vector search): what Litestream replicates.
    recovery: { method: "litestream", database: "/data/mcp-memory.db" },
  },
  {
    name: "vector-store",
    healthPath: "/health",
    mountPath: "/data",
    reach: "private",
    secrets: ["openaiApiKey"],
    calls: { weaviate: { url: "WEAVIATE_URL", key: "WEAVIATE_API_KEY" } },
    // Its tiers' local state is one SQLite database (README, "Backups and recovery": the image contract).
    recovery: { method: "litestream", database: "/data/vector-store.db" },
  },
  {
    name: "unified-api",
    port: 8003,
    healthPath: "/healthz",
    reach: "public",
    secrets: ["openaiApiKey", "anthropicApiKey", "databaseUrl", "redisUrl", "lambdaApiKey"],
    calls: {
      "mcp-memory": { url: "MCP_MEMORY_URL" },
      "vector-store": { url: "VECTOR_STORE_URL" },
      weaviate: { url: "WEAVIATE_URL", key: "WEAVIATE_API_KEY" },
    },
    // The token the bridge presents.
    accessKey: { env: "BRIDGE_API_TOKEN", formerNames: ["bridge-api-token"] },
    gpuLaunchTemplateEnv: "GPU_LAUNCH_TEMPLATE",
    // It serves sophia_gpu_nodes_ready{kind} here, from the GPU nodes' heartbeats (README, "GPU readiness").
    metrics: { port: 9091, path: "/metrics" },
  },
  {
    name: "agno-bridge",
    reach: "public",
    secrets: [],
    calls: { "unified-api": { url: "UNIFIED_API_URL", key: "UNIFIED_API_TOKEN" } },
  },
  {
    name: "agent-ui",
    port: 3000,
    reach: "public",
    secrets: ["uiSessionSecret"],
    // The browser calls both; it holds no service key.
    calls: { "agno-bridge": { url: "NEXT_PUBLIC_AGNO_BRIDGE_URL" }, "unified-api": { url: "NEXT_PUBLIC_API_URL" } },
    vercelUi: true,
  },
  // vmalert, Alertmanager and Grafana, with sophia:monitoring.enabled.
  ...MONITORING_DEFINITIONS,
];

/** Every node in every region: the size of the Weaviate cluster. */
function weaviateNodes(spec: Pick<FlyServiceSpec, "maxMachines" | "regions">): number {
  return spec.maxMachines * spec.regions.length;
}

/**
 * Every node of a cluster is a Raft voter (RAFT_JOIN names them all), and the cluster's schema and
 * metadata need a majority of them running. So Fly Proxy may not stop them (autostop), and an even
 * count is refused: it survives no more lost nodes than one node fewer, and two survive none.
 */
function weaviateClusterProblems({ config, regions }: { config: ServiceConfig; regions: readonly FlyRegion[] }): string[] {
  const nodes = weaviateNodes({ maxMachines: config.maxMachines, regions: [...regions] });
  if (nodes < 2) return [];
  const quorum = Math.floor(nodes / 2) + 1;
  const survives = nodes - quorum;
  const where = "sophia:services.weaviate";
  const problems: string[] = [];
  if (config.autostop !== "off") {
    problems.push(
      `${where}.autostop: "${config.autostop}" lets Fly Proxy stop idle machines, but the ${nodes} Weaviate nodes are Raft voters and ` +
        `the cluster needs ${quorum} of them running: ${nodes === 2 ? "one stopped node costs" : `${nodes - quorum + 1} stopped nodes cost`} it its quorum. ` +
        `Set autostop to "off", or run a single node (maxMachines: 1), which may stop when idle`,
    );
  }
  if (nodes % 2 === 0) {
    problems.push(
      `${where}.maxMachines: ${nodes} Weaviate nodes are ${nodes} Raft voters, which need ${quorum} for a quorum and so survive ${survives} lost ` +
        `node${survives === 1 ? "" : "s"}, no more than ${nodes - 1} would${nodes === 2 ? " (a single node is as safe, and cheaper)" : ""}. ` +
        `Use an odd number of nodes: ${nodes - 1} or ${nodes + 1}`,
    );
  }
  return problems;
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

/**
 * A node's name: stable always, so that a replaced machine rejoins under its old name. In the
 * stack's home region the names are what they always were (node-0, node-1, ...); in any other
 * region they carry it (node-lax-0), so that a node left in a lost region can never pass for one
 * of the cluster restored elsewhere, and a restore maps the backup's names onto the new ones.
 */
export function weaviateNodeName(spec: Pick<FlyServiceSpec, "homeRegion">, region: FlyRegion, index: number): string {
  return region === spec.homeRegion ? `node-${index}` : `node-${region}-${index}`;
}

/** Every node of the cluster: maxMachines in each of its regions. */
export function weaviateNodeNames(spec: Pick<FlyServiceSpec, "homeRegion" | "regions" | "maxMachines">): string[] {
  return spec.regions.flatMap((region) => Array.from({ length: spec.maxMachines }, (_, i) => weaviateNodeName(spec, region, i)));
}

/**
 * With more than one node, the cluster settings too. Every node, the first included, joins through
 * `<region>.<app>.internal`, which Fly's DNS answers with the 6PN address of every started machine
 * of the app in that region (as Weaviate's Helm chart joins through its headless service): the
 * cluster is the nodes of its own region, never a node left behind in another. Weaviate retries
 * that join for as long as it sees fewer members than RAFT_BOOTSTRAP_EXPECT, so a node that
 * restarts after the others forgot it comes back into the cluster instead of alone. Raft is
 * bootstrapped with every node's name.
 */
function weaviateNodeEnv(spec: FlyServiceSpec): FlyServiceArgs["machineEnv"] {
  const nodes = weaviateNodes(spec);
  const allNodes = weaviateNodeNames(spec);
  return (region, index): Record<string, string> => ({
    CLUSTER_HOSTNAME: weaviateNodeName(spec, region, index),
    ...(nodes < 2
      ? {}
      : {
          CLUSTER_GOSSIP_BIND_PORT: String(WEAVIATE_GOSSIP_PORT),
          CLUSTER_DATA_BIND_PORT: String(WEAVIATE_GOSSIP_PORT + 1),
          CLUSTER_JOIN: `${region}.${spec.appName}.internal:${WEAVIATE_GOSSIP_PORT}`,
          RAFT_JOIN: allNodes.join(","),
          RAFT_BOOTSTRAP_EXPECT: String(nodes),
        }),
  });
}
