import { beforeAll, describe, expect, it } from "vitest";
import { planStack, type PlannedStack } from "../helpers/plan";
import { SERVICE_DEFINITIONS } from "../../components/services";
import { SECRETS } from "../../src/config/secrets";

/** Recognizable values standing in for what ESC would supply; none may appear in the plan. */
const testSecrets = {
  "sophia:flyApiToken": "fo1_test_fly_token_9d2c7e",
  "sophia:lambdaApiKey": "secret_test_lambda_key_51af",
  "sophia:openaiApiKey": "sk-test-openai-4b8e21",
  "sophia:anthropicApiKey": "sk-ant-test-anthropic-7c30",
  "sophia:databaseUrl": "postgres://sophia:test-db-password-e19@db.example.com/sophia",
  "sophia:redisUrl": "rediss://default:test-redis-password-a42@redis.example.com:6379",
  "sophia:uiSessionSecret": "test-ui-session-secret-0b7d",
  "vercel:apiToken": "test-vercel-token-66f1",
};

let plan: PlannedStack;
beforeAll(async () => {
  plan = await planStack("dev", { secretOverrides: testSecrets });
}, 60_000);

const GENERATED: Record<string, string[]> = {
  weaviate: ["AUTHENTICATION_APIKEY_ALLOWED_KEYS"],
  "mcp-memory": ["WEAVIATE_API_KEY"],
  "vector-store": ["WEAVIATE_API_KEY"],
  "unified-api": ["WEAVIATE_API_KEY", "BRIDGE_API_TOKEN", "GPU_LAUNCH_TEMPLATE", "GPU_POOL_TOKEN"],
  "agno-bridge": ["UNIFIED_API_TOKEN"],
  "agent-ui": [],
};

const secretsOf = (service: string) => {
  const resource = plan.inside("sophia:fly:Service", service).find((r) => r.kind === "fly:Secrets");
  return (resource?.inputs.values ?? {}) as Record<string, unknown>;
};

describe("secrets (D12)", () => {
  it.each(Object.keys(GENERATED))("%s's Fly secrets hold exactly its declared and generated keys", (service) => {
    const declared = SERVICE_DEFINITIONS[service as keyof typeof SERVICE_DEFINITIONS].secrets.map((k) => SECRETS[k].envName);
    expect(Object.keys(secretsOf(service)).sort()).toEqual([...declared, ...GENERATED[service]].sort());
  });

  it("gives Weaviate none of the API's provider keys or database URLs", () => {
    expect(Object.keys(secretsOf("weaviate"))).not.toEqual(expect.arrayContaining(["OPENAI_API_KEY"]));
    expect(Object.keys(secretsOf("weaviate"))).not.toContain("DATABASE_URL");
  });

  it("keeps every Fly secret value a Pulumi secret", () => {
    for (const resource of plan.ofKind("fly:Secrets")) {
      for (const [key, value] of Object.entries(resource.inputs.values as Record<string, unknown>)) expect(value, `${resource.name}.${key}`).toBe("[secret]");
    }
  });

  it("keeps the Fly token a Pulumi secret on every Fly resource", () => {
    const flyResources = plan.resources.filter((r) => r.kind.startsWith("fly:"));
    expect(flyResources.length).toBeGreaterThan(0);
    for (const r of flyResources) expect(r.inputs.apiToken, r.name).toBe("[secret]");
  });

  it("keeps the Lambda key a Pulumi secret on every Lambda resource", () => {
    for (const r of plan.resources.filter((r) => r.kind.startsWith("lambda:"))) expect(r.inputs.apiKey, r.name).toBe("[secret]");
  });

  it("never prints a secret value anywhere in the plan", () => {
    for (const [key, value] of Object.entries(testSecrets)) expect(plan.text.includes(value), key).toBe(false);
  });

  it("leaves restarting machines to the machines' own release order, not the secrets resource", () => {
    for (const r of plan.ofKind("fly:Secrets")) expect(r.inputs.updateMachines, r.name).toBe(false);
  });

  it("carries the secrets version in every machine that has secrets, so new secrets roll out as a machine update", () => {
    for (const service of Object.keys(GENERATED)) {
      const machines = plan.inside("sophia:fly:Service", service).filter((r) => r.kind === "fly:Machine");
      for (const m of machines) expect((m.inputs.config as { metadata: Record<string, string> }).metadata.sophia_secrets_version, m.name).toBe("1");
    }
  });

  it("never puts a secret in a machine's plain env", () => {
    const secretNames = new Set([...Object.values(SECRETS).map((s) => s.envName), ...Object.values(GENERATED).flat()]);
    for (const m of plan.ofKind("fly:Machine")) {
      const env = (m.inputs.config as { env: Record<string, string> }).env;
      for (const key of Object.keys(env)) expect(secretNames.has(key), `${m.name}: ${key}`).toBe(false);
    }
  });
});
