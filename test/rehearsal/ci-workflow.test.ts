/**
 * The CI job that rehearses a deployment with the real Pulumi CLI cannot run here, so its
 * shape is checked: it installs the CLI, keeps state in a local file backend with a passphrase,
 * starts both emulators, points a scratch copy of dev at them (never the committed stack file), and
 * runs up, a no-change preview and destroy, with no secret and no write permission.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { declaredSecrets } from "../../components/platform-services";
import { SERVICE_DEFINITIONS } from "../../components/services";
import { parseStackConfig } from "../../src/stack-config";

const file = path.resolve(__dirname, "../../.github/workflows/rehearsal.yml");
const text = fs.readFileSync(file, "utf8");
interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  steps: Step[];
}
const workflow = parse(text) as { permissions?: unknown; jobs: Record<string, Job> };
const jobs = Object.values(workflow.jobs);
const job = jobs[0]!;
const runs = job.steps.map((s) => s.run ?? "");
const script = runs.join("\n");
/** Index of the first step whose command matches. */
const stepIndex = (pattern: RegExp) => runs.findIndex((run) => pattern.test(run));

describe("the rehearsal workflow", () => {
  it("has one job, with read-only contents and nothing granted at the top", () => {
    expect(jobs).toHaveLength(1);
    expect(workflow.permissions).toEqual({});
    expect(job.permissions).toEqual({ contents: "read" });
  });

  it("uses no secret and no Pulumi Cloud token", () => {
    expect(text).not.toMatch(/secrets\.|PULUMI_ACCESS_TOKEN|id-token/);
  });

  it("pins every action to a full commit SHA with its version in a comment", () => {
    const uses = text.split("\n").filter((line) => /^\s*-?\s*uses:/.test(line));
    expect(uses.length).toBeGreaterThan(0);
    for (const line of uses) expect(line).toMatch(/uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
  });

  it("installs the Pulumi CLI with pulumi/actions and runs no Pulumi command through it", () => {
    const install = job.steps.filter((s) => s.uses?.startsWith("pulumi/actions@"));
    expect(install).toHaveLength(1);
    expect(install[0]!.with?.command).toBeUndefined();
  });

  it("keeps state in a local file backend under the runner's temp dir, with a passphrase secrets provider", () => {
    expect(script).toMatch(/pulumi login "file:\/\/\$RUNNER_TEMP\/[\w-]+"/);
    expect(script).toMatch(/pulumi stack init rehearsal --secrets-provider passphrase/);
    expect(job.env?.PULUMI_CONFIG_PASSPHRASE).toBeTruthy();
  });

  it("starts both emulators on the ports the stack is pointed at, before the stack is created", () => {
    const fly = /npm run fly-emulator -- --port (\d+)/.exec(script);
    const lambda = /npm run lambda-emulator -- --port (\d+)/.exec(script);
    expect(fly && lambda).toBeTruthy();
    expect(job.env?.FLY_EMULATOR_URL).toBe(`http://127.0.0.1:${fly![1]}/v1`);
    expect(job.env?.LAMBDA_EMULATOR_URL).toBe(`http://127.0.0.1:${lambda![1]}/api/v1`);
    expect(script).toContain('pulumi config set sophia:flyApiUrl "$FLY_EMULATOR_URL"');
    expect(script).toContain('pulumi config set sophia:lambdaApiUrl "$LAMBDA_EMULATOR_URL"');
    expect(stepIndex(/fly-emulator/)).toBeLessThan(stepIndex(/pulumi stack init/));
  });

  it("sets every secret dev reads as a stack secret, since there is no ESC", () => {
    const loop = /for key in ([\w ]+); do/.exec(script)?.[1]?.split(" ") ?? [];
    const direct = [...script.matchAll(/pulumi config set --secret sophia:(\w+)/g)].map((m) => m[1]);
    const set = new Set([...loop, ...direct]);
    // What dev's services declare (monitoring, off in dev, declares none), and the program's own two.
    const dev = parseStackConfig({ profile: "single-user-lax" }, "dev");
    const needed = [...declaredSecrets(SERVICE_DEFINITIONS, dev).keys(), "flyApiToken", "lambdaApiKey"];
    expect(needed.length).toBeGreaterThan(0);
    for (const key of needed) expect(set, key).toContain(key);
    expect(script).toMatch(/d\.delete\("environment"\)/);
  });

  it("writes dev's config, without its ESC environment, into the scratch stack's own file and leaves Pulumi.dev.yaml as committed", () => {
    expect(script).toMatch(/readFileSync\("Pulumi\.dev\.yaml","utf8"\)\);d\.delete\("environment"\);fs\.writeFileSync\("Pulumi\.rehearsal\.yaml"/);
    expect(script).not.toMatch(/writeFileSync\("Pulumi\.dev\.yaml"/);
    expect(script).toMatch(/git diff --exit-code -- Pulumi\.dev\.yaml/);
    expect(fs.readFileSync(path.resolve(__dirname, "../../.gitignore"), "utf8")).toMatch(/^\/Pulumi\.rehearsal\.yaml$/m);
  });

  it("runs up, then a preview that must show no change, then destroy, of the scratch stack", () => {
    const order = [/^pulumi up --yes --stack rehearsal$/, /^pulumi preview --expect-no-changes --stack rehearsal$/, /^pulumi destroy --yes --stack rehearsal$/].map((p) =>
      runs.findIndex((run) => p.test(run.trim())),
    );
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });
});
