/** The emulators' command lines, as `npm run fly-emulator` and `npm run lambda-emulator` start them. */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "../..");
const run = (server: string, args: string[]) =>
  spawnSync(process.execPath, ["--require", "tsx/cjs", `src/emulators/${server}/server.ts`, ...args], { cwd: root, encoding: "utf8", timeout: 60_000 });

describe.each(["fly", "lambda"])("the %s emulator", { timeout: 60_000 }, (server) => {
  it("answers --help with every option it takes", () => {
    const result = run(server, ["--help"]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^usage: npm run ${server}-emulator -- \\[options\\]`));
    for (const option of ["--port", "--host", "--latency-ms", "--reset-rate", "--lost-answer-rate", "--seed", "-h, --help"]) expect(result.stdout, option).toContain(`  ${option}`);
  });

  it("answers an unknown option with a sentence and the way to --help, not a stack trace", () => {
    const result = run(server, ["--colour"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/Unknown option '--colour'/);
    expect(result.stderr).toContain(`Run \`npm run ${server}-emulator -- --help\` for the options.`);
    expect(result.stderr).not.toMatch(/ERR_PARSE_ARGS|\n\s+at /);
  });
});
