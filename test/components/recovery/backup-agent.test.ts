/**
 * The backup agent's schedule, retention and gauge, driven on a fake clock through the same
 * functions the agent's machine runs, with Weaviate's backup list and the bucket played in memory.
 */
import { describe, expect, it } from "vitest";
import {
  backupIdAt,
  chainsOf,
  expiredChains,
  nextBackup,
  parseBackupId,
  refreshLitestream,
  renderMetrics,
  runBackupCycle,
  type AgentDeps,
  type AgentSettings,
  type AgentState,
  type BackupEntry,
} from "../../../components/recovery/backup-agent";
import { expectEach } from "../../helpers/expect-each";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const T0 = Date.UTC(2026, 11, 1, 0, 0, 0);
const SETTINGS: AgentSettings = { everyMinutes: 10, fullEveryHours: 24, retentionDays: 7, weaviateService: "weaviate", weaviatePrefix: "weaviate", litestream: [], backupTimeoutMinutes: 9 };

/** Weaviate and the bucket in memory: a backup's objects live under weaviate/<id>/ until deleted. */
class World {
  now = T0;
  backups = new Map<string, { status: string; base?: string }>();
  objects = new Map<string, number>();
  failNext = 0;
  created: { id: string; base?: string }[] = [];

  deps(): AgentDeps {
    return {
      now: () => this.now,
      sleep: async (ms) => void (this.now += ms),
      weaviate: async (method, path, body) => {
        if (method === "GET" && path === "/v1/backups/s3") return { status: 200, body: [...this.backups].map(([id, b]) => ({ id, status: b.status })) };
        if (method === "POST") {
          const { id, incremental_base_backup_id: base } = body as { id: string; incremental_base_backup_id?: string };
          // Weaviate refuses an increment on a base that is gone: the chain would be broken.
          if (base !== undefined && !this.objects.has(`weaviate/${base}/backup_config.json`)) throw new Error(`incremental base ${base} was deleted`);
          const status = this.failNext > 0 ? (this.failNext--, "FAILED") : "SUCCESS";
          this.backups.set(id, { status, base });
          this.created.push({ id, base });
          if (status === "SUCCESS") this.objects.set(`weaviate/${id}/backup_config.json`, this.now);
          return { status: 200, body: { id, status: "STARTED" } };
        }
        const id = path.split("/").pop()!;
        return { status: 200, body: { id, status: this.backups.get(id)?.status } };
      },
      s3List: async (prefix) => [...this.objects].filter(([k]) => k.startsWith(prefix)).map(([key, t]) => ({ key, lastModified: new Date(t).toISOString() })),
      s3Delete: async (key) => {
        this.objects.delete(key);
        const id = key.split("/")[1];
        if (![...this.objects.keys()].some((k) => k.startsWith(`weaviate/${id}/`))) this.backups.delete(id);
      },
      log: () => {},
    };
  }
}

/** Runs the agent's cycles on the schedule's boundaries for `days`, as its loop does. */
async function runFor(world: World, days: number, state: AgentState = { lastSuccess: {}, runs: {} }, settings = SETTINGS): Promise<AgentState> {
  const start = world.now;
  const cycles = Math.round((days * DAY) / (settings.everyMinutes * MINUTE));
  for (let k = 0; k < cycles; k++) {
    world.now = start + k * settings.everyMinutes * MINUTE;
    await runBackupCycle(world.deps(), settings, state);
  }
  world.now = start + cycles * settings.everyMinutes * MINUTE;
  return state;
}

/** A shorter retention, so that a simulated fortnight expires several chains quickly. */
const SHORT: AgentSettings = { ...SETTINGS, fullEveryHours: 6, retentionDays: 2 };

const entries = (world: World): BackupEntry[] => [...world.backups].map(([id, b]) => ({ id, status: b.status, ...parseBackupId(id)! }));

describe("backup ids", () => {
  it("carry their time and kind, and Weaviate's alphabet only", () => {
    const id = backupIdAt(Date.UTC(2026, 11, 5, 15, 40, 7), "incr");
    expect(id).toBe("sophia-20261205t154007z-incr");
    expect(id).toMatch(/^[a-z0-9_-]+$/);
    expect(parseBackupId(id)).toEqual({ time: Date.UTC(2026, 11, 5, 15, 40, 7), kind: "incr" });
    expect(parseBackupId("someone-elses-backup")).toBeUndefined();
  });
});

describe("the schedule", () => {
  it("starts with a full backup, then increments on the previous one, and a full one every fullEveryHours", async () => {
    const world = new World();
    await runFor(world, 2);
    expect(world.created[0].base).toBeUndefined();
    expect(world.created[1].base).toBe(world.created[0].id);
    expect(world.created[2].base).toBe(world.created[1].id);
    const fulls = world.created.filter((c) => c.base === undefined).map((c) => parseBackupId(c.id)!.time);
    expect(fulls).toEqual([T0, T0 + DAY]);
    expect(world.created).toHaveLength(2 * 24 * 6);
  });

  it("takes no backup while one is still running", async () => {
    const world = new World();
    world.backups.set(backupIdAt(T0 - MINUTE, "full"), { status: "TRANSFERRING" });
    await runBackupCycle(world.deps(), SETTINGS, { lastSuccess: {}, runs: {} });
    expect(world.created).toEqual([]);
  });

  it("bases the next increment on the newest good backup, never on a failed one", async () => {
    const world = new World();
    await runFor(world, 30 * MINUTE / DAY);
    world.failNext = 1;
    await runFor(world, 20 * MINUTE / DAY);
    const [failed, after] = world.created.slice(-2);
    expect(world.backups.get(failed.id)?.status).toBe("FAILED");
    expect(after.base).toBe(world.created[world.created.length - 3].id);
  });
});

describe("retention", () => {
  it("over ten days, never deletes a backup whose chain is still kept: every increment's base exists", async () => {
    const world = new World();
    await runFor(world, 10, undefined, SHORT);
    const good = entries(world).filter((b) => b.status === "SUCCESS");
    expectEach(good.filter((b) => b.kind === "incr"), (b) => {
      const base = world.created.find((c) => c.id === b.id)!.base!;
      expect(world.objects.has(`weaviate/${base}/backup_config.json`), `${b.id} lost its base ${base}`).toBe(true);
    });
  });

  it("removes exactly the chains whose newest backup is older than retentionDays, and keeps every younger one", async () => {
    const world = new World();
    await runFor(world, 10, undefined, SHORT);
    // Every chain ever made, from what was created; the last retention ran just after the last backup (its poll: 5 s).
    const made = chainsOf(world.created.map((c) => ({ id: c.id, status: "SUCCESS", ...parseBackupId(c.id)! })));
    const lastCheck = world.now - SHORT.everyMinutes * MINUTE + 5_000;
    const young = made.filter((c, i) => i === made.length - 1 || c[c.length - 1].time >= lastCheck - SHORT.retentionDays * DAY);
    expect(made.length).toBe(40);
    expect(young.length).toBeLessThan(made.length);
    expect(chainsOf(entries(world)).map((c) => c[0].id)).toEqual(young.map((c) => c[0].id));
  });

  it("never expires the newest chain, however old", () => {
    const old: BackupEntry[] = [{ id: backupIdAt(T0, "full"), time: T0, kind: "full", status: "SUCCESS" }];
    expect(expiredChains(old, T0 + 100 * DAY, SETTINGS)).toEqual([]);
    expect(nextBackup(old, T0 + 100 * DAY, SETTINGS).base).toBeUndefined();
  });
});

describe("the age gauge", () => {
  it("holds the time of the newest good backup, on the fake clock", async () => {
    const world = new World();
    const state = await runFor(world, 1);
    const lastCycle = world.now - SETTINGS.everyMinutes * MINUTE;
    expect(state.lastSuccess.weaviate).toBe(lastCycle);
    expect(renderMetrics(state, "sophia_backup_last_success_timestamp_seconds")).toContain(`sophia_backup_last_success_timestamp_seconds{service="weaviate"} ${lastCycle / 1000}`);
  });

  it("does not move on a failed backup, so the age grows and the alert can fire", async () => {
    const world = new World();
    const state = await runFor(world, 1 / 24);
    const before = state.lastSuccess.weaviate;
    world.failNext = 3;
    await runFor(world, 30 * MINUTE / DAY, state);
    expect(state.lastSuccess.weaviate).toBe(before);
    expect(state.runs.weaviate.failure).toBe(3);
  });

  it("gives a Litestream service the time of its newest replica, so a stopped machine's idle replica raises nothing", async () => {
    const world = new World();
    world.objects.set("litestream/mcp-memory/0/generations/g/wal/1", T0 + 5 * DAY);
    world.objects.set("litestream/mcp-memory/1/generations/g/wal/1", T0);
    const state: AgentState = { lastSuccess: {}, runs: {} };
    await refreshLitestream(world.deps(), { ...SETTINGS, litestream: [0, 1].map((i) => ({ service: "mcp-memory", prefix: `litestream/mcp-memory/${i}/` })) }, state);
    expect(state.lastSuccess["mcp-memory"]).toBe(T0 + 5 * DAY);
  });

  it("reports a Litestream service one of whose volumes never ran (no replica at all)", async () => {
    const world = new World();
    world.objects.set("litestream/mcp-memory/0/generations/g/wal/1", T0 + 2 * MINUTE);
    const state: AgentState = { lastSuccess: {}, runs: {} };
    await refreshLitestream(world.deps(), { ...SETTINGS, litestream: [0, 1, 2].map((i) => ({ service: "mcp-memory", prefix: `litestream/mcp-memory/${i}/` })) }, state);
    expect(renderMetrics(state, "m")).toContain(`m{service="mcp-memory"} ${(T0 + 2 * MINUTE) / 1000}`);
  });

  it("counts a Litestream service with nothing replicated yet from when the agent first saw it so", async () => {
    const world = new World();
    const state: AgentState = { lastSuccess: {}, runs: {} };
    const settings = { ...SETTINGS, litestream: [{ service: "mcp-memory", prefix: "litestream/mcp-memory/0/" }] };
    await refreshLitestream(world.deps(), settings, state);
    world.now = T0 + DAY;
    await refreshLitestream(world.deps(), settings, state);
    expect(state.lastSuccess["mcp-memory"]).toBe(T0);
  });
});
