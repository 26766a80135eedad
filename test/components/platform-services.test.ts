/**
 * The pure parts of the platform's service wiring: which services run where, the checks on the
 * definitions and the config, public URLs, and secret declarations. No mock engine.
 */
import { describe, expect, it } from "vitest";
import { declaredSecrets, isEnabled, planServices, publicUrl, runsOnFly, secretsOf } from "../../components/platform-services";
import { SERVICE_DEFINITIONS, type ServiceDefinition } from "../../components/services";
import { parseStackConfig } from "../../src/stack-config";
import { SECRET_KEYS } from "../../src/config/secrets";
import { errorOf } from "../helpers/errors";
import { expectEach } from "../helpers/expect-each";

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
const names = (plan: { fly: { definition: ServiceDefinition }[] }) => plan.fly.map((p) => p.definition.name);
const ui = SERVICE_DEFINITIONS.find((d) => d.vercelUi)!;
const withDefinitions = (change: (defs: ServiceDefinition[]) => ServiceDefinition[]) => change(SERVICE_DEFINITIONS.map((d) => ({ ...d })));

describe("where services run", () => {
  it("runs every defined service on Fly when the UI is served by Fly", () => {
    expect(dev.edge.uiHost).toBe("fly");
    expect(names(planServices(dev, SERVICE_DEFINITIONS))).toEqual(SERVICE_DEFINITIONS.filter((d) => isEnabled(d, dev)).map((d) => d.name));
  });

  it("moves the Vercel UI service off Fly when the edge serves the UI from Vercel", () => {
    expect(prod.edge.uiHost).toBe("vercel");
    const plan = planServices(prod, SERVICE_DEFINITIONS);
    expect(names(plan)).not.toContain(ui.name);
    expect(plan.vercelUi?.name).toBe(ui.name);
    expect(runsOnFly(prod, ui)).toBe(false);
  });

  it("finds the service that launches GPU workers from its definition", () => {
    const launcher = SERVICE_DEFINITIONS.find((d) => d.gpuLaunchTemplateEnv !== undefined)!;
    expect(planServices(dev, SERVICE_DEFINITIONS).gpuLauncher.definition.name).toBe(launcher.name);
  });
});

describe("planServices", () => {
  it("throws one error that lists every problem and says nothing was created", () => {
    const config = parseStackConfig(
      {
        profile: "single-user-lax",
        services: { ...stackServices, "mcp-memory": { port: 8001 }, "agno-bridge": { image: "ghcr.io/sophia-intel/agno-bridge:0.1.0", healthCheck: { path: "/health" } } },
      },
      "dev",
    );
    const message = errorOf(() => planServices(config, SERVICE_DEFINITIONS));
    expect(message).toMatch(/^Invalid service config \(nothing was created\):\n/);
    expect(message).toContain("  - sophia:services.mcp-memory.image is not set");
    expect(message).toContain("  - sophia:services.agno-bridge.port is not set");
    expect(message.split("\n").filter((line) => line.startsWith("  - "))).toHaveLength(2);
  });

  it("lists a problem for every service that has one, in definition order", () => {
    const message = errorOf(() => planServices(parseStackConfig({ profile: "single-user-lax" }, "dev"), SERVICE_DEFINITIONS));
    const services = message
      .split("\n")
      .filter((line) => line.startsWith("  - "))
      .map((line) => /sophia:services\.([a-z-]+)\./.exec(line)?.[1]);
    expect([...new Set(services)]).toEqual(["mcp-memory", "vector-store", "unified-api", "agno-bridge", "agent-ui"]);
  });

  it("lists every problem of a service at once: the missing port and health path with the missing image", () => {
    const message = errorOf(() => planServices(parseStackConfig({ profile: "single-user-lax" }, "dev"), SERVICE_DEFINITIONS));
    const bridge = message.split("\n").filter((line) => line.startsWith("  - sophia:services.agno-bridge."));
    expect(bridge.map((line) => /agno-bridge\.([\w.]+)/.exec(line)?.[1])).toEqual(["port", "healthCheck.path", "image"]);
  });

  it("refuses sizes for a service that is not defined, naming the defined ones", () => {
    const config = parseStackConfig({ profile: "single-user-lax", services: { ...stackServices, weaviatee: dev.services.weaviate } }, "dev");
    expect(errorOf(() => planServices(config, SERVICE_DEFINITIONS))).toContain(`sophia:services.weaviatee is not a service; services: ${SERVICE_DEFINITIONS.map((d) => d.name).join(", ")}`);
  });

  it("refuses a defined service that has no sizes, saying where to give them", () => {
    const extra: ServiceDefinition = { name: "search", port: 9000, healthPath: "/health", image: "ghcr.io/acme/search:1.0.0", reach: "private", secrets: [] };
    expect(errorOf(() => planServices(dev, [...SERVICE_DEFINITIONS, extra]))).toContain("sophia:services.search is missing; give its sizes in the profile");
  });

  it("refuses to adopt a Fly app for the service this stack serves from Vercel", () => {
    const config = parseStackConfig({ profile: "enterprise-multi-region", services: stackServices, adopt: { [ui.name]: { app: "acme-ui" } } }, "prod");
    expect(errorOf(() => planServices(config, SERVICE_DEFINITIONS))).toContain(`sophia:adopt.${ui.name}: this stack serves ${ui.name} from Vercel, not Fly, so there is no Fly app to adopt`);
  });

  it("refuses to adopt an app for a monitoring service while monitoring is off, naming the setting", () => {
    const config = parseStackConfig({ profile: "single-user-lax", services: stackServices, adopt: { grafana: { app: "acme-grafana" } } }, "dev");
    expect(config.monitoring.enabled).toBe(false);
    expect(errorOf(() => planServices(config, SERVICE_DEFINITIONS))).toContain(
      "sophia:adopt.grafana: grafana runs only with sophia:monitoring.enabled: true, which this stack does not set, so there is no app to adopt; remove the entry or turn monitoring on",
    );
  });

  it("refuses to adopt an app for a service the stack turns off for another reason", () => {
    const defs = withDefinitions((d) => d.map((def) => (def.name === "vector-store" ? { ...def, enabled: () => false } : def)));
    const config = parseStackConfig({ profile: "single-user-lax", services: stackServices, adopt: { "vector-store": { app: "acme-vectors" } } }, "dev");
    expect(errorOf(() => planServices(config, defs))).toContain("sophia:adopt.vector-store: this stack does not run vector-store, so there is no app to adopt; remove the entry");
  });

  it("refuses hostnames for a service that is not public", () => {
    const config = parseStackConfig({ profile: "single-user-lax", services: stackServices, edge: { hostnames: { weaviate: ["db.sophia-intel.ai"] } } }, "dev");
    expect(errorOf(() => planServices(config, SERVICE_DEFINITIONS))).toContain("sophia:edge.hostnames.weaviate: only public services get hostnames");
  });

  it("refuses a call to a service that does not exist", () => {
    const defs = withDefinitions((d) => d.map((def) => (def.name === "mcp-memory" ? { ...def, calls: { ...def.calls, cache: { url: "CACHE_URL" } } } : def)));
    expect(errorOf(() => planServices(dev, defs))).toContain(`mcp-memory calls "cache", which is not a service`);
  });

  it("refuses a call that expects a key from a service that has none", () => {
    const defs = withDefinitions((d) => d.map((def) => (def.name === "agent-ui" ? { ...def, calls: { "agno-bridge": { url: "BRIDGE_URL", key: "BRIDGE_KEY" } } } : def)));
    expect(errorOf(() => planServices(dev, defs))).toContain("agent-ui expects a key for agno-bridge in BRIDGE_KEY, but agno-bridge has no accessKey");
  });

  it("refuses a call to a service this stack does not run on Fly", () => {
    const defs = withDefinitions((d) => d.map((def) => (def.name === "agno-bridge" ? { ...def, calls: { ...def.calls, [ui.name]: { url: "UI_URL" } } } : def)));
    expect(errorOf(() => planServices(prod, defs))).toContain(`agno-bridge calls ${ui.name}, which this stack does not run on Fly`);
  });

  it("refuses a private service as the GPU launcher, since workers report to it from outside Fly", () => {
    const defs = withDefinitions((d) => d.map((def) => (def.gpuLaunchTemplateEnv ? { ...def, reach: "private" as const } : def)));
    expect(errorOf(() => planServices(dev, defs))).toMatch(/launches the GPU workers, which report to it from Lambda's network, so it must be public/);
  });

  it("refuses definitions without a GPU launcher", () => {
    const defs = withDefinitions((d) => d.map(({ gpuLaunchTemplateEnv: _, ...def }) => def));
    expect(errorOf(() => planServices(dev, defs))).toContain("no service sets gpuLaunchTemplateEnv");
  });

  it("refuses two services with the same name", () => {
    expect(errorOf(() => planServices(dev, [...SERVICE_DEFINITIONS, SERVICE_DEFINITIONS[0]]))).toContain(`service "${SERVICE_DEFINITIONS[0].name}" is defined twice`);
  });

  it("needs no image from the stack for weaviate: it gets a pinned default", () => {
    expect(Object.keys(stackServices)).not.toContain("weaviate");
    const weaviate = planServices(dev, SERVICE_DEFINITIONS).fly.find((p) => p.definition.name === "weaviate");
    expect(weaviate?.image).toEqual({ ref: expect.stringMatching(/^cr\.weaviate\.io\/semitechnologies\/weaviate:\d+\.\d+\.\d+$/) });
  });

  it("uses a configured build instead of an image", () => {
    const config = parseStackConfig({ profile: "single-user-lax", services: { ...stackServices, "unified-api": { build: { context: "../unified-api" } } } }, "dev");
    expect(planServices(config, SERVICE_DEFINITIONS).fly.find((p) => p.definition.name === "unified-api")?.image).toEqual({ build: { context: "../unified-api" } });
  });
});

describe("publicUrl", () => {
  it("is the first custom hostname when the edge has a custom domain", () => {
    expect(publicUrl(prod, { service: "unified-api", appName: "sophia-prod-unified-api" })).toBe("https://api.sophia-intel.ai");
  });

  it("takes the first of several custom hostnames", () => {
    expect(prod.edge.hostnames["agent-ui"]!.length).toBeGreaterThan(1);
    expect(publicUrl(prod, { service: "agent-ui", appName: "sophia-prod-agent-ui" })).toBe(`https://${prod.edge.hostnames["agent-ui"]![0]}`);
  });

  it("is <app>.fly.dev without a custom domain, even when hostnames are listed", () => {
    expect(dev.edge.customDomain).toBe(false);
    expect(dev.edge.hostnames["unified-api"]!.length).toBeGreaterThan(0);
    expect(publicUrl(dev, { service: "unified-api", appName: "sophia-dev-unified-api" })).toBe("https://sophia-dev-unified-api.fly.dev");
  });

  it("is <app>.fly.dev for a service with no hostnames, even with a custom domain", () => {
    expect(prod.edge.hostnames.weaviate).toBeUndefined();
    expect(publicUrl(prod, { service: "weaviate", appName: "sophia-prod-weaviate" })).toBe("https://sophia-prod-weaviate.fly.dev");
  });
});

describe("declaredSecrets", () => {
  it("maps each secret to the services that declare it, in definition order", () => {
    const two: ServiceDefinition[] = [
      { name: "a", reach: "private", secrets: ["openaiApiKey"] },
      { name: "b", reach: "public", secrets: ["openaiApiKey", "redisUrl"] },
    ];
    expect(Object.fromEntries(declaredSecrets(two, dev))).toEqual({ openaiApiKey: ["a", "b"], redisUrl: ["b"] });
  });

  it("every secret in the catalog is declared by a service or used by the program itself (no orphans)", () => {
    // The Fly token is no service's secret: the program gives it to every Fly resource
    // (test/components/secrets.test.ts checks that under the mock engine).
    // The backup bucket's keys go to the bucket and to what recovery wires (components/recovery).
    const usedByProgram = new Set<string>(["flyApiToken", "backupAccessKeyId", "backupSecretAccessKey"]);
    // Prod runs every service, monitoring included, and pages through PagerDuty.
    const declared = declaredSecrets(SERVICE_DEFINITIONS, prod);
    expect(SECRET_KEYS.filter((key) => !declared.has(key) && !usedByProgram.has(key))).toEqual([]);
  });

  it("no service declares the Fly token: Fly resources get it, machines never do", () => {
    expectEach(SERVICE_DEFINITIONS, (d) => expect(secretsOf(d, prod), d.name).not.toContain("flyApiToken"));
  });
});
