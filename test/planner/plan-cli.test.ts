import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PLAN_PROCESS_TIMEOUT_MS, runPlanCliAsync, spawnPlanCli, type PlanResult } from "../helpers/cli";
import { expectEach } from "../helpers/expect-each";

/** A plan that ran: 0, or 3 when it holds a mandatory policy violation (test/policies covers which). */
const PLANNED = [0, 3];

async function plan(args: string[]) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
  const result = await runPlanCliAsync(["--out", out, ...args]);
  return { ...result, out };
}

/** The plans several tests read, made once. */
const planned: Record<string, PlanResult & { out: string }> = {};
beforeAll(async () => {
  const runs = { "dev --json": ["--stack", "dev", "--json"], "prod --json": ["--stack", "prod", "--json"], prod: ["--stack", "prod"], dev: ["--stack", "dev"] };
  await Promise.all(Object.entries(runs).map(async ([name, args]) => (planned[name] = await plan(args))));
}, PLAN_PROCESS_TIMEOUT_MS);

describe("npm run plan", { timeout: PLAN_PROCESS_TIMEOUT_MS }, () => {
  it.each(["dev", "prod"])("--json for %s prints the documented shape", (stack) => {
    const result = planned[`${stack} --json`]!;
    expect(PLANNED, result.stderr).toContain(result.status);
    const doc = JSON.parse(result.stdout);
    expect(doc).toMatchObject({ schemaVersion: 1, project: "sophia", stack, environments: [`sophia/${stack}`] });
    expect(doc.profile).toBe(stack === "dev" ? "single-user-lax" : "enterprise-multi-region");
    expectEach(doc.resources as object[], (r) => expect(Object.keys(r).sort()).toEqual(["custom", "dependencies", "inputs", "kind", "name", "parent", "protect", "retainOnDelete", "type", "urn"]));
    expect(doc.resources.filter((r: { parent: string | null }) => r.parent === null)).toHaveLength(1);
  });

  it.each(["dev", "prod"])("--json for %s prints no secret value, only masks", (stack) => {
    const result = planned[`${stack} --json`]!;
    expect(PLANNED, result.stderr).toContain(result.status);
    // Every ESC-supplied secret is a placeholder offline; none may surface anywhere.
    expect(result.stdout + result.stderr).not.toMatch(/plan-placeholder|plan-generated/);
    expect(result.stdout).toMatch(/"\[secret\]"/);
  });

  it("shows prod's GPU readiness mode and each GPU node's architecture", () => {
    const result = planned.prod!;
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Readiness: dial-out: nodes report to unified-api/m);
    expect(result.stdout).toMatch(/^sophia-prod-gpu-0 +gpu_1x_gh200 +us-west-1 +arm64$/m);
  });

  it("gives prod's GPU instance spend against its target apart from the filesystem that the gpu-pool subtotal also holds", () => {
    const result = planned.prod!;
    expect(result.stdout).toMatch(/^Target: \$1,260\.00–\$4,500\.00\/month, a range from the project's requirements: .* GPU instances \$[\d,.]+ against \$500\.00–\$2,000\.00: inside the range \(the gpu-pool subtotal adds \$[\d,.]+ of filesystem storage\)\.$/m);
    expect(result.stdout).not.toMatch(/seed estimate/i);
  });

  it("says loudly that dev's apps go to the profile's Fly organization unless the stack file names one", () => {
    const result = planned.dev!;
    expect(result.stdout.split("\n")[1]).toBe(
      "Fly organization: personal, the profile's default, as Pulumi.dev.yaml sets no sophia:flyOrg. To deploy into another organization: pulumi config set sophia:flyOrg <slug> --stack dev (fly orgs list shows the slugs).",
    );
  });

  it("says prod's plan skips the Lambda capacity check that a real run makes", () => {
    const result = planned.prod!;
    expect(result.stdout).toMatch(/A real run first asks Lambda whether us-west-1 has capacity for 1 gpu_1x_gh200 node,/);
  });

  it("writes plans/<stack>.json and plans/<stack>.md", () => {
    const result = planned.dev!;
    expect(result.status, result.stderr).toBe(0);
    expect(fs.existsSync(path.join(result.out, "dev.json"))).toBe(true);
    expect(fs.readFileSync(path.join(result.out, "dev.md"), "utf8")).toMatch(/^# Plan: dev \(single-user-lax\)/);
  });

  it("a bad stack file exits non-zero with the config error and writes no plan", async () => {
    const stackDir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-"));
    fs.writeFileSync(path.join(stackDir, "Pulumi.dev.yaml"), "config:\n  sophia:profile: single-user-lax\n  sophia:regoins: [lax]\n");
    const result = await plan(["--stack", "dev", "--stack-dir", stackDir]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/sophia: unknown key "regoins"/);
    expect(fs.readdirSync(result.out)).toEqual([]);
  });

  it("--help explains every option", async () => {
    const result = await runPlanCliAsync(["--help"]);
    expect(result.status).toBe(0);
    for (const option of ["--stack", "--compare", "--json", "--out", "--stack-dir", "--omit-secret"]) {
      expect(result.stdout, option).toMatch(new RegExp(`^ +(-\\w, )?${option}\\b.* \\w+`, "m"));
    }
  });

  it("--help says how wide text is laid out, in the order terminalWidth takes: the terminal's width, COLUMNS, then 100", async () => {
    const result = await runPlanCliAsync(["--help"]);
    expect(result.stdout).toContain("Text fits the terminal: its width, else COLUMNS, else 100 columns.");
  });

  it("an organization-qualified stack name is refused with the name the plan reads", async () => {
    const result = await runPlanCliAsync(["--stack", "acme/dev"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^"acme\/dev" is not a stack name: drop the organization: --stack dev \(the plan reads Pulumi\.dev\.yaml\)\.$/m);
  });

  it("--omit-secret without its namespace is refused with the right spelling", async () => {
    const result = await runPlanCliAsync(["--omit-secret", "openaiApiKey"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--omit-secret: "openaiApiKey" needs its namespace: --omit-secret sophia:openaiApiKey/);
  });

  it("--compare plans both stacks without an --omit-secret secret, and fails with a stack's message for it", async () => {
    // A key both stacks need: each child stops before planning, which keeps this quick.
    const result = await spawnPlanCli(["--compare", "--out", fs.mkdtempSync(path.join(os.tmpdir(), "plan-")), "--omit-secret", "sophia:lambdaApiKey"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/stack (dev|prod): .*sophia:lambdaApiKey \(Lambda Cloud API key\) is not set/s);
  });

  it("--compare with --stack is refused: the two exclude each other", async () => {
    const result = await spawnPlanCli(["--compare", "--stack", "prod"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--compare plans dev and prod side by side, so it takes no --stack/);
  });

  it("an unknown stack names the known stacks, and the process exits 1", async () => {
    // Its own process: what the launcher's exit code is, not only what the command returns.
    const result = await spawnPlanCli(["--stack", "staging"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/No stack file Pulumi\.staging\.yaml\. Known stacks: dev, prod/);
  });
});
