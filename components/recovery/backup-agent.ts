/**
 * The backup agent: what runs inside the private network, in a stock Node image, to keep the
 * backups coming. Every `everyMinutes` it asks Weaviate for a backup (incremental on the previous
 * one, a full one every `fullEveryHours`), removes whole chains older than `retentionDays`, reads
 * how fresh each Litestream replica is, and serves the age of the newest good backup per service
 * as `sophia_backup_last_success_timestamp_seconds{service}` for Fly to scrape.
 *
 * These functions are shipped as source (agent-script.ts, Function.prototype.toString), so they
 * import nothing and call nothing but each other and what `AgentDeps` hands them; the tests drive
 * the same functions with a fake clock.
 */

/** The metric the alerts read (components/recovery/alerts.ts): a contract with the observability rules. */
export const BACKUP_METRIC = "sophia_backup_last_success_timestamp_seconds";
/** The counter of scheduled backups by result, which the early alert reads: the same contract. */
export const BACKUP_RUNS_METRIC = "sophia_backup_runs_total";

export interface AgentSettings {
  /** Minutes between Weaviate backups. */
  everyMinutes: number;
  /** Hours between full backups. */
  fullEveryHours: number;
  /** Days a chain is kept after its newest backup. */
  retentionDays: number;
  /** The Weaviate service's name (metric label), or undefined when no service uses weaviate-backup. */
  weaviateService?: string;
  /** Weaviate's BACKUP_S3_PATH: where its backups live in the bucket. */
  weaviatePrefix: string;
  /** Litestream replicas to watch: one prefix per volume. */
  litestream: { service: string; prefix: string }[];
  /** How long one backup may take before it counts as failed, in minutes. */
  backupTimeoutMinutes: number;
}

/** One Weaviate backup as the agent sees it. */
export interface BackupEntry {
  id: string;
  /** Unix ms, from the id. */
  time: number;
  kind: "full" | "incr";
  status: string;
}

export interface AgentState {
  /** Unix ms of the newest good backup, per service. */
  lastSuccess: Record<string, number>;
  /** Backup attempts by service and result, for the metrics. */
  runs: Record<string, { success: number; failure: number }>;
}

/** What the agent reaches the world through. */
export interface AgentDeps {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** A call to Weaviate's REST API (with its key), answering status and parsed JSON. */
  weaviate(method: "GET" | "POST", path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  s3List(prefix: string): Promise<{ key: string; lastModified: string }[]>;
  s3Delete(key: string): Promise<void>;
  log(line: string): void;
}

/** `sophia-20261205t154000z-full`: Weaviate ids are lower-case letters, digits, `-` and `_`; the time sorts. */
export function backupIdAt(now: number, kind: "full" | "incr"): string {
  const iso = new Date(now).toISOString();
  return `sophia-${iso.slice(0, 10).replace(/-/g, "")}t${iso.slice(11, 19).replace(/:/g, "")}z-${kind}`;
}

/** The time and kind an id of ours carries; undefined for anyone else's. */
export function parseBackupId(id: string): { time: number; kind: "full" | "incr" } | undefined {
  const m = /^sophia-(\d{8})t(\d{6})z-(full|incr)$/.exec(id);
  if (m === null) return undefined;
  const [d, t] = [m[1], m[2]];
  const time = Date.UTC(Number(d.slice(0, 4)), Number(d.slice(4, 6)) - 1, Number(d.slice(6, 8)), Number(t.slice(0, 2)), Number(t.slice(2, 4)), Number(t.slice(4, 6)));
  return { time, kind: m[3] as "full" | "incr" };
}

/**
 * Successful backups grouped into chains, oldest first: a full one and the increments after it,
 * each increment based on the one before. Increments with no full before them form no chain.
 */
export function chainsOf(backups: BackupEntry[]): BackupEntry[][] {
  const chains: BackupEntry[][] = [];
  for (const b of [...backups].filter((x) => x.status === "SUCCESS").sort((a, c) => a.time - c.time)) {
    if (b.kind === "full") chains.push([b]);
    else if (chains.length > 0) chains[chains.length - 1].push(b);
  }
  return chains;
}

/** The next backup to take: a full one to start or renew a chain, else an increment on the newest. */
export function nextBackup(backups: BackupEntry[], now: number, settings: Pick<AgentSettings, "fullEveryHours">): { id: string; base?: string } {
  const chains = chainsOf(backups);
  const current = chains[chains.length - 1];
  if (current === undefined || now - current[0].time >= settings.fullEveryHours * 3_600_000) return { id: backupIdAt(now, "full") };
  return { id: backupIdAt(now, "incr"), base: current[current.length - 1].id };
}

/**
 * Chains to delete: whole chains whose newest backup is older than the retention. The newest chain
 * is never one of them (it is being extended, and a stack must keep a backup to restore), and no
 * chain loses a member while another member stays, so no increment ever loses its base.
 */
export function expiredChains(backups: BackupEntry[], now: number, settings: Pick<AgentSettings, "retentionDays">): BackupEntry[][] {
  const chains = chainsOf(backups);
  const cutoff = now - settings.retentionDays * 86_400_000;
  return chains.slice(0, -1).filter((chain) => chain[chain.length - 1].time < cutoff);
}

/** Weaviate's list of backups in the bucket, as entries; ids not of this agent are left out. */
export async function listBackups(deps: AgentDeps): Promise<BackupEntry[]> {
  const res = await deps.weaviate("GET", "/v1/backups/s3");
  if (res.status !== 200 || !Array.isArray(res.body)) throw new Error(`listing backups answered ${res.status}`);
  const out: BackupEntry[] = [];
  for (const item of res.body as { id?: string; status?: string }[]) {
    const parsed = typeof item.id === "string" ? parseBackupId(item.id) : undefined;
    if (parsed !== undefined) out.push({ id: item.id as string, time: parsed.time, kind: parsed.kind, status: String(item.status ?? "") });
  }
  return out;
}

/** Counts one backup attempt. */
export function recordRun(state: AgentState, service: string, ok: boolean): void {
  const runs = (state.runs[service] ??= { success: 0, failure: 0 });
  if (ok) runs.success++;
  else runs.failure++;
}

/**
 * One backup cycle: takes the next backup and waits for it, then removes expired chains. A failed
 * backup leaves the gauge where it was, so its age grows and the alert fires.
 */
export async function runBackupCycle(deps: AgentDeps, settings: AgentSettings, state: AgentState): Promise<void> {
  const service = settings.weaviateService;
  if (service === undefined) return;
  let backups = await listBackups(deps);
  const good = backups.filter((b) => b.status === "SUCCESS");
  if (good.length > 0) state.lastSuccess[service] = Math.max(state.lastSuccess[service] ?? 0, ...good.map((b) => b.time));
  if (backups.some((b) => b.status === "STARTED" || b.status === "TRANSFERRING" || b.status === "TRANSFERRED")) {
    deps.log(`${service}: a backup is still running; this cycle takes none`);
    return;
  }
  const now = deps.now();
  const next = nextBackup(backups, now, settings);
  const created = await deps.weaviate("POST", "/v1/backups/s3", { id: next.id, ...(next.base ? { incremental_base_backup_id: next.base } : {}) });
  let status = created.status === 200 ? "STARTED" : "FAILED";
  const deadline = now + settings.backupTimeoutMinutes * 60_000;
  while (status !== "SUCCESS" && status !== "FAILED" && deps.now() < deadline) {
    await deps.sleep(5_000);
    const res = await deps.weaviate("GET", `/v1/backups/s3/${next.id}`);
    status = String((res.body as { status?: string } | undefined)?.status ?? "FAILED");
  }
  const ok = status === "SUCCESS";
  recordRun(state, service, ok);
  deps.log(`${service}: backup ${next.id}${next.base ? ` (on ${next.base})` : " (full)"} ${ok ? "succeeded" : `failed (${status}, answer ${created.status})`}`);
  if (!ok) return;
  state.lastSuccess[service] = parseBackupId(next.id)?.time ?? now;
  backups = [...backups, { id: next.id, time: state.lastSuccess[service], kind: next.base ? "incr" : "full", status }];
  for (const chain of expiredChains(backups, deps.now(), settings)) {
    for (const b of chain) {
      for (const object of await deps.s3List(`${settings.weaviatePrefix}/${b.id}/`)) await deps.s3Delete(object.key);
    }
    deps.log(`${service}: removed expired chain ${chain[0].id} … ${chain[chain.length - 1].id} (${chain.length} backups)`);
  }
}

/**
 * A Litestream service's last sync: the newest object over all its replicas. Not the stalest: a
 * stopped machine (autostop, or one beyond the minimum) writes nothing, and a volume that never ran
 * has no replica at all, so only the service as a whole tells whether replication stopped. A
 * service with no object yet counts from when the agent first saw it so, rather than not at all.
 */
export async function refreshLitestream(deps: AgentDeps, settings: AgentSettings, state: AgentState): Promise<void> {
  const newest: Record<string, number> = {};
  for (const replica of settings.litestream) {
    let time = newest[replica.service] ?? 0;
    for (const o of await deps.s3List(replica.prefix)) {
      const t = Date.parse(o.lastModified);
      if (!Number.isNaN(t) && t > time) time = t;
    }
    newest[replica.service] = time;
  }
  for (const [service, time] of Object.entries(newest)) state.lastSuccess[service] = time > 0 ? time : (state.lastSuccess[service] ?? deps.now());
}

/** Prometheus text exposition of the state. */
export function renderMetrics(state: AgentState, metric: string): string {
  const lines = [
    `# HELP ${metric} Unix time of the newest good backup of a service (age = time() - value).`,
    `# TYPE ${metric} gauge`,
    ...Object.entries(state.lastSuccess).map(([service, ms]) => `${metric}{service="${service}"} ${Math.floor(ms / 1000)}`),
    "# HELP sophia_backup_runs_total Scheduled backups by result.",
    "# TYPE sophia_backup_runs_total counter",
    ...Object.entries(state.runs).flatMap(([service, r]) => [
      `sophia_backup_runs_total{service="${service}",result="success"} ${r.success}`,
      `sophia_backup_runs_total{service="${service}",result="failure"} ${r.failure}`,
    ]),
  ];
  return `${lines.join("\n")}\n`;
}

/** What `startAgent` is handed by the script's first lines: the libraries, never an import. */
interface AgentLib {
  aws4: { sign(request: Record<string, unknown>, credentials: { accessKeyId: string; secretAccessKey: string }): { headers?: Record<string, string> } };
  http: typeof import("node:http");
  parseObjectList(xml: string): { objects: { key: string; lastModified: string }[]; next?: string };
}

/**
 * Reads its settings and credentials from the environment (the stack sets them: SOPHIA_AGENT_SETTINGS,
 * BACKUP_S3_*, AWS_*, WEAVIATE_URL, WEAVIATE_API_KEY), serves /metrics, and runs a backup cycle on
 * the schedule's boundaries and a Litestream check every minute.
 */
export function startAgent(env: Record<string, string | undefined>, lib: AgentLib): void {
  const settings = JSON.parse(env.SOPHIA_AGENT_SETTINGS ?? "{}") as AgentSettings;
  const bucket = env.BACKUP_S3_BUCKET ?? "";
  const endpoint = env.BACKUP_S3_ENDPOINT ?? "";
  const scheme = env.BACKUP_S3_USE_SSL === "false" ? "http" : "https";
  const credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID ?? "", secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "" };
  const s3 = async (method: string, path: string): Promise<string> => {
    const url = new URL(`${scheme}://${endpoint}/${bucket}${path}`);
    const request = { host: url.host, path: `${url.pathname}${url.search}`, method, service: "s3", region: env.AWS_REGION ?? "auto", headers: {} };
    const headers = lib.aws4.sign(request, credentials).headers ?? {};
    const res = await fetch(url, { method, headers });
    const text = await res.text();
    if (!res.ok && res.status !== 404) throw new Error(`S3 ${method} ${url.pathname} answered ${res.status}`);
    return text;
  };
  const deps: AgentDeps = {
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    weaviate: async (method, path, body) => {
      const res = await fetch(`${env.WEAVIATE_URL ?? ""}${path}`, {
        method,
        headers: { authorization: `Bearer ${env.WEAVIATE_API_KEY ?? ""}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    s3List: async (prefix) => {
      const out: { key: string; lastModified: string }[] = [];
      let token: string | undefined;
      do {
        const query = `?list-type=2&prefix=${encodeURIComponent(prefix)}${token ? `&continuation-token=${encodeURIComponent(token)}` : ""}`;
        const page = lib.parseObjectList(await s3("GET", `/${query}`));
        out.push(...page.objects);
        token = page.next;
      } while (token !== undefined);
      return out;
    },
    s3Delete: async (key) => void (await s3("DELETE", `/${key.split("/").map(encodeURIComponent).join("/")}`)),
    log: (line) => console.log(`[backup-agent] ${line}`),
  };
  // The counters start at 0, so that a first run's failure is an increase the alert sees.
  const state: AgentState = { lastSuccess: {}, runs: settings.weaviateService === undefined ? {} : { [settings.weaviateService]: { success: 0, failure: 0 } } };
  lib.http
    .createServer((req, res) => {
      if (req.url === "/metrics") res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(renderMetrics(state, env.SOPHIA_BACKUP_METRIC ?? "sophia_backup_last_success_timestamp_seconds"));
      else if (req.url === "/healthz") res.writeHead(200).end("ok\n");
      else res.writeHead(404).end();
    })
    .listen(Number(env.PORT ?? 9091), "::");
  const guard = (what: string, work: () => Promise<void>) => work().catch((err: unknown) => deps.log(`${what} failed: ${err instanceof Error ? err.message : String(err)}`));
  const every = settings.everyMinutes * 60_000;
  const cycle = () => {
    void guard("backup cycle", () => runBackupCycle(deps, settings, state)).then(() => setTimeout(cycle, every - (Date.now() % every)));
  };
  const watch = () => {
    void guard("litestream check", () => refreshLitestream(deps, settings, state)).then(() => setTimeout(watch, 60_000));
  };
  cycle();
  watch();
}
