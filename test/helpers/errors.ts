/** The message a call throws; fails the test when the call returns instead. */
export function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected an error, but the call returned");
}
