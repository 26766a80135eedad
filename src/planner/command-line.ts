/**
 * What the plan and the rehearsal CLIs share: argument parsing that answers bad usage with the
 * usage line (exit 2) and --help with it (exit 0), stdout writes that a following exit cannot cut
 * short, and an exit code from the command's result or its error.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Exit code for bad usage: an unknown flag or a value the command cannot use. */
export const USAGE_EXIT = 2;

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * The parsed flags, or the exit code when there is nothing to run (bad usage, or --help).
 * `options` must declare a boolean `help`.
 */
export function parseCommandLine<const O extends Options & { help: { type: "boolean" } }>(usage: string, options: O) {
  try {
    const { values } = parseArgs({ options, args: process.argv.slice(2) });
    if ((values as { help?: boolean }).help) {
      console.log(usage);
      return 0;
    }
    return values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    return USAGE_EXIT;
  }
}

/** Reports a flag's value the command cannot use, with the usage line; returns the exit code. */
export function usageError(message: string, usage: string): number {
  console.error(`${message}\n${usage}`);
  return USAGE_EXIT;
}

/** Resolves once the text is handed to the OS, so that process.exit cannot cut a piped result short. */
export function writeStdout(text: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(text, (err) => (err ? reject(err) : resolve())));
}

/** Runs a command and exits with its code; an error is printed after `failure` and exits 1. */
export function runCommand(failure: string, main: () => Promise<number>, onError?: (err: unknown) => void): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`${failure}: ${err instanceof Error ? err.message : String(err)}`);
      onError?.(err);
      process.exit(1);
    },
  );
}
