/**
 * The cost estimate, the diagram and the terminal text of the real plans, through one CLI run:
 * `--compare` plans dev and prod in child processes, which also write plan/<stack>.json to --out;
 * the tests read those.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { computeCost } from "../../src/estimate/cost";
import type { LambdaInstanceType } from "../../src/platform";
import type { PlanDocument } from "../../src/planner/document";
import { renderTerminal } from "../../src/planner/render";
import { displayWidth } from "../../src/planner/text-layout";
import { spawnPlanCli } from "../helpers/cli";

const plans: Record<string, PlanDocument> = {};
let compare: { status: number | null; stdout: string; stderr: string };

beforeAll(async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "plan-cost-"));
  // --compare plans each stack in a child process of the CLI: it runs as its own process here.
  compare = await spawnPlanCli(["--compare", "--out", out]);
  if (compare.status !== 0) throw new Error(`plan --compare failed: ${compare.stderr}`);
  for (const stack of ["dev", "prod"]) plans[stack] = JSON.parse(fs.readFileSync(path.join(out, `${stack}.json`), "utf8")) as PlanDocument;
}, 30_000);

const SEED_PROD = { low: 1260, high: 4500 };
const machinesOf = (doc: PlanDocument) => doc.resources.filter((r) => r.type === "pulumi-nodejs:dynamic/fly:Machine");

describe("profile totals from the real plan", () => {
  it("dev at the seed's usage (45 h a week, 10 GPU-hours) costs at most $25 a month, GPU overhead and filesystem included", () => {
    const { cost } = plans.dev;
    expect(machinesOf(plans.dev).length).toBeGreaterThan(0);
    expect(cost.assumptions).toMatchObject({ activeHoursPerWeek: 45, onDemandGpuHours: 10 });
    const a10 = cost.prices.lambda.perHour.gpu_1x_a10 ?? NaN;
    expect(cost.byKind["gpu-on-demand"]).toBeCloseTo(10 * a10, 2);
    expect(cost.byKind["gpu-session-overhead"]).toBeGreaterThan(0);
    expect(cost.byKind["gpu-filesystem"]).toBeGreaterThan(0);
    expect(cost.total).toBeLessThanOrEqual(25);
  });

  it("prod at its minimum machine counts (nothing above the minimum running) falls inside the seed's $1,260–4,500", () => {
    const { assumptions: a, prices } = plans.prod.cost;
    const usage = {
      activeHoursPerWeek: a.activeHoursPerWeek, extraMachineShare: 0, onDemandGpuHours: a.onDemandGpuHours, gpuSessionsPerMonth: a.gpuSessionsPerMonth,
      gpuBootMinutes: a.gpuBootMinutes, gpuFilesystemGb: a.gpuFilesystemGb, rootfsGb: a.rootfsGb, egressGbPerMonth: a.egressGbPerMonth,
      volumeUsedShare: a.volumeUsedShare, snapshotDailyChangeShare: a.snapshotDailyChangeShare, vercelSeats: a.vercelSeats,
    };
    const gpuInstanceType = a.gpuInstanceType as LambdaInstanceType;
    const { total } = computeCost({ resources: plans.prod.resources, usage, prices, primaryRegion: a.primaryRegion, gpuInstanceType, gpuIdleMinutes: a.gpuIdleMinutes });
    expect(total).toBeGreaterThanOrEqual(SEED_PROD.low);
    expect(total).toBeLessThanOrEqual(SEED_PROD.high);
  });

  it("prod at its profile's usage (machines above the minimum running 25% of the time) stays inside $1,260–4,500", () => {
    expect(plans.prod.cost.total).toBeGreaterThanOrEqual(SEED_PROD.low);
    expect(plans.prod.cost.total).toBeLessThanOrEqual(SEED_PROD.high);
  });

  it("prod's GPU spend (standing, on-demand bursts and their session overhead) stays inside the seed's $500–2,000", () => {
    const { cost } = plans.prod;
    expect(cost.byKind["gpu-standing"]).toBeGreaterThan(0);
    expect(cost.byKind["gpu-on-demand"]).toBeGreaterThan(0);
    expect(cost.gpuTotal).toBeGreaterThanOrEqual(500);
    expect(cost.gpuTotal).toBeLessThanOrEqual(2000);
  });

  it("the compute lines account for every machine the plan holds", () => {
    expect(Object.keys(plans)).toEqual(["dev", "prod"]);
    for (const doc of Object.values(plans)) {
      const counted = doc.cost.lines.filter((l) => l.kind === "compute").reduce((n, l) => n + l.quantity, 0);
      expect(counted, doc.stack).toBe(machinesOf(doc).length);
    }
  });

  it("the cost in the JSON adds up: lines to services, to kinds and to the total", () => {
    expect(Object.keys(plans)).toEqual(["dev", "prod"]);
    for (const { cost } of Object.values(plans)) {
      const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
      expect(sum(cost.lines.map((l) => l.monthly))).toBeCloseTo(cost.total, 2);
      expect(sum(Object.values(cost.byService))).toBeCloseTo(cost.total, 1);
      expect(sum(Object.values(cost.byKind) as number[])).toBeCloseTo(cost.total, 1);
    }
  });
});

describe("diagram of the real plan", () => {
  it.each(["dev", "prod"])("the %s diagram names the same apps and regions as the plan", (stack) => {
    const doc = plans[stack];
    const diagramApps = [...doc.diagram.matchAll(/svc__\w+\["<b>[^<]+<\/b><br\/>([^<]+)<br\/>/g)].map((m) => m[1]);
    const diagramRegions = [...doc.diagram.matchAll(/subgraph fly__([a-z]+)\[/g)].map((m) => m[1]);
    const nodes = [...doc.diagram.matchAll(/(svc__\w+)__([a-z]+)\[/g)].map((m) => `${m[1]}@${m[2]}`);

    expect(new Set(diagramApps)).toEqual(new Set(doc.services.map((s) => s.app)));
    expect(new Set(diagramRegions)).toEqual(new Set(doc.services.flatMap((s) => s.regions)));
    expect(nodes.sort()).toEqual(doc.services.flatMap((s) => s.regions.map((r) => `svc__${s.name.replace(/-/g, "_")}@${r}`)).sort());
  });
});

describe("npm run plan -- --compare", () => {
  it("shows dev and prod side by side with the project's targets and where each estimate falls", () => {
    expect(compare.status, compare.stderr).toBe(0);
    const row = (label: string) => compare.stdout.split("\n").find((l) => l.startsWith(`${label}  `)) ?? "";
    expect(compare.stdout).toMatch(/dev \(single-user-lax\)\s+prod \(enterprise-multi-region\)/);
    expect(row("total")).toContain(`$${plans.dev.cost.total.toFixed(2)}`);
    expect(row("target")).toMatch(/≤ \$25\.00\s+\$1,260\.00–\$4,500\.00/);
    expect(row("against target")).toMatch(/within the ceiling \(\$\d+\.\d\d to spare\)\s+inside the range/);
    expect(row("against GPU target")).toMatch(/—\s+inside the range/);
  });

  it("explains each profile's sizing choices", () => {
    for (const stack of ["dev", "prod"]) {
      const choices = compare.stdout.split("\n").filter((l) => l.startsWith(`${stack}: Profile choice: `));
      expect(choices.length, stack).toBeGreaterThan(0);
      expect(choices.length).toBe(plans[stack].cost.seedReference?.choices.length);
    }
  });

  it("lists every line of both stacks with the date of its price source", () => {
    const dated = compare.stdout.split("\n").filter((l) => /^ {2}\S+ \S+: .* = \$[\d,.]+ \(as of \d{4}-\d{2}-\d{2}\)$/.test(l));
    expect(dated.length).toBe(plans.dev.cost.lines.length + plans.prod.cost.lines.length);
  });
});

describe("the plan's text for a narrow terminal", () => {
  // Prod has every section (recovery, monitoring, releases); an adoption adds the dry run's.
  const adoption = {
    service: "weaviate",
    app: "acme-weaviate",
    org: "personal",
    volumes: [{ resource: "weaviate-vol-sjc-0", adopts: "vol_6vjq3ynm18p1wz2", region: "sjc", sizeGb: 3 }],
    machines: [{ resource: "weaviate-machine-sjc-0", adopts: "3d8d9015f95228", region: "sjc" }],
  };

  it.each([100, 80, 70])("keeps every line of prod's plan, an adoption included, within %i columns", (width) => {
    const text = renderTerminal({ ...plans.prod, adoptions: [adoption] }, width);
    expect(text).toContain("Adopted, not created");
    expect(text.split("\n").filter((line) => displayWidth(line) > width)).toEqual([]);
  });
});
