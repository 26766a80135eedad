import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { BUCKET_MARKER_KEY, S3Client, s3BucketProvider } from "../../../src/providers/s3";
import { S3RVER_KEYS, startS3, type S3TestServer } from "./helpers";

let s3: S3TestServer;
let counter = 0;
const inputs = (name: string, marker = "sophia/test/backups") => ({ name, marker, endpoint: s3.endpoint, useSsl: false, region: "auto", ...S3RVER_KEYS });
const bucketName = () => `sophia-test-${++counter}`;
const raw = () => new S3Client({ endpoint: s3.endpoint, useSsl: false, ...S3RVER_KEYS });
const failureOf = async (run: () => Promise<unknown>) => run().then(() => "no error", (err: unknown) => (err as Error).message);

beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3.close();
});

describe("S3Bucket against s3rver", () => {
  test("create makes the bucket and marks it with this stack's marker", async () => {
    const news = inputs(bucketName());
    const created = await s3BucketProvider.create(news);
    expect(created.outs).toMatchObject({ name: news.name, url: `s3://${news.name}`, origin: "created" });
    expect(await raw().headBucket(news.name)).toBe("mine");
    expect(await raw().getObject(news.name, BUCKET_MARKER_KEY)).toBe("sophia/test/backups");
  });

  test("a bucket carrying our marker is adopted with its data (a retained bucket, taken back)", async () => {
    const news = inputs(bucketName());
    await s3BucketProvider.create(news);
    await raw().putObject(news.name, "weaviate/b1/backup_config.json", "{}");
    // Pulumi forgot it (retainOnDelete); the next create finds it.
    const again = await s3BucketProvider.create(news);
    expect(again.outs.origin).toBe("adopted");
    expect((await raw().listObjects(news.name, "weaviate/")).map((o) => o.key)).toEqual(["weaviate/b1/backup_config.json"]);
  });

  test("a bucket whose marker names another stack is refused, and left as it was", async () => {
    const news = inputs(bucketName());
    await s3BucketProvider.create({ ...news, marker: "sophia/other-stack/backups" });
    const message = await failureOf(() => s3BucketProvider.create(news));
    expect(message).toMatch(new RegExp(`bucket "${news.name}".*marker.*sophia/other-stack/backups.*not adopted.*sophia:recovery.bucket.name`));
    // It may hold that stack's backups: the way on is a name of our own, never a delete.
    expect(message).not.toMatch(/delete/i);
    expect(await raw().getObject(news.name, BUCKET_MARKER_KEY)).toBe("sophia/other-stack/backups");
  });

  test("an unmarked bucket that holds objects is refused: it is someone's data", async () => {
    const name = bucketName();
    await raw().createBucket(name, async () => undefined);
    await raw().putObject(name, "theirs.txt", "data");
    const message = await failureOf(() => s3BucketProvider.create(inputs(name)));
    expect(message).toMatch(/holds objects, which may be backups, and carries no marker of this stack/);
    expect(message).not.toMatch(/delete/i);
    expect(await raw().getObject(name, BUCKET_MARKER_KEY)).toBeUndefined();
  });

  test("a create whose answer was lost is adopted on the retry, not made twice", async () => {
    const news = inputs(bucketName());
    s3.loseAnswer("PUT", new RegExp(`^/${news.name}$`));
    const created = await s3BucketProvider.create(news);
    expect(created.outs.origin).toBe("adopted");
    expect(s3.requests.filter((r) => r === `PUT /${news.name}`)).toHaveLength(1);
    expect(await raw().getObject(news.name, BUCKET_MARKER_KEY)).toBe("sophia/test/backups");
  });

  test("a lost answer to the marker write is sent again (writing the same object twice is harmless)", async () => {
    const news = inputs(bucketName());
    s3.loseAnswer("PUT", new RegExp(`^/${news.name}/\\.sophia/owner$`));
    await s3BucketProvider.create(news);
    expect(await raw().getObject(news.name, BUCKET_MARKER_KEY)).toBe("sophia/test/backups");
  });

  test("an interrupted create (bucket made, marker never written) is finished by the next one", async () => {
    const name = bucketName();
    await raw().createBucket(name, async () => undefined);
    const created = await s3BucketProvider.create(inputs(name));
    expect(created.outs.origin).toBe("adopted");
    expect(await raw().getObject(name, BUCKET_MARKER_KEY)).toBe("sophia/test/backups");
  });

  test("read reports a bucket deleted out of band as gone", async () => {
    const news = inputs(bucketName());
    const created = await s3BucketProvider.create(news);
    await s3BucketProvider.delete(created.id, created.outs);
    expect(await s3BucketProvider.read(created.id, created.outs)).toEqual({});
  });

  test("delete empties the bucket first and is idempotent", async () => {
    const news = inputs(bucketName());
    const created = await s3BucketProvider.create(news);
    await raw().putObject(news.name, "litestream/mcp-memory/0/x", "wal");
    await s3BucketProvider.delete(created.id, created.outs);
    expect(await raw().headBucket(news.name)).toBe("missing");
    await expect(s3BucketProvider.delete(created.id, created.outs)).resolves.toBeUndefined();
  });

  test("check refuses an endpoint written as a URL and says to give the host", async () => {
    const { failures } = await s3BucketProvider.check({}, { ...inputs("good-name"), endpoint: "https://fly.storage.tigris.dev" });
    expect(failures).toEqual([expect.objectContaining({ property: "endpoint", reason: expect.stringMatching(/has a scheme; give the host alone \("fly.storage.tigris.dev"\)/) })]);
  });

  test("an unknown access key is refused with what to fix, and no secret in the message", async () => {
    const message = await failureOf(() => s3BucketProvider.create({ ...inputs(bucketName()), accessKeyId: "NOPE-KEY", secretAccessKey: "very-secret-value" }));
    expect(message).toMatch(/credentials were refused.*sophia:backupAccessKeyId/);
    expect(message).not.toContain("very-secret-value");
  });
});
