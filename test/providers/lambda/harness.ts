/**
 * Shared set-up for the Lambda provider tests: the in-process emulator on port 0, or the API at
 * LAMBDA_API_URL (with LAMBDA_API_KEY) when that is set; fast client timings against the emulator;
 * and a record of every error message so that tests can prove none leaks a secret.
 */
import { randomBytes } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { expect } from "vitest";
import { lambdaClient, setLambdaClientOverrides, type LambdaClient, type LambdaClientOptions } from "../../../src/providers/lambda/api/client";
import { DEFAULT_EMULATOR_KEY, LambdaEmulator, type LambdaEmulatorSettings, type RunningEmulator } from "../../../src/emulators/lambda/emulator";

export const EXTERNAL_URL = process.env.LAMBDA_API_URL || undefined;
/** True when the tests run against a real (or separately started) API rather than the in-process emulator. */
export const external = EXTERNAL_URL !== undefined;
/** Per-test timeout: milliseconds against the emulator, real boot times otherwise. */
export const TEST_TIMEOUT_MS = external ? 30 * 60_000 : 10_000;

/** Client timings for the emulator: no spacing, millisecond backoff, generous attempts. */
export const FAST: Partial<LambdaClientOptions> = {
  requestIntervalMs: 0,
  launchIntervalMs: 0,
  launchAttempts: 8,
  pollIntervalMs: 5,
  activeTimeoutMs: 5_000,
  terminateTimeoutMs: 5_000,
  retry: { maxAttempts: 12, baseDelayMs: 1, maxDelayMs: 8, maxTotalMs: 5_000 },
};

export interface Harness {
  apiUrl: string;
  apiKey: string;
  /** Present only when running against the in-process emulator. */
  emulator?: LambdaEmulator;
  /** The in-process emulator; for tests that skip (skipIf(external)) against any other API. */
  emu(): LambdaEmulator;
  /** Access inputs to pass to a provider. */
  access: { apiUrl: string; apiKey: string };
  client(): LambdaClient;
  /** A name unique to this run, so that runs against a real account never collide. */
  name(prefix: string): string;
  /** Values no error message may contain. */
  secrets: string[];
  /** Every error message captured so far. */
  errors: string[];
  /** Awaits a rejection, records its message and returns the error. */
  rejection(promise: Promise<unknown>): Promise<Error>;
  /** Asserts that messages were captured, and that none contains a secret. */
  expectNoSecretsInErrors(): void;
  close(): Promise<void>;
}

export async function startHarness(settings: Partial<LambdaEmulatorSettings> = {}): Promise<Harness> {
  let emulator: LambdaEmulator | undefined;
  let running: RunningEmulator | undefined;
  let apiUrl: string;
  let apiKey: string;
  if (EXTERNAL_URL) {
    const key = process.env.LAMBDA_API_KEY;
    if (!key) throw new Error("LAMBDA_API_URL is set, so the tests need LAMBDA_API_KEY as well.");
    apiUrl = EXTERNAL_URL;
    apiKey = key;
    setLambdaClientOverrides(undefined);
  } else {
    emulator = new LambdaEmulator(settings);
    running = await emulator.listen(0);
    apiUrl = running.url;
    apiKey = emulator.settings.apiKeys[0] ?? DEFAULT_EMULATOR_KEY;
    setLambdaClientOverrides(FAST);
  }
  const run = randomBytes(3).toString("hex");
  const errors: string[] = [];
  const secrets = [apiKey];
  return {
    apiUrl,
    apiKey,
    emulator,
    emu() {
      if (!emulator) throw new Error("this test needs the in-process emulator: mark it skipIf(external)");
      return emulator;
    },
    access: { apiUrl, apiKey },
    client: () => lambdaClient({ apiUrl, apiKey }),
    name: (prefix) => `${prefix}-${run}`,
    secrets,
    errors,
    async rejection(promise) {
      try {
        await promise;
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        errors.push(error.message);
        return error;
      }
      throw new Error("expected a rejection, but the promise resolved");
    },
    expectNoSecretsInErrors() {
      expect(errors.length, "no error message was captured, so there is nothing to check").toBeGreaterThan(0);
      for (const message of errors) {
        for (const secret of secrets) expect(message).not.toContain(secret);
      }
    },
    async close() {
      setLambdaClientOverrides(undefined);
      await running?.close();
    },
  };
}

/** The provider with every optional method asserted present, so tests can call them directly. */
export function full<I, O>(provider: pulumi.dynamic.ResourceProvider<I, O>): Required<pulumi.dynamic.ResourceProvider<I, O>> {
  for (const method of ["check", "diff", "read", "update", "delete"] as const) {
    if (typeof provider[method] !== "function") throw new Error(`provider has no ${method}`);
  }
  return provider as Required<pulumi.dynamic.ResourceProvider<I, O>>;
}

/** check → create, the way the engine runs them, failing loudly on check failures. */
export async function checkAndCreate<I, O>(provider: Required<pulumi.dynamic.ResourceProvider<I, O>>, news: I): Promise<{ id: string; inputs: I; outs: O }> {
  const checked = await provider.check({} as I, news);
  expect(checked.failures ?? []).toEqual([]);
  const inputs = (checked.inputs ?? news) as I;
  const created = await provider.create(inputs);
  return { id: created.id, inputs, outs: created.outs as O };
}
