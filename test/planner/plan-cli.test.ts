import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PLAN_PROCESS_TIMEOUT_MS, runPlanCli } from "../helpers/cli";
import { expectEach } from "../helpers/expect-each";


/** A plan that ran: 0, or 3 when it holds a mandatory policy violation (test/policies covers which). */
const PLANNED = [0, 3];

const runs = new Map<string, ReturnType<typeof runPlanCli> & { out: string }>();

/** Plans once per set of arguments: tests that read the same plan share its run. */
function plan(args: string[]) {
  const key = JSON.stringify(args);
  let run = runs.get(key);
  if (run === undefined) {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
    run = { ...runPlanCli(["--out", out, ...args]), out };
    runs.set(key, run);
  }
  return run;
}

describe("npm run plan", { timeout: PLAN_PROCESS_TIMEOUT_MS }, () => {
  it.each(["dev", "prod"])("--json for %s prints the documented shape", (stack) => {
    const result = plan(["--stack", stack, "--json"]);
    expect(PLANNED, result.stderr).toContain(result.status);
    const doc = JSON.parse(result.stdout);
    expect(doc).toMatchObject({ schemaVersion: 1, project: "sophia", stack, environments: [`sophia/${stack}`] });
    expect(doc.profile).toBe(stack === "dev" ? "single-user-lax" : "enterprise-multi-region");
    expectEach(doc.resources as object[], (r) => expect(Object.keys(r).sort()).toEqual(["custom", "dependencies", "inputs", "kind", "name", "parent", "protect", "retainOnDelete", "type", "urn"]));
    expect(doc.resources.filter((r: { parent: string | null }) => r.parent === null)).toHaveLength(1);
  });

  it.each(["dev", "prod"])("--json for %s prints no secret value, only masks", (stack) => {
    const result = plan(["--stack", stack, "--json"]);
    expect(PLANNED, result.stderr).toContain(result.status);
    // Every ESC-supplied secret is a placeholder offline; none may surface anywhere.
    expect(result.stdout + result.stderr).not.toMatch(/plan-placeholder|plan-generated/);
    expect(result.stdout).toMatch(/"\[secret\]"/);
  });

  it("shows prod's GPU readiness mode and each GPU node's architecture", () => {
    const result = plan(["--stack", "prod"]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Readiness: dial-out: nodes report to unified-api/m);
    expect(result.stdout).toMatch(/^sophia-prod-gpu-0 +gpu_1x_gh200 +us-west-1 +arm64$/m);
  });

  it("gives prod's GPU instance spend against its target apart from the filesystem that the gpu-pool subtotal also holds", () => {
    const result = plan(["--stack", "prod"]);
    expect(result.stdout).toMatch(/^Target: \$1,260\.00–\$4,500\.00\/month, a range from the project's requirements: .* GPU instances \$[\d,.]+ against \$500\.00–\$2,000\.00: inside the range \(the gpu-pool subtotal adds \$[\d,.]+ of filesystem storage\)\.$/m);
    expect(result.stdout).not.toMatch(/seed estimate/i);
  });

  it("says loudly that dev's apps go to the profile's Fly organization unless the stack file names one", () => {
    const result = plan(["--stack", "dev"]);
    expect(result.stdout.split("\n")[1]).toBe(
      "Fly organization: personal, the profile's default, as Pulumi.dev.yaml sets no sophia:flyOrg. To deploy into another organization: pulumi config set sophia:flyOrg <slug> --stack dev (fly orgs list shows the slugs).",
    );
  });

  it("says prod's plan skips the Lambda capacity check that a real run makes", () => {
    const result = plan(["--stack", "prod"]);
    expect(result.stdout).toMatch(/A real run first asks Lambda whether us-west-1 has capacity for 1 gpu_1x_gh200 node,/);
  });

  it("writes plans/<stack>.json and plans/<stack>.md", () => {
    const result = plan(["--stack", "dev"]);
    expect(result.status, result.stderr).toBe(0);
    expect(fs.existsSync(path.join(result.out, "dev.json"))).toBe(true);
    expect(fs.readFileSync(path.join(result.out, "dev.md"), "utf8")).toMatch(/^# Plan: dev \(single-user-lax\)/);
  });

  it("a bad stack file exits non-zero with the config error and writes no plan", () => {
    const stackDir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-"));
    fs.writeFileSync(path.join(stackDir, "Pulumi.dev.yaml"), "config:\n  sophia:profile: single-user-lax\n  sophia:regoins: [lax]\n");
    const result = plan(["--stack", "dev", "--stack-dir", stackDir]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/sophia: unknown key "regoins"/);
    expect(fs.readdirSync(result.out)).toEqual([]);
  });

  it("--help explains every option", () => {
    const result = runPlanCli(["--help"]);
    expect(result.status).toBe(0);
    for (const option of ["--stack", "--compare", "--json", "--out", "--stack-dir", "--omit-secret"]) {
      expect(result.stdout, option).toMatch(new RegExp(`^ +(-\\w, )?${option}\\b.* \\w+`, "m"));
    }
  });

  it("--omit-secret without its namespace is refused with the right spelling", () => {
    const result = runPlanCli(["--omit-secret", "openaiApiKey"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--omit-secret: "openaiApiKey" needs its namespace: --omit-secret sophia:openaiApiKey/);
  });

  it("--compare with --stack is refused: the two exclude each other", () => {
    const result = runPlanCli(["--compare", "--stack", "prod"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--compare plans dev and prod side by side, so it takes no --stack/);
  });

  it("an unknown stack names the known stacks", () => {
    const result = plan(["--stack", "staging"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/No stack file Pulumi\.staging\.yaml\. Known stacks: dev, prod/);
  });
});
