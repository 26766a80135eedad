/**
 * Pulumi serializes each dynamic provider's closure into state at deployment time. vitest loads
 * modules through its own runner (no CommonJS require.cache), which the serializer relies on, so
 * this runs serialize-child.ts under tsx: it serializes every provider, loads the text back as
 * plain JavaScript, and drives the deserialized app provider against an emulator.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { expect, test } from "vitest";

const root = path.resolve(__dirname, "../../..");

test("every Fly provider survives Pulumi's closure serialization and still works", async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [path.join(root, "node_modules/tsx/dist/cli.mjs"), path.join(__dirname, "serialize-child.ts")],
    { cwd: root, timeout: 60_000, env: { ...process.env, FLY_API_URL: "", FLY_API_TOKEN: "" } },
  );
  const result = JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as {
    report: Record<string, { methods: string[] }>;
    createdId: string;
  };
  expect(Object.keys(result.report).sort()).toEqual(["App", "Certificate", "IpAddress", "Machine", "Secrets", "Volume"]);
  for (const provider of Object.values(result.report)) {
    expect(provider.methods).toEqual(["check", "create", "delete", "diff", "read", "update"]);
  }
  expect(result.createdId).toBe("serialized-app");
}, 60_000);
