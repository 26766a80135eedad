/**
 * The pure parts of the platform's service wiring: which services run, the plan-time checks,
 * public URLs, secret declarations, and the consistency of the definitions with SERVICE_CALLS
 * and the secrets catalog. No mock engine.
 */
import { describe, expect, it } from "vitest";
import { declaredSecrets, enabledServices, planServices, publicUrl } from "../../components/platform-services";
import { SERVICE_DEFINITIONS } from "../../components/services";
import { parseStackConfig } from "../../src/config";
import { SERVICE_CALLS, SERVICE_NAMES } from "../../src/platform";
import { SECRET_KEYS } from "../../src/config/secrets";
import { errorOf } from "../helpers/errors";

/** What Pulumi.dev.yaml / Pulumi.prod.yaml add to their profiles: the images and ports the services need. */
const stackServices = {
  "mcp-memory": { image: "ghcr.io/sophia-intel/mcp-memory:0.1.0", port: 8001 },
  "vector-store": { image: "ghcr.io/sophia-intel/vector-store:0.1.0", port: 8005 },
  "unified-api": { image: "ghcr.io/sophia-intel/unified-api:0.1.0" },
  "agno-bridge": { image: "ghcr.io/sophia-intel/agno-bridge:0.1.0", port: 7777, healthCheck: { path: "/health" } },
  "agent-ui": { image: "ghcr.io/sophia-intel/agent-ui:0.1.0", healthCheck: { path: "/" } },
};

const dev = parseStackConfig({ profile: "single-user-lax", services: stackServices }, "dev");
const prod = parseStackConfig({ profile: "enterprise-multi-region", services: stackServices }, "prod");

/** The error message of a call expected to throw; fails the test if it returns. */
describe("enabledServices", () => {
  it("runs all six services on Fly when the UI is served by Fly", () => {
    expect(dev.edge.uiHost).toBe("fly");
    expect(enabledServices(dev)).toEqual([...SERVICE_NAMES]);
  });

  it("drops agent-ui when the edge serves the UI from Vercel", () => {
    expect(prod.edge.uiHost).toBe("vercel");
    expect(enabledServices(prod)).toEqual(["weaviate", "mcp-memory", "vector-store", "unified-api", "agno-bridge"]);
  });
});

describe("planServices", () => {
  it("plans every enabled service when the stack gives the images and ports", () => {
    const planned = planServices(dev);
    expect(SERVICE_NAMES.filter((name) => planned[name] !== undefined)).toEqual([...SERVICE_NAMES]);
  });

  it("plans nothing for agent-ui when Vercel serves it", () => {
    expect(planServices(prod)["agent-ui"]).toBeUndefined();
  });

  it("throws one error that lists every problem and says nothing was created", () => {
    const config = parseStackConfig(
      {
        profile: "single-user-lax",
        services: { ...stackServices, "mcp-memory": { port: 8001 }, "agno-bridge": { image: "ghcr.io/sophia-intel/agno-bridge:0.1.0", healthCheck: { path: "/health" } } },
      },
      "dev",
    );
    const message = errorOf(() => planServices(config));
    expect(message).toMatch(/^Invalid service config \(nothing was created\):\n/);
    expect(message).toContain("  - sophia:services.mcp-memory.image is not set");
    expect(message).toContain("  - sophia:services.agno-bridge.port is not set");
    expect(message.split("\n").filter((line) => line.startsWith("  - "))).toHaveLength(2);
  });

  it("lists a problem for every service that has one, in service order", () => {
    const message = errorOf(() => planServices(parseStackConfig({ profile: "single-user-lax" }, "dev")));
    const services = message
      .split("\n")
      .filter((line) => line.startsWith("  - "))
      .map((line) => /sophia:services\.([a-z-]+)\./.exec(line)?.[1]);
    expect(services).toEqual(["mcp-memory", "vector-store", "unified-api", "agno-bridge", "agent-ui"]);
  });

  it("needs no image from the stack for weaviate: it gets a pinned default", () => {
    expect(Object.keys(stackServices)).not.toContain("weaviate");
    expect(planServices(dev).weaviate?.image).toEqual({ ref: expect.stringMatching(/^cr\.weaviate\.io\/semitechnologies\/weaviate:\d+\.\d+\.\d+$/) });
  });

  it("uses a configured build instead of an image", () => {
    const config = parseStackConfig({ profile: "single-user-lax", services: { ...stackServices, "unified-api": { build: { context: "../unified-api" } } } }, "dev");
    expect(planServices(config)["unified-api"]?.image).toEqual({ build: { context: "../unified-api" } });
  });
});

describe("publicUrl", () => {
  it("is the first custom hostname when the edge has a custom domain", () => {
    expect(publicUrl(prod, { service: "unified-api", appName: "sophia-prod-unified-api" })).toBe("https://api.sophia-intel.ai");
  });

  it("takes the first of several custom hostnames", () => {
    expect(prod.edge.hostnames["agent-ui"].length).toBeGreaterThan(1);
    expect(publicUrl(prod, { service: "agent-ui", appName: "sophia-prod-agent-ui" })).toBe(`https://${prod.edge.hostnames["agent-ui"][0]}`);
  });

  it("is <app>.fly.dev without a custom domain, even when hostnames are listed", () => {
    expect(dev.edge.customDomain).toBe(false);
    expect(dev.edge.hostnames["unified-api"].length).toBeGreaterThan(0);
    expect(publicUrl(dev, { service: "unified-api", appName: "sophia-dev-unified-api" })).toBe("https://sophia-dev-unified-api.fly.dev");
  });

  it("is <app>.fly.dev for a service with no hostname role, even with a custom domain", () => {
    expect(publicUrl(prod, { service: "weaviate", appName: "sophia-prod-weaviate" })).toBe("https://sophia-prod-weaviate.fly.dev");
  });
});

describe("declaredSecrets", () => {
  it("maps each secret to the services that declare it, in service order", () => {
    expect(Object.fromEntries(declaredSecrets())).toEqual({
      openaiApiKey: ["mcp-memory", "vector-store", "unified-api"],
      anthropicApiKey: ["unified-api"],
      databaseUrl: ["unified-api"],
      redisUrl: ["unified-api"],
      lambdaApiKey: ["unified-api"],
      uiSessionSecret: ["agent-ui"],
    });
  });

  it("agrees with every service's own secrets list", () => {
    const declared = declaredSecrets();
    for (const name of SERVICE_NAMES) {
      for (const key of SERVICE_DEFINITIONS[name].secrets) expect(declared.get(key), `${name} declares ${key}`).toContain(name);
    }
  });
});

describe("service definitions agree with the platform", () => {
  it.each(SERVICE_NAMES)("%s has a URL env var for exactly the services it calls (SERVICE_CALLS)", (name) => {
    expect(Object.keys(SERVICE_DEFINITIONS[name].urlEnv).sort()).toEqual([...SERVICE_CALLS[name]].sort());
  });

  it("no service calls one that comes after it in SERVICE_NAMES", () => {
    for (const [index, name] of SERVICE_NAMES.entries()) {
      for (const callee of SERVICE_CALLS[name]) expect(SERVICE_NAMES.indexOf(callee), `${name} → ${callee}`).toBeLessThan(index);
    }
  });

  it("every secret in the catalog is declared by a service or used by the program itself (no orphans)", () => {
    // The Fly token is no service's secret: src/index.ts gives it to every Fly resource
    // (test/components/secrets.test.ts checks that under the mock engine).
    const usedByProgram = new Set<string>(["flyApiToken"]);
    const declared = declaredSecrets();
    expect(SECRET_KEYS.filter((key) => !declared.has(key) && !usedByProgram.has(key))).toEqual([]);
  });

  it("no service declares the Fly token: Fly resources get it, machines never do", () => {
    expect(declaredSecrets().has("flyApiToken")).toBe(false);
  });
});
