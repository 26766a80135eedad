/**
 * `npm run check-deploy -- --stack <name> | --outputs <file>`: after `pulumi up`, calls every public
 * service's health path and exits 1 naming each service that did not answer 2xx, with its answer.
 * The deploy workflows run it after each up; by hand it is the same command.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { parseCommandLine, runCommand, usageError } from "../planner/command-line";
import { checkHealth, describeResult, HEALTH_CHECK_DEFAULTS, healthUrlsOf } from "./health";

const USAGE = "usage: npm run check-deploy -- (--stack <name> | --outputs <file>) [--attempts <n>] [--interval <seconds>] [--timeout <seconds>]";
const HELP = `${USAGE}

Calls the health path of every public service of a deployed stack (the stack output healthUrls)
and exits 1, naming each service and its answer, when one does not answer 2xx within its attempts.

Options:
  -s, --stack <name>       read the outputs with \`pulumi stack output --json --stack <name>\` (needs the Pulumi CLI, logged in)
      --outputs <file>     read them from a file written by \`pulumi stack output --json\` ("-" for stdin)
      --attempts <n>       attempts per service (default ${HEALTH_CHECK_DEFAULTS.attempts})
      --interval <seconds> wait between attempts (default ${HEALTH_CHECK_DEFAULTS.intervalMs / 1000}); a stopped machine starts on the first request
      --timeout <seconds>  time one request may take (default ${HEALTH_CHECK_DEFAULTS.timeoutMs / 1000})
  -h, --help               this help`;

function positive(name: string, value: string | undefined, fallback: number): number | string {
  if (value === undefined) return fallback;
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : `--${name} must be a number above 0, not "${value}"`;
}

/** `pulumi stack output --json` of the stack, or an error that says what to do without the CLI. */
function stackOutputs(stack: string): string {
  try {
    return execFileSync("pulumi", ["stack", "output", "--json", "--stack", stack], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error("the Pulumi CLI is not on PATH: install it, or write the outputs elsewhere (pulumi stack output --json > outputs.json) and pass --outputs outputs.json");
    }
    throw new Error(`pulumi stack output --json --stack ${stack} failed (its message is above); check the stack name and pulumi login`);
  }
}

const EXPECTED = "expected the JSON that pulumi stack output --json prints (with healthUrls), or the healthUrls map alone";
/** In the deploy workflows the file is the up job's health-urls output, which is empty when that job did not set it. */
const IN_CI = " In CI, check that the up job exported the stack output healthUrls (its health-urls output).";

/** The outputs as JSON; text that is not says what was read, what was expected and, in CI, where to look. */
function parseOutputs(text: string, source: string, env: NodeJS.ProcessEnv): unknown {
  const ci = env.CI === "true" ? IN_CI : "";
  if (text.trim() === "") throw new Error(`${source} is empty: ${EXPECTED}.${ci}`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`${source} is not JSON (it starts "${text.trim().split("\n")[0]!.slice(0, 60)}"): ${EXPECTED}.${ci}`);
  }
}

async function main(): Promise<number> {
  const args = parseCommandLine(
    USAGE,
    {
      stack: { type: "string", short: "s" },
      outputs: { type: "string" },
      attempts: { type: "string" },
      interval: { type: "string" },
      timeout: { type: "string" },
    },
    HELP,
  );
  if (typeof args === "number") return args;
  if ((args.stack === undefined) === (args.outputs === undefined)) return usageError("give either --stack or --outputs.", USAGE);
  const attempts = positive("attempts", args.attempts, HEALTH_CHECK_DEFAULTS.attempts);
  const interval = positive("interval", args.interval, HEALTH_CHECK_DEFAULTS.intervalMs / 1000);
  const timeout = positive("timeout", args.timeout, HEALTH_CHECK_DEFAULTS.timeoutMs / 1000);
  for (const value of [attempts, interval, timeout]) if (typeof value === "string") return usageError(value, USAGE);
  if (!Number.isInteger(attempts)) return usageError(`--attempts must be a whole number, not "${args.attempts}"`, USAGE);

  const text = args.outputs !== undefined ? fs.readFileSync(args.outputs === "-" ? 0 : args.outputs, "utf8") : stackOutputs(args.stack!);
  const source = args.outputs === undefined ? `the output of pulumi stack output --json --stack ${args.stack}` : args.outputs === "-" ? "standard input" : args.outputs;
  const urls = healthUrlsOf(parseOutputs(text, source, process.env));
  const results = await checkHealth(urls, { attempts: attempts as number, intervalMs: (interval as number) * 1000, timeoutMs: (timeout as number) * 1000 });
  for (const result of results) (result.ok ? console.log : console.error)(describeResult(result));
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) {
    console.error(`${failed.length} of ${results.length} public services did not answer their health path: ${failed.map((r) => r.service).join(", ")}. See each one's logs: fly logs -a <app>.`);
    return 1;
  }
  console.log(`All ${results.length} public services answered their health path.`);
  return 0;
}

runCommand("check-deploy failed", main);
