/** sophia:recovery: the config mistakes it refuses, and the plan it gives each stateful service. */
import { describe, expect, it } from "vitest";
import { planRecovery } from "../../components/recovery/plan";
import { planServices } from "../../components/platform-services";
import { SERVICE_DEFINITIONS } from "../../components/services";
import { parseStackConfig } from "../../src/stack-config";
import { expectEach } from "../helpers/expect-each";
import { configRefusal } from "../helpers/stack-config";

const prod = { profile: "enterprise-multi-region" };
const images = {
  services: {
    "mcp-memory": { image: "ghcr.io/x/mcp-memory:1", port: 8001 },
    "vector-store": { image: "ghcr.io/x/vector-store:1", port: 8005 },
    "unified-api": { image: "ghcr.io/x/unified-api:1" },
    "agno-bridge": { image: "ghcr.io/x/agno-bridge:1", port: 7777, healthCheck: { path: "/health" } },
    "agent-ui": { image: "ghcr.io/x/agent-ui:1", healthCheck: { path: "/" } },
  },
};

const configError = (overrides: Record<string, unknown>) => configRefusal(overrides, "prod");

/** Plans the services and their recovery; the error when either refuses. */
function recoveryPlan(recovery: Record<string, unknown> = {}, services: Record<string, unknown> = {}) {
  const config = parseStackConfig({ ...prod, services: { ...images.services, ...services }, recovery }, "prod");
  return planRecovery(config, planServices(config, SERVICE_DEFINITIONS));
}

function recoveryError(recovery: Record<string, unknown>, services: Record<string, unknown> = {}): string {
  try {
    recoveryPlan(recovery, services);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected the recovery config to be refused");
}

describe("sophia:recovery mistakes are refused before anything exists", () => {
  it("a backup schedule that cannot keep the loss under the RPO", () => {
    expect(configError({ ...prod, recovery: { backupEveryMinutes: 20 } })).toMatch(/sophia:recovery\.backupEveryMinutes: a backup every 20 min cannot keep the loss under the RPO of 15 min.*set backupEveryMinutes below 15/);
  });

  it("a schedule equal to the RPO, which leaves no time for the backup itself", () => {
    expect(configError({ ...prod, recovery: { backupEveryMinutes: 15 } })).toMatch(/backupEveryMinutes: a backup every 15 min cannot keep the loss under the RPO of 15 min/);
  });

  it("a failover region that is not one of the stack's regions", () => {
    expect(configError({ ...prod, recovery: { activeRegion: "fra" } })).toMatch(/sophia:recovery\.activeRegion: "fra" is not one of the stack's regions \[sjc, lax\]; fail over to one of them/);
  });

  it("an unknown region name, with the nearest one", () => {
    expect(configError({ ...prod, recovery: { activeRegion: "lxa" } })).toMatch(/sophia:recovery\.activeRegion: must be one of .*did you mean "lax"\?/);
  });

  it("a backup endpoint written with a scheme where a host is meant", () => {
    expect(configError({ ...prod, recovery: { bucket: { endpoint: "https://fly.storage.tigris.dev" } } })).toMatch(
      /sophia:recovery\.bucket\.endpoint: "https:\/\/fly\.storage\.tigris\.dev" has a scheme; give the host alone \("fly\.storage\.tigris\.dev"\) and say TLS with useSsl/,
    );
  });

  it("one service's data region outside the stack's regions", () => {
    expect(configError({ ...prod, recovery: { services: { weaviate: { region: "ams" } } } })).toMatch(/sophia:recovery\.services\.weaviate\.region: "ams" is not one of the stack's regions/);
  });

  it("a recovery entry for a service that does not exist", () => {
    expect(recoveryError({ services: { weaviat: { method: "weaviate-backup" } } })).toMatch(/sophia:recovery\.services\.weaviat: not a stateful service of this stack; stateful services: weaviate, mcp-memory, vector-store/);
  });

  it("a method whose RPO is above the stack's target", () => {
    expect(recoveryError({ services: { "vector-store": { method: "volume-snapshot" } } })).toMatch(/vector-store: "volume-snapshot" gives an RPO of 1440 min, above the stack's sophia:recovery\.rpoMinutes 15/);
  });

  it("a failover of a service whose snapshots restore only in its own region", () => {
    expect(recoveryError({ rpoMinutes: 1440, backupEveryMinutes: 10, activeRegion: "lax", services: { "vector-store": { method: "volume-snapshot" } } })).toMatch(
      /vector-store is backed up by Fly volume snapshots, which restore only in the volume's own region \(sjc\), so it cannot move to lax/,
    );
  });

  it("Weaviate's own backup method on a service that is not Weaviate", () => {
    expect(recoveryError({ services: { "mcp-memory": { method: "weaviate-backup" } } })).toMatch(/sophia:recovery\.services\.mcp-memory\.method: "weaviate-backup" is Weaviate's own backup API/);
  });

  it("a Litestream restore point that is not a time", () => {
    expect(recoveryError({ services: { "mcp-memory": { restoreFrom: "yesterday" } } })).toMatch(/restoreFrom: "yesterday" is not a time/);
  });

  it("an even number of Weaviate Raft voters", () => {
    expect(recoveryError({}, { weaviate: { maxMachines: 4 } })).toMatch(/4 Weaviate nodes are 4 Raft voters, .*survive 1 lost node, no more than 3 would\. Use an odd number of nodes: 3 or 5/);
  });
});

describe("the prod recovery plan", () => {
  const plan = recoveryPlan();

  it("lists every stateful service with an RPO of at most 15 minutes, restorable in both regions", () => {
    expect(plan.services.map((s) => s.service)).toEqual(["weaviate", "mcp-memory", "vector-store"]);
    expectEach(plan.services, (s) => {
      expect(s.rpoMinutes, s.service).toBeLessThanOrEqual(15);
      expect(s.restoresInto, s.service).toEqual(["sjc", "lax"]);
      expect(s.region, s.service).toBe("sjc");
    });
  });

  it("backs Weaviate up with its own API on the schedule, the SQLite services with Litestream", () => {
    expect(plan.services.map((s) => [s.service, s.method, s.rpoMinutes])).toEqual([
      ["weaviate", "weaviate-backup", 15],
      ["mcp-memory", "litestream", 1],
      ["vector-store", "litestream", 1],
    ]);
  });

  it("claims Weaviate's RPO as one interval plus the time a backup may take, which is what keeps the claim within the stack's RPO", () => {
    expect(plan.backupTimeoutMinutes).toBe(5);
    expect(plan.services.find((s) => s.service === "weaviate")?.rpoMinutes).toBe(10 + 5);
    const tight = recoveryPlan({ backupEveryMinutes: 5 });
    expect([tight.backupTimeoutMinutes, tight.services.find((s) => s.service === "weaviate")?.rpoMinutes]).toEqual([4, 9]);
  });

  it("keeps backups in a bucket named for the stack, at Tigris", () => {
    expect(plan.bucket).toEqual({ name: "sophia-prod-backups", endpoint: "fly.storage.tigris.dev", region: "auto", useSsl: true });
  });

  it("moves every stateful service with the active region, and names the region it leaves", () => {
    const moved = recoveryPlan({ activeRegion: "lax" });
    expect(moved.lostRegion).toBe("sjc");
    expectEach(moved.services, (s) => expect(s.region, s.service).toBe("lax"));
  });
});
