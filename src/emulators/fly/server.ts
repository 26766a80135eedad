/**
 * Runs the Fly emulator standalone so any client (including `pulumi up` with FLY_API_URL pointing
 * at it) can use it:
 *
 *   npm run fly-emulator -- --port 4280 [--host 127.0.0.1] [--rate-429 0.1] [--rate-503 0.1]
 *                           [--reset-rate 0.05] [--lost-answer-rate 0.1] [--latency-ms 50] [--retry-after 1]
 *                           [--seed 42] [--token T] [--quiet]
 *
 * Faults, timings and more can also be changed while it runs, through its control API under
 * /_emulator (see emulator.ts).
 */
import { FlyEmulator } from "./emulator";
import { DEFAULT_SEED } from "../random";
import { parseEmulatorArgs } from "../command-line";

const HELP = `usage: npm run fly-emulator -- [options]

An emulator of the Fly Machines API (apps, machines, volumes, secrets, IPs, certificates) for any
client, including \`pulumi up\` with sophia:flyApiUrl or FLY_API_URL pointing at it. State lives
in memory and is gone when it stops.

Options:
  --port <n>              port to listen on (default 4280)
  --host <address>        address to listen on (default 127.0.0.1)
  --token <token>         a bearer token it accepts; repeat for more (default: any token)
  --rate-429 <share>      share of requests answered 429 Too Many Requests (default 0)
  --rate-503 <share>      share of requests answered 503 Service Unavailable (default 0)
  --reset-rate <share>    share of requests whose connection is dropped before an answer (default 0)
  --lost-answer-rate <share>  share of requests it acts on, then drops the answer (default 0)
  --latency-ms <ms>       added to every answer (default 0)
  --retry-after <s>       Retry-After of its 429 answers (default 1)
  --seed <n>              seed of the fault pattern, to repeat a run (default ${DEFAULT_SEED})
  --quiet                 do not log each request
  -h, --help              this help

While it runs, its control API under /_emulator changes faults, timings, a release's behaviour,
traffic and regional outages (GET /_emulator lists every route).`;

async function main(): Promise<void> {
  const values = parseEmulatorArgs("npm run fly-emulator", HELP, {
      port: { type: "string", default: "4280" },
      host: { type: "string", default: "127.0.0.1" },
      "rate-429": { type: "string", default: "0" },
      "rate-503": { type: "string", default: "0" },
      "reset-rate": { type: "string", default: "0" },
      "lost-answer-rate": { type: "string", default: "0" },
      "latency-ms": { type: "string", default: "0" },
      seed: { type: "string", default: String(DEFAULT_SEED) },
      "retry-after": { type: "string", default: "1" },
      token: { type: "string", multiple: true },
      quiet: { type: "boolean", default: false },
  });
  const number = (name: keyof typeof values): number => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number`);
    return n;
  };
  const emulator = new FlyEmulator({
    faults: {
      rate429: number("rate-429"),
      rate503: number("rate-503"),
      resetRate: number("reset-rate"),
      lostAnswerRate: number("lost-answer-rate"),
      latencyMs: number("latency-ms"),
      retryAfterSeconds: number("retry-after"),
    },
    seed: number("seed"),
    tokens: values.token,
    log: values.quiet ? undefined : (line) => console.log(line),
  });
  const url = await emulator.listen(number("port"), values.host);
  console.log(`Fly Machines API emulator listening on ${url}`);
  console.log(`  export FLY_API_URL=${url} FLY_API_TOKEN=anything`);
  console.log(`  Prometheus (instant queries): ${emulator.prometheusUrl("<org>")}/api/v1/query`);
  console.log(`  control API: ${new URL(url).origin}/_emulator (GET it for the routes)`);
  const stop = () => void emulator.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
