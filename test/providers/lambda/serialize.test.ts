/**
 * Pulumi stores each dynamic provider in state through its closure serializer and runs the
 * serialized text in a separate process. serialize-providers.ts does the same for every Lambda
 * provider and drives the deserialized copies against the emulator; it runs under tsx in a child
 * process because, under vitest, modules bypass Node's require and zod would be inlined.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";

const PROVIDERS = ["lambdaSshKeyProvider", "lambdaFilesystemProvider", "lambdaFirewallRulesetProvider", "lambdaInstanceProvider"];

interface Line {
  name: string;
  serialized?: boolean;
  lifecycle?: boolean;
  deleted?: boolean;
  error?: string;
}

describe("Lambda dynamic providers after Pulumi serialization", { timeout: 30_000 }, () => {
  let lines: Line[] = [];
  beforeAll(async () => {
    const root = join(__dirname, "../../..");
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(root, "node_modules/tsx/dist/cli.mjs"), join(__dirname, "serialize-providers.ts")],
      { cwd: root, env: { ...process.env, LAMBDA_API_URL: "", LAMBDA_API_KEY: "" }, timeout: 25_000 },
    );
    lines = stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Line);
  }, 30_000);

  for (const name of PROVIDERS) {
    it(`${name} serializes with pulumi.runtime.serializeFunction`, () => {
      expect(lines.find((line) => line.name === name && "serialized" in line)).toEqual({ name, serialized: true });
    });

    it(`${name} runs create, read and delete once deserialized`, () => {
      expect(lines.filter((line) => line.name === name && !("serialized" in line))).toEqual([
        { name, lifecycle: true },
        { name, deleted: true },
      ]);
    });
  }
});
