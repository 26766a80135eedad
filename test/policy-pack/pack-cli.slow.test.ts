/**
 * The policy pack started the way the Pulumi CLI starts it (run-policy-pack, which type-checks the
 * pack with ts-node, as in a real preview: seconds), asked over gRPC like the engine asks.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzer from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POLICIES } from "../../src/policies";
import { readStackFile } from "../../src/planner/stack-file";
import { projectDir } from "../helpers/plan";

const packDir = path.join(projectDir, "src", "policy-pack");
const SECRET = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };

describe("the pack, started as the Pulumi CLI starts it", () => {
  let pack: ChildProcess;
  let client: AnalyzerClient;
  let stderr = "";

  beforeAll(async () => {
    // The CLI hands the pack the stack's config (secrets decrypted) and name in the environment, and
    // runs @pulumi/pulumi's run-policy-pack in the pack's directory with the engine's address.
    const env = {
      ...process.env,
      PULUMI_CONFIG: JSON.stringify({ ...readStackFile(projectDir, "prod").config, "sophia:databaseUrl": "postgres://app:correct-horse-battery@db/sophia" }),
      PULUMI_NODEJS_STACK: "prod",
      PULUMI_NODEJS_PROJECT: "sophia",
    };
    const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack");
    pack = spawn(process.execPath, [runner, "127.0.0.1:0", "."], { cwd: packDir, env });
    pack.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const port = await new Promise<string>((resolve, reject) => {
      let out = "";
      pack.stdout?.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const match = /^(\d+)\s*$/m.exec(out);
        if (match) resolve(match[1]!);
      });
      pack.on("exit", (code) => reject(new Error(`the pack exited (${String(code)}) before serving: ${stderr}`)));
    });
    client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  }, 120_000);

  afterAll(() => {
    client?.close();
    if (pack?.pid !== undefined && pack.exitCode === null) pack.kill();
  });

  it("serves every guardrail with prod's enforcement", async () => {
    const info = await new Promise<analyzer.AnalyzerInfo>((resolve, reject) => client.getAnalyzerInfo(new Empty(), (err, res) => (err ? reject(err) : resolve(res))));
    expect(info.getName()).toBe("sophia-guardrails");
    expect(info.getPoliciesList().map((p) => p.getName())).toEqual(POLICIES.map((p) => p.name));
    expect(new Set(info.getPoliciesList().map((p) => p.getEnforcementlevel()))).toEqual(new Set([analyzer.EnforcementLevel.MANDATORY]));
  });

  it("sees the engine's secret marks: a marked credential passes, a plain one and a leaked config secret do not", async () => {
    const resource = new analyzer.AnalyzerResource();
    resource.setType("pulumi-nodejs:dynamic/fly:Secrets");
    resource.setUrn("urn:pulumi:prod::sophia::pulumi-nodejs:dynamic:Resource::unified-api-secrets");
    resource.setName("unified-api-secrets");
    resource.setProperties(
      Struct.fromJavaScript({
        app: "sophia-prod-unified-api",
        apiToken: { ...SECRET, value: "fly-token-value" },
        values: { OPENAI_API_KEY: { ...SECRET, value: "sk-marked" }, REDIS_URL: "redis://plain-value@redis" },
        notice: "connect with postgres://app:correct-horse-battery@db/sophia",
      }),
    );
    const options = new analyzer.AnalyzerResourceOptions();
    options.setProtect(false);
    resource.setOptions(options);
    const request = new analyzer.AnalyzeStackRequest();
    request.setResourcesList([resource]);
    const response = await new Promise<analyzer.AnalyzeResponse>((resolve, reject) => client.analyzeStack(request, (err, res) => (err ? reject(err) : resolve(res))));
    const secretsFindings = response.getDiagnosticsList().filter((d) => d.getPolicyname() === "secrets-stay-secret").map((d) => d.getMessage());
    expect(secretsFindings).toHaveLength(2);
    expect(secretsFindings.join("\n")).toMatch(/fly:Secrets unified-api-secrets receives values\.REDIS_URL as plain text/);
    expect(secretsFindings.join("\n")).toMatch(/fly:Secrets unified-api-secrets carries the value of sophia:databaseUrl in plain text at notice/);
    expect(secretsFindings.join("\n")).not.toMatch(/apiToken|OPENAI_API_KEY|correct-horse/);
  });
});
