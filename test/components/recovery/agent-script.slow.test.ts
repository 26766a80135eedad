/**
 * The backup agent as it ships: the generated script and aws4, run by a real Node process against
 * a real S3-compatible server (s3rver) and a stand-in for Weaviate's backup API. Its /metrics must
 * show the gauge once its first cycle has made a backup.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentFiles, AGENT_DIR } from "../../../components/recovery/agent-script";
import { S3Client } from "../../../src/providers/s3";
import { S3RVER_KEYS, startS3, type S3TestServer } from "../../providers/s3/helpers";

const BUCKET = "agent-test-backups";
const KEY = "weaviate-test-key";
let s3: S3TestServer;
let weaviate: Server;
let agent: ChildProcess;
let metricsPort: number;
let dir: string;
const seen: { method: string; url: string; auth: string }[] = [];
const client = () => new S3Client({ endpoint: s3.endpoint, useSsl: false, ...S3RVER_KEYS });

/** Weaviate's backup API, as far as the agent uses it: a backup writes its descriptor into the bucket. */
async function startWeaviate(): Promise<string> {
  const backups = new Map<string, string>();
  weaviate = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", auth: req.headers.authorization ?? "" });
      const json = (status: number, value: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
      if (req.headers.authorization !== `Bearer ${KEY}`) return json(401, { error: "unauthorized" });
      if (req.method === "GET" && req.url === "/v1/backups/s3") return json(200, [...backups].map(([id, status]) => ({ id, status })));
      if (req.method === "POST" && req.url === "/v1/backups/s3") {
        const { id } = JSON.parse(body) as { id: string };
        backups.set(id, "SUCCESS");
        void client()
          .putObject(BUCKET, `weaviate/${id}/backup_config.json`, JSON.stringify({ id, status: "SUCCESS" }))
          .then(() => json(200, { id, status: "STARTED" }));
        return;
      }
      const id = /^\/v1\/backups\/s3\/([^/]+)$/.exec(req.url ?? "")?.[1];
      return id ? json(200, { id, status: backups.get(id) ?? "FAILED" }) : json(404, {});
    });
  });
  await new Promise<void>((resolve) => weaviate.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(weaviate.address() as AddressInfo).port}`;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  s3 = await startS3();
  await client().createBucket(BUCKET, async () => undefined);
  await client().putObject(BUCKET, "litestream/mcp-memory/0/generations/g1/wal/1.wal.lz4", "frames");
  const weaviateUrl = await startWeaviate();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sophia-agent-"));
  for (const file of agentFiles()) {
    const target = path.join(dir, path.relative(AGENT_DIR, file.path));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, file.content as string);
  }
  metricsPort = await freePort();
  const settings = { everyMinutes: 10, fullEveryHours: 24, retentionDays: 7, weaviateService: "weaviate", weaviatePrefix: "weaviate", litestream: [{ service: "mcp-memory", prefix: "litestream/mcp-memory/0/" }], backupTimeoutMinutes: 9 };
  agent = spawn(process.execPath, [path.join(dir, "agent.js")], {
    cwd: dir,
    stdio: "ignore",
    env: {
      PATH: process.env.PATH,
      SOPHIA_AGENT_SETTINGS: JSON.stringify(settings),
      BACKUP_S3_BUCKET: BUCKET,
      BACKUP_S3_ENDPOINT: s3.endpoint,
      BACKUP_S3_USE_SSL: "false",
      AWS_REGION: "auto",
      AWS_ACCESS_KEY_ID: S3RVER_KEYS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_KEYS.secretAccessKey,
      WEAVIATE_URL: weaviateUrl,
      WEAVIATE_API_KEY: KEY,
      PORT: String(metricsPort),
    },
  });
}, 30_000);

afterAll(async () => {
  agent?.kill();
  await new Promise<void>((resolve) => weaviate.close(() => resolve()));
  await s3.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function metrics(): Promise<string> {
  return fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text(), () => "");
}

describe("the shipped backup agent", () => {
  it("makes a full backup at once, with Weaviate's key, and serves its time as the gauge", async () => {
    await expect.poll(metrics, { timeout: 20_000, interval: 200 }).toMatch(/sophia_backup_last_success_timestamp_seconds\{service="weaviate"\} \d+/);
    const value = Number(/service="weaviate"\} (\d+)/.exec(await metrics())?.[1]);
    expect(Math.abs(value - Date.now() / 1000)).toBeLessThan(60);
    const post = seen.find((r) => r.method === "POST");
    expect(post).toMatchObject({ url: "/v1/backups/s3", auth: `Bearer ${KEY}` });
    expect((await client().listObjects(BUCKET, "weaviate/")).map((o) => o.key)).toEqual([expect.stringMatching(/^weaviate\/sophia-\d{8}t\d{6}z-full\/backup_config\.json$/)]);
  });

  it("reads the Litestream replica's newest object from the bucket, signed with aws4", async () => {
    await expect.poll(metrics, { timeout: 20_000, interval: 200 }).toMatch(/sophia_backup_last_success_timestamp_seconds\{service="mcp-memory"\} \d+/);
  });
});
