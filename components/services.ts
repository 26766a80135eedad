/**
 * The six services: what each one is on Fly, beyond what the profile sizes. Each entry is a thin
 * specialization of FlyService: its port, health path, data path, reach, the ESC secrets it may
 * receive, and the env var under which it receives each service it calls (SERVICE_CALLS).
 */
import type { SecretKey } from "../src/config/secrets";
import type { ServiceName } from "../src/platform";
import type { ServicePort } from "./fly-service";

export interface ServiceDefinition {
  /** Port the service listens on. @default none: the stack config must give it */
  port?: number;
  /** Extra ports, e.g. Weaviate's gRPC. */
  extraPorts?: ServicePort[];
  /** Health endpoint. @default none: the stack config must give it */
  healthPath?: string;
  /** Where the data volume is mounted; only stateful services have one. */
  mountPath?: string;
  /** Default image; services built by the Sophia team have none and take theirs from config. */
  image?: string;
  reach: "public" | "private";
  /** ESC-supplied secrets this service may receive, and nothing else (D12). */
  secrets: SecretKey[];
  /** Env var that carries the URL of each service it calls. */
  urlEnv: Partial<Record<ServiceName, string>>;
}

export const SERVICE_DEFINITIONS: Record<ServiceName, ServiceDefinition> = {
  weaviate: {
    // The official image, pinned; 1.32 or later for the API-key auth and Raft settings used here.
    image: "cr.weaviate.io/semitechnologies/weaviate:1.32.4",
    port: 8080,
    extraPorts: [{ internalPort: 50051, kind: "tcp" }],
    healthPath: "/v1/.well-known/ready",
    mountPath: "/var/lib/weaviate",
    reach: "private",
    secrets: [],
    urlEnv: {},
  },
  "mcp-memory": {
    healthPath: "/health",
    mountPath: "/data",
    reach: "private",
    secrets: ["openaiApiKey"],
    urlEnv: { weaviate: "WEAVIATE_URL" },
  },
  "vector-store": {
    healthPath: "/health",
    mountPath: "/data",
    reach: "private",
    secrets: ["openaiApiKey"],
    urlEnv: { weaviate: "WEAVIATE_URL" },
  },
  "unified-api": {
    port: 8003,
    healthPath: "/healthz",
    reach: "public",
    secrets: ["openaiApiKey", "anthropicApiKey", "databaseUrl", "redisUrl", "lambdaApiKey"],
    urlEnv: { "mcp-memory": "MCP_MEMORY_URL", "vector-store": "VECTOR_STORE_URL", weaviate: "WEAVIATE_URL" },
  },
  "agno-bridge": {
    reach: "public",
    secrets: [],
    urlEnv: { "unified-api": "UNIFIED_API_URL" },
  },
  "agent-ui": {
    port: 3000,
    reach: "public",
    secrets: ["uiSessionSecret"],
    urlEnv: { "agno-bridge": "NEXT_PUBLIC_AGNO_BRIDGE_URL" },
  },
};
