/**
 * The GitHub workflows (D13) hold together: each parses, runs only scripts package.json has,
 * grants each job the least it needs, never overlaps two deploys of one stack, keeps prod behind
 * the `production` environment, and pins every action. Offline: only YAML and JSON are read.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..");
const WORKFLOW_DIR = path.join(ROOT, ".github", "workflows");
const STACKS = ["dev", "prod"];
/** A released tag (v4, v4.1, v4.1.2) or a full commit SHA; never a branch such as @main. */
const PINNED = /^[\w.-]+\/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/;

type YamlMap = Record<string, unknown>;
interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: YamlMap;
  env?: Record<string, string>;
}
interface Job {
  name?: string;
  "runs-on"?: string;
  needs?: string | string[];
  permissions?: Record<string, string> | string;
  concurrency?: { group?: string; "cancel-in-progress"?: boolean } | string;
  environment?: string | { name?: string };
  env?: Record<string, string>;
  strategy?: { matrix?: Record<string, unknown> };
  steps?: Step[];
}
interface Workflow {
  file: string;
  name?: string;
  on?: YamlMap | string | string[];
  permissions?: Record<string, string> | string;
  jobs: Record<string, Job>;
}

/** Asserts an empty list of problems; on failure the headline lists them, names included. */
function expectNone(problems: string[]): void {
  expect(problems, problems.join("\n")).toEqual([]);
}

const isObject = (v: unknown): v is YamlMap => typeof v === "object" && v !== null && !Array.isArray(v);

function loadWorkflows(): Workflow[] {
  return fs
    .readdirSync(WORKFLOW_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((file) => {
      // YAML 1.2 (the `yaml` default) keeps `on` a string key, as GitHub reads it.
      const doc: unknown = parse(fs.readFileSync(path.join(WORKFLOW_DIR, file), "utf8"));
      if (!isObject(doc)) throw new Error(`${file}: not a YAML mapping`);
      return { ...(doc as Omit<Workflow, "file">), file };
    });
}

const workflows = loadWorkflows();
const allJobs = workflows.flatMap((w) => Object.entries(w.jobs ?? {}).map(([id, job]) => ({ workflow: w, id, job, where: `${w.file} jobs.${id}` })));
const steps = (job: Job): Step[] => job.steps ?? [];
const usesAction = (step: Step, action: string) => step.uses?.split("@")[0] === action;
const pulumiSteps = (job: Job) => steps(job).filter((s) => usesAction(s, "pulumi/actions"));
const pulumiCommands = (job: Job) => pulumiSteps(job).map((s) => String(s.with?.command));
/** The stack a job operates on: its `STACK` env, which the stack-name expression reads. */
const stackOf = (job: Job) => job.env?.STACK;
const deployJobs = allJobs.filter(({ job }) => pulumiCommands(job).includes("up"));
const triggers = (w: Workflow): YamlMap => (isObject(w.on) ? w.on : Object.fromEntries([w.on ?? []].flat().map((t) => [t, null])));
const runScripts = allJobs.flatMap(({ job, where }) => steps(job).flatMap((s) => (s.run === undefined ? [] : [{ where, run: s.run }])));
const packageScripts = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;

describe("workflow structure", () => {
  it("there is at least one workflow and each has a name, triggers and jobs", () => {
    expect(workflows.length).toBeGreaterThan(0);
    const broken = workflows.filter((w) => !w.name || w.on === undefined || Object.keys(w.jobs ?? {}).length === 0).map((w) => w.file);
    expectNone(broken);
  });

  it("every job has runs-on and steps, and every step either uses an action or runs a command", () => {
    const broken = allJobs.flatMap(({ job, where }) => [
      ...(job["runs-on"] && steps(job).length > 0 ? [] : [`${where}: needs runs-on and steps`]),
      ...steps(job).flatMap((s, i) => ((s.uses === undefined) === (s.run === undefined) ? [`${where}.steps[${i}]: needs exactly one of uses, run`] : [])),
    ]);
    expectNone(broken);
  });

  it("every job needs only jobs that exist in its workflow", () => {
    const broken = allJobs.flatMap(({ workflow, job, where }) =>
      [job.needs ?? []].flat().filter((n) => !(n in workflow.jobs)).map((n) => `${where} needs unknown job ${n}`),
    );
    expectNone(broken);
  });

  it("every action is pinned to a released version tag or a commit", () => {
    const unpinned = allJobs.flatMap(({ job, where }) => steps(job).filter((s) => s.uses !== undefined && !PINNED.test(s.uses)).map((s) => `${where}: ${s.uses}`));
    expectNone(unpinned);
  });

  it("every npm command a workflow runs exists in package.json scripts", () => {
    const missing = runScripts.flatMap(({ where, run }) =>
      [...run.matchAll(/\bnpm (?:run(?:-script)? ([\w:.-]+)|(test|start)\b)/g)]
        .map((m) => m[1] ?? m[2])
        .filter((script) => !(script in packageScripts))
        .map((script) => `${where}: npm run ${script}`),
    );
    expectNone(missing);
  });
});

describe("least privilege", () => {
  it("no workflow grants permissions at the top level", () => {
    const broad = workflows.filter((w) => w.permissions !== undefined && !(isObject(w.permissions) && Object.keys(w.permissions).length === 0)).map((w) => w.file);
    expectNone(broad);
  });

  it("every job declares its permissions as a map, with contents: read", () => {
    const broken = allJobs.filter(({ job }) => !isObject(job.permissions) || job.permissions.contents !== "read").map(({ where }) => where);
    expectNone(broken);
  });

  it("pull-requests: write only where a PR comment is posted", () => {
    const broken = allJobs
      .filter(({ job }) => isObject(job.permissions) && job.permissions["pull-requests"] === "write")
      .filter(({ job }) => !pulumiSteps(job).some((s) => s.with?.["comment-on-pr"] === true))
      .map(({ where }) => where);
    expectNone(broken);
  });

  it("id-token: write only where OIDC is used", () => {
    const broken = allJobs
      .filter(({ job }) => isObject(job.permissions) && job.permissions["id-token"] === "write")
      .filter(({ job }) => !steps(job).some((s) => usesAction(s, "pulumi/auth-actions")))
      .map(({ where }) => where);
    expectNone(broken);
  });

  it("no other permission is granted write", () => {
    const allowed = new Set(["pull-requests", "id-token"]);
    const broken = allJobs.flatMap(({ job, where }) =>
      Object.entries(isObject(job.permissions) ? job.permissions : {})
        .filter(([scope, level]) => level === "write" && !allowed.has(scope))
        .map(([scope]) => `${where}: ${scope}: write`),
    );
    expectNone(broken);
  });
});

describe("secrets", () => {
  it("only jobs that run Pulumi see secrets; tests and the plan run without credentials", () => {
    const leaking = allJobs.filter(({ job }) => pulumiSteps(job).length === 0 && JSON.stringify(job).includes("secrets.")).map(({ where }) => where);
    expectNone(leaking);
  });

  it("no run step interpolates a secret or mentions a variable that carries one", () => {
    const secretVars = new Set(
      allJobs.flatMap(({ job }) => [job.env ?? {}, ...steps(job).map((s) => s.env ?? {})]).flatMap((env) => Object.entries(env).filter(([, v]) => String(v).includes("secrets.")).map(([k]) => k)),
    );
    const echoed = runScripts.filter(({ run }) => run.includes("secrets.") || [...secretVars].some((v) => run.includes(v))).map(({ where, run }) => `${where}: ${run}`);
    expectNone(echoed);
  });

  it("every Pulumi step gets an access token, from a secret or from OIDC", () => {
    const broken = allJobs.flatMap(({ job, where }) =>
      steps(job).some((s) => usesAction(s, "pulumi/auth-actions"))
        ? []
        : pulumiSteps(job)
            // A step without a command only installs the CLI (the rehearsal's local backend needs no token).
            .filter((s) => s.with?.command !== undefined)
            .filter((s) => !/^\$\{\{\s*secrets\.\w+\s*\}\}$/.test(s.env?.PULUMI_ACCESS_TOKEN ?? ""))
            .map(() => where),
    );
    expectNone(broken);
  });
});

describe("pull requests", () => {
  const prWorkflows = workflows.filter((w) => "pull_request" in triggers(w));

  it("a pull-request workflow type-checks, lints and tests after npm ci", () => {
    const commands = prWorkflows.flatMap((w) => Object.values(w.jobs).flatMap((j) => steps(j).map((s) => s.run ?? ""))).join("\n");
    for (const expected of [/npm ci\b/, /npm run typecheck\b|npm test\b/, /npm run lint\b|npm test\b/, /npm run test:unit\b|npm test\b/]) {
      expect(commands).toMatch(expected);
    }
  });

  it("pull requests preview dev and prod, each with comment-on-pr", () => {
    const previewed = prWorkflows.flatMap((w) =>
      Object.values(w.jobs)
        .filter((j) => pulumiSteps(j).some((s) => s.with?.command === "preview" && s.with["comment-on-pr"] === true))
        .flatMap((j) => (stackOf(j) === "${{ matrix.stack }}" ? [j.strategy?.matrix?.stack ?? []].flat() : [stackOf(j)])),
    );
    expect([...new Set(previewed)].sort()).toEqual(STACKS);
  });

  it("pull requests build the offline plan of both stacks and upload plans/", () => {
    const prSteps = prWorkflows.flatMap((w) => Object.values(w.jobs).flatMap(steps));
    const runs = prSteps.map((s) => s.run ?? "").join("\n");
    for (const stack of STACKS) expect(runs).toContain(`npm run plan -- --stack ${stack}`);
    expect(prSteps.some((s) => usesAction(s, "actions/upload-artifact") && String(s.with?.path).replace(/\/$/, "") === "plans")).toBe(true);
  });

  it("pull requests never deploy", () => {
    const deploying = deployJobs.filter(({ workflow }) => "pull_request" in triggers(workflow) || "pull_request_target" in triggers(workflow)).map(({ where }) => where);
    expectNone(deploying);
  });
});

describe("deploys", () => {
  it("every deploy job names its stack in env.STACK", () => {
    expectNone(deployJobs.filter(({ job }) => !STACKS.includes(stackOf(job) ?? "")).map(({ where }) => where));
  });

  it("deploys of one stack share one concurrency group and never cancel a deploy in flight", () => {
    const broken = deployJobs
      .filter(({ job }) => !isObject(job.concurrency) || job.concurrency.group !== `pulumi-up-${stackOf(job)}` || job.concurrency["cancel-in-progress"] !== false)
      .map(({ where }) => where);
    expectNone(broken);
  });

  it("a push to main runs pulumi up of dev", () => {
    const onMain = deployJobs.filter(({ workflow, job }) => {
      const push = triggers(workflow).push;
      return stackOf(job) === "dev" && isObject(push) && Array.isArray(push.branches) && push.branches.includes("main");
    });
    expect(onMain.length).toBe(1);
  });

  it("prod deploys only on demand or on a v* tag", () => {
    const prod = deployJobs.filter(({ job }) => stackOf(job) === "prod");
    expect(prod.length).toBeGreaterThan(0);
    for (const { workflow } of prod) {
      const on = triggers(workflow);
      expect(Object.keys(on).sort()).toEqual(["push", "workflow_dispatch"]);
      expect(on.push).toEqual({ tags: ["v*"] });
    }
  });

  it("prod deploys wait for the production environment's reviewers", () => {
    const prod = deployJobs.filter(({ job }) => stackOf(job) === "prod");
    const unguarded = prod.filter(({ job }) => (typeof job.environment === "string" ? job.environment : job.environment?.name) !== "production").map(({ where }) => where);
    expectNone(unguarded);
  });

  it("every deploy job waits for the tests", () => {
    const untested = deployJobs
      .filter(({ workflow, job }) => {
        const needs = [job.needs ?? []].flat();
        return !needs.some((n) => steps(workflow.jobs[n] ?? {}).some((s) => /\bnpm test\b|\.ci\/run\b/.test(s.run ?? "")));
      })
      .map(({ where }) => where);
    expectNone(untested);
  });
});

describe(".ci/run", () => {
  const script = fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8");
  const commands = script.split("\n").filter((line) => line.trim() !== "" && !line.trim().startsWith("#"));

  it("runs npm ci and then npm test, the README's test command", () => {
    const ci = commands.findIndex((line) => /^\s*npm ci\b/.test(line));
    const test = commands.findIndex((line) => /^\s*npm test\s*$/.test(line));
    expect(ci).toBeGreaterThanOrEqual(0);
    expect(test).toBeGreaterThan(ci);
    expect(packageScripts.test).toBeDefined();
  });

  it("needs no credentials and no Pulumi or ESC CLI", () => {
    const needing = commands.filter((line) => /TOKEN|API_KEY|PASSPHRASE|secrets?\b|\bpulumi\b|\besc\b/i.test(line));
    expectNone(needing);
  });

  it("is executable", () => {
    expect(fs.statSync(path.join(ROOT, ".ci", "run")).mode & 0o111).not.toBe(0);
  });
});
