import { FLY_SERVICE_TYPE } from "../../components/fly-service";
import { SERVICE_DEFINITIONS } from "../../components/services";
import { beforeAll, describe, expect, it } from "vitest";
import { loadStackConfig, type StackConfig } from "../../src/stack-config";
import { expectEach } from "../helpers/expect-each";
import { machineInputs, planStack, type PlannedStack } from "../helpers/plan";

// The monitoring apps run only with sophia:monitoring.enabled, which dev leaves off.
const DEV = SERVICE_DEFINITIONS.filter((d) => d.enabled === undefined);
const SERVICES = DEV.map((d) => d.name);
const PRIVATE = DEV.filter((d) => d.reach === "private").map((d) => d.name);
const PUBLIC = DEV.filter((d) => d.reach === "public").map((d) => d.name);

let plan: PlannedStack;
let config: StackConfig;
beforeAll(async () => {
  plan = await planStack("dev");
  config = loadStackConfig();
}, 60_000);

const machinesOf = (service: string) => plan.inside(FLY_SERVICE_TYPE, service).filter((r) => r.kind === "fly:Machine").map(machineInputs);
const inputsOf = (service: string, kind: string) => plan.inside(FLY_SERVICE_TYPE, service).filter((r) => r.kind === kind)[0].inputs;
const ipTypesOf = (service: string) => plan.inside(FLY_SERVICE_TYPE, service).filter((r) => r.kind === "fly:IpAddress").map((r) => r.inputs.type);

describe("dev stack (single-user-lax)", () => {
  it("creates one Fly app per defined service, the UI included", () => {
    expect(plan.ofKind("fly:App").map((a) => a.inputs.name).sort()).toEqual(SERVICES.map((s) => `sophia-dev-${s}`).sort());
  });

  it("runs no monitoring app, reads no monitoring secret and exports no Grafana, with monitoring off", () => {
    expect(plan.ofKind("fly:App").map((a) => String(a.inputs.name)).filter((n) => /vmalert|alertmanager|grafana/.test(n))).toEqual([]);
    expect(plan.ofKind("random:RandomPassword").map((r) => r.name)).not.toContain("grafana-access-key");
    expect(plan.outputs.grafanaUrl).toBeUndefined();
    expect(plan.text).not.toMatch(/FLY_PROMETHEUS_AUTHORIZATION|SLACK_WEBHOOK_URL|ALERT_HEARTBEAT_URL/);
  });

  it("puts every machine in lax and nowhere else", () => {
    const regions = new Set(plan.ofKind("fly:Machine").map((m) => machineInputs(m).region));
    expect([...regions]).toEqual(["lax"]);
  });

  it("puts every volume in lax", () => {
    expect(new Set(plan.ofKind("fly:Volume").map((v) => v.inputs.region))).toEqual(new Set(["lax"]));
  });

  it("runs one machine per service", () => {
    expectEach(SERVICES, (service) => expect(machinesOf(service), service).toHaveLength(1));
  });

  it("scales every service to zero: min 0, autostart on, autostop on", () => {
    expectEach(plan.ofKind("fly:Machine").map(machineInputs), (m) =>
      expectEach(m.config.services, (s) => {
        expect(s.min_machines_running, m.name).toBe(0);
        expect(s.autostart, m.name).toBe(true);
        expect(s.autostop, m.name).not.toBe("off");
      }),
    );
  });

  it.each(SERVICES)("runs %s at its configured size", (service) => {
    const c = config.services[service]!;
    expectEach(machinesOf(service), (m) => expect(m.config.guest).toEqual({ cpu_kind: c.cpuKind, cpus: c.cpus, memory_mb: c.memoryMb }));
  });

  it("checks the API's own health path at the configured interval, grace and timeout", () => {
    const check = config.services["unified-api"]!.healthCheck;
    expect(machinesOf("unified-api")[0].config.checks.health).toMatchObject({
      type: "http",
      path: "/healthz",
      interval: `${check.intervalSeconds}s`,
      grace_period: `${check.gracePeriodSeconds}s`,
      timeout: `${check.timeoutSeconds}s`,
    });
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

  it("limits every HTTP port by the configured concurrency", () => {
    expectEach(SERVICES, (service) => {
      const c = config.services[service]!.concurrency;
      expect(machinesOf(service)[0].config.services[0].concurrency, service).toEqual({ type: c.type, soft_limit: c.softLimit, hard_limit: c.hardLimit });
    });
  });

  it("releases immediately, without waiting for checks", () => {
    expectEach(plan.ofKind("fly:Machine").map(machineInputs), (m) => expect(m.waitForChecks, m.name).toBe(false));
  });

  it.each(PRIVATE)("gives %s a Flycast address and no public IP", (service) => {
    expect(ipTypesOf(service)).toEqual(["private_v6"]);
  });

  it.each(PUBLIC)("gives public %s shared IPv4 and IPv6 with HTTPS forced", (service) => {
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

  it("never points a service at another through .internal, which does not wake stopped machines", () => {
    const urls = plan.ofKind("fly:Machine").flatMap((m) => Object.entries(machineInputs(m).config.env).filter(([key]) => key.endsWith("_URL")));
    expectEach(urls, ([key, url]) => expect(url, key).not.toMatch(/\.internal\b/));
  });

  it("wires the bridge to the API and the UI to the bridge by their public URLs", () => {
    expect(machinesOf("agno-bridge")[0].config.env.UNIFIED_API_URL).toBe("https://sophia-dev-unified-api.fly.dev");
    expect(machinesOf("agent-ui")[0].config.env.NEXT_PUBLIC_AGNO_BRIDGE_URL).toBe("https://sophia-dev-agno-bridge.fly.dev");
  });

  it("mounts one volume per stateful machine and none on stateless ones", () => {
    expectEach(SERVICES, (service) => {
      const mounts = machinesOf(service).map((m) => m.config.mounts?.length ?? 0);
      expect(mounts, service).toEqual([config.services[service]!.volumeGb === undefined ? 0 : 1]);
    });
  });

  it("creates each volume with the size of the machine that mounts it, as Fly's placement hint", () => {
    expect(inputsOf("weaviate", "fly:Volume").compute).toEqual(machinesOf("weaviate")[0].config.guest);
  });

  it("leaves dev volumes unprotected", () => {
    expectEach(plan.ofKind("fly:Volume"), (v) => expect(v.protect).toBe(false));
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
    expectEach(Object.values(urls), (url) => expect(url).toMatch(/^http:\/\/sophia-dev-[a-z-]+\.flycast:\d+$/));
  });
});
