/**
 * `npm run plan -- --compare` over stack files that override what the profiles chose: dev asks for
 * an 8×H100 GPU and prod for three standing GH200s (over prod's mandatory budget). One CLI run plans
 * both; each test reads one thing from it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { projectDir, runPlanCliAsync } from "../helpers/cli";

let result: { status: number | null; stdout: string; stderr: string };

/** The project's stack file with `value` set at `keyPath` under config. */
function stackFileWith(stack: string, keyPath: string[], value: unknown): string {
  const doc = parseDocument(fs.readFileSync(path.join(projectDir, `Pulumi.${stack}.yaml`), "utf8"));
  doc.setIn(["config", ...keyPath], value);
  return doc.toString();
}

beforeAll(async () => {
  const stackDir = fs.mkdtempSync(path.join(os.tmpdir(), "compare-stacks-"));
  fs.writeFileSync(path.join(stackDir, "Pulumi.dev.yaml"), stackFileWith("dev", ["sophia:gpu", "instanceType"], "gpu_8x_h100_sxm5"));
  fs.writeFileSync(path.join(stackDir, "Pulumi.prod.yaml"), stackFileWith("prod", ["sophia:gpu", "standing"], 3));
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "compare-out-"));
  result = await runPlanCliAsync(["--compare", "--stack-dir", stackDir, "--out", out]);
}, 60_000);

const lines = () => result.stdout.split("\n");

describe("--compare with stacks that override their profile", () => {
  it("exits 3 when a stack breaks a mandatory guardrail, as that stack's own plan does", () => {
    expect(result.status, result.stderr).toBe(3);
    expect(result.stderr).toMatch(/^prod: policies: .*mandatory violation.*: a deploy of this plan would be refused/m);
  });

  it("prints each stack's guardrails, with the violation and its fix", () => {
    expect(result.stdout).toMatch(/^dev guardrails\npolicies: /m);
    expect(result.stdout).toMatch(/^prod guardrails\npolicies: /m);
    expect(result.stdout).toMatch(/✗ monthly-budget \(mandatory\)\n\s+- .*\$4,500/);
  });

  it("does not give the profile's GPU reasoning for a GPU the stack replaced", () => {
    expect(lines().filter((l) => /^dev: Profile choice: the GPU is a gpu_1x_a10/.test(l))).toEqual([]);
    expect(result.stdout).toMatch(/^dev: Profile choice set aside: the profile's reasoning on the GPU type does not apply: this stack sets gpu\.instanceType "gpu_8x_h100_sxm5" \(profile: "gpu_1x_a10"\)/m);
  });

  it("does not speak of one standing GPU when the stack has three", () => {
    expect(lines().filter((l) => /one standing gpu_1x_gh200/.test(l))).toEqual([]);
    expect(result.stdout).toMatch(/^prod: Profile choice set aside: the profile's reasoning on the standing GPU does not apply: this stack sets gpu\.standing 3 \(profile: 1\)/m);
  });

  it("calls the project's figure a target, not an estimate", () => {
    expect(result.stdout).not.toMatch(/seed estimate/i);
    expect(result.stdout).toMatch(/^target +≤ \$25\.00 +\$1,260\.00–\$4,500\.00$/m);
    expect(result.stdout).toMatch(/^Targets come from the project's requirements \(the seed\)/m);
  });
});
