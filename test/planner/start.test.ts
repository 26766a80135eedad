/**
 * `npm run plan` runs the plan tool compiled (src/planner/start.js). A user must never run stale
 * code: an edited source shows in the very next run, with no build step in between.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { planCommand, projectDir } from "../helpers/cli";

/** A copy of the project's sources beside the real node_modules, so that edits stay in the copy. */
function projectCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-start-"));
  for (const entry of ["src", "components", "environments", "Pulumi.yaml", "Pulumi.dev.yaml", "package.json"]) {
    fs.cpSync(path.join(projectDir, entry), path.join(dir, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(projectDir, "node_modules"), path.join(dir, "node_modules"), "dir");
  return dir;
}

interface Plan {
  cost: { assumptions: { onDemandGpuHours: number } };
  outputs: { apps: Record<string, string> };
}

/** Plans dev with the copy's own launcher, as `npm run plan` would there. */
function planJson(dir: string): Plan {
  const { command, args } = planCommand();
  const launcher = args.map((a) => (a === "src/planner/start.js" ? path.join(dir, a) : a));
  expect(launcher).toContain(path.join(dir, "src/planner/start.js"));
  const result = spawnSync(command, [...launcher, "--stack", "dev", "--json"], { cwd: dir, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout) as Plan;
}

describe("npm run plan", () => {
  it("runs an edited source in the next run, without a build step", () => {
    const dir = projectCopy();
    expect(planJson(dir).cost.assumptions.onDemandGpuHours).toBe(10);
    const profiles = path.join(dir, "environments", "profiles.ts");
    fs.writeFileSync(profiles, fs.readFileSync(profiles, "utf8").replace("onDemandGpuHours: 10,", "onDemandGpuHours: 11,"));
    expect(planJson(dir).cost.assumptions.onDemandGpuHours).toBe(11);
  }, 60_000);

  it("reads the stack file of the project it was started from", () => {
    const dir = projectCopy();
    const stackFile = path.join(dir, "Pulumi.dev.yaml");
    fs.writeFileSync(stackFile, fs.readFileSync(stackFile, "utf8").replace("sophia:profile: single-user-lax", "sophia:profile: single-user-lax\n  sophia:appPrefix: copy-dev"));
    expect(Object.values(planJson(dir).outputs.apps).every((app) => app.startsWith("copy-dev-"))).toBe(true);
    expect(fs.existsSync(path.join(dir, "plans", "dev.json"))).toBe(true);
  }, 60_000);
});
