/**
 * Bad options stop the rehearsal before anything starts, with a sentence naming the option. The
 * command runs in this process: it fails before it starts anything, and cli.ts only exits with
 * the code it returns.
 */
import { afterEach, expect, it, vi } from "vitest";
import { rehearseCommand } from "../../src/rehearsal/command";

afterEach(() => {
  vi.restoreAllMocks();
});

/** The command's exit code and what it printed to stderr. */
async function rehearse(args: string[], env: Record<string, string | undefined> = {}): Promise<{ status: number; stderr: string }> {
  const lines: string[] = [];
  vi.spyOn(console, "error").mockImplementation((...parts: unknown[]) => void lines.push(parts.map(String).join(" ")));
  const status = await rehearseCommand(args, env);
  return { status, stderr: lines.join("\n") };
}

it("a time scale outside (0, 1] is refused, naming the option and what it means", async () => {
  const result = await rehearse(["--time-scale", "0"]);
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('--time-scale must be a number above 0 and at most 1 (real seconds per platform second), not "0"');
});

it("an interruption point that is not a whole number of creates is refused", async () => {
  const result = await rehearse(["--interrupt-after", "half"]);
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('--interrupt-after must be a whole number of creates, not "half"');
});

it("a phase timeout that is not a positive number of seconds is refused", async () => {
  const result = await rehearse(["--phase-timeout", "0"]);
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('--phase-timeout must be a number of seconds above 0, not "0"');
});

it("external emulators need all four endpoint variables, and the message lists the missing ones", async () => {
  const result = await rehearse(["--quiet"], { FLY_API_URL: "http://127.0.0.1:9/v1", FLY_API_TOKEN: "", LAMBDA_API_URL: "", LAMBDA_API_KEY: "" });
  expect(result.status).toBe(1);
  expect(result.stderr).toContain("missing: FLY_API_TOKEN, LAMBDA_API_URL, LAMBDA_API_KEY");
});
