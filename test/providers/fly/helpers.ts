/**
 * Shared setup for the Fly lifecycle suite. Without FLY_API_URL every file starts its own
 * emulator on a free loopback port; with FLY_API_URL (plus FLY_API_TOKEN, FLY_TEST_ORG and
 * FLY_TEST_APP_PREFIX) the same tests run against that endpoint: a separately started emulator
 * (steered through its control API, as the in-process one is), or a real Fly org, where the tests
 * that need to steer the API are skipped.
 *
 * Every error message, console line and emulator log line is captured, and `expectNoLeaks`
 * fails if any of them contains the token or a secret value.
 */
import { randomBytes } from "node:crypto";
import { expect, inject, vi } from "vitest";
import { FlyClient } from "../../../src/providers/fly/api/client";
import { setFlyClientTuning } from "../../../src/providers/fly/api/connection";
import { FlyEmulator, type FlyEmulatorSettings } from "../../../src/emulators/fly/emulator";
import { EmulatorControl } from "../../helpers/emulator-control";

export interface FlyTestEnv {
  apiUrl: string;
  apiToken: string;
  org: string;
  region: string;
  image: string;
  /** The emulator's control API (this file's own emulator, or the one at FLY_API_URL); absent on a real API. */
  control?: EmulatorControl;
  /**
   * This file's own emulator, in-process: only for what no control route can carry (a job runner,
   * which is code). Absent with FLY_API_URL; a test that needs it skips there.
   */
  emulator?: FlyEmulator;
  /** A client for out-of-band changes, as another operator would make them. */
  client: FlyClient;
  /** Connection inputs for every resource. */
  connection: { apiToken: string; apiUrl: string };
  appName(label: string): string;
  close(): Promise<void>;
}

const captured: string[] = [];
const secretsInUse = new Set<string>();

/** Fast retries and no client-side throttling against the emulator; the real limits stay the default. */
export const FAST_TUNING = {
  retry: { maxAttempts: 10, maxTotalMs: 15_000, baseDelayMs: 2, maxDelayMs: 20 },
  rateLimit: null,
  pollIntervalMs: 10,
  waitRequestSeconds: 5,
} as const;

/** The suite runs against an endpoint it did not start. */
export const remote = Boolean(process.env.FLY_API_URL);
/** The endpoint is an emulator the tests can steer: their own, or one started separately. */
export const emulated = !remote || inject("flyControlUrl") !== null;

/**
 * What a file may ask of its emulator at start: timings and the metrics clock's time scale, set
 * through the control API; and a job runner, which only an in-process emulator can take.
 */
export type EmulatorSetup = Partial<Pick<FlyEmulatorSettings, "machineStartMs" | "machineStopMs" | "checksPassAfterMs" | "unhealthyImages" | "secretsReadLagMs" | "timeScale" | "jobRunner">>;

export async function startFlyTestEnv(setup: EmulatorSetup = {}): Promise<FlyTestEnv> {
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      captured.push(args.map(String).join(" "));
    });
  }
  let emulator: FlyEmulator | undefined;
  let control: EmulatorControl | undefined;
  let apiUrl = process.env.FLY_API_URL ?? "";
  let apiToken = process.env.FLY_API_TOKEN ?? "";
  if (remote) {
    if (!apiToken) throw new Error("FLY_API_URL is set: also set FLY_API_TOKEN for the lifecycle suite");
    const url = inject("flyControlUrl");
    if (url) control = new EmulatorControl(url, "fly");
  } else {
    apiToken = `fm2_test_${randomBytes(12).toString("hex")}`;
    emulator = new FlyEmulator({ tokens: [apiToken], log: (line) => captured.push(line), jobRunner: setup.jobRunner });
    apiUrl = await emulator.listen(0);
    control = new EmulatorControl(`${new URL(apiUrl).origin}/_emulator`, "fly");
  }
  // Against any emulator, fast retries and polls; a real API keeps the real limits.
  if (control) {
    setFlyClientTuning(FAST_TUNING);
    await control.reset();
    const { jobRunner: _jobRunner, ...timing } = setup;
    if (Object.keys(timing).length > 0) await control.put("/timing", timing);
  }
  secretsInUse.add(apiToken);
  const prefix = process.env.FLY_TEST_APP_PREFIX ?? "sophia-test";
  const connection = { apiToken, apiUrl };
  return {
    apiUrl,
    apiToken,
    org: process.env.FLY_TEST_ORG ?? "personal",
    region: process.env.FLY_TEST_REGION ?? "lax",
    image: process.env.FLY_TEST_IMAGE ?? "registry-1.docker.io/library/nginx:alpine",
    control,
    emulator,
    client: new FlyClient({ ...connection, tuning: control ? FAST_TUNING : undefined }),
    connection,
    appName: (label) => `${prefix}-${label}-${randomBytes(3).toString("hex")}`,
    close: async () => {
      setFlyClientTuning(undefined);
      await control?.reset();
      await emulator?.close();
      vi.restoreAllMocks();
    },
  };
}

/** Registers a value that must never show up in any captured text. */
export function trackSecret(value: string): string {
  secretsInUse.add(value);
  return value;
}

/** Awaits a promise that must reject, records its message, and returns it. */
export async function failureOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    captured.push(message);
    if (err instanceof Error && err.stack) captured.push(err.stack);
    return message;
  }
  throw new Error("expected the operation to fail, but it succeeded");
}

/** Fails if the token or any tracked secret value appears in a captured message or log line. */
export function expectNoLeaks(): void {
  const leaks = captured.filter((text) => [...secretsInUse].some((secret) => secret.length >= 4 && text.includes(secret)));
  expect(leaks, "captured text containing a token or secret value").toEqual([]);
}

export function capturedText(): string[] {
  return [...captured];
}

/** Creates an app to hold a resource under test; removed with the emulator or at the end. */
export async function createTestApp(env: FlyTestEnv, label: string): Promise<string> {
  const name = env.appName(label);
  await env.client.createApp({ name, org_slug: env.org });
  return name;
}
