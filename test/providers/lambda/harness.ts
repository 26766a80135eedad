/**
 * Shared set-up for the Lambda provider tests: the in-process emulator on port 0, or the API at
 * LAMBDA_API_URL (with LAMBDA_API_KEY) when that is set: a separately started emulator, steered
 * through its control API like the in-process one, or the real API, where the tests that steer it
 * are skipped. Fast client timings against any emulator; and a record of every error message so
 * that tests can prove none leaks a secret.
 */
import { randomBytes } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { expect, inject } from "vitest";
import { lambdaClient, setLambdaClientOverrides, type LambdaClient, type LambdaClientOptions } from "../../../src/providers/lambda/api/client";
import { DEFAULT_EMULATOR_KEY, LambdaEmulator, type RunningEmulator } from "../../../src/emulators/lambda/emulator";
import { EmulatorControl } from "../../helpers/emulator-control";

export const EXTERNAL_URL = process.env.LAMBDA_API_URL || undefined;
/** True when the tests run against an API they did not start (an emulator or the real one). */
export const external = EXTERNAL_URL !== undefined;
/** True when the API is an emulator the tests can steer: their own, or one started separately. */
export const emulated = !external || inject("lambdaControlUrl") !== null;
/** Per-test timeout: seconds against an emulator, real boot times otherwise. */
export const TEST_TIMEOUT_MS = emulated ? 20_000 : 30 * 60_000;

/** What a file asks of its emulator, set through the control API at start and after each `restore()`. */
export interface HarnessSetup {
  faults?: { errorRate?: number; latencyMs?: number; resetRate?: number; lostAnswerRate?: number; retryAfterSeconds?: number };
  apiKeys?: string[];
}

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
  /** The emulator's control API; absent on the real API. */
  control?: EmulatorControl;
  /** The control API, for tests that are skipped (skipIf(!emulated)) on the real API. */
  steer(): EmulatorControl;
  /** Undoes what tests steered (capacity, quota, timings, keys, faults) and applies the file's set-up again. */
  restore(): Promise<void>;
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

export async function startHarness(setup: HarnessSetup = {}): Promise<Harness> {
  let running: RunningEmulator | undefined;
  let control: EmulatorControl | undefined;
  let apiUrl: string;
  let apiKey: string;
  if (EXTERNAL_URL) {
    const key = process.env.LAMBDA_API_KEY;
    if (!key) throw new Error("LAMBDA_API_URL is set, so the tests need LAMBDA_API_KEY as well.");
    apiUrl = EXTERNAL_URL;
    apiKey = key;
    const url = inject("lambdaControlUrl");
    if (url) control = new EmulatorControl(url, "lambda");
  } else {
    const emulator = new LambdaEmulator();
    running = await emulator.listen(0);
    apiUrl = running.url;
    apiKey = emulator.settings.apiKeys[0] ?? DEFAULT_EMULATOR_KEY;
    control = new EmulatorControl(`${new URL(apiUrl).origin}/_emulator`, "lambda");
  }
  setLambdaClientOverrides(control ? FAST : undefined);
  const restore = async () => {
    if (!control) return;
    await control.reset();
    // The key the tests use stays accepted, whatever else the file's set-up adds.
    if (setup.apiKeys) await control.put("/api-keys", { keys: [...new Set([apiKey, ...setup.apiKeys])] });
    if (setup.faults) await control.setFaults(setup.faults);
  };
  await restore();
  const run = randomBytes(3).toString("hex");
  const errors: string[] = [];
  const secrets = [apiKey];
  return {
    apiUrl,
    apiKey,
    control,
    steer() {
      if (!control) throw new Error("this test steers the emulator: mark it skipIf(!emulated)");
      return control;
    },
    restore,
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
      await control?.reset();
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
