/** Bad options stop the rehearsal before anything starts, with a sentence naming the option. */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { expect, it, vi } from "vitest";

// Each case starts the CLI, which loads the Pulumi SDK before it reads its options.
vi.setConfig({ testTimeout: 60_000 });

const root = path.resolve(__dirname, "../..");
const rehearse = (args: string[]) =>
  spawnSync(process.execPath, ["--require", "tsx/cjs", "src/rehearsal/cli.ts", ...args], { cwd: root, encoding: "utf8", timeout: 60_000 });

it("a time scale outside (0, 1] is refused, naming the option and what it means", () => {
  const result = rehearse(["--time-scale", "0"]);
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('--time-scale must be a number above 0 and at most 1 (real seconds per platform second), not "0"');
});

it("an interruption point that is not a whole number of creates is refused", () => {
  const result = rehearse(["--interrupt-after", "half"]);
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('--interrupt-after must be a whole number of creates, not "half"');
});

it("external emulators need all four endpoint variables, and the message lists the missing ones", () => {
  const result = spawnSync(process.execPath, ["--require", "@pulumi/pulumi", "--require", "tsx/cjs", "src/rehearsal/cli.ts", "--quiet"], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, FLY_API_URL: "http://127.0.0.1:9/v1", FLY_API_TOKEN: "", LAMBDA_API_URL: "", LAMBDA_API_KEY: "" },
  });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain("missing: FLY_API_TOKEN, LAMBDA_API_URL, LAMBDA_API_KEY");
});
