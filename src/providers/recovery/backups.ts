/**
 * Which backup a restore uses, read from the bucket where `pulumi up` runs: Weaviate's own backup
 * descriptors (`<prefix>/<id>/backup_config.json`) and Litestream's replica objects. Choosing here,
 * not inside the job, lets the restore resource say which backup it restored, and refuse before
 * anything runs when there is none.
 */
import type { S3Client } from "../s3/api/client";

export type RestoreMethod = "weaviate-backup" | "litestream";

/** A backup a restore can use. */
export interface ChosenBackup {
  /** Weaviate's backup id, or for Litestream the generation the newest object belongs to. */
  id: string;
  /** When the backup's data was taken (Weaviate: its start, since writes after it may be missing; Litestream: the newest replicated object). */
  time: string;
  /** Weaviate: the node names the backup was taken on. */
  nodes?: string[];
}

/** Weaviate's descriptor, as far as we read it. */
interface Descriptor {
  status?: string;
  completedAt?: string;
  startedAt?: string;
  nodes?: Record<string, unknown>;
}

/** The newest good backup under `prefix` (or `wanted`, checked), undefined when the bucket holds none. */
export async function chooseBackup(s3: S3Client, bucket: string, method: RestoreMethod, prefix: string, wanted?: string): Promise<ChosenBackup | undefined> {
  return method === "weaviate-backup" ? chooseWeaviate(s3, bucket, prefix, wanted) : chooseLitestream(s3, bucket, prefix, wanted);
}

/** The backup agent's ids (components/recovery/backup-agent.ts, backupIdAt): their time sorts as text. */
const AGENT_ID = /^sophia-\d{8}t\d{6}z-(full|incr)$/;

async function chooseWeaviate(s3: S3Client, bucket: string, prefix: string, wanted?: string): Promise<ChosenBackup | undefined> {
  const ids = (await s3.listObjects(bucket, `${prefix}/`))
    .map((o) => o.key.slice(prefix.length + 1))
    .filter((rest) => rest.endsWith("/backup_config.json"))
    .map((rest) => rest.slice(0, -"/backup_config.json".length))
    // Any id when asked for by name; otherwise only the agent's, whose order is their time (a
    // hand-made "zz-test" would sort above them all), newest first.
    .filter((id) => (wanted === undefined ? AGENT_ID.test(id) : id === wanted))
    .sort()
    .reverse();
  for (const id of ids) {
    const text = await s3.getObject(bucket, `${prefix}/${id}/backup_config.json`);
    let descriptor: Descriptor;
    try {
      descriptor = JSON.parse(text ?? "{}") as Descriptor;
    } catch {
      continue;
    }
    if (descriptor.status !== "SUCCESS") continue;
    return { id, time: descriptor.startedAt ?? descriptor.completedAt ?? "", nodes: Object.keys(descriptor.nodes ?? {}).sort() };
  }
  return undefined;
}

async function chooseLitestream(s3: S3Client, bucket: string, prefix: string, wanted?: string): Promise<ChosenBackup | undefined> {
  const objects = (await s3.listObjects(bucket, `${prefix}/`)).filter((o) => o.key.includes("/generations/"));
  const cutoff = wanted === undefined ? Infinity : Date.parse(wanted);
  const usable = objects.filter((o) => Date.parse(o.lastModified) <= cutoff).sort((a, b) => Date.parse(b.lastModified) - Date.parse(a.lastModified));
  const newest = usable[0];
  if (newest === undefined) return undefined;
  const generation = /\/generations\/([^/]+)\//.exec(newest.key)?.[1] ?? "unknown";
  return { id: generation, time: new Date(Math.min(Date.parse(newest.lastModified), cutoff)).toISOString() };
}

/** Weaviate's node_mapping: the backup's node names onto the target's, by position; names that match are left out. */
export function nodeMapping(from: readonly string[], to: readonly string[]): Record<string, string> {
  const byIndex = (names: readonly string[]) => [...names].sort((a, b) => indexOf(a) - indexOf(b) || a.localeCompare(b));
  const source = byIndex(from);
  const target = byIndex(to);
  const mapping: Record<string, string> = {};
  source.forEach((name, i) => {
    const into = target[i];
    if (into !== undefined && into !== name) mapping[name] = into;
  });
  return mapping;
}

function indexOf(node: string): number {
  return Number(/(\d+)$/.exec(node)?.[1] ?? 0);
}
