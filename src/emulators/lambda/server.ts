/**
 * Runs the Lambda emulator standalone:
 *   npm run lambda-emulator -- --port 8790 [--api-key K] [--error-rate 0.2] [--latency-ms 50] [--reset-rate 0.05]
 *     [--lost-answer-rate 0.1] [--boot-ms 2000] [--seed 42]
 * and prints the URL to use as LAMBDA_API_URL. Faults, timings, capacity and more can also be
 * changed while it runs, through its control API under /_emulator (see emulator.ts).
 */
import { DEFAULT_EMULATOR_KEY, LambdaEmulator } from "./emulator";
import { DEFAULT_SEED } from "../random";
import { parseEmulatorArgs } from "../command-line";

const HELP = `usage: npm run lambda-emulator -- [options]

An emulator of the Lambda Cloud API (instance types, instances, SSH keys, filesystems, firewall
rulesets) for any client, including \`pulumi up\` with sophia:lambdaApiUrl or LAMBDA_API_URL
pointing at it. State lives in memory and is gone when it stops.

Options:
  --port <n>              port to listen on (default: a free one, printed)
  --host <address>        address to listen on (default 127.0.0.1)
  --api-key <key>         the API key it accepts (default ${DEFAULT_EMULATOR_KEY})
  --error-rate <share>    share of requests answered 429 or 503, half each (default 0)
  --reset-rate <share>    share of requests whose connection is dropped before an answer (default 0)
  --lost-answer-rate <share>  share of requests it acts on, then drops the answer (default 0)
  --latency-ms <ms>       added to every answer (default 0)
  --boot-ms <ms>          how long a launched instance boots before it is active (default 40)
  --seed <n>              seed of the fault pattern, to repeat a run (default ${DEFAULT_SEED})
  -h, --help              this help`;

const values = parseEmulatorArgs("npm run lambda-emulator", HELP, {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    "api-key": { type: "string", default: DEFAULT_EMULATOR_KEY },
    "error-rate": { type: "string", default: "0" },
    "latency-ms": { type: "string", default: "0" },
    "reset-rate": { type: "string", default: "0" },
    "lost-answer-rate": { type: "string", default: "0" },
    "boot-ms": { type: "string" },
    seed: { type: "string", default: String(DEFAULT_SEED) },
});

function number(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) {
    console.error(`--${name} must be a non-negative number, got "${value}".`);
    process.exit(2);
  }
  return parsed;
}

async function main(): Promise<void> {
  const bootMs = number("boot-ms", values["boot-ms"]);
  const emulator = new LambdaEmulator({
    apiKeys: [values["api-key"]],
    ...(bootMs === undefined ? {} : { bootMs }),
    faults: {
      errorRate: number("error-rate", values["error-rate"]) ?? 0,
      latencyMs: number("latency-ms", values["latency-ms"]) ?? 0,
      resetRate: number("reset-rate", values["reset-rate"]) ?? 0,
      lostAnswerRate: number("lost-answer-rate", values["lost-answer-rate"]) ?? 0,
    },
    seed: number("seed", values.seed) ?? DEFAULT_SEED,
  });
  const running = await emulator.listen(number("port", values.port) ?? 0, values.host);
  console.log(`Lambda Cloud API emulator listening on ${running.url}`);
  console.log(`  export LAMBDA_API_URL=${running.url}`);
  console.log(`  control API: ${new URL(running.url).origin}/_emulator (GET it for the routes)`);
  console.log(`  export LAMBDA_API_KEY=${values["api-key"]}   # the emulator's own key, not a real credential`);
  const stop = () => void running.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

void main();
