import { FLY_SERVICE_TYPE } from "../../components/fly-service";
import { beforeAll, describe, expect, it } from "vitest";
import { planStack, type PlannedStack } from "../helpers/plan";
import { SERVICE_DEFINITIONS } from "../../components/services";
import { SECRETS, type SecretKey } from "../../src/config/secrets";
import { expectEach } from "../helpers/expect-each";

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
  const resource = plan.inside(FLY_SERVICE_TYPE, service).find((r) => r.kind === "fly:Secrets");
  return (resource?.inputs.values ?? {}) as Record<string, unknown>;
};

describe("secrets", () => {
  it.each(Object.keys(GENERATED))("%s's Fly secrets hold exactly its declared and generated keys", (service) => {
    const declared = (SERVICE_DEFINITIONS.find((d) => d.name === service)!.secrets as SecretKey[]).map((k) => SECRETS[k].envName);
    expect(Object.keys(secretsOf(service)).sort()).toEqual([...declared, ...GENERATED[service]].sort());
  });

  it("gives a service and its callers the same generated key, and a caller only the keys of what it calls", () => {
    const keysOf = (service: string) => {
      const secrets = plan.inside(FLY_SERVICE_TYPE, service).find((r) => r.kind === "fly:Secrets");
      // Access keys only: the GPU launcher also holds the pool's token, which is not a service key.
      return (secrets?.dependencies ?? []).filter((urn) => urn.includes("random:index/randomPassword:RandomPassword") && urn.endsWith("-access-key"));
    };
    const weaviateKey = keysOf("weaviate");
    const apiKey = keysOf("agno-bridge");
    expect(weaviateKey).toHaveLength(1);
    expect(apiKey).toHaveLength(1);
    expect(apiKey).not.toEqual(weaviateKey);
    expect(keysOf("mcp-memory")).toEqual(weaviateKey);
    expect(keysOf("unified-api").sort()).toEqual([...weaviateKey, ...apiKey].sort());
    expect(keysOf("agent-ui")).toEqual([]);
  });

  it("gives Weaviate none of the API's provider keys or database URLs", () => {
    expect(Object.keys(secretsOf("weaviate"))).not.toEqual(expect.arrayContaining(["OPENAI_API_KEY"]));
    expect(Object.keys(secretsOf("weaviate"))).not.toContain("DATABASE_URL");
  });

  it("keeps every Fly secret value a Pulumi secret", () => {
    expectEach(plan.ofKind("fly:Secrets"), (resource) =>
      expectEach(Object.entries(resource.inputs.values as Record<string, unknown>), ([key, value]) => expect(value, `${resource.name}.${key}`).toBe("[secret]")),
    );
  });

  it("keeps the Fly token a Pulumi secret on every Fly resource", () => {
    expectEach(plan.resources.filter((r) => r.kind.startsWith("fly:")), (r) => expect(r.inputs.apiToken, r.name).toBe("[secret]"));
  });

  it("keeps the Lambda key a Pulumi secret on every Lambda resource", () => {
    expectEach(plan.resources.filter((r) => r.kind.startsWith("lambda:")), (r) => expect(r.inputs.apiKey, r.name).toBe("[secret]"));
  });

  it("never prints a secret value anywhere in the plan", () => {
    expectEach(Object.entries(testSecrets), ([key, value]) => expect(plan.text.includes(value), key).toBe(false));
  });

  it("leaves restarting machines to the machines' own release order, not the secrets resource", () => {
    expectEach(plan.ofKind("fly:Secrets"), (r) => expect(r.inputs.updateMachines, r.name).toBe(false));
  });

  it("carries the secrets version in every machine that has secrets, so new secrets roll out as a machine update", () => {
    expectEach(Object.keys(GENERATED), (service) => {
      const machines = plan.inside(FLY_SERVICE_TYPE, service).filter((r) => r.kind === "fly:Machine");
      expectEach(machines, (m) => expect((m.inputs.config as { metadata: Record<string, string> }).metadata.sophia_secrets_version, m.name).toBe("1"));
    });
  });

  it("never puts a secret in a machine's plain env", () => {
    const secretNames = new Set([...Object.values(SECRETS).map((s) => s.envName), ...Object.values(GENERATED).flat()]);
    expectEach(plan.ofKind("fly:Machine"), (m) => {
      const env = (m.inputs.config as { env: Record<string, string> }).env;
      expectEach(Object.keys(env), (key) => expect(secretNames.has(key), `${m.name}: ${key}`).toBe(false));
    });
  });
});
