/**
 * A provider error thrown from its deployed (serialized) copy must reach the engine, and the
 * rehearsal, as an Error with its message. Pulumi's closure serializer drops `super(message)`'s
 * effect, and drops an Error subclass's prototype chain unless its prototype has a member besides
 * the constructor: the copy's errors were then plain objects that printed "[object Object]".
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { beforeAll, expect, test } from "vitest";
import { expectEach } from "../helpers/expect-each";

const root = path.resolve(__dirname, "../..");
let result: {
  stillErrors: Record<string, boolean>;
  thrown: Record<string, { message: unknown; isError: boolean; text: string }>;
};

beforeAll(async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["--require", "tsx/cjs", path.join(__dirname, "serialized-error-child.ts")], {
    cwd: root,
    timeout: 60_000,
  });
  result = JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as typeof result;
}, 60_000);

test("every Error class a provider module exports is still an Error in a serialized provider", () => {
  expect(Object.keys(result.stillErrors)).toEqual(expect.arrayContaining(["ApiError", "InsufficientCapacityError", "MissingApiKeyError", "WaitTimeoutError"]));
  expectEach(Object.entries(result.stillErrors), ([name, isError]) => expect(isError, `${name} in a serialized provider`).toBe(true));
});

test("every provider error thrown from a serialized provider keeps its message and prints it", () => {
  const { thrown } = result;
  expect(Object.keys(thrown).sort()).toEqual(["ApiError", "InsufficientCapacityError", "MissingApiKeyError", "WaitTimeoutError"]);
  expect(thrown.ApiError.message).toBe("create app: 422 name taken");
  expect(thrown.InsufficientCapacityError.message).toMatch(/no capacity for gpu_1x_gh200 in us-west-1/);
  expect(thrown.MissingApiKeyError.message).toMatch(/^No Lambda Cloud API key/);
  expect(thrown.WaitTimeoutError.message).toMatch(/did not become active within 60 s/);
  expectEach(Object.entries(thrown), ([name, t]) => {
    expect(t.isError, `${name} is an Error`).toBe(true);
    expect(t.text, `${name} printed`).toContain(String(t.message));
  });
});
