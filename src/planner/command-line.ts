/**
 * What the plan and the rehearsal CLIs share: argument parsing that answers bad usage with the
 * usage line (exit 2) and --help with it (exit 0), stdout writes that a following exit cannot cut
 * short, and an exit code from the command's result or its error.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { messageOf } from "../providers/dynamic/errors";

/** Exit code for bad usage: an unknown flag or a value the command cannot use. */
const USAGE_EXIT = 2;

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Every command answers -h/--help with its help (its usage line, unless it has more to say). */
const HELP_OPTION = { help: { type: "boolean", short: "h", default: false } } as const;

/**
 * The parsed flags (with `help`, which this answers), or the exit code when there is nothing to run:
 * bad usage (the usage line), or --help (`help`, which explains every option). `args` defaults to
 * the process's own.
 */
export function parseCommandLine<const O extends Options>(usage: string, options: O, help = usage, args?: string[]) {
  try {
    const { values } = parseArgs({ args, options: { ...options, ...HELP_OPTION } });
    // The parsed type of a generic option set does not resolve here, so `help` is read by name.
    if ("help" in values && values.help === true) {
      console.log(help);
      return 0;
    }
    return values;
  } catch (err) {
    return usageError((err as Error).message, usage);
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

/** A command's exit code: its result, or 1 after printing its error after `failure`. */
export async function commandExitCode(failure: string, main: () => Promise<number>, onError?: (err: unknown) => void): Promise<number> {
  try {
    return await main();
  } catch (err) {
    console.error(`${failure}: ${messageOf(err)}`);
    onError?.(err);
    return 1;
  }
}

/** Runs a command and exits with its code; an error is printed after `failure` and exits 1. */
export function runCommand(failure: string, main: () => Promise<number>, onError?: (err: unknown) => void): void {
  void commandExitCode(failure, main, onError).then((code) => process.exit(code));
}
