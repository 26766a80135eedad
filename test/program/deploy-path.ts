/**
 * The program as `pulumi up` runs it: @pulumi/pulumi's own entry (`cmd/run`, which the Node
 * language host starts), with the runtime options of Pulumi.yaml (TypeScript through the SDK's
 * vendored ts-node, with the deploy tsconfig: transpile only), the stack's config in PULUMI_CONFIG
 * and its secrets marked as Pulumi marks them, against a recording monitor. It must register
 * exactly what the offline plan registers, so a break in that path (a module ts-node cannot load,
 * a provider the real closure serializer refuses, a tsconfig the SDK reads differently) shows
 * here, not first in a deployment.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { placeholderFor, runPlan, PROJECT_NAME, type RecordedResource } from "../../src/planner/engine";
import { readStackFile } from "../../src/planner/stack-file";
import { secretConfigKeys } from "../../src/config/secrets";
import { RecordingMonitor, type Registration } from "./recording-monitor";

const root = path.resolve(__dirname, "../..");

/** Pulumi.yaml's runtime options, as the language host reads them. */
const runtime = (parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { runtime: { options: { typescript?: boolean; tsconfig?: string } } }).runtime;

/** The stack's config as the CLI hands it over: the stack file, the secrets (placeholders, as in the plan) marked secret. */
function stackConfig(stack: string): { config: Record<string, string>; secretKeys: string[] } {
  const config: Record<string, string> = { ...readStackFile(root, stack).config, "sophia:preflightChecks": "false" };
  const secretKeys = secretConfigKeys().map((s) => s.key);
  for (const key of secretKeys) config[key] = placeholderFor(key);
  return { config, secretKeys };
}

interface Run {
  code: number | null;
  stderr: string;
}

function runProgram(stack: string, monitorAddress: string): Promise<Run> {
  const { config, secretKeys } = stackConfig(stack);
  const entry = path.join(path.dirname(require.resolve("@pulumi/pulumi")), "cmd", "run");
  const args = [entry, "--monitor", monitorAddress, "--engine", monitorAddress, "--organization", "organization", "--project", PROJECT_NAME, "--stack", stack, "--pwd", root, "--parallel", "16", "."];
  const env: Record<string, string | undefined> = {
    ...process.env,
    PULUMI_CONFIG: JSON.stringify(config),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(secretKeys),
    PULUMI_NODEJS_TYPESCRIPT: String(runtime.options.typescript ?? true),
    PULUMI_NODEJS_TSCONFIG_PATH: runtime.options.tsconfig,
    // The test's own environment must not steer the program (an emulator URL, a loader).
    FLY_API_URL: undefined,
    LAMBDA_API_URL: undefined,
    NODE_OPTIONS: undefined,
    VITEST: undefined,
  };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env: env as NodeJS.ProcessEnv, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 170_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

const identity = (r: Pick<Registration | RecordedResource, "urn" | "type">) => `${r.type} ${r.urn}`;

/**
 * The checks for one stack. The Pulumi runtime in the test process is global, so each stack plans
 * in a file of its own (deploy-path.slow.test.ts, deploy-path-prod.slow.test.ts).
 */
export function describeDeployPath(stack: string): void {
  let monitor: RecordingMonitor;
  let run: Run;
  let planned: RecordedResource[];

  beforeAll(async () => {
    monitor = new RecordingMonitor(PROJECT_NAME, stack);
    const address = await monitor.listen();
    run = await runProgram(stack, address);
    planned = (await runPlan({ stack: stack, projectDir: root, load: () => import("../../src/index") })).resources;
  }, 180_000);

  afterAll(async () => {
    await monitor?.close();
  });

  describe(`${stack}: the program run by @pulumi/pulumi's cmd/run with the deploy tsconfig`, () => {
    it("reads Pulumi.yaml's TypeScript options: transpile only, through the deploy tsconfig", () => {
      expect(runtime.options.typescript).toBe(true);
      const tsconfig = JSON.parse(fs.readFileSync(path.join(root, runtime.options.tsconfig ?? ""), "utf8").replace(/^\s*\/\/.*$/gm, "")) as { compilerOptions?: { noCheck?: boolean } };
      expect(tsconfig.compilerOptions?.noCheck).toBe(true);
    });

    it("exits 0 and logs no error", () => {
      const errors = monitor.logs.filter((l) => l.severity >= 3).map((l) => l.message);
      expect({ code: run.code, errors, stderr: run.code === 0 ? "" : run.stderr.slice(-3000) }).toEqual({ code: 0, errors: [], stderr: "" });
    });

    it("registers exactly the resources the offline plan registers, with the same URNs and types", () => {
      const deployed = monitor.registrations.map(identity).sort();
      expect(deployed.length).toBeGreaterThan(20);
      expect(deployed).toEqual(planned.map(identity).sort());
    });

    it("sends every dynamic resource with its provider serialized, as a deployment writes it to state", () => {
      const dynamic = monitor.registrations.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"));
      expect(dynamic.length).toBeGreaterThan(10);
      expect(dynamic.filter((r) => !(r.providerText && r.providerText > 1000)).map((r) => r.urn)).toEqual([]);
    });
  });
}
