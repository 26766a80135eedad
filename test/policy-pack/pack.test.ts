/**
 * The policy pack: its exported policies (index.ts is not imported: its PolicyPack starts a server),
 * and the pack itself started the way the Pulumi CLI starts it, asked over gRPC like the engine asks.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { PolicyResource as AnalyzerResource, ReportViolation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzer from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStackConfig } from "../../src/stack-config";
import { POLICIES } from "../../src/policies";
import { packPolicies, type PackStack } from "../../src/policy-pack/policies";
import { readStackFile } from "../../src/planner/stack-file";
import { projectDir } from "../helpers/plan";

const packDir = path.join(projectDir, "src", "policy-pack");
const SECRET = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };

const stackOf = (stack: "dev" | "prod"): PackStack => ({
  stack,
  config: parseStackConfig(
    stack === "dev" ? { profile: "single-user-lax" } : { profile: "enterprise-multi-region" },
    stack,
  ),
  secretValues: [{ key: "sophia:databaseUrl", value: "postgres://app:correct-horse-battery@db/sophia" }],
});

/** A resource as @pulumi/policy hands it to a stack policy. */
function analyzerResource(kind: string, name: string, props: Record<string, unknown>, protect = false): AnalyzerResource {
  return {
    type: `pulumi-nodejs:dynamic/${kind}`,
    name,
    urn: `urn:pulumi:prod::sophia::pulumi-nodejs:dynamic:Resource::${name}`,
    props,
    opts: { protect, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
    dependencies: [],
    propertyDependencies: {},
    isType: () => false,
    asType: () => undefined,
  };
}

/** Runs one exported policy over resources; returns its violations, or its not-applicable reason. */
async function validate(policy: StackValidationPolicy, resources: AnalyzerResource[]): Promise<{ violations: { message: string; urn?: string }[]; notApplicable?: string }> {
  const violations: { message: string; urn?: string }[] = [];
  const report: ReportViolation = (message, urn) => violations.push({ message, urn });
  const args: StackValidationArgs = {
    resources,
    stackTags: new Map(),
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: (reason?: string): never => {
      throw Object.assign(new Error(reason), { notApplicable: reason });
    },
  };
  try {
    await policy.validateStack(args, report);
  } catch (err) {
    const reason = (err as { notApplicable?: string }).notApplicable;
    if (reason === undefined) throw err;
    return { violations, notApplicable: reason };
  }
  return { violations };
}

const byName = (policies: StackValidationPolicy[], name: string) => {
  const found = policies.find((p) => p.name === name);
  if (!found) throw new Error(`no policy ${name}`);
  return found;
};

describe("the exported policies", () => {
  it("are the guardrails of src/policies, one each", () => {
    expect(POLICIES.length).toBeGreaterThan(0);
    expect(packPolicies(stackOf("dev")).map((p) => p.name)).toEqual(POLICIES.map((p) => p.name));
  });

  it("are all mandatory in prod", () => {
    expect(packPolicies(stackOf("prod")).map((p) => p.enforcementLevel)).toEqual(POLICIES.map(() => "mandatory"));
  });

  it("hold dev to its budget only as advice", () => {
    expect(byName(packPolicies(stackOf("dev")), "monthly-budget").enforcementLevel).toBe("advisory");
  });

  it("report the production-only policies as not applicable to dev", async () => {
    const result = await validate(byName(packPolicies(stackOf("dev")), "prod-data-protected"), []);
    expect(result.notApplicable).toBe("does not apply to the single-user-lax profile");
  });

  it("flag an unprotected prod volume by its URN, from the analyzer's protect option", async () => {
    const volume = analyzerResource("fly:Volume", "weaviate-vol-sjc-0", { app: "a", region: "sjc", sizeGb: 20 });
    const result = await validate(byName(packPolicies(stackOf("prod")), "prod-data-protected"), [volume]);
    expect(result.violations).toEqual([{ urn: volume.urn, message: expect.stringMatching(/^fly:Volume weaviate-vol-sjc-0 holds production data but lacks protect: /) }]);
  });

  it("pass a protected prod volume", async () => {
    const volume = analyzerResource("fly:Volume", "weaviate-vol-sjc-0", { app: "a", region: "sjc", sizeGb: 20 }, true);
    expect(await validate(byName(packPolicies(stackOf("prod")), "prod-data-protected"), [volume])).toEqual({ violations: [] });
  });

  it("flag a world-open SSH rule", async () => {
    const firewall = analyzerResource("lambda:FirewallRuleset", "gpu-firewall", { rules: [{ protocol: "tcp", portRange: [22, 22], sourceNetwork: "0.0.0.0/0" }], apiKey: "[secret]" });
    const result = await validate(byName(packPolicies(stackOf("prod")), "gpu-firewall-not-world-open"), [firewall]);
    expect(result.violations.map((v) => v.message)).toEqual([expect.stringMatching(/^lambda:FirewallRuleset gpu-firewall opens SSH to 0\.0\.0\.0\/0/)]);
  });
});

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
