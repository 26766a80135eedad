/**
 * The services, one definition each: everything that makes a service different from the next,
 * beyond the sizes its profile gives it. The wiring (platform-services.ts, src/program.ts, the
 * edge and the plan) reads these fields and knows no service by name, so adding a service is one
 * more entry here plus its sizes in each profile (environments/profiles.ts) or stack file.
 */
import type { RecoveryMethod } from "../src/config/recovery";
import type { SecretKey } from "../src/config/secrets";
import type { FlyRegion } from "../src/platform";
import type { FlyServiceArgs, FlyServiceSpec, ServicePort } from "./fly-service";

/** How a service reaches one it calls. */
export interface ServiceCall {
  /** Env var that carries the callee's URL: Flycast for a private callee, its public URL otherwise. */
  url: string;
  /** Env var that carries the callee's access key; only for a callee that has one (`accessKey`). @default none */
  key?: string;
}

/**
 * How a stateful service's data is backed up and restored (README, "Backups and recovery").
 * `sophia:recovery.services.<name>.method` may override the method.
 */
export interface RecoveryDeclaration {
  /** "weaviate-backup", "litestream" (SQLite) or "volume-snapshot" (Fly's daily snapshots, same region). */
  method: RecoveryMethod;
  /** For litestream: the SQLite database the service keeps, on its volume. */
  database?: string;
}

export interface ServiceDefinition {
  /** Service name: part of the Fly app name and the key under `sophia:services`. */
  name: string;
  /** Port the service listens on. @default none: the stack config must give it */
  port?: number;
  /** Extra ports, e.g. Weaviate's gRPC. @default none */
  extraPorts?: ServicePort[];
  /** Health endpoint. @default none: the stack config must give it */
  healthPath?: string;
  /** Where the data volume is mounted; only stateful services have one. @default stateless */
  mountPath?: string;
  /** Default image; services built by the Sophia team have none and take theirs from config. */
  image?: string;
  /** Public services get IPv4 + IPv6 and a public URL (custom hostnames from `sophia:edge.hostnames`); private ones Flycast only. */
  reach: "public" | "private";
  /** ESC-supplied secrets this service may receive, and nothing else. */
  secrets: SecretKey[];
  /** The services it calls, by name. @default none */
  calls?: Record<string, ServiceCall>;
  /**
   * A key the stack generates that callers must present: this service receives it as `env`,
   * and each caller under the env var its `calls` entry names. @default none
   */
  accessKey?: {
    env: string;
    /** Earlier names of the key's resource, so that renaming it keeps the key. @default none */
    formerNames?: string[];
  };
  /** Served by Vercel instead of Fly when `sophia:edge.uiHost` is "vercel"; at most one service. @default false */
  vercelUi?: boolean;
  /** Launches the GPU pool's on-demand workers, which it receives as this secret env var, and is where workers report. At most one service. @default none */
  gpuLaunchTemplateEnv?: string;
  /** Plain env vars derived from the normalized spec. @default none */
  env?: (spec: FlyServiceSpec) => Record<string, string>;
  /** Per-machine env vars. @default none */
  machineEnv?: (spec: FlyServiceSpec) => FlyServiceArgs["machineEnv"];
  /** Entrypoint and command override. @default the image's own */
  init?: (spec: FlyServiceSpec) => FlyServiceArgs["init"];
  /** Whether a machine's checks must pass when it is created. @default true */
  checksOnCreate?: (spec: FlyServiceSpec) => boolean;
  /** A problem with the normalized spec that only this service knows of, e.g. an even Raft voter count. @default none */
  problem?: (spec: FlyServiceSpec) => string | undefined;
  /** How a stateful service's data is backed up and restored; required with mountPath. @default none */
  recovery?: RecoveryDeclaration;
}

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
  problem: (spec) => {
    const nodes = weaviateNodes(spec);
    return nodes > 1 && nodes % 2 === 0
      ? `sophia:services.weaviate: ${nodes} nodes are ${nodes} Raft voters, an even count, which tolerates no more failures than ${nodes - 1}; set maxMachines to ${nodes - 1} or ${nodes + 1}`
      : undefined;
  },
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
];

/** Every node in every region: the size of the Weaviate cluster. */
function weaviateNodes(spec: FlyServiceSpec): number {
  return spec.maxMachines * spec.regions.length;
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
