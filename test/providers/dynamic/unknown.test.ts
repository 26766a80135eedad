import * as pulumi from "@pulumi/pulumi";
import { expect, test } from "vitest";
import { containsUnknown, isUnknown, UNKNOWN } from "../../../src/providers/dynamic/unknown";

test("the providers' placeholder for an unknown input is the engine's own", () => {
  expect(UNKNOWN).toBe(pulumi.runtime.unknownValue);
});

test("an unknown nested in a value is found, while the value itself is not unknown", () => {
  const value = { mounts: [{ volume: UNKNOWN }] };
  expect([isUnknown(value), containsUnknown(value)]).toEqual([false, true]);
});
