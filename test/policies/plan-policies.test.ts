/**
 * The guardrails in the offline plan, through `npm run plan` itself: the real program with the real
 * stack files, and with stack files changed in a temp dir (--stack-dir) to break one promise each.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import type { PlanDocument } from "../../src/planner/document";
import type { PolicyResult } from "../../src/policies";
import { projectDir, runPlanCliAsync } from "../helpers/cli";
import { stackValueWith } from "../helpers/plan";

const POLICY_VIOLATION_EXIT = 3;

interface Scenario {
  stack: "dev" | "prod";
  /** Config keys to change, each merged into the stack file's value (objects) or replacing it. */
  change?: Record<string, unknown>;
}

interface Planned {
  status: number | null;
  stdout: string;
  stderr: string;
  doc: PlanDocument;
}

/** A stack dir whose Pulumi.<stack>.yaml is the project's with `change` applied. */
function stackDirWith(stack: string, change: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-stack-"));
  const file = parse(fs.readFileSync(path.join(projectDir, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
  for (const [key, value] of Object.entries(change)) {
    file.config[key] = value !== null && typeof value === "object" && !Array.isArray(value)
      ? JSON.parse(stackValueWith(stack, key, value as Record<string, unknown>))
      : value;
  }
  fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), stringify(file));
  return dir;
}

async function plan({ stack, change }: Scenario): Promise<Planned> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "policy-plan-"));
  const stackDir = change ? ["--stack-dir", stackDirWith(stack, change)] : [];
  const result = await runPlanCliAsync(["--stack", stack, "--out", out, ...stackDir]);
  const file = path.join(out, `${stack}.json`);
  if (!fs.existsSync(file)) throw new Error(`plan of ${stack} failed (${String(result.status)}): ${result.stderr}`);
  return { ...result, doc: JSON.parse(fs.readFileSync(file, "utf8")) as PlanDocument };
}

const SCENARIOS = {
  dev: { stack: "dev" },
  prod: { stack: "prod" },
  prodUnprotected: { stack: "prod", change: { "sophia:volumes": { protect: false } } },
  prodOneApi: { stack: "prod", change: { "sophia:services": { "unified-api": { minMachines: 1 } } } },
  // The config refuses SSH open to the world and sizes Fly does not sell before any resource, so
  // those violations are built by the breaking program (breaking-program.test.ts).
  devWorldOpen: { stack: "dev", change: { "sophia:gpu": { workerSources: ["0.0.0.0/0"] } } },
  devOverBudget: { stack: "dev", change: { "sophia:budget": 5 } },
  prodOverBudget: { stack: "prod", change: { "sophia:budget": 1000 } },
} satisfies Record<string, Scenario>;

const planned = {} as Record<keyof typeof SCENARIOS, Planned>;

beforeAll(async () => {
  // Two at a time: each plan is a Node process of its own.
  const queue = Object.entries(SCENARIOS) as [keyof typeof SCENARIOS, Scenario][];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) planned[next[0]] = await plan(next[1]);
  };
  await Promise.all([worker(), worker()]);
}, 240_000);

function result(name: keyof typeof SCENARIOS, policy: string): PolicyResult {
  const found = planned[name].doc.policies.results.find((r) => r.name === policy);
  if (!found) throw new Error(`no policy ${policy} in the ${name} plan`);
  return found;
}

const messages = (name: keyof typeof SCENARIOS, policy: string) => result(name, policy).violations.map((v) => v.message);

describe("the dev plan", () => {
  it("passes every policy that applies to it, and exits 0", () => {
    expect(planned.dev.status, planned.dev.stderr).toBe(0);
    expect(planned.dev.stdout).toContain("policies: 6 passed, 4 not applicable");
    expect(planned.dev.doc.policies.results.filter((r) => r.violations.length > 0)).toEqual([]);
  });

  it("does not hold dev to the production-only policies", () => {
    expect(result("dev", "prod-data-protected").enforcement).toBe("not applicable");
    expect(result("dev", "prod-public-services-two-running").enforcement).toBe("not applicable");
  });
});

describe("the prod plan", () => {
  it("prints the policy section with a count of passed policies", () => {
    expect(planned.prod.stdout).toMatch(/^policies: 10 passed$/m);
  });

  it("keeps every production data store, the Lambda filesystem included, and exits 0", () => {
    expect(messages("prod", "prod-data-protected")).toEqual([]);
    expect(planned.prod.status, planned.prod.stderr).toBe(0);
  });

  it.each([
    "data-services-private",
    "prod-public-services-two-running",
    "every-service-health-checked",
    "gpu-firewall-not-world-open",
    "secrets-stay-secret",
    "fly-sizes-sold",
    "monthly-budget",
    "prod-slo-every-public-service",
    "prod-every-severity-routed",
  ])("passes %s, as mandatory", (policy) => {
    expect(result("prod", policy)).toMatchObject({ enforcement: "mandatory", violations: [] });
  });
});

describe("a stack that breaks a promise", () => {
  it("prod with unprotected volumes: every volume and every app that holds one is named, with the config fix", () => {
    const found = messages("prodUnprotected", "prod-data-protected");
    const volumes = planned.prodUnprotected.doc.resources.filter((r) => r.kind === "fly:Volume");
    expect(volumes.length).toBeGreaterThan(0);
    for (const volume of volumes) {
      expect(found).toContainEqual(expect.stringContaining(`fly:Volume ${volume.name} holds production data but lacks protect:`));
    }
    expect(found).toContainEqual(expect.stringMatching(/^fly:App weaviate-app holds production data .*deleting a Fly app deletes its volumes; set sophia:volumes.protect to true/));
    expect(found.some((m) => /fly:App unified-api-app/.test(m))).toBe(false);
  });

  it("prod with one API machine running: names the service and the minMachines fix", () => {
    expect(messages("prodOneApi", "prod-public-services-two-running")).toEqual([
      expect.stringMatching(/^The public service unified-api keeps 1 machine running in the primary region sjc .*Fix: set sophia:services.unified-api.minMachines to 2 or more/),
    ]);
    expect(planned.prodOneApi.status).toBe(POLICY_VIOLATION_EXIT);
  });

  it("a GPU worker port open to the world: names it and the workerSources fix, and fails the plan", () => {
    expect(messages("devWorldOpen", "gpu-firewall-not-world-open")).toEqual([
      expect.stringMatching(/^lambda:FirewallRuleset gpu-firewall opens the worker port 8000 to 0\.0\.0\.0\/0.*sophia:gpu.workerSources/),
    ]);
    expect(planned.devWorldOpen.status).toBe(POLICY_VIOLATION_EXIT);
  });

  it("dev over its budget: an advisory violation with the figures, and the plan still exits 0", () => {
    expect(result("devOverBudget", "monthly-budget")).toMatchObject({
      enforcement: "advisory",
      violations: [{ message: expect.stringMatching(/^The monthly cost estimate \$\d+\.\d\d is over the budget sophia:budget \$5\.00 by .*raise sophia:budget in Pulumi.dev.yaml/) }],
    });
    expect(planned.devOverBudget.status, planned.devOverBudget.stderr).toBe(0);
    expect(planned.devOverBudget.stdout).toContain("1 failed (advisory)");
  });

  it("prod over its budget: a mandatory violation naming the largest costs, and exit 3", () => {
    expect(result("prodOverBudget", "monthly-budget")).toMatchObject({
      enforcement: "mandatory",
      violations: [{ message: expect.stringMatching(/over the budget sophia:budget \$1,000\.00 by .*\(largest: gpu-pool \$/) }],
    });
    expect(planned.prodOverBudget.status).toBe(POLICY_VIOLATION_EXIT);
  });
});
