/**
 * Runs once before the suite: finds out whether FLY_API_URL and LAMBDA_API_URL (when set) are
 * emulators, by asking for their control API, and hands the answer to every test file
 * (`inject`). A test that steers the emulator then runs against a separately started one, and is
 * skipped, and reported so, against a real API.
 */
import type { TestProject } from "vitest/node";
import { probeControl } from "./emulator-control";

declare module "vitest" {
  export interface ProvidedContext {
    /** The control API of the emulator at FLY_API_URL; null when unset or a real API. */
    flyControlUrl: string | null;
    lambdaControlUrl: string | null;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const control = async (url: string | undefined) => (url ? ((await probeControl(url))?.url ?? null) : null);
  project.provide("flyControlUrl", await control(process.env.FLY_API_URL));
  project.provide("lambdaControlUrl", await control(process.env.LAMBDA_API_URL));
}
