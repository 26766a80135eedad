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
import { parseArgs } from "node:util";
import { FlyEmulator } from "./emulator";
import { DEFAULT_SEED } from "../random";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
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
    },
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
  console.log(`  control API: ${new URL(url).origin}/_emulator (GET it for the routes)`);
  const stop = () => void emulator.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
