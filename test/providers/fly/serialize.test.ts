/**
 * Pulumi serializes each dynamic provider's closure into state at deployment time. vitest loads
 * modules through its own runner (no CommonJS require.cache), which the serializer relies on, so
 * this runs serialize-child.ts under tsx: it serializes every provider, loads the text back as
 * plain JavaScript, and drives a whole lifecycle through the deserialized providers.
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
    lifecycle: { machineRead: boolean; machineImage: string; volumeRead: boolean; volumeSize: number; gatedRelease: string };
  };
  expect(Object.keys(result.report).sort()).toEqual(["App", "Certificate", "IpAddress", "Machine", "Secrets", "Volume"]);
  for (const provider of Object.values(result.report)) {
    expect(provider.methods).toEqual(["check", "create", "delete", "diff", "read", "update"]);
  }
  expect(result.createdId).toBe("serialized-app");
  // Read, update and delete run from the copy in state: the paths that depend on live state.
  expect(result.lifecycle).toEqual({ machineRead: true, machineImage: "nginx:1.28", volumeRead: true, volumeSize: 2, gatedRelease: "passed" });
}, 60_000);
