/**
 * Adding a service is one definition and nothing else: the dev stack planned with a seventh
 * definition appended to the project's six, and its sizes given in the stack config, as a stack
 * file would. No generic code knows its name.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { FLY_SERVICE_TYPE } from "../../components/fly-service";
import { SERVICE_DEFINITIONS, type ServiceDefinition } from "../../components/services";
import { expectEach } from "../helpers/expect-each";
import { machineInputs, planStack, stackValueWith, type PlannedStack } from "../helpers/plan";

const search: ServiceDefinition = {
  name: "search",
  image: "ghcr.io/acme/search:2.1.0",
  port: 9200,
  healthPath: "/ready",
  reach: "public",
  secrets: ["openaiApiKey"],
  calls: { weaviate: { url: "SEARCH_WEAVIATE_URL", key: "SEARCH_WEAVIATE_KEY" }, "unified-api": { url: "SEARCH_API_URL", key: "SEARCH_API_TOKEN" } },
  env: () => ({ SEARCH_MODE: "hybrid" }),
};

const sizes = {
  cpuKind: "shared",
  cpus: 1,
  memoryMb: 512,
  minMachines: 0,
  maxMachines: 2,
  autostop: "stop",
  autostart: true,
  strategy: "immediate",
  concurrency: { type: "requests", softLimit: 20, hardLimit: 25 },
  healthCheck: { intervalSeconds: 30, gracePeriodSeconds: 5, timeoutSeconds: 3 },
};

let plan: PlannedStack;
beforeAll(async () => {
  plan = await planStack("dev", {
    load: async () => ({ default: (await import("../../src/program")).sophia([...SERVICE_DEFINITIONS, search]) }),
    configOverrides: {
      "sophia:services": stackValueWith("dev", "sophia:services", { search: sizes }),
      "sophia:edge": stackValueWith("dev", "sophia:edge", { customDomain: true, hostnames: { search: ["dev-search.sophia-intel.ai"] } }),
    },
  });
}, 60_000);

const inSearch = (kind: string) => plan.inside(FLY_SERVICE_TYPE, "search").filter((r) => r.kind === kind);
const searchMachines = () => inSearch("fly:Machine").map(machineInputs);

describe("a seventh service, added as one definition", () => {
  it("gets its own Fly app with maxMachines machines at the configured size", () => {
    expect(inSearch("fly:App").map((a) => a.inputs.name)).toEqual(["sophia-dev-search"]);
    expect(searchMachines()).toHaveLength(2);
    expectEach(searchMachines(), (m) => expect(m.config.guest).toEqual({ cpu_kind: "shared", cpus: 1, memory_mb: 512 }));
  });

  it("runs its image with its port, health path and own env", () => {
    expectEach(searchMachines(), (m) => {
      expect(m.config.image).toBe("ghcr.io/acme/search:2.1.0");
      expect(m.config.services[0].internal_port).toBe(9200);
      expect(m.config.checks.health.path).toBe("/ready");
      expect(m.config.env.SEARCH_MODE).toBe("hybrid");
    });
  });

  it("reaches a private callee through Flycast and a public one through its public URL", () => {
    expectEach(searchMachines(), (m) => {
      expect(m.config.env.SEARCH_WEAVIATE_URL).toBe("http://sophia-dev-weaviate.flycast:8080");
      expect(m.config.env.SEARCH_API_URL).toBe("https://dev-api.sophia-intel.ai");
    });
  });

  it("receives its declared secret and its callees' keys, and the same key resources the callees hold", () => {
    const [secrets] = inSearch("fly:Secrets");
    expect(Object.keys(secrets.inputs.values as object).sort()).toEqual(["OPENAI_API_KEY", "SEARCH_API_TOKEN", "SEARCH_WEAVIATE_KEY"]);
    const keyUrns = (service: string) =>
      (plan.inside(FLY_SERVICE_TYPE, service).find((r) => r.kind === "fly:Secrets")?.dependencies ?? []).filter((urn) => urn.includes("RandomPassword"));
    expect(keyUrns("search").sort()).toEqual([...keyUrns("weaviate"), ...keyUrns("agno-bridge")].sort());
  });

  it("is public: shared IPv4 and IPv6, a certificate for its hostname, and a public URL output", () => {
    expect(inSearch("fly:IpAddress").map((ip) => ip.inputs.type).sort()).toEqual(["shared_v4", "v6"]);
    expect(plan.ofKind("fly:Certificate").map((c) => `${c.inputs.hostname} → ${c.inputs.app}`)).toContain("dev-search.sophia-intel.ai → sophia-dev-search");
    expect((plan.outputs.publicUrls as Record<string, string>).search).toBe("https://dev-search.sophia-intel.ai");
  });

  it("leaves the six services as they were", () => {
    const dev = SERVICE_DEFINITIONS.filter((d) => d.enabled === undefined); // the monitoring apps are off in dev
    expect(plan.ofKind("fly:App").map((a) => a.inputs.name).sort()).toEqual([...dev.map((d) => `sophia-dev-${d.name}`), "sophia-dev-search"].sort());
  });
});
