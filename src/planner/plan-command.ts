/**
 * The `npm run plan` command itself, apart from the process that runs it (cli.ts): parses its
 * arguments, plans, writes plans/<stack>.json and .md, and returns the exit code. One process may
 * run it more than once (the program is loaded afresh each time after the first).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadStackConfig } from "../stack-config";
import { PlanError, runPlan } from "./engine";
import type { PlanDocument } from "./document";
import { buildPlanDocument } from "./report";
import { renderCompare, renderMarkdown, renderTerminal } from "./render";
import { policySummary } from "./render-policies";
import { usd } from "../estimate/cost";
import { commandExitCode, parseCommandLine, usageError, writeStdout } from "./command-line";

const USAGE =
  "usage: npm run plan -- [--stack <name> | --compare] [--json] [--out <dir>] [--stack-dir <dir with Pulumi.<stack>.yaml>] [--omit-secret <key>]...";
/** Exit code when the plan holds a mandatory policy violation: a deploy of it would be refused. */
const POLICY_VIOLATION_EXIT = 3;
/** The stacks `--compare` puts side by side. */
const COMPARE_STACKS = ["dev", "prod"];

/** Plans one stack in a child process: the Pulumi runtime is global, so one plan per process. */
function planInChild(stack: string, passThrough: string[]): Promise<PlanDocument> {
  return new Promise((resolve, reject) => {
    // argv[1] is the script this process started from: the launcher, or this file under tsx.
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1], "--stack", stack, "--json", ...passThrough], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      // --compare shows costs; each stack's own plan is where its policy violations fail.
      if (code === 0 || code === POLICY_VIOLATION_EXIT) resolve(JSON.parse(stdout) as PlanDocument);
      else reject(new Error(`stack ${stack}: ${stderr.trim() || `exit code ${String(code)}`}`));
    });
  });
}

/** Runs the plan command with `argv` (the arguments after the script) for the project in `projectDir`. */
async function plan(argv: string[], projectDir: string): Promise<number> {
  const args = parseCommandLine(USAGE, {
    stack: { type: "string", short: "s", default: "dev" },
    json: { type: "boolean", default: false },
    out: { type: "string", default: "plans" },
    "stack-dir": { type: "string" },
    compare: { type: "boolean", default: false },
    // Plans as if ESC did not supply this secret, to see what a user would be told.
    "omit-secret": { type: "string", multiple: true, default: [] },
  }, argv);
  if (typeof args === "number") return args;
  const stackDir = args["stack-dir"] ? path.resolve(args["stack-dir"]) : projectDir;
  if (args.compare) {
    const passThrough = ["--out", args.out, ...(args["stack-dir"] ? ["--stack-dir", args["stack-dir"]] : [])];
    // Progress goes to stderr, so that stdout stays the comparison (or its JSON).
    const started = Date.now();
    process.stderr.write(`Planning ${COMPARE_STACKS.join(" and ")}, each in its own process…\n`);
    const docs = await Promise.all(
      COMPARE_STACKS.map(async (stack) => {
        const doc = await planInChild(stack, passThrough);
        process.stderr.write(`  ${stack}: ${doc.resources.length} resources, ${usd(doc.cost.total)}/month (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
        return doc;
      }),
    );
    if (args.json) await writeStdout(JSON.stringify(docs.map((d) => ({ stack: d.stack, profile: d.profile, cost: d.cost })), null, 2) + "\n");
    else console.log(renderCompare(docs));
    return 0;
  }
  if (!/^[\w.-]+$/.test(args.stack)) {
    return usageError(`"${args.stack}" is not a stack name: use letters, digits, "-", "_" and ".".`, USAGE);
  }
  // A plan that fails must not leave the previous one behind for a tool to read as current.
  const outDir = path.resolve(projectDir, args.out);
  for (const ext of ["json", "md"]) fs.rmSync(path.join(outDir, `${args.stack}.${ext}`), { force: true });

  const run = await runPlan({ stack: args.stack, projectDir, stackDir, omitSecrets: args["omit-secret"] });
  // The runtime still holds the config the program was given, so this is the config it parsed.
  const doc = buildPlanDocument(run, loadStackConfig());

  fs.mkdirSync(outDir, { recursive: true });
  const json = JSON.stringify(doc, null, 2) + "\n";
  fs.writeFileSync(path.join(outDir, `${doc.stack}.json`), json);
  fs.writeFileSync(path.join(outDir, `${doc.stack}.md`), renderMarkdown(doc));

  if (args.json) await writeStdout(json);
  else console.log(`${renderTerminal(doc)}\n\nWrote ${path.relative(process.cwd(), path.join(outDir, doc.stack))}.{json,md}`);
  if (doc.policies.mandatoryViolations > 0) {
    console.error(`${policySummary(doc.policies)}: a deploy of this plan would be refused; each violation above says how to fix it.`);
    return POLICY_VIOLATION_EXIT;
  }
  return 0;
}

/** The plan command's exit code; a failure is printed as `plan failed: …`, with what had been registered. */
export function planCommand(argv: string[], projectDir: string): Promise<number> {
  return commandExitCode("plan failed", () => plan(argv, projectDir), (err) => {
    if (err instanceof PlanError) {
      console.error(err.registered.length === 0 ? "No resource was registered." : `${err.registered.length} resources had been registered.`);
    }
  });
}
