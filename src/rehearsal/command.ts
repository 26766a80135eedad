/**
 * The rehearsal command itself, apart from the process that runs it (cli.ts): parses its
 * arguments, rehearses, prints the report and returns the exit code.
 */
import * as path from "node:path";
import { commandExitCode, parseCommandLine, usageError, writeStdout } from "../planner/command-line";
import { scaleClients } from "./emulators";
import { rehearse } from "./phases";
import { regionLossPhase } from "./region-lost";
import { progressLine, renderReport } from "./report";
import { terminalWidth } from "../planner/text-layout";

const USAGE =
  "usage: npm run rehearse -- [--stack <name>] [--time-scale <real seconds per platform second>] [--interrupt-after <creates>] " +
  "[--phase-timeout <real seconds>] [--json] [--quiet]";
const HELP = `${USAGE}

The deploy rehearsal: the real program with its real, serialized dynamic providers runs against
the Fly and Lambda emulators (started in-process), through up, an up that must change nothing, an
interrupted up and its repair, destroy and the adoption of a deployment made by hand; prod adds a
bad release that must roll itself back and the loss of its primary region. It prints a line per
resource as it happens, then a report, and exits 1 when a phase fails its expectation.

Options:
  -s, --stack <name>            the stack, read from Pulumi.<name>.yaml (default: dev)
      --time-scale <s>          real seconds per platform second, above 0 and at most 1 (default 0.1:
                                a 3-minute GPU boot takes 18 s); the providers' polls scale with it
      --interrupt-after <n>     creates recorded before phase 3's interruption (default: half)
      --phase-timeout <s>       real seconds a phase may take before its watchdog reports what it
                                was waiting for (default: 5 min plus an hour of platform time)
      --json                    the report as JSON on stdout, every list in full; progress on stderr
  -q, --quiet                   no line per resource
  -h, --help                    this help

FLY_API_URL, FLY_API_TOKEN, LAMBDA_API_URL and LAMBDA_API_KEY point it at emulators started
elsewhere (e.g. behind a proxy); phases that need the in-process emulators then say so.`;
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
  }, HELP, argv);
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
  const progressWidth = terminalWidth(args.json ? process.stderr : process.stdout);
  const report = await rehearse({
    stack: args.stack,
    projectDir: path.resolve(__dirname, "..", ".."),
    timeScale,
    interruptAfter,
    phaseTimeoutSeconds: phaseTimeout,
    env,
    extraPhases: [regionLossPhase],
    onEvent: args.quiet ? undefined : (phase, event) => progress(progressLine(phase, event, timeScale, progressWidth)),
  });
  if (args.json) await writeStdout(JSON.stringify(report, null, 2) + "\n");
  else console.log(`\n${renderReport(report, terminalWidth())}`);
  return report.ok ? 0 : 1;
}

/** The rehearsal command's exit code; a failure is printed as `rehearsal failed: …`. */
export function rehearseCommand(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  return commandExitCode("rehearsal failed", () => main(argv, env));
}
