/**
 * The rehearsal command itself, apart from the process that runs it (cli.ts): parses its
 * arguments, rehearses, prints the report and returns the exit code.
 */
import * as path from "node:path";
import { commandExitCode, parseCommandLine, usageError, writeStdout } from "../planner/command-line";
import { scaleClients } from "./emulators";
import { rehearse } from "./phases";
import { progressLine, renderReport } from "./report";

const USAGE =
  "usage: npm run rehearse -- [--stack <name>] [--time-scale <real seconds per platform second>] [--interrupt-after <creates>] " +
  "[--phase-timeout <real seconds>] [--json] [--quiet]";
/** A 3-minute GPU boot takes 18 s, a machine start 0.4 s: slow enough that the rehearsal's own work distorts little. */
const DEFAULT_TIME_SCALE = 0.1;

async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const args = parseCommandLine(USAGE, {
    stack: { type: "string", short: "s", default: "dev" },
    "time-scale": { type: "string", default: String(DEFAULT_TIME_SCALE) },
    "interrupt-after": { type: "string" },
    "phase-timeout": { type: "string" },
    json: { type: "boolean", default: false },
    quiet: { type: "boolean", short: "q", default: false },
  }, argv);
  if (typeof args === "number") return args;
  const timeScale = Number(args["time-scale"]);
  if (!Number.isFinite(timeScale) || timeScale <= 0 || timeScale > 1) {
    return usageError(`--time-scale must be a number above 0 and at most 1 (real seconds per platform second), not "${args["time-scale"]}".`, USAGE);
  }
  const interruptAfter = args["interrupt-after"] === undefined ? undefined : Number(args["interrupt-after"]);
  if (interruptAfter !== undefined && (!Number.isInteger(interruptAfter) || interruptAfter < 0)) {
    return usageError(`--interrupt-after must be a whole number of creates, not "${args["interrupt-after"]}".`, USAGE);
  }
  const phaseTimeout = args["phase-timeout"] === undefined ? undefined : Number(args["phase-timeout"]);
  if (phaseTimeout !== undefined && (!Number.isFinite(phaseTimeout) || phaseTimeout <= 0)) {
    return usageError(`--phase-timeout must be a number of seconds above 0, not "${args["phase-timeout"]}".`, USAGE);
  }
  scaleClients(timeScale);
  // Progress goes to stderr with --json, so that stdout is the report alone; so do the program's
  // own log lines, which Pulumi's runtime prints with console.log when no engine is attached.
  if (args.json) console.log = (...parts: unknown[]) => console.error(...parts);
  const progress = args.json ? (line: string) => process.stderr.write(`${line}\n`) : (line: string) => console.log(line);
  const report = await rehearse({
    stack: args.stack,
    projectDir: path.resolve(__dirname, "..", ".."),
    timeScale,
    interruptAfter,
    phaseTimeoutSeconds: phaseTimeout,
    env,
    onEvent: args.quiet ? undefined : (phase, event) => progress(progressLine(phase, event, timeScale)),
  });
  if (args.json) await writeStdout(JSON.stringify(report, null, 2) + "\n");
  else console.log(`\n${renderReport(report)}`);
  return report.ok ? 0 : 1;
}

/** The rehearsal command's exit code; a failure is printed as `rehearsal failed: …`. */
export function rehearseCommand(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  return commandExitCode("rehearsal failed", () => main(argv, env));
}
