/**
 * `npm run rehearse [-- --stack dev|prod] [--time-scale S] [--interrupt-after N] [--json]`: the
 * deploy rehearsal. Runs the real program with its real, serialized dynamic providers
 * against the Fly and Lambda emulators through four phases, prints a line per resource as it
 * happens and a report at the end, and exits non-zero when a phase fails its expectation.
 * FLY_API_URL and LAMBDA_API_URL (with FLY_API_TOKEN and LAMBDA_API_KEY) point it at running emulators instead.
 */
import { rehearseCommand } from "./command";

// As in the plan: the stack traces Pulumi records for every resource are never read here.
process.setSourceMapsEnabled(false);

void rehearseCommand(process.argv.slice(2)).then((code) => process.exit(code));
