/**
 * `npm run rehearse [-- --stack dev|prod] [--time-scale S] [--interrupt-after N] [--json]`: the
 * deploy rehearsal. Runs the real program with its real, serialized dynamic providers
 * against the Fly and Lambda emulators through four phases, prints a line per resource as it
 * happens and a report at the end, and exits non-zero when a phase fails its expectation.
 * FLY_API_URL and LAMBDA_API_URL (with FLY_API_TOKEN and LAMBDA_API_KEY) point it at running emulators instead.
 */
import * as path from "node:path";
import { parseCommandLine, runCommand, usageError, writeStdout } from "../planner/command-line";
import { scaleClients } from "./emulators";
import { rehearse } from "./phases";
import { progressLine, renderReport } from "./report";

// As in the plan: the stack traces Pulumi records for every resource are never read here.
process.setSourceMapsEnabled(false);

const USAGE =
  "usage: npm run rehearse -- [--stack <name>] [--time-scale <real seconds per platform second>] [--interrupt-after <creates>] " +
  "[--phase-timeout <real seconds>] [--json] [--quiet]";
/** A 3-minute GPU boot takes 18 s, a machine start 0.4 s: slow enough that the rehearsal's own work distorts little. */
const DEFAULT_TIME_SCALE = 0.1;

async function main(): Promise<number> {
  const args = parseCommandLine(USAGE, {
    stack: { type: "string", short: "s", default: "dev" },
    "time-scale": { type: "string", default: String(DEFAULT_TIME_SCALE) },
    "interrupt-after": { type: "string" },
    "phase-timeout": { type: "string" },
    json: { type: "boolean", default: false },
    quiet: { type: "boolean", short: "q", default: false },
  });
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
    onEvent: args.quiet ? undefined : (phase, event) => progress(progressLine(phase, event, timeScale)),
  });
  if (args.json) await writeStdout(JSON.stringify(report, null, 2) + "\n");
  else console.log(`\n${renderReport(report)}`);
  return report.ok ? 0 : 1;
}

runCommand("rehearsal failed", main);
