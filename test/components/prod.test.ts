import { beforeAll, describe, expect, it } from "vitest";
import { machineInputs, planStack, type PlannedStack } from "../helpers/plan";

let plan: PlannedStack;
beforeAll(async () => {
  plan = await planStack("prod");
}, 60_000);

const inService = (service: string, kind: string) => plan.inside("sophia:fly:Service", service).filter((r) => r.kind === kind);
const machinesOf = (service: string) => inService(service, "fly:Machine").map(machineInputs);
const perRegion = (service: string) => {
  const counts: Record<string, number> = {};
  for (const m of machinesOf(service)) counts[m.region] = (counts[m.region] ?? 0) + 1;
  return counts;
};

describe("prod stack (enterprise-multi-region): the seed's production table", () => {
  it.each([
    ["weaviate", { sjc: 4 }, 2, { cpus: 2, memory_mb: 2048 }],
    ["mcp-memory", { sjc: 8 }, 2, { cpus: 2, memory_mb: 2048 }],
    ["vector-store", { sjc: 12 }, 2, { cpus: 2, memory_mb: 2048 }],
    ["unified-api", { sjc: 20, lax: 20 }, 4, { cpus: 4, memory_mb: 4096 }],
    ["agno-bridge", { sjc: 8, lax: 8 }, 2, { cpus: 1, memory_mb: 1024 }],
  ])("%s has %o machines with min %i running, sized %o", (service, counts, min, guest) => {
    expect(perRegion(service)).toEqual(counts);
    for (const m of machinesOf(service)) {
      expect(m.config.guest).toMatchObject(guest);
      expect(m.config.services[0].min_machines_running).toBe(min);
    }
  });

  it.each([
    ["weaviate", 20],
    ["mcp-memory", 10],
    ["vector-store", 10],
  ])("%s has one %i GB volume per machine, all in sjc", (service, size) => {
    const volumes = inService(service, "fly:Volume");
    expect(volumes).toHaveLength(machinesOf(service).length);
    for (const v of volumes) expect(v.inputs).toMatchObject({ region: "sjc", sizeGb: size });
  });

  it("keeps stateless services free of volumes", () => {
    for (const service of ["unified-api", "agno-bridge"]) expect(inService(service, "fly:Volume"), service).toHaveLength(0);
  });

  it("protects every volume and keeps it when removed from the program", () => {
    const volumes = plan.ofKind("fly:Volume");
    expect(volumes.length).toBeGreaterThan(0);
    for (const v of volumes) expect([v.name, v.protect, v.retainOnDelete]).toEqual([v.name, true, true]);
  });

  it("protects the apps that hold volumes, since deleting an app deletes its volumes", () => {
    const apps = Object.fromEntries(plan.ofKind("fly:App").map((a) => [a.inputs.name, a.protect && a.retainOnDelete]));
    expect(apps).toEqual({
      "sophia-prod-weaviate": true,
      "sophia-prod-mcp-memory": true,
      "sophia-prod-vector-store": true,
      "sophia-prod-unified-api": false,
      "sophia-prod-agno-bridge": false,
    });
  });

  it("sets snapshot retention on every volume from the profile", () => {
    for (const v of plan.ofKind("fly:Volume")) expect(v.inputs.snapshotRetention).toBe(14);
  });

  it("serves the UI from Vercel, so there is no agent-ui Fly app", () => {
    expect(plan.ofKind("fly:App").map((a) => a.inputs.name)).not.toContain("sophia-prod-agent-ui");
  });

  it("waits for checks on every release", () => {
    for (const m of plan.ofKind("fly:Machine").map(machineInputs)) expect(m.waitForChecks, m.name).toBe(true);
  });

  it("releases stateful services one machine at a time (rolling)", () => {
    const machines = inService("weaviate", "fly:Machine");
    machines.slice(1).forEach((m, i) => expect(m.dependencies).toContain(machines[i].urn));
  });

  it("releases the API canary first, then the rest", () => {
    const [canary, ...rest] = inService("unified-api", "fly:Machine");
    expect(canary.dependencies.some((d) => d.includes("fly:Machine"))).toBe(false);
    for (const m of rest) expect(m.dependencies).toContain(canary.urn);
  });

  it("releases the bridge blue-green: each machine's name carries its config generation, so a change is a create-before-delete replacement", () => {
    for (const m of machinesOf("agno-bridge")) expect(m.name).toMatch(new RegExp(`^sophia-prod-agno-bridge-${m.region}-\\d+-[0-9a-f]{8}$`));
  });

  it("releases blue-green machines all at once, not one after another", () => {
    for (const m of inService("agno-bridge", "fly:Machine")) expect(m.dependencies.some((d) => d.includes("fly:Machine"))).toBe(false);
  });

  it("fills in Weaviate's cluster settings for its four nodes", () => {
    const envs = machinesOf("weaviate").map((m) => m.config.env);
    expect(envs.map((e) => e.CLUSTER_HOSTNAME)).toEqual(["node-0", "node-1", "node-2", "node-3"]);
    expect(envs[0].RAFT_BOOTSTRAP_EXPECT).toBe("4");
    expect(envs[1].CLUSTER_JOIN).toMatch(/\.vm\.sophia-prod-weaviate\.internal:7100$/);
  });

  it("creates Weaviate's nodes without waiting for a quorum check the first node cannot pass alone", () => {
    for (const m of inService("weaviate", "fly:Machine")) expect(m.inputs.checksOnCreate).toBe(false);
  });

  it("waits for checks when creating the API's machines, which need no quorum", () => {
    for (const m of inService("unified-api", "fly:Machine")) expect(m.inputs.checksOnCreate).toBe(true);
  });

  it("never lets the proxy stop a Weaviate node, so the Raft quorum holds", () => {
    for (const m of machinesOf("weaviate")) for (const s of m.config.services) expect(s.autostop).toBe("off");
  });

  it("has each Weaviate node advertise its 6PN address for gossip, since its IPv4 is not reachable from other machines", () => {
    for (const m of machinesOf("weaviate")) {
      const init = (m.config as unknown as { init?: { entrypoint: string[]; cmd: string[] } }).init;
      expect(init?.entrypoint).toEqual(["/bin/sh", "-c"]);
      expect(init?.cmd[0]).toMatch(/^CLUSTER_ADVERTISE_ADDR="\$FLY_PRIVATE_IP" exec \/bin\/weaviate --host :: --port 8080 /);
    }
  });

  it("stands one GH200 node; bursts are on demand", () => {
    const nodes = plan.ofKind("lambda:Instance");
    expect(nodes.map((n) => n.inputs.instanceType)).toEqual(["gpu_1x_gh200"]);
  });

  it("checks each standing node's readiness over SSH", () => {
    expect(plan.ofKind("lambda:Instance").length).toBeGreaterThan(0);
    expect(plan.ofKind("command:Command")).toHaveLength(plan.ofKind("lambda:Instance").length);
  });

  it("hands the API the GPU launch template as a secret", () => {
    const secrets = inService("unified-api", "fly:Secrets")[0].inputs.values as Record<string, unknown>;
    expect(secrets.GPU_LAUNCH_TEMPLATE).toBe("[secret]");
  });

  it("points api. and bridge. at Fly with TTL 60 records and a certificate each", () => {
    const certs = plan.ofKind("fly:Certificate").map((c) => c.inputs.hostname).sort();
    expect(certs).toEqual(["api.sophia-intel.ai", "bridge.sophia-intel.ai"]);
    const records = plan.ofKind("vercel:DnsRecord");
    expect(records.map((r) => `${r.inputs.type} ${r.inputs.name}`).sort()).toEqual([
      "CNAME _acme-challenge.api",
      "CNAME _acme-challenge.bridge",
      "CNAME api",
      "CNAME bridge",
    ]);
    for (const r of records) expect(r.inputs.ttl).toBe(60);
  });

  it("creates one Vercel project with the app. and apex domains", () => {
    expect(plan.ofKind("vercel:Project")).toHaveLength(1);
    expect(plan.ofKind("vercel:ProjectDomain").map((d) => d.inputs.domain).sort()).toEqual(["app.sophia-intel.ai", "sophia-intel.ai"]);
  });

  // The Vercel SDK keeps every env value a Pulumi secret in state; `sensitive` is what Vercel shows.
  it("gives the Vercel UI its public URLs as plain (non-sensitive) variables", () => {
    const vars = Object.fromEntries(plan.ofKind("vercel:ProjectEnvironmentVariable").map((v) => [v.inputs.key, v.inputs]));
    expect(vars.NEXT_PUBLIC_API_URL).toMatchObject({ sensitive: false });
    expect(vars.NEXT_PUBLIC_AGNO_BRIDGE_URL).toMatchObject({ sensitive: false });
  });

  it("gives the Vercel UI its secrets as sensitive variables", () => {
    const vars = Object.fromEntries(plan.ofKind("vercel:ProjectEnvironmentVariable").map((v) => [v.inputs.key, v.inputs]));
    expect(vars.SESSION_SECRET).toMatchObject({ value: "[secret]", sensitive: true });
  });
});
