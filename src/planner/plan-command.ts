/**
 * The `npm run plan` command itself, apart from the process that runs it (cli.ts): parses its
 * arguments, plans, writes plans/<stack>.json and .md (and, where monitoring runs, the rule file
 * and the routing), and returns the exit code. One process may run it more than once (the program
 * is loaded afresh each time after the first).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadStackConfig } from "../stack-config";
import { PlanError, runPlan } from "./engine";
import type { PlanDocument } from "./document";
import { buildPlanDocument } from "./report";
import { monitoringArtifacts } from "./monitoring";
import { renderCompare, renderMarkdown, renderTerminal } from "./render";
import { policySummary } from "./render-policies";
import { usd } from "../estimate/cost";
import { secretConfigKeys } from "../config/secrets";
import { commandExitCode, parseCommandLine, usageError, writeStdout } from "./command-line";
import { terminalWidth } from "./text-layout";

const USAGE =
  "usage: npm run plan -- [--stack <name> | --compare] [--json] [--out <dir>] [--stack-dir <dir>] [--omit-secret <key>]...";
const HELP = `${USAGE}

The offline plan: runs the program under Pulumi's mock engine with the stack's Pulumi.<stack>.yaml,
with no cloud account, no Pulumi CLI and no network, and prints the resources, the services, the
GPU pool, the monthly cost and the guardrails. It writes <out>/<stack>.json and <out>/<stack>.md.

Options:
  -s, --stack <name>       the stack to plan, read from Pulumi.<name>.yaml (default: dev)
      --compare            plan dev and prod side by side: costs against the project's targets, and
                           each stack's guardrails (instead of --stack)
      --json               print the plan document as JSON (what <out>/<stack>.json holds)
      --out <dir>          where the plan files go (default: plans)
      --stack-dir <dir>    where Pulumi.<stack>.yaml is (default: the project directory), e.g. to plan
                           an edited copy
      --omit-secret <key>  plan as if ESC did not supply this secret, to see what a real run would
                           say; a full key such as sophia:openaiApiKey or vercel:apiToken; repeatable;
                           with --compare, for both stacks
  -h, --help               this help

Text fits the terminal: its width, else COLUMNS, else 100 columns.
Exit status: 0 planned; 3 planned, but a mandatory guardrail is violated, so a deploy would be
refused; 1 the plan failed (a config error, say), and no plan file is left; 2 bad usage.`;
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

/** Why `--omit-secret` values are not secret keys the program reads, or undefined when they all are. */
function omitSecretProblem(keys: string[]): string | undefined {
  const known = secretConfigKeys().map((s) => s.key);
  const unknown = keys.filter((key) => !known.includes(key));
  if (unknown.length === 0) return undefined;
  const hints = unknown.map((key) => {
    const namespaced = known.find((k) => k.endsWith(`:${key}`));
    return namespaced !== undefined ? `"${key}" needs its namespace: --omit-secret ${namespaced}` : `"${key}" is not a secret the program reads`;
  });
  return `--omit-secret: ${hints.join("; ")}. Secret keys: ${known.join(", ")}.`;
}

/** Plans dev and prod side by side; exits 3 when either holds a mandatory violation, as each stack's own plan does. */
async function compare(args: { json: boolean; out: string; "stack-dir"?: string; "omit-secret": string[] }): Promise<number> {
  const passThrough = [
    "--out",
    args.out,
    ...(args["stack-dir"] ? ["--stack-dir", args["stack-dir"]] : []),
    ...args["omit-secret"].flatMap((key) => ["--omit-secret", key]),
  ];
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
  if (args.json) await writeStdout(JSON.stringify(docs.map((d) => ({ stack: d.stack, profile: d.profile, cost: d.cost, policies: d.policies })), null, 2) + "\n");
  else console.log(renderCompare(docs, terminalWidth()));
  const refused = docs.filter((d) => d.policies.mandatoryViolations > 0);
  for (const d of refused) console.error(`${d.stack}: ${policySummary(d.policies)}: a deploy of this plan would be refused; each violation above says how to fix it.`);
  return refused.length > 0 ? POLICY_VIOLATION_EXIT : 0;
}

/** Runs the plan command with `argv` (the arguments after the script) for the project in `projectDir`. */
async function plan(argv: string[], projectDir: string): Promise<number> {
  const args = parseCommandLine(
    USAGE,
    {
      stack: { type: "string", short: "s" },
      json: { type: "boolean", default: false },
      out: { type: "string", default: "plans" },
      "stack-dir": { type: "string" },
      compare: { type: "boolean", default: false },
      // Plans as if ESC did not supply this secret, to see what a user would be told.
      "omit-secret": { type: "string", multiple: true, default: [] },
    },
    HELP,
    argv,
  );
  if (typeof args === "number") return args;
  if (args.compare && args.stack !== undefined) {
    return usageError(`--compare plans ${COMPARE_STACKS.join(" and ")} side by side, so it takes no --stack; plan one stack with --stack ${args.stack} alone.`, USAGE);
  }
  const omitProblem = omitSecretProblem(args["omit-secret"]);
  if (omitProblem !== undefined) return usageError(omitProblem, USAGE);
  if (args.compare) return compare(args);
  const stack = args.stack ?? "dev";
  if (!/^[\w.-]+$/.test(stack)) {
    // pulumi takes <org>/<stack> (and <org>/<project>/<stack>); the plan reads Pulumi.<stack>.yaml.
    const name = /^(?:[\w.-]+\/){1,2}([\w.-]+)$/.exec(stack)?.[1];
    if (name !== undefined) return usageError(`"${stack}" is not a stack name: drop the organization: --stack ${name} (the plan reads Pulumi.${name}.yaml).`, USAGE);
    return usageError(`"${stack}" is not a stack name: use letters, digits, "-", "_" and ".".`, USAGE);
  }
  const stackDir = args["stack-dir"] ? path.resolve(args["stack-dir"]) : projectDir;
  // A plan that fails must not leave the previous one behind for a tool to read as current.
  const outDir = path.resolve(projectDir, args.out);
  for (const ext of ["json", "md", "rules.yml", "alertmanager.yml"]) fs.rmSync(path.join(outDir, `${stack}.${ext}`), { force: true });

  const run = await runPlan({ stack, projectDir, stackDir, omitSecrets: args["omit-secret"] });
  // The runtime still holds the config the program was given, so this is the config it parsed.
  const config = loadStackConfig();
  const doc = buildPlanDocument(run, config);

  fs.mkdirSync(outDir, { recursive: true });
  const json = JSON.stringify(doc, null, 2) + "\n";
  fs.writeFileSync(path.join(outDir, `${doc.stack}.json`), json);
  fs.writeFileSync(path.join(outDir, `${doc.stack}.md`), renderMarkdown(doc));
  const artifacts = monitoringArtifacts(run.resources, config);
  if (artifacts && doc.monitoring.files) {
    fs.writeFileSync(path.join(outDir, doc.monitoring.files.rules), artifacts.rules);
    fs.writeFileSync(path.join(outDir, doc.monitoring.files.alertmanager), artifacts.alertmanager);
  }

  if (args.json) await writeStdout(json);
  else console.log(`${renderTerminal(doc, terminalWidth())}\n\nWrote ${path.relative(process.cwd(), path.join(outDir, doc.stack))}.{json,md${artifacts ? ",rules.yml,alertmanager.yml" : ""}}`);
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
