import { beforeAll, describe, expect, it } from "vitest";
import { FLY_SERVICE_TYPE } from "../../components/fly-service";
import { SERVICE_DEFINITIONS, WEAVIATE_VERSION } from "../../components/services";
import { loadStackConfig, serviceRegions, type StackConfig } from "../../src/stack-config";
import { expectEach } from "../helpers/expect-each";
import { machineInputs, planStack, type PlannedStack } from "../helpers/plan";

let plan: PlannedStack;
let config: StackConfig;
beforeAll(async () => {
  plan = await planStack("prod");
  config = loadStackConfig();
}, 60_000);

const inService = (service: string, kind: string) => plan.inside(FLY_SERVICE_TYPE, service).filter((r) => r.kind === kind);
const machinesOf = (service: string) => inService(service, "fly:Machine").map(machineInputs);
const perRegion = (service: string) => {
  const counts: Record<string, number> = {};
  for (const m of machinesOf(service)) counts[m.region] = (counts[m.region] ?? 0) + 1;
  return counts;
};
const onFly = SERVICE_DEFINITIONS.filter((d) => !d.vercelUi).map((d) => d.name);

describe("prod stack (enterprise-multi-region)", () => {
  it.each(onFly)("%s gets maxMachines machines in each of its regions", (service) => {
    const c = config.services[service]!;
    expect(perRegion(service)).toEqual(Object.fromEntries(serviceRegions(config, c).map((r) => [r, c.maxMachines])));
  });

  it.each(onFly)("%s keeps minMachines running and runs the configured size", (service) => {
    const c = config.services[service]!;
    expectEach(machinesOf(service), (m) => {
      expect(m.config.guest).toEqual({ cpu_kind: c.cpuKind, cpus: c.cpus, memory_mb: c.memoryMb });
      expect(m.config.services[0].min_machines_running).toBe(c.minMachines);
    });
  });

  it("spans the stateless services over every region and keeps the stateful ones in the primary region", () => {
    expect(perRegion("unified-api")).toEqual({ sjc: expect.any(Number), lax: expect.any(Number) });
    expect(Object.keys(perRegion("weaviate"))).toEqual([config.primaryRegion]);
  });

  it.each([
    ["weaviate", 20],
    ["mcp-memory", 10],
    ["vector-store", 10],
  ])("%s has one %i GB volume per machine, all in sjc", (service, size) => {
    const volumes = inService(service, "fly:Volume");
    expect(volumes).toHaveLength(machinesOf(service).length);
    expectEach(volumes, (v) => expect(v.inputs).toMatchObject({ region: "sjc", sizeGb: size }));
  });

  it.each(["weaviate", "mcp-memory", "vector-store"])("every %s volume has its own name in its region, so a create adopts only its own", (service) => {
    const volumes = inService(service, "fly:Volume");
    expect(volumes.length).toBeGreaterThan(1);
    const keys = volumes.map((v) => `${String(v.inputs.region)}/${String(v.inputs.name)}`);
    expect(new Set(keys).size).toBe(volumes.length);
  });

  it("keeps stateless services free of volumes", () => {
    for (const service of ["unified-api", "agno-bridge"]) expect(inService(service, "fly:Volume"), service).toHaveLength(0);
  });

  it("protects every volume and keeps it when removed from the program", () => {
    expectEach(plan.ofKind("fly:Volume"), (v) => expect([v.name, v.protect, v.retainOnDelete]).toEqual([v.name, true, true]));
  });

  it("protects the apps that hold volumes, since deleting an app deletes its volumes", () => {
    const apps = Object.fromEntries(plan.ofKind("fly:App").map((a) => [a.inputs.name, a.protect && a.retainOnDelete]));
    expect(apps).toEqual({
      "sophia-prod-weaviate": true,
      "sophia-prod-mcp-memory": true,
      "sophia-prod-vector-store": true,
      "sophia-prod-unified-api": false,
      "sophia-prod-agno-bridge": false,
      "sophia-prod-alertmanager": false,
      "sophia-prod-vmalert": false,
      "sophia-prod-grafana": false,
      "sophia-prod-backup-agent": false,
    });
  });

  it("sets snapshot retention on every volume from the config", () => {
    expectEach(plan.ofKind("fly:Volume"), (v) => expect(v.inputs.snapshotRetention).toBe(config.volumes.snapshotRetentionDays));
  });

  it("serves the UI from Vercel, so there is no agent-ui Fly app", () => {
    expect(plan.ofKind("fly:App").map((a) => a.inputs.name)).not.toContain("sophia-prod-agent-ui");
  });

  it("waits for checks on every release", () => {
    expectEach(plan.ofKind("fly:Machine").map(machineInputs), (m) => expect(m.waitForChecks, m.name).toBe(true));
  });

  it("updates stateful services one machine at a time (rolling): each machine is released after the previous one", () => {
    const machines = machinesOf("weaviate");
    expect(machines.length).toBeGreaterThan(1);
    expect(machines[0].releaseAfter ?? []).toEqual([]);
    expectEach(machines.slice(1), (m, i) => expect(m.releaseAfter, m.name).toEqual([machines[i].name]));
  });

  it("updates the API canary first, then the rest after it", () => {
    const [canary, ...rest] = machinesOf("unified-api");
    expect(canary.releaseAfter ?? []).toEqual([]);
    expectEach(rest, (m) => expect(m.releaseAfter, m.name).toEqual([canary.name]));
  });

  it("creates every machine of a new fleet at once: a machine waits for no other", () => {
    expectEach(plan.ofKind("fly:Machine"), (m) => expect(m.dependencies.filter((d) => d.includes("fly:Machine")), m.name).toEqual([]));
  });

  it("every machine of a service runs one release id, which names what the fleet shares", () => {
    const releases = new Set(machinesOf("weaviate").map((m) => m.config.metadata.sophia_release));
    expect(releases.size).toBe(1);
    expect([...releases][0]).toMatch(/^[0-9a-f]{8}$/);
  });

  it("releases the bridge blue-green: each machine's name carries its config generation, so a change is a create-before-delete replacement", () => {
    expectEach(machinesOf("agno-bridge"), (m) => expect(m.name).toMatch(new RegExp(`^sophia-prod-agno-bridge-${m.region}-\\d+-[0-9a-f]{8}$`)));
  });

  it("releases blue-green machines all at once, not one after another", () => {
    expectEach(inService("agno-bridge", "fly:Machine"), (m) => expect(m.dependencies.some((d) => d.includes("fly:Machine"))).toBe(false));
  });

  it("runs a Weaviate release that clusters over IPv6 (1.36.6 or 1.37.0 and later)", () => {
    const [major, minor, patch] = WEAVIATE_VERSION.split(".").map(Number);
    expect(major === 1 && (minor > 36 || (minor === 36 && patch >= 6))).toBe(true);
    expectEach(machinesOf("weaviate"), (m) => expect(m.config.image).toBe(`cr.weaviate.io/semitechnologies/weaviate:${WEAVIATE_VERSION}`));
  });

  it("gives every Weaviate node, the first included, the cluster settings and a join address in its region", () => {
    const nodes = machinesOf("weaviate");
    const names = nodes.map((_, i) => `node-${i}`);
    expect(nodes).toHaveLength(3);
    expectEach(nodes, (m, i) =>
      expect(m.config.env, m.name).toMatchObject({
        CLUSTER_HOSTNAME: `node-${i}`,
        CLUSTER_GOSSIP_BIND_PORT: "7100",
        CLUSTER_DATA_BIND_PORT: "7101",
        CLUSTER_JOIN: "sjc.sophia-prod-weaviate.internal:7100",
        RAFT_JOIN: names.join(","),
        RAFT_BOOTSTRAP_EXPECT: "3",
      }),
    );
  });

  it("limits Weaviate's gRPC passthrough by connections and its HTTP port by requests", () => {
    expectEach(machinesOf("weaviate"), (m) => {
      const [http, grpc] = m.config.services;
      expect([http.internal_port, http.concurrency.type]).toEqual([8080, "requests"]);
      expect([grpc.internal_port, grpc.concurrency.type]).toEqual([50051, "connections"]);
    });
  });

  it("creates Weaviate's nodes without waiting for a quorum check the first node cannot pass alone", () => {
    expectEach(inService("weaviate", "fly:Machine"), (m) => expect(m.inputs.checksOnCreate).toBe(false));
  });

  it("waits for checks when creating the API's machines, which need no quorum", () => {
    expectEach(inService("unified-api", "fly:Machine"), (m) => expect(m.inputs.checksOnCreate).toBe(true));
  });

  it("never lets the proxy stop a Weaviate node, so the Raft quorum holds", () => {
    expectEach(machinesOf("weaviate"), (m) => expectEach(m.config.services, (s) => expect(s.autostop).toBe("off")));
  });

  it("has each Weaviate node advertise its 6PN address for gossip, since its IPv4 is not reachable from other machines", () => {
    expectEach(machinesOf("weaviate"), (m) => {
      const init = (m.config as unknown as { init?: { entrypoint: string[]; cmd: string[] } }).init;
      expect(init?.entrypoint).toEqual(["/bin/sh", "-c"]);
      expect(init?.cmd[0]).toMatch(/^CLUSTER_ADVERTISE_ADDR="\$FLY_PRIVATE_IP" exec \/bin\/weaviate --host :: --port 8080 /);
    });
  });

  it("stands the configured number of GPU nodes (one GH200 in the profile; bursts are on demand), of the configured type, in the pool's region", () => {
    expect(config.gpu).toMatchObject({ standing: 1, instanceType: "gpu_1x_gh200" });
    const nodes = plan.ofKind("lambda:Instance");
    expect(nodes).toHaveLength(config.gpu.standing);
    expectEach(nodes, (n) => expect(n.inputs).toMatchObject({ instanceType: config.gpu.instanceType, region: config.gpu.region }));
  });

  it("does not reach the GPU nodes from pulumi up: readiness dials out, no SSH check", () => {
    expect(plan.ofKind("command:Command")).toHaveLength(0);
    expect(plan.gpu.readiness).toBe("dial-out");
  });

  it("opens no inbound port on the GPU firewall", () => {
    const firewalls = plan.ofKind("lambda:FirewallRuleset");
    expect(firewalls).toHaveLength(1);
    expect(firewalls[0].inputs.rules).toEqual([]);
  });

  it("hands the API the GPU launch template and the pool token as secrets", () => {
    const secrets = inService("unified-api", "fly:Secrets")[0].inputs.values as Record<string, unknown>;
    expect([secrets.GPU_LAUNCH_TEMPLATE, secrets.GPU_POOL_TOKEN]).toEqual(["[secret]", "[secret]"]);
  });

  it("generates the pool token with @pulumi/random", () => {
    expect(plan.ofKind("random:RandomPassword").map((r) => r.name)).toContain("gpu-pool-token");
  });

  it("keeps the nodes' user data, which carries the pool token, secret", () => {
    const nodes = plan.ofKind("lambda:Instance");
    expect(nodes.length).toBeGreaterThan(0);
    for (const n of nodes) expect(n.inputs.userData).toBe("[secret]");
  });

  it("shows each GPU node's architecture: GH200 is arm64", () => {
    expect(plan.gpu.nodes.map((n) => [n.name, n.architecture])).toEqual([["sophia-prod-gpu-0", "arm64"]]);
  });

  it("protects the models filesystem and keeps it when removed from the program", () => {
    const filesystems = plan.ofKind("lambda:Filesystem");
    expect(filesystems.map((f) => [f.protect, f.retainOnDelete])).toEqual([[true, true]]);
  });

  it("points api., bridge. and grafana. at Fly with TTL 60 records and a certificate each", () => {
    const certs = plan.ofKind("fly:Certificate").map((c) => c.inputs.hostname).sort();
    expect(certs).toEqual(["api.sophia-intel.ai", "bridge.sophia-intel.ai", "grafana.sophia-intel.ai"]);
    const records = plan.ofKind("vercel:DnsRecord");
    expect(records.map((r) => `${r.inputs.type} ${r.inputs.name}`).sort()).toEqual([
      "CNAME _acme-challenge.api",
      "CNAME _acme-challenge.bridge",
      "CNAME _acme-challenge.grafana",
      "CNAME api",
      "CNAME bridge",
      "CNAME grafana",
    ]);
    expectEach(records, (r) => expect(r.inputs.ttl).toBe(config.edge.dnsTtl));
  });

  it("creates one Vercel project with the app. and apex domains", () => {
    expect(plan.ofKind("vercel:Project")).toHaveLength(1);
    expect(plan.ofKind("vercel:ProjectDomain").map((d) => d.inputs.domain).sort()).toEqual(["app.sophia-intel.ai", "sophia-intel.ai"]);
  });

  // The Vercel SDK keeps every env value a Pulumi secret in state; `sensitive` is what Vercel shows.
  const uiVars = () => plan.ofKind("vercel:ProjectEnvironmentVariable").map((v) => v.inputs);

  it("creates the UI's public URLs as sensitive variables by default, so teams that enforce sensitive variables accept them", () => {
    const vars = Object.fromEntries(uiVars().map((v) => [v.key, v]));
    expect(vars.NEXT_PUBLIC_API_URL).toMatchObject({ sensitive: true, targets: ["production", "preview"] });
    expect(vars.NEXT_PUBLIC_AGNO_BRIDGE_URL).toMatchObject({ sensitive: true, targets: ["production", "preview"] });
  });

  it("gives the session secret to production only, as a sensitive variable", () => {
    const session = uiVars().filter((v) => v.key === "SESSION_SECRET");
    expect(session.map((v) => [v.targets, v.sensitive, v.value])).toEqual([
      [["production"], true, "[secret]"],
      [["preview"], true, "[secret]"],
    ]);
  });

  it("gives previews a session secret of their own, generated by the stack", () => {
    const preview = plan.ofKind("vercel:ProjectEnvironmentVariable").find((v) => v.name === "edge-ui-env-SESSION_SECRET-preview");
    expect(preview?.dependencies.some((urn) => urn.endsWith("edge-ui-preview-SESSION_SECRET"))).toBe(true);
  });
});

describe("prod plan notes", () => {
  it("says the ESC environment is not opened offline", () => {
    expect(plan.notes).toContainEqual(expect.stringMatching(/^The ESC environment sophia\/prod is not opened offline/));
  });
});
