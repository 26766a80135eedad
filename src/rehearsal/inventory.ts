/**
 * What exists on the APIs, read through the providers' own clients, against what the state says
 * should exist: anything extra is a duplicate or an orphan, anything absent is missing.
 */
import { FlyClient, isMachineGone, isVolumeGone } from "../providers/fly/api/client";
import { LambdaClient } from "../providers/lambda/api/client";
import { S3Client } from "../providers/s3";
import type { Endpoints } from "./emulators";
import { shortKind, type ResourceState } from "./state";

export interface Item {
  kind: string;
  id: string;
  name: string;
}

export interface InventoryDiff {
  /** On the API but not in state: made by a create whose answer was lost, or not deleted. */
  extra: Item[];
  /** In state but not on the API. */
  missing: Item[];
}

const itemKey = (item: Pick<Item, "kind" | "id">) => `${item.kind} ${item.id}`;

/** Kinds that are state only: nothing on any API stands for them (a data region, a finished restore). */
const STATE_ONLY_KINDS: readonly string[] = ["recovery:Region", "recovery:Restore"];

/** What the state says exists, for the dynamic (rehearsed) resources. */
export function intended(resources: Iterable<ResourceState>): Item[] {
  return [...resources].map((r) => ({ kind: shortKind(r.type), id: r.id, name: r.name })).filter((i) => !STATE_ONLY_KINDS.includes(i.kind));
}

/**
 * Everything under the given Fly apps and every Lambda resource named with the prefix. Fly
 * certificates have no list endpoint, so only the expected ones are looked up; likewise Lambda
 * firewall rulesets, which our client reads by id only.
 */
export interface InventoryScope {
  apps: string[];
  /** Lambda resources named with this prefix are looked at… */
  lambdaPrefix: string;
  /** …except those named with one of these (another deployment's, e.g. `<prefix>-i`). */
  lambdaExcludedPrefixes?: string[];
  certificates: { app: string; hostname: string }[];
  rulesetIds: string[];
  /** S3 buckets (the backup bucket), looked at by name. */
  buckets?: string[];
}

export async function inventory(apis: Endpoints, scope: InventoryScope): Promise<Item[]> {
  const fly = new FlyClient({ apiUrl: apis.flyApiUrl, apiToken: apis.flyApiToken, context: "rehearsal inventory" });
  const items: Item[] = [];
  for (const app of scope.apps) {
    if (!(await fly.getApp(app))) continue;
    items.push({ kind: "fly:App", id: app, name: app });
    for (const m of await fly.listMachines(app)) if (!isMachineGone(m)) items.push({ kind: "fly:Machine", id: m.id, name: m.name ?? m.id });
    for (const v of await fly.listVolumes(app)) if (!isVolumeGone(v)) items.push({ kind: "fly:Volume", id: v.id, name: `${app}/${v.name ?? v.id}` });
    for (const ip of await fly.listIps(app)) items.push({ kind: "fly:IpAddress", id: ip.ip, name: `${app} ${ip.ip}` });
    if ((await fly.listSecrets(app)).length > 0) items.push({ kind: "fly:Secrets", id: `${app}/secrets`, name: `${app} secrets` });
  }
  for (const { app, hostname } of scope.certificates) {
    if (await fly.getCertificate(app, hostname).catch(() => undefined)) items.push({ kind: "fly:Certificate", id: hostname, name: hostname });
  }
  const lambda = new LambdaClient({ apiUrl: apis.lambdaApiUrl, apiKey: apis.lambdaApiKey, requestIntervalMs: 0, launchIntervalMs: 0 });
  const ours = (name: string | null | undefined) =>
    (name ?? "").startsWith(scope.lambdaPrefix) && !(scope.lambdaExcludedPrefixes ?? []).some((other) => (name ?? "").startsWith(other));
  for (const i of await lambda.listInstances()) {
    if (ours(i.name) && !["terminating", "terminated"].includes(i.status)) items.push({ kind: "lambda:Instance", id: i.id, name: i.name ?? i.id });
  }
  for (const k of await lambda.listSshKeys()) if (ours(k.name)) items.push({ kind: "lambda:SshKey", id: k.id, name: k.name });
  for (const f of await lambda.listFilesystems()) if (ours(f.name)) items.push({ kind: "lambda:Filesystem", id: f.id, name: f.name });
  for (const id of scope.rulesetIds) {
    const r = await lambda.getFirewallRuleset(id);
    if (r) items.push({ kind: "lambda:FirewallRuleset", id: r.id, name: r.name });
  }
  if ((scope.buckets ?? []).length > 0) {
    const s3 = new S3Client({ endpoint: apis.s3Endpoint, useSsl: false, accessKeyId: apis.s3AccessKeyId, secretAccessKey: apis.s3SecretAccessKey, context: "rehearsal inventory" });
    for (const name of scope.buckets ?? []) if ((await s3.headBucket(name)) === "mine") items.push({ kind: "s3:Bucket", id: name, name });
  }
  return items;
}

/**
 * Deletes everything in scope, data included: what a rehearsal made on APIs it shares with other
 * phases or runs, so that they start clean. Fly apps take their machines, volumes, addresses and
 * certificates with them; Lambda instances are terminated before the filesystems, keys and
 * rulesets they use are deleted.
 */
export async function clearScope(apis: Endpoints, scope: InventoryScope): Promise<void> {
  const fly = new FlyClient({ apiUrl: apis.flyApiUrl, apiToken: apis.flyApiToken, context: "rehearsal clean-up" });
  await Promise.all(scope.apps.map((app) => fly.deleteApp(app)));
  const lambda = new LambdaClient({ apiUrl: apis.lambdaApiUrl, apiKey: apis.lambdaApiKey, requestIntervalMs: 0, launchIntervalMs: 0, pollIntervalMs: 100, terminateTimeoutMs: 120_000 });
  const ours = (name: string | null | undefined) =>
    (name ?? "").startsWith(scope.lambdaPrefix) && !(scope.lambdaExcludedPrefixes ?? []).some((other) => (name ?? "").startsWith(other));
  const instances = (await lambda.listInstances()).filter((i) => ours(i.name) && !["terminating", "terminated"].includes(i.status));
  for (const i of instances) await lambda.terminateInstance(i.id);
  for (const i of instances) await lambda.waitUntilTerminated(i.id);
  for (const fs of await lambda.listFilesystems()) if (ours(fs.name)) await lambda.deleteFilesystem(fs.id);
  for (const key of await lambda.listSshKeys()) if (ours(key.name)) await lambda.deleteSshKey(key.id);
  const rulesets = (await lambda.listFirewallRulesets()).filter((r) => scope.rulesetIds.includes(r.id) || ours(r.name));
  for (const r of rulesets) await lambda.deleteFirewallRuleset(r.id);
}

export function compare(expected: Item[], actual: Item[]): InventoryDiff {
  const want = new Set(expected.map(itemKey));
  const have = new Set(actual.map(itemKey));
  return { extra: actual.filter((i) => !want.has(itemKey(i))), missing: expected.filter((i) => !have.has(itemKey(i))) };
}
