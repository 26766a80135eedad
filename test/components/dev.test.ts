import { beforeAll, describe, expect, it } from "vitest";
import { machineInputs, planStack, type PlannedStack } from "../helpers/plan";

const SERVICES = ["weaviate", "mcp-memory", "vector-store", "unified-api", "agno-bridge", "agent-ui"];
const PRIVATE = ["weaviate", "mcp-memory", "vector-store"];

let plan: PlannedStack;
beforeAll(async () => {
  plan = await planStack("dev");
}, 60_000);

const machinesOf = (service: string) => plan.inside("sophia:fly:Service", service).filter((r) => r.kind === "fly:Machine").map(machineInputs);
const inputsOf = (service: string, kind: string) => plan.inside("sophia:fly:Service", service).filter((r) => r.kind === kind)[0].inputs;
const ipTypesOf = (service: string) => plan.inside("sophia:fly:Service", service).filter((r) => r.kind === "fly:IpAddress").map((r) => r.inputs.type);

describe("dev stack (single-user-lax)", () => {
  it("creates six Fly apps", () => {
    expect(plan.ofKind("fly:App").map((a) => a.inputs.name).sort()).toEqual(SERVICES.map((s) => `sophia-dev-${s}`).sort());
  });

  it("puts every machine in lax and nowhere else", () => {
    const regions = new Set(plan.ofKind("fly:Machine").map((m) => machineInputs(m).region));
    expect([...regions]).toEqual(["lax"]);
  });

  it("puts every volume in lax", () => {
    expect(new Set(plan.ofKind("fly:Volume").map((v) => v.inputs.region))).toEqual(new Set(["lax"]));
  });

  it("runs Weaviate from the official image, pinned to 1.32 or later", () => {
    const [major, minor] = (/^cr\.weaviate\.io\/semitechnologies\/weaviate:(\d+)\.(\d+)\.\d+$/.exec(machinesOf("weaviate")[0].config.image) ?? []).slice(1).map(Number);
    expect(major * 1000 + minor).toBeGreaterThanOrEqual(1032);
  });

  it("runs one machine per service", () => {
    for (const service of SERVICES) expect(machinesOf(service), service).toHaveLength(1);
  });

  it("scales every service to zero: min 0, autostart on, autostop on", () => {
    for (const m of plan.ofKind("fly:Machine").map(machineInputs)) {
      for (const s of m.config.services) {
        expect(s.min_machines_running, m.name).toBe(0);
        expect(s.autostart, m.name).toBe(true);
        expect(s.autostop, m.name).not.toBe("off");
      }
    }
  });

  it("gives the API shared-cpu-2x with 512 MB", () => {
    expect(machinesOf("unified-api")[0].config.guest).toEqual({ cpu_kind: "shared", cpus: 2, memory_mb: 512 });
  });

  it("checks the API's /healthz every 60 s with a 10 s grace and a 5 s timeout", () => {
    expect(machinesOf("unified-api")[0].config.checks.health).toMatchObject({ type: "http", path: "/healthz", interval: "60s", grace_period: "10s", timeout: "5s" });
  });

  it("puts the health check on the proxy service too, so traffic only reaches healthy machines", () => {
    const [http] = machinesOf("unified-api")[0].config.services as unknown as { checks?: { path: string }[] }[];
    expect(http.checks?.map((c) => c.path)).toEqual(["/healthz"]);
  });

  it("runs a single Weaviate node with the image's own command", () => {
    expect((machinesOf("weaviate")[0].config as unknown as { init?: unknown }).init).toBeUndefined();
  });

  it("names the single Weaviate node, so a replaced machine rejoins under the same name", () => {
    expect(machinesOf("weaviate")[0].config.env.CLUSTER_HOSTNAME).toBe("node-0");
  });

  it("limits the API to 5 soft / 10 hard connections", () => {
    expect(machinesOf("unified-api")[0].config.services[0].concurrency).toEqual({ type: "connections", soft_limit: 5, hard_limit: 10 });
  });

  it("releases immediately, without waiting for checks", () => {
    for (const m of plan.ofKind("fly:Machine").map(machineInputs)) expect(m.waitForChecks, m.name).toBe(false);
  });

  it.each(PRIVATE)("gives %s a Flycast address and no public IP", (service) => {
    expect(ipTypesOf(service)).toEqual(["private_v6"]);
  });

  it.each(["unified-api", "agno-bridge", "agent-ui"])("gives public %s shared IPv4 and IPv6 with HTTPS forced", (service) => {
    expect(ipTypesOf(service).sort()).toEqual(["shared_v4", "v6"]);
    const http = machinesOf(service)[0].config.services[0].ports.find((p) => p.port === 80);
    expect(http?.force_https).toBe(true);
  });

  it("wires the API to its private dependencies through .flycast URLs", () => {
    const env = machinesOf("unified-api")[0].config.env;
    expect(env.MCP_MEMORY_URL).toMatch(/^http:\/\/sophia-dev-mcp-memory\.flycast:\d+$/);
    expect(env.VECTOR_STORE_URL).toMatch(/^http:\/\/sophia-dev-vector-store\.flycast:\d+$/);
    expect(env.WEAVIATE_URL).toBe("http://sophia-dev-weaviate.flycast:8080");
  });

  it("never points a service at .internal", () => {
    expect(plan.text).not.toMatch(/\.internal\b/);
  });

  it("wires the bridge to the API and the UI to the bridge by their public URLs", () => {
    expect(machinesOf("agno-bridge")[0].config.env.UNIFIED_API_URL).toBe("https://sophia-dev-unified-api.fly.dev");
    expect(machinesOf("agent-ui")[0].config.env.NEXT_PUBLIC_AGNO_BRIDGE_URL).toBe("https://sophia-dev-agno-bridge.fly.dev");
  });

  it("mounts one volume per stateful machine and none on stateless ones", () => {
    for (const service of SERVICES) {
      const mounts = machinesOf(service).map((m) => m.config.mounts?.length ?? 0);
      expect(mounts, service).toEqual([PRIVATE.includes(service) ? 1 : 0]);
    }
  });

  it("creates each volume with the size of the machine that mounts it, as Fly's placement hint", () => {
    expect(inputsOf("weaviate", "fly:Volume").compute).toEqual(machinesOf("weaviate")[0].config.guest);
  });

  it("leaves dev volumes unprotected", () => {
    for (const v of plan.ofKind("fly:Volume")) expect(v.protect).toBe(false);
  });

  it("creates no GPU instance", () => {
    expect(plan.ofKind("lambda:Instance")).toHaveLength(0);
  });

  it("creates no Vercel resources or DNS records without a custom domain", () => {
    expect(plan.resources.filter((r) => r.type.startsWith("vercel:"))).toHaveLength(0);
    expect(plan.ofKind("fly:Certificate")).toHaveLength(0);
  });

  it("exports the fly.dev URLs as public URLs", () => {
    expect(plan.outputs.publicUrls).toEqual({
      "unified-api": "https://sophia-dev-unified-api.fly.dev",
      "agno-bridge": "https://sophia-dev-agno-bridge.fly.dev",
      "agent-ui": "https://sophia-dev-agent-ui.fly.dev",
    });
  });

  it("exports the .flycast private URL of every private service", () => {
    const urls = plan.outputs.privateUrls as Record<string, string>;
    expect(Object.keys(urls).sort()).toEqual([...PRIVATE].sort());
    for (const url of Object.values(urls)) expect(url).toMatch(/^http:\/\/sophia-dev-[a-z-]+\.flycast:\d+$/);
  });
});
