/**
 * `npm run plan [-- --stack dev|prod | --compare] [--json] [--out DIR]`: the offline plan (--help explains every option).
 * Runs the real program under mocks with the stack's config; writes plans/<stack>.json and .md.
 * `--compare` plans dev and prod side by side, each in a child process of this same CLI.
 * Exits 3 when a mandatory policy (src/policies) is violated (in either stack, with --compare), 1
 * when the plan fails, 2 on bad usage.
 * `npm run plan` starts it through ./start.js, which runs it compiled; tsx runs it as well.
 * The command itself is plan-command.ts.
 */
import * as path from "node:path";
import { prepareOfflineProcess } from "./offline-process";
import { planCommand } from "./plan-command";

// start.js has done this before anything loaded; under tsx it is done here.
prepareOfflineProcess();

/**
 * The project the plan was started from: argv[1] is its src/planner/start.js (or cli.ts under
 * tsx). Not __dirname, because this file runs compiled from node_modules/.cache.
 */
function projectRoot(): string {
  return path.resolve(path.dirname(process.argv[1]), "..", "..");
}

void planCommand(process.argv.slice(2), projectRoot()).then((code) => process.exit(code));
