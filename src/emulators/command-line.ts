/**
 * The emulators' command lines: --help prints what each option does, and a mistyped option is
 * answered with a sentence and a pointer to --help (exit 2), never a stack trace. Kept here rather
 * than shared with the planner's, because the emulators import nothing of the product.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The parsed flags; prints `help` and exits 0 on -h/--help, and exits 2 on bad usage. */
export function parseEmulatorArgs<const O extends Options>(command: string, help: string, options: O) {
  try {
    const { values } = parseArgs({ options: { ...options, help: { type: "boolean", short: "h", default: false } } });
    if ((values as { help?: boolean }).help === true) {
      console.log(help);
      process.exit(0);
    }
    return values;
  } catch (err) {
    console.error(`${(err as Error).message}\nRun \`${command} -- --help\` for the options.`);
    process.exit(2);
  }
}
