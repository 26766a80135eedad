/**
 * `npm run plan [-- --stack dev|prod] [--json] [--out DIR]`: the offline plan (D11).
 * Runs the real program under mocks with the stack's config; writes plan/<stack>.json and .md.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { runPlan } from "./engine";
import { buildPlanDocument } from "./report";
import { renderMarkdown, renderTerminal } from "./render";

const USAGE = "usage: npm run plan -- [--stack <name>] [--json] [--out <dir>] [--stack-dir <dir with Pulumi.<stack>.yaml>]";

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        stack: { type: "string", short: "s", default: "dev" },
        json: { type: "boolean", default: false },
        out: { type: "string", default: "plan" },
        "stack-dir": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const projectDir = path.resolve(__dirname, "..", "..");
  const stackDir = args["stack-dir"] ? path.resolve(args["stack-dir"]) : projectDir;
  const doc = buildPlanDocument(await runPlan({ stack: args.stack, projectDir, stackDir }));

  const outDir = path.resolve(projectDir, args.out);
  fs.mkdirSync(outDir, { recursive: true });
  const json = JSON.stringify(doc, null, 2) + "\n";
  fs.writeFileSync(path.join(outDir, `${doc.stack}.json`), json);
  fs.writeFileSync(path.join(outDir, `${doc.stack}.md`), renderMarkdown(doc));

  if (args.json) process.stdout.write(json);
  else console.log(`${renderTerminal(doc)}\n\nWrote ${path.relative(process.cwd(), path.join(outDir, doc.stack))}.{json,md}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`plan failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
