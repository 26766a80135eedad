/**
 * The deploy check against a local HTTP server standing in for the deployed services: one healthy,
 * one still starting (503 twice, then 200), one broken. Through the CLI as the workflows run it,
 * with the outputs file `pulumi stack output --json` writes.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "../..");
let server: http.Server;
let base: string;
const hits: Record<string, number> = {};

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const route = req.url ?? "/";
    hits[route] = (hits[route] ?? 0) + 1;
    if (route === "/api/healthz") return void res.writeHead(200).end("ok");
    if (route === "/bridge/health" && hits[route]! > 2) return void res.writeHead(200).end("ok");
    if (route === "/bridge/health") return void res.writeHead(503, "Service Unavailable").end("starting");
    res.writeHead(500, "Internal Server Error").end(JSON.stringify({ error: "database unreachable: connection refused" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Runs the CLI on an outputs file holding `contents`: the healthUrls map in the stack's outputs, or text as it is. */
function checkDeploy(contents: Record<string, string> | string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "outputs-")), "outputs.json");
  fs.writeFileSync(file, typeof contents === "string" ? contents : JSON.stringify({ profile: "single-user-lax", publicUrls: {}, healthUrls: contents }));
  return new Promise((resolve) => {
    const args = ["--require", "tsx/cjs", "src/deploy-check/cli.ts", "--outputs", file, "--attempts", "3", "--interval", "0.05", "--timeout", "5"];
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, CI: "", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("npm run check-deploy", { timeout: 60_000 }, () => {
  let result: Awaited<ReturnType<typeof checkDeploy>>;
  beforeAll(async () => {
    result = await checkDeploy({ "unified-api": `${base}/api/healthz`, "agno-bridge": `${base}/bridge/health`, "agent-ui": `${base}/ui/` });
  }, 60_000);

  it("fails the job when a public service does not answer 2xx within its attempts", () => {
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^1 of 3 public services did not answer their health path: agent-ui\./m);
  });

  it("names the failing service with its URL, its answer and what it said", () => {
    expect(result.stderr).toContain(`FAIL  agent-ui: GET ${base}/ui/ → 500 Internal Server Error (3 attempts): "{\\"error\\":\\"database unreachable: connection refused\\"}"`);
    expect(hits["/ui/"]).toBe(3);
  });

  it("retries a service that is still starting until it answers", () => {
    expect(result.stdout).toContain(`ok    agno-bridge: GET ${base}/bridge/health → 200 OK (attempt 3)`);
    expect(result.stdout).toContain(`ok    unified-api: GET ${base}/api/healthz → 200 OK`);
  });

  it("passes when every public service answers, and says so", async () => {
    const ok = await checkDeploy({ "unified-api": `${base}/api/healthz` });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^All 1 public services answered their health path\.$/m);
  });

  it("names a service nothing answers for, with the connection error", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const down = await checkDeploy({ "agent-ui": `http://127.0.0.1:${port}/` });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`FAIL  agent-ui: GET http://127.0.0.1:${port}/ → no answer: ECONNREFUSED (3 attempts)`);
  });
});

describe("npm run check-deploy on outputs that are not JSON", { timeout: 60_000 }, () => {
  it("says an empty file is empty, what it expected and, in CI, to check the up job's export", async () => {
    const result = await checkDeploy("", { CI: "true" });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/outputs\.json is empty: expected the JSON that pulumi stack output --json prints \(with healthUrls\), or the healthUrls map alone\./);
    expect(result.stderr).toContain("In CI, check that the up job exported the stack output healthUrls (its health-urls output).");
  });

  it("says a file that is not JSON is not, with how it starts and what it expected", async () => {
    const result = await checkDeploy("error: no stack named 'dev' found\n");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/outputs\.json is not JSON \(it starts "error: no stack named 'dev' found"\): expected the JSON that pulumi stack output --json prints/);
    expect(result.stderr).not.toContain("In CI");
  });
});
