/**
 * Prod failed over (`sophia:recovery.activeRegion: lax`) under the mock engine: the stateful
 * services move to lax, the minimums follow, and nothing in sjc is changed or removed: its
 * machines are frozen and its data parked.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { FLY_SERVICE_TYPE } from "../../components/fly-service";
import { expectEach } from "../helpers/expect-each";
import { machineInputs, planStack, stackValueWith, type PlannedStack } from "../helpers/plan";

let plan: PlannedStack;
beforeAll(async () => {
  plan = await planStack("prod", { configOverrides: { "sophia:recovery": stackValueWith("prod", "sophia:recovery", { activeRegion: "lax" }) } });
}, 60_000);

const inService = (service: string, kind: string) => plan.inside(FLY_SERVICE_TYPE, service).filter((r) => r.kind === kind);
const FROZEN = ["config", "name", "releaseAfter", "minSecretsVersion"];

describe("prod failed over to lax", () => {
  it("creates each stateful service's volumes and machines in lax, protected and retained", () => {
    for (const service of ["weaviate", "mcp-memory", "vector-store"]) {
      const lax = inService(service, "fly:Volume").filter((v) => v.inputs.region === "lax");
      expect(lax.length, service).toBeGreaterThan(0);
      expectEach(lax, (v) => expect([v.protect, v.retainOnDelete, v.ignoreChanges], v.name).toEqual([true, true, undefined]));
      expect(inService(service, "fly:Machine").filter((m) => m.inputs.region === "lax" && !m.ignoreChanges)).toHaveLength(lax.length);
    }
  });

  it("leaves the stateful services' sjc volumes and machines declared and untouched: parked, protected, never deleted", () => {
    const parkedVolumes = plan.ofKind("fly:Volume").filter((v) => v.inputs.region === "sjc");
    expect(parkedVolumes).toHaveLength(3 + 8 + 12);
    expectEach(parkedVolumes, (v) => expect([v.protect, v.retainOnDelete, v.ignoreChanges?.includes("sizeGb")], v.name).toEqual([true, true, true]));
    const parkedMachines = ["weaviate", "mcp-memory", "vector-store", "backup-agent"].flatMap((s) => inService(s, "fly:Machine")).filter((m) => m.inputs.region === "sjc");
    expectEach(parkedMachines, (m) => expect(m.ignoreChanges, m.name).toEqual(FROZEN));
  });

  it("freezes every stateless machine in sjc and releases only the lax ones", () => {
    const sjc = ["unified-api", "agno-bridge"].flatMap((s) => inService(s, "fly:Machine")).filter((m) => m.inputs.region === "sjc");
    expectEach(sjc, (m) => expect([m.ignoreChanges, m.retainOnDelete], m.name).toEqual([FROZEN, true]));
    const laxApi = inService("unified-api", "fly:Machine").filter((m) => m.inputs.region === "lax").map(machineInputs);
    // Canary: the first lax machine goes first; no lax machine waits for one in sjc.
    expectEach(laxApi.slice(1), (m) => expect(m.releaseAfter, m.name).toEqual(["sophia-prod-unified-api-lax-0"]));
  });

  it("moves the minimums: every machine in lax names lax its primary region", () => {
    const lax = plan.ofKind("fly:Machine").filter((m) => m.inputs.region === "lax").map(machineInputs);
    expectEach(lax, (m) => expect(m.config.env.PRIMARY_REGION, m.name).toBe("lax"));
  });

  it("names the lax Weaviate nodes for their region, joining only each other", () => {
    const lax = inService("weaviate", "fly:Machine").filter((m) => m.inputs.region === "lax").map(machineInputs);
    expect(lax.map((m) => m.config.env.CLUSTER_HOSTNAME)).toEqual(["node-lax-0", "node-lax-1", "node-lax-2"]);
    expectEach(lax, (m) => expect(m.config.env).toMatchObject({ CLUSTER_JOIN: "lax.sophia-prod-weaviate.internal:7100", RAFT_JOIN: "node-lax-0,node-lax-1,node-lax-2" }));
  });

  it("moves every data region and restore to lax, and Weaviate's restore maps onto the lax nodes", () => {
    expectEach(plan.ofKind("recovery:Region"), (r) => expect(r.inputs.region, r.name).toBe("lax"));
    const restores = plan.ofKind("recovery:Restore");
    expectEach(restores, (r) => expect(r.inputs.region, r.name).toBe("lax"));
    expect(restores.find((r) => r.name === "weaviate-restore")?.inputs.targetNodes).toEqual(["node-lax-0", "node-lax-1", "node-lax-2"]);
  });

  it("runs the backup agent in lax", () => {
    expect(inService("backup-agent", "fly:Machine").filter((m) => !m.ignoreChanges).map((m) => m.inputs.region)).toEqual(["lax"]);
  });
});
