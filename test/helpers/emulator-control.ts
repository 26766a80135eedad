/**
 * The tests' handle on an emulator's control API: the client the rehearsal uses too
 * (src/emulators/control-client.ts), and what only a test needs on top of it.
 */
import { expect } from "vitest";
import type { EmulatorControl } from "../../src/emulators/control-client";

export { EmulatorControl, probeControl, type HandledRequest } from "../../src/emulators/control-client";

/** The control API, asserting it exists: for tests already skipped where it does not. */
export function required(control: EmulatorControl | undefined): EmulatorControl {
  expect(control, "this test steers the emulator through its control API").toBeDefined();
  return control as EmulatorControl;
}
