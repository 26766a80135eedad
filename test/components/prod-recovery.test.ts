/** Prod under the mock engine: what recovery adds to the graph. */
import { beforeAll, describe, expect, it } from "vitest";
import { FLY_SERVICE_TYPE } from "../../components/fly-service";
import { RECOVERY_TYPE } from "../../components/recovery/recovery";
import { expectEach } from "../helpers/expect-each";
import { machineInputs, planStack, type PlannedStack } from "../helpers/plan";

let plan: PlannedStack;
beforeAll(async () => {
  plan = await planStack("prod");
}, 60_000);

const machinesOf = (service: string) => plan.inside(FLY_SERVICE_TYPE, service).filter((r) => r.kind === "fly:Machine").map(machineInputs);
const inRecovery = () => plan.inside(RECOVERY_TYPE, "recovery");

describe("prod recovery", () => {
  it("runs three Weaviate voters, each with the backup-s3 module pointed at the bucket by host", () => {
    const nodes = machinesOf("weaviate");
    expect(nodes).toHaveLength(3);
    expectEach(nodes, (m) =>
      expect(m.config.env, m.name).toMatchObject({
        ENABLE_MODULES: "backup-s3",
        BACKUP_S3_BUCKET: "sophia-prod-backups",
        BACKUP_S3_ENDPOINT: "fly.storage.tigris.dev",
        BACKUP_S3_USE_SSL: "true",
        BACKUP_S3_PATH: "weaviate",
        RAFT_BOOTSTRAP_EXPECT: "3",
      }),
    );
  });

  it("creates the bucket protected and retained, with its keys secret", () => {
    const [bucket] = plan.ofKind("s3:Bucket");
    expect(bucket).toMatchObject({ protect: true, retainOnDelete: true });
    expect(bucket.inputs).toMatchObject({ name: "sophia-prod-backups", endpoint: "fly.storage.tigris.dev", accessKeyId: "[secret]", secretAccessKey: "[secret]" });
  });

  it("gives each SQLite volume its own Litestream replica path, and the service the config file", () => {
    const paths = machinesOf("mcp-memory").map((m) => m.config.env.LITESTREAM_PATH);
    expect(paths).toEqual(Array.from({ length: 8 }, (_, i) => `litestream/mcp-memory/${i}`));
    expectEach(machinesOf("mcp-memory"), (m) => {
      expect(m.config.env).toMatchObject({ SOPHIA_DB_PATH: "/data/mcp-memory.db", LITESTREAM_BUCKET: "sophia-prod-backups", LITESTREAM_ENDPOINT: "https://fly.storage.tigris.dev" });
      expect((m.config.files ?? []).map((f) => f.guest_path)).toEqual(["/etc/litestream.yml"]);
    });
  });

  it("claims each stateful service's data region before any of its volumes", () => {
    const regions = plan.ofKind("recovery:Region");
    expect(regions.map((r) => [r.name, r.inputs.region])).toEqual([["weaviate-data-region", "sjc"], ["mcp-memory-data-region", "sjc"], ["vector-store-data-region", "sjc"]]);
    expectEach(plan.ofKind("fly:Volume"), (v) => expect(v.dependencies.some((d) => d.endsWith("-data-region")), v.name).toBe(true));
  });

  it("restores each SQLite volume before its machine starts, and Weaviate once its machines run", () => {
    const restores = inRecovery().filter((r) => r.kind === "recovery:Restore");
    expect(restores).toHaveLength(1 + 8 + 12);
    const machine = plan.ofKind("fly:Machine").find((m) => m.name === "mcp-memory-machine-sjc-3")!;
    expect(machine.dependencies.some((d) => d.endsWith("::mcp-memory-restore-3"))).toBe(true);
    const weaviate = restores.find((r) => r.name === "weaviate-restore")!;
    expect(weaviate.dependencies.filter((d) => d.includes("weaviate-machine-sjc-"))).toHaveLength(3);
  });

  it("runs the backup agent in the active region with its script, aws4, and metrics for Fly to scrape", () => {
    const [agent] = machinesOf("backup-agent");
    expect(agent.region).toBe("sjc");
    expect(agent.config.metrics).toEqual({ port: 9091, path: "/metrics" });
    expect((agent.config.files ?? []).map((f) => f.guest_path)).toEqual(["/opt/sophia/agent.js", "/opt/sophia/aws4/aws4.js", "/opt/sophia/aws4/lru.js"]);
    expect(JSON.parse(agent.config.env.SOPHIA_AGENT_SETTINGS)).toMatchObject({ everyMinutes: 10, fullEveryHours: 24, retentionDays: 7, weaviateService: "weaviate" });
    const script = Buffer.from(agent.config.files?.[0]?.raw_value ?? "", "base64").toString("utf8");
    expect(() => new Function(script)).not.toThrow();
    expect(script).toContain("startAgent(process.env");
    // Shipped alone: no reference to another module of the project, as compilers write them.
    expect(script).not.toMatch(/\b\w+_\d+\.\w+|\bimport_\w+/);
  });

  it("exports the recovery plan as a stack output, every stateful service within the seed's 15 minutes", () => {
    const recovery = plan.outputs.recovery as { services: { service: string; rpoMinutes: number }[]; activeRegion: string; bucket: string };
    expect(recovery.activeRegion).toBe("sjc");
    expect(recovery.bucket).toBe("s3://sophia-prod-backups");
    expectEach(recovery.services, (s) => expect(s.rpoMinutes, s.service).toBeLessThanOrEqual(15));
  });
});
