/**
 * Restores against the Fly emulator (one-shot machines, whose work a job runner plays) and a real
 * S3-compatible server holding backups: success, a failed restore, a restore into a region that
 * already holds data, and the lost answers a create must survive.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import type { JobRunner, MachineJob } from "../../../src/emulators/fly/emulator";
import { recoveryRegionProvider, recoveryRestoreProvider, RESTORE_EXIT } from "../../../src/providers/recovery";
import { S3Client } from "../../../src/providers/s3";
import { createTestApp, failureOf, remote, startFlyTestEnv, type FlyTestEnv } from "../fly/helpers";
import { S3RVER_KEYS, startS3, type S3TestServer } from "../s3/helpers";

let fly: FlyTestEnv;
let s3: S3TestServer;
let runner: JobRunner = () => 0;
const jobs: MachineJob[] = [];
const BUCKET = "sophia-test-restores";

const bucket = () => ({ name: BUCKET, endpoint: s3.endpoint, useSsl: false, region: "auto", ...S3RVER_KEYS });
const s3Client = () => new S3Client({ endpoint: s3.endpoint, useSsl: false, ...S3RVER_KEYS });

/** A Weaviate backup descriptor, as Weaviate's backup-s3 module writes it. */
async function putWeaviateBackup(id: string, status: string, completedAt: string, startedAt = completedAt, nodes = ["node-0", "node-1", "node-2"]): Promise<void> {
  const descriptor = { id, status, startedAt, completedAt, nodes: Object.fromEntries(nodes.map((n) => [n, { status }])) };
  await s3Client().putObject(BUCKET, `weaviate/${id}/backup_config.json`, JSON.stringify(descriptor), "application/json");
}

function restoreInputs(app: string, fields: Record<string, unknown> = {}) {
  return {
    service: "weaviate",
    method: "weaviate-backup" as const,
    app,
    region: "lax",
    jobName: "restore-weaviate-lax",
    job: { image: "curlimages/curl:8.11.1", env: { WEAVIATE_URL: `http://${app}.flycast:8080` }, guest: { cpu_kind: "shared" as const, cpus: 1, memory_mb: 256 } },
    previousRegion: "sjc",
    bucket: bucket(),
    prefix: "weaviate",
    targetNodes: ["node-lax-0", "node-lax-1", "node-lax-2"],
    timeoutSeconds: 20,
    marker: "sophia/test/weaviate-restore",
    ...fly.connection,
    ...fields,
  };
}

/** A Litestream restore of one mcp-memory volume (index `i`), after a move from sjc unless overridden. */
function litestreamInputs(app: string, i: number, fields: Record<string, unknown> = {}) {
  return restoreInputs(app, {
    service: "mcp-memory",
    method: "litestream",
    jobName: `restore-mcp-memory-${i}`,
    job: { image: "litestream/litestream:0.3.13", env: {}, guest: { cpu_kind: "shared" as const, cpus: 1, memory_mb: 256 } },
    prefix: `litestream/mcp-memory/${i}`,
    servicePrefix: "litestream/mcp-memory",
    targetNodes: undefined,
    marker: `sophia/test/mcp-memory-restore-${i}`,
    ...fields,
  });
}

beforeAll(async () => {
  fly = await startFlyTestEnv({ jobRunner: (job) => (jobs.push(job), runner(job)) });
  s3 = await startS3();
  await s3Client().createBucket(BUCKET, async () => undefined);
  await putWeaviateBackup("sophia-20261205t150000z-full", "SUCCESS", "2026-12-05T15:00:40Z");
  await putWeaviateBackup("sophia-20261205t151000z-incr", "SUCCESS", "2026-12-05T15:10:20Z", "2026-12-05T15:10:00Z");
  await s3Client().putObject(BUCKET, "litestream/mcp-memory/0/generations/5ea1ed0000000001/wal/00000000/00000001.wal.lz4", "wal frames");
  // A backup someone made by hand: its id sorts above the agent's but says nothing of its time.
  await putWeaviateBackup("zz-before-upgrade", "SUCCESS", "2026-11-01T00:00:00Z");
  // The newest one failed: a restore must never pick it.
  await putWeaviateBackup("sophia-20261205t152000z-incr", "FAILED", "2026-12-05T15:20:30Z");
});
afterAll(async () => {
  await s3.close();
  await fly.close();
});
beforeEach(() => {
  jobs.length = 0;
  runner = () => RESTORE_EXIT.ok;
});

// Its jobs are played by a runner in this process: an emulator started elsewhere plays none of them.
describe.skipIf(remote)("RecoveryRestore", () => {
  test("restores the newest good backup through a job machine, mapping the backup's nodes onto the new ones", async () => {
    const app = await createTestApp(fly, "restore");
    const created = await recoveryRestoreProvider.create(restoreInputs(app));
    expect(created.outs.restored).toEqual({ id: "sophia-20261205t151000z-incr", time: "2026-12-05T15:10:00Z", nodes: ["node-0", "node-1", "node-2"] });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ app, region: "lax", name: "restore-weaviate-lax" });
    const env = (jobs[0].config.env ?? {}) as Record<string, string>;
    expect(env.SOPHIA_RESTORE_BACKUP_ID).toBe("sophia-20261205t151000z-incr");
    expect(JSON.parse(env.SOPHIA_NODE_MAPPING)).toEqual({ "node-0": "node-lax-0", "node-1": "node-lax-1", "node-2": "node-lax-2" });
    expect((jobs[0].config.restart as { policy: string }).policy).toBe("no");
    // The job machine is destroyed once its exit code is read.
    expect((await fly.client.listMachines(app)).filter((m) => m.state !== "destroyed")).toEqual([]);
  });

  test("reports a Weaviate backup's data as of its start, since writes during it may be missing", async () => {
    const app = await createTestApp(fly, "restore");
    const created = await recoveryRestoreProvider.create(restoreInputs(app));
    expect(created.outs.restored?.time).toBe("2026-12-05T15:10:00Z");
  });

  test("picks the newest of the agent's backups, not a hand-made one whose id sorts higher", async () => {
    const app = await createTestApp(fly, "restore");
    const created = await recoveryRestoreProvider.create(restoreInputs(app));
    expect(created.outs.restored?.id).toBe("sophia-20261205t151000z-incr");
  });

  test("restores a hand-made backup when asked for by id", async () => {
    const app = await createTestApp(fly, "restore");
    const created = await recoveryRestoreProvider.create(restoreInputs(app, { restoreFrom: "zz-before-upgrade" }));
    expect(created.outs.restored?.id).toBe("zz-before-upgrade");
  });

  test("restores the backup asked for by id", async () => {
    const app = await createTestApp(fly, "restore");
    const created = await recoveryRestoreProvider.create(restoreInputs(app, { restoreFrom: "sophia-20261205t150000z-full", previousRegion: undefined }));
    expect(created.outs.restored?.id).toBe("sophia-20261205t150000z-full");
  });

  test("does nothing on a service's first deployment, when the bucket holds no backup of it: no job runs", async () => {
    const app = await createTestApp(fly, "restore");
    const created = await recoveryRestoreProvider.create(restoreInputs(app, { previousRegion: undefined, prefix: "weaviate-new" }));
    expect(created.outs.skipped).toMatch(/s3:\/\/sophia-test-restores\/weaviate-new holds no backup of weaviate yet \(a first deployment\): nothing to restore/);
    expect(jobs).toEqual([]);
  });

  test("restores a volume lost and recreated where it was, though the data never moved and no backup was asked for", async () => {
    const app = await createTestApp(fly, "restore");
    const created = await recoveryRestoreProvider.create(litestreamInputs(app, 0, { previousRegion: undefined }));
    expect(created.outs.restored).toMatchObject({ id: "5ea1ed0000000001" });
    expect(jobs).toHaveLength(1);
  });

  test("a new volume index that never had a replica starts empty, saying so, after a move", async () => {
    const app = await createTestApp(fly, "restore");
    const created = await recoveryRestoreProvider.create(litestreamInputs(app, 5));
    expect(created.outs.skipped).toMatch(/litestream\/mcp-memory\/5 has never held a backup \(mcp-memory's other volumes have\): this volume starts empty/);
    expect(jobs).toEqual([]);
  });

  test("after a move, a service with no backup at all stops the restore", async () => {
    const app = await createTestApp(fly, "restore");
    const message = await failureOf(recoveryRestoreProvider.create(litestreamInputs(app, 0, { prefix: "litestream/lost/0", servicePrefix: "litestream/lost" })));
    expect(message).toMatch(/s3:\/\/sophia-test-restores\/litestream\/lost\/0 holds no good backup of mcp-memory/);
    expect(jobs).toEqual([]);
  });

  test("a failed restore names the service, the backup and what to do", async () => {
    runner = () => RESTORE_EXIT.restoreFailed;
    const app = await createTestApp(fly, "restore");
    const message = await failureOf(recoveryRestoreProvider.create(restoreInputs(app)));
    expect(message).toMatch(/^restore weaviate in lax from backup sophia-20261205t151000z-incr \(2026-12-05T15:10:00Z\) failed: the job failed with exit code 4\./);
    expect(message).toMatch(/fly logs -a .* --machine .*restoreFrom.*run `pulumi up` again/);
  });

  test("a restore whose job finds data already there is refused", async () => {
    runner = () => RESTORE_EXIT.hasData;
    const app = await createTestApp(fly, "restore");
    expect(await failureOf(recoveryRestoreProvider.create(restoreInputs(app)))).toMatch(/refused, because weaviate in lax already holds data.*sophia:recovery.services.weaviate.region/);
  });

  test("a bucket with no good backup stops the restore and says how to start empty on purpose", async () => {
    const app = await createTestApp(fly, "restore");
    const message = await failureOf(recoveryRestoreProvider.create(restoreInputs(app, { prefix: "weaviate-elsewhere" })));
    expect(message).toMatch(/s3:\/\/sophia-test-restores\/weaviate-elsewhere holds no good backup of weaviate.*restoreFrom to "none"/);
    expect(jobs).toEqual([]);
  });

  test("a job whose create answer was lost is found and waited for, not started twice", async () => {
    const app = await createTestApp(fly, "restore");
    await fly.control!.loseAnswer({ method: "POST", path: new RegExp(`^/apps/${app}/machines$`) });
    const created = await recoveryRestoreProvider.create(restoreInputs(app));
    expect(created.outs.restored?.id).toBe("sophia-20261205t151000z-incr");
    expect(jobs).toHaveLength(1);
  });

  test("a job that does not finish in time is destroyed and reported with its logs command", async () => {
    runner = () => new Promise((resolve) => setTimeout(() => resolve(0), 3_000));
    const app = await createTestApp(fly, "restore");
    const message = await failureOf(recoveryRestoreProvider.create(restoreInputs(app, { timeoutSeconds: 1 })));
    expect(message).toMatch(/restore weaviate in lax from backup .*did not finish within 1s.*destroyed.*fly logs -a/);
  });

  test("a new region or a chosen backup replaces the restore, which runs it again", async () => {
    const app = await createTestApp(fly, "restore");
    const created = await recoveryRestoreProvider.create(restoreInputs(app));
    expect((await recoveryRestoreProvider.diff(created.id, created.outs, restoreInputs(app, { region: "sjc", previousRegion: "lax" }))).replaces).toContain("region");
    expect((await recoveryRestoreProvider.diff(created.id, created.outs, restoreInputs(app, { restoreFrom: "sophia-20261205t150000z-full" }))).replaces).toContain("restoreFrom");
    expect((await recoveryRestoreProvider.diff(created.id, created.outs, restoreInputs(app))).changes).toBe(false);
  });
});

describe("RecoveryRegion", () => {
  test("moving the data into a region that already holds the app's volumes is refused, naming them and how to remove them", async () => {
    const app = await createTestApp(fly, "region");
    const volume = await fly.client.createVolume(app, { name: "weaviate_data", region: "lax", size_gb: 1 });
    const olds = { service: "weaviate", app, region: "sjc", ...fly.connection };
    const message = await failureOf(recoveryRegionProvider.update(`${app}/data`, olds, { ...olds, region: "lax" }));
    expect(message).toMatch(/^restore weaviate into lax \(its data moves from sjc\): lax already holds weaviate's data from before: volume .* \(weaviate_data\)\..*nothing was created/);
    expect(message).toContain(`fly volumes destroy ${volume.id} -a ${app}`);
  });

  test("moving the data into an empty region records where it came from", async () => {
    const app = await createTestApp(fly, "region");
    await fly.client.createVolume(app, { name: "weaviate_data", region: "sjc", size_gb: 1 });
    const olds = { service: "weaviate", app, region: "sjc", ...fly.connection };
    const { outs } = await recoveryRegionProvider.update(`${app}/data`, olds, { ...olds, region: "lax" });
    expect(outs).toMatchObject({ region: "lax", previousRegion: "sjc" });
  });

  test("creating it checks nothing: an existing stack's data is where it belongs", async () => {
    const app = await createTestApp(fly, "region");
    await fly.client.createVolume(app, { name: "weaviate_data", region: "sjc", size_gb: 1 });
    const { outs } = await recoveryRegionProvider.create({ service: "weaviate", app, region: "sjc", ...fly.connection });
    expect(outs).toMatchObject({ region: "sjc" });
    expect(outs).not.toHaveProperty("previousRegion");
  });
});
