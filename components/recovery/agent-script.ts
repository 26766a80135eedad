/**
 * The backup agent as it ships: one script for a stock Node image, made of backup-agent.ts's
 * functions (as source) and `startAgent`, which wires them to the environment the stack gives the
 * machine. Signing is `aws4`, the library the S3 provider uses, shipped beside the script.
 */
import * as fs from "node:fs";
import { parseObjectList, xmlDecode, xmlValue, xmlValues } from "../../src/providers/s3";
import {
  BACKUP_METRIC,
  backupIdAt,
  chainsOf,
  expiredChains,
  listBackups,
  nextBackup,
  parseBackupId,
  refreshLitestream,
  recordRun,
  renderMetrics,
  runBackupCycle,
  type AgentDeps,
  type AgentSettings,
  type AgentState,
} from "./backup-agent";

/** The agent's image: a stock Node release (fetch built in). */
export const AGENT_IMAGE = "node:22.11.0-alpine";
/** Where the files go in the machine. */
export const AGENT_DIR = "/opt/sophia";
/** The port its /metrics and /healthz listen on. */
export const AGENT_PORT = 9091;

/** What `startAgent` is handed by the script's first lines: the libraries, never an import. */
interface AgentLib {
  aws4: { sign(request: Record<string, unknown>, credentials: { accessKeyId: string; secretAccessKey: string }): { headers?: Record<string, string> } };
  http: typeof import("node:http");
  parseObjectList: typeof parseObjectList;
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
  const state: AgentState = { lastSuccess: {}, runs: {} };
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

/** The whole script: the functions as source, then a start with the shipped libraries. */
export function agentScript(): string {
  const functions = [xmlDecode, xmlValues, xmlValue, parseObjectList, backupIdAt, parseBackupId, chainsOf, nextBackup, expiredChains, listBackups, runBackupCycle, refreshLitestream, renderMetrics, startAgent];
  const helpers = [recordRun];
  return [
    '"use strict";',
    "// The Sophia backup agent, generated by the stack (components/recovery/agent-script.ts). Do not edit here.",
    ...[...functions, ...helpers].map((fn) => fn.toString()),
    `process.env.SOPHIA_BACKUP_METRIC ??= ${JSON.stringify(BACKUP_METRIC)};`,
    `startAgent(process.env, { aws4: require("./aws4/aws4.js"), http: require("node:http"), parseObjectList });`,
    "",
  ].join("\n\n");
}

/** The files the agent's machine gets: the script and `aws4` (with its one module). */
export function agentFiles(): { guest_path: string; raw_value: string }[] {
  const file = (guestPath: string, text: string) => ({ guest_path: guestPath, raw_value: Buffer.from(text).toString("base64") });
  const aws4 = require.resolve("aws4/aws4.js");
  return [
    file(`${AGENT_DIR}/agent.js`, agentScript()),
    file(`${AGENT_DIR}/aws4/aws4.js`, fs.readFileSync(aws4, "utf8")),
    file(`${AGENT_DIR}/aws4/lru.js`, fs.readFileSync(require.resolve("aws4/lru.js"), "utf8")),
  ];
}
