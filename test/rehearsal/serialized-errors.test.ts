/**
 * The rehearsal found that a provider error thrown from its deployed (serialized) copy reached the
 * engine without a message: Pulumi's closure serializer rewrites `super(message)` so that an Error
 * subclass never gets one. Every error class the providers throw must keep its message there.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { expect, test } from "vitest";

const root = path.resolve(__dirname, "../..");

test("every provider error class keeps its message in a serialized provider", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["--require", "tsx/cjs", path.join(__dirname, "serialized-error-child.ts")], {
    cwd: root,
    timeout: 60_000,
  });
  const messages = JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as Record<string, unknown>;
  expect(Object.keys(messages).sort()).toEqual(["ApiError", "InsufficientCapacityError", "MissingApiKeyError", "WaitTimeoutError"]);
  expect(messages.ApiError).toBe("create app: 422 name taken");
  expect(messages.InsufficientCapacityError).toMatch(/no capacity for gpu_1x_gh200 in us-west-1/);
  expect(messages.MissingApiKeyError).toMatch(/^No Lambda Cloud API key/);
  expect(messages.WaitTimeoutError).toMatch(/did not become active within 60 s/);
}, 60_000);
