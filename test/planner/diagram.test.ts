import { describe, expect, it } from "vitest";
import { TYPES } from "../../src/estimate/resources";
import type { RecordedResource } from "../../src/planner/engine";
import { gpuCallers, renderDiagram, serviceCalls } from "../../src/planner/diagram";
import { summarizeServices } from "../../src/planner/report";

/** A small plan in the shape the components record: service components with an app, machines and IPs. */
function plan(services: { name: string; reach: "public" | "private"; regions: string[]; env?: Record<string, string> }[], extra: RecordedResource[] = []) {
  const resources: RecordedResource[] = [];
  const add = (type: string, name: string, parent: string | undefined, inputs: Record<string, unknown>) => {
    const urn = `urn:pulumi:dev::sophia::${type}::${name}`;
    resources.push({ urn, type, name, parent, custom: !type.startsWith("sophia:"), inputs, protect: false, retainOnDelete: false, dependencies: [] });
    return urn;
  };
  for (const s of services) {
    const component = add(TYPES.service, s.name, undefined, {});
    const app = `sophia-dev-${s.name}`;
    add(TYPES.app, `${s.name}-app`, component, { name: app, org: "personal" });
    for (const type of s.reach === "public" ? ["shared_v4", "v6"] : ["private_v6"]) add(TYPES.ip, `${s.name}-ip-${type}`, component, { app, type });
    for (const region of s.regions) {
      add(TYPES.machine, `${s.name}-machine-${region}-0`, component, {
        app,
        region,
        config: { guest: { cpu_kind: "shared", cpus: 1, memory_mb: 256 }, env: s.env ?? {}, services: [{ autostop: "stop", min_machines_running: 0 }] },
      });
    }
  }
  resources.push(...extra);
  return { resources: resources.map((r) => ({ ...r, parent: r.parent ?? null })), services: summarizeServices(resources), outputs: { primaryRegion: "lax" } };
}

/** One recorded resource, for the cases `plan` does not build. */
function resource(type: string, name: string, parent?: string, dependencies: string[] = []): RecordedResource {
  return { urn: `urn:pulumi:dev::sophia::${type}::${name}`, type, name, parent, custom: !type.startsWith("sophia:"), inputs: {}, protect: false, retainOnDelete: false, dependencies };
}

describe("diagram", () => {
  it("takes calls from *_URL env vars: a .flycast URL is a Flycast call, a .fly.dev URL a public one", () => {
    const input = plan([
      { name: "weaviate", reach: "private", regions: ["lax"] },
      { name: "unified-api", reach: "public", regions: ["lax"], env: { WEAVIATE_URL: "http://sophia-dev-weaviate.flycast:8080" } },
      { name: "agno-bridge", reach: "public", regions: ["lax"], env: { UNIFIED_API_URL: "https://sophia-dev-unified-api.fly.dev" } },
    ]);
    expect(serviceCalls(input, false)).toEqual([
      { from: "unified-api", to: "weaviate", reach: "Flycast" },
      { from: "agno-bridge", to: "unified-api", reach: "public" },
    ]);
  });

  it("draws no call between services whose machines carry no *_URL env var", () => {
    const input = plan([
      { name: "weaviate", reach: "private", regions: ["lax"] },
      { name: "mcp-memory", reach: "private", regions: ["lax"], env: { LOG_LEVEL: "info" } },
    ]);
    expect(serviceCalls(input, false)).toEqual([]);
  });

  it("draws the GPU pool's callers from what depends on the pool, whatever their names", () => {
    const pool = resource(TYPES.gpuPool, "gpu");
    const template = resource(TYPES.gpuSshKey, "gpu-ssh-key", pool.urn);
    const input = plan([{ name: "orchestrator", reach: "public", regions: ["lax"] }, { name: "bridge", reach: "public", regions: ["lax"] }], [pool, template]);
    const secrets = resource(TYPES.secrets, "orchestrator-secrets", input.resources.find((r) => r.name === "orchestrator")!.urn, [template.urn]);
    input.resources.push({ ...secrets, parent: secrets.parent ?? null });
    expect(gpuCallers(input)).toEqual(["orchestrator"]);
    const diagram = renderDiagram(input);
    expect(diagram).toContain("svc__orchestrator__lax -->|public| gpu_pool");
    expect(diagram).not.toContain("svc__bridge__lax -->|public| gpu_pool");
  });

  it("a caller in a region without the callee calls the callee's primary-region machines", () => {
    const input = plan([
      { name: "weaviate", reach: "private", regions: ["lax"] },
      { name: "unified-api", reach: "public", regions: ["lax", "sjc"], env: { WEAVIATE_URL: "http://sophia-dev-weaviate.flycast:8080" } },
    ]);
    const diagram = renderDiagram(input);
    expect(diagram).toContain("svc__unified_api__sjc -.->|Flycast| svc__weaviate__lax");
    expect(diagram).toContain("svc__unified_api__lax -.->|Flycast| svc__weaviate__lax");
  });

  it("shows a private service as Flycast only, with no edge from the Internet", () => {
    const diagram = renderDiagram(plan([{ name: "weaviate", reach: "private", regions: ["lax"] }]));
    expect(diagram).toContain("private: Flycast only");
    expect(diagram).not.toMatch(/internet -->\|public\| svc__weaviate/);
  });

  it("draws the Vercel project as the UI, calling the services its variables name", () => {
    const project: RecordedResource = { ...resource(TYPES.vercelProject, "edge-ui"), inputs: { name: "sophia-agent-ui" } };
    const variable = (key: string): RecordedResource => ({
      ...resource(TYPES.vercelEnv, `edge-ui-env-${key}`, project.urn),
      inputs: { key, value: "[secret]" },
    });
    const input = plan(
      [
        { name: "agno-bridge", reach: "public", regions: ["lax"] },
        { name: "unified-api", reach: "public", regions: ["lax"] },
      ],
      [project, variable("NEXT_PUBLIC_AGNO_BRIDGE_URL"), variable("NEXT_PUBLIC_API_URL"), variable("SESSION_SECRET")],
    );
    const diagram = renderDiagram(input);
    expect(diagram).toContain("internet -->|public| vercel__edge_ui");
    expect(diagram).toContain("vercel__edge_ui -->|public| svc__agno_bridge__lax");
    expect(diagram).toContain("vercel__edge_ui -->|public| svc__unified_api__lax");
  });
});
