/** Prod under the mock engine: what recovery adds to the graph. */
import * as vm from "node:vm";
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

  it("starts each Litestream restore only once its app holds the bucket's keys (LITESTREAM_* secrets)", () => {
    const restores = inRecovery().filter((r) => r.kind === "recovery:Restore" && r.name !== "weaviate-restore");
    expectEach(restores, (r) => {
      const service = r.name.replace(/-restore-\d+$/, "");
      expect(r.dependencies.some((d) => d.endsWith(`::${service}-secrets`)), r.name).toBe(true);
    });
  });

  it("starts Weaviate's callers and the backup agent only after Weaviate's restore, so nothing writes into it first", () => {
    for (const service of ["mcp-memory", "vector-store", "unified-api", "backup-agent"]) {
      const machines = plan.inside(FLY_SERVICE_TYPE, service).filter((r) => r.kind === "fly:Machine");
      expect(machines.length, service).toBeGreaterThan(0);
      expectEach(machines, (m) => expect(m.dependencies.some((d) => d.endsWith("::weaviate-restore")), m.name).toBe(true));
    }
  });

  it("runs the backup agent in the active region with its script, aws4, and metrics for Fly to scrape", () => {
    const [agent] = machinesOf("backup-agent");
    expect(agent.region).toBe("sjc");
    expect(agent.config.metrics).toEqual({ port: 9091, path: "/metrics" });
    expect((agent.config.files ?? []).map((f) => f.guest_path)).toEqual(["/opt/sophia/agent.js", "/opt/sophia/aws4/aws4.js", "/opt/sophia/aws4/lru.js"]);
    expect(JSON.parse(agent.config.env.SOPHIA_AGENT_SETTINGS)).toMatchObject({ everyMinutes: 10, fullEveryHours: 24, retentionDays: 7, weaviateService: "weaviate", backupTimeoutMinutes: 5 });
    const script = Buffer.from(agent.config.files?.[0]?.raw_value ?? "", "base64").toString("utf8");
    expect(() => new Function(script)).not.toThrow();
    expect(script).toContain("startAgent(process.env");
  });

  it("ships an agent script that runs alone: a cycle through every path refers to nothing it lacks", async () => {
    const [agent] = machinesOf("backup-agent");
    const script = Buffer.from(agent.config.files?.[0]?.raw_value ?? "", "base64").toString("utf8");
    const logged: string[] = [];
    const answer = (body: string, status = 200) => ({ ok: status < 400, status, text: async () => body });
    // Weaviate answers a list, a backup, its status; S3 a one-object listing.
    const fetchStub = async (url: string | URL, init?: { method?: string }) => {
      const u = String(url);
      if (u.includes("/v1/backups/s3/")) return answer(JSON.stringify({ status: "SUCCESS" }));
      if (u.endsWith("/v1/backups/s3")) return answer(init?.method === "POST" ? JSON.stringify({ status: "STARTED" }) : "[]");
      return answer("<ListBucketResult><Contents><Key>litestream/mcp-memory/0/x</Key><LastModified>2026-12-05T00:00:00.000Z</LastModified></Contents></ListBucketResult>");
    };
    const sandbox = {
      process: { env: { SOPHIA_AGENT_SETTINGS: agent.config.env.SOPHIA_AGENT_SETTINGS, BACKUP_S3_ENDPOINT: "s3.test", BACKUP_S3_BUCKET: "b", WEAVIATE_URL: "http://weaviate.test" } },
      require: (name: string) => (name === "node:http" ? { createServer: () => ({ listen: () => undefined }) } : { sign: () => ({ headers: {} }) }),
      console: { log: (line: string) => logged.push(line) },
      // The poll's short waits pass at once; the next cycles (minutes away) never come.
      setTimeout: (fn: () => void, ms: number) => (ms <= 5_000 ? setImmediate(fn) : undefined),
      fetch: fetchStub,
      URL, Date, JSON, Promise, Math, Number, String, Object, Array, Buffer, encodeURIComponent, Error,
    };
    vm.runInNewContext(script, sandbox);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(logged.filter((l) => /failed/.test(l))).toEqual([]);
    expect(logged.some((l) => /backup sophia-\d{8}t\d{6}z-full \(full\) succeeded/.test(l))).toBe(true);
  });

  it("exports the recovery plan as a stack output, every stateful service within the seed's 15 minutes", () => {
    const recovery = plan.outputs.recovery as { services: { service: string; rpoMinutes: number }[]; activeRegion: string; bucket: string };
    expect(recovery.activeRegion).toBe("sjc");
    expect(recovery.bucket).toBe("s3://sophia-prod-backups");
    expectEach(recovery.services, (s) => expect(s.rpoMinutes, s.service).toBeLessThanOrEqual(15));
  });
});
