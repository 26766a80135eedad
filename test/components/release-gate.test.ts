/**
 * Prod's releases, as the program gives them to the machines: the canary and rolling services
 * with an SLO are judged by the rollback triggers of sophia:slo.rollback, built by the functions
 * the alert rules use, so the gate and the alerts evaluate the same expressions.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { FLY_SERVICE_TYPE } from "../../components/fly-service";
import { SERVICE_DEFINITIONS } from "../../components/services";
import { planServices } from "../../components/platform-services";
import { analysedServices, gateTriggers, notAnalysedBecause, releaseProblems } from "../../components/release-analysis";
import { evaluate, matchesLabel, type Series } from "../../src/emulators/fly/promql";
import { forMachines } from "../../src/providers/fly/resources/release-analysis";
import { alertsOf, deployedRuleFile } from "../../src/estimate/monitoring";
import type { ReleaseGate } from "../../src/providers/fly";
import { FLY_PROMETHEUS } from "../../src/platform";
import { loadStackConfig, type StackConfig } from "../../src/stack-config";
import { summarizeServices } from "../../src/planner/report";
import { summarizeReleases } from "../../src/planner/releases";
import { renderReleases } from "../../src/planner/render-releases";
import { expectEach } from "../helpers/expect-each";
import { planStack, type PlannedStack } from "../helpers/plan";

let plan: PlannedStack;
let config: StackConfig;
beforeAll(async () => {
  plan = await planStack("prod");
  config = loadStackConfig();
}, 60_000);

const machinesOf = (service: string) => plan.inside(FLY_SERVICE_TYPE, service).filter((r) => r.kind === "fly:Machine");
const gateOf = (machine: { inputs: Record<string, unknown> }) => machine.inputs.releaseGate as ReleaseGate | undefined;

describe("prod release analysis", () => {
  it("the canary of unified-api is analysed; every machine of its release knows the whole fleet", () => {
    const machines = machinesOf("unified-api");
    const gates = machines.map(gateOf);
    expect(gates.map((g) => g?.analyse)).toEqual(machines.map((_, i) => i === 0));
    expectEach(gates, (g) => expect(g?.fleet).toEqual(machines.map((m) => m.inputs.name)));
  });

  it("the window defaults to the longest of the seed's trigger durations, 3 minutes, judged on 100 requests or held", () => {
    expect(gateOf(machinesOf("unified-api")[0]!)?.analysis).toMatchObject({ service: "unified-api", windowSeconds: 180, minRequests: 100, lowTraffic: "hold" });
  });

  it("the gate reads Fly's Prometheus for the stack's org, with the read-only token as a secret", () => {
    const canary = machinesOf("unified-api")[0]!;
    expect(gateOf(canary)?.analysis.prometheusUrl).toBe(FLY_PROMETHEUS.queryUrl(config.flyOrg));
    expect(canary.inputs.metricsToken).toBe("[secret]");
  });

  it("each trigger's breach expression is its alert rule's expression, over the new machines instead of the whole app", () => {
    const app = String(machinesOf("unified-api")[0]!.inputs.app);
    const rules = alertsOf(deployedRuleFile(plan.resources) ?? "").filter((a) => a.service === "unified-api" && a.labels.trigger !== undefined);
    const gate = gateOf(machinesOf("unified-api")[0]!)!;
    expect(gate.analysis.triggers.map((t) => t.description).length).toBe(rules.length);
    expectEach(rules, (rule) => {
      const trigger = gate.analysis.triggers.find((t) => t.description === rule.annotations.summary.replace(/^.*rollback trigger: /, ""));
      expect(trigger, rule.name).toBeDefined();
      // The alert selects the app; the gate the app's new machines.
      expect(trigger!.breach.replaceAll(',instance=~"$instances"', "").replaceAll("$app", app)).toBe(rule.expr);
    });
  });

  it("the gate also reads the new machines' health checks from the Machines API: 3 failed in a row, 15 s apart, breach", () => {
    // Fly Proxy routes nothing to a machine failing its checks, so no Prometheus series can show it.
    expect(gateOf(machinesOf("unified-api")[0]!)?.analysis.healthChecks).toEqual({ consecutiveFailures: 3, intervalSeconds: 15 });
  });

  it.each(["agno-bridge", "weaviate", "mcp-memory", "vector-store"])("%s is released on health checks alone (blue-green, or no SLO)", (service) => {
    expectEach(machinesOf(service), (m) => expect(gateOf(m)).toBeUndefined());
  });
});

describe("the health-check trigger as the gate evaluates it", () => {
  const APP = "sophia-prod-unified-api";
  const NOW = 600;
  /** Fly's per-machine response counters, scraped every 15 s: `perScrape` new responses of each status per scrape. */
  const fleet = (machines: Record<string, { status: string; perScrape: (t: number) => number }[]>) => {
    const series: Series[] = Object.entries(machines).flatMap(([instance, counters]) =>
      counters.map(({ status, perScrape }) => ({
        labels: { __name__: "fly_app_http_responses_count", app: APP, instance, status },
        samples: (start: number, end: number) => {
          const points: [number, number][] = [];
          let total = 0;
          for (let t = 15; t <= NOW; t += 15) {
            total += perScrape(t);
            if (t > start && t <= end) points.push([t, total]);
          }
          return points;
        },
      })),
    );
    return (matchers: Parameters<typeof matchesLabel>[0][]) => series.filter((s) => matchers.every((m) => matchesLabel(m, s.labels[m.name] ?? "")));
  };
  const trigger = () => gateTriggers(config.slo.rollback, 15, ["healthChecks"])[0]!;
  const breaching = (source: ReturnType<typeof fleet>, instances: string[]) => {
    const value = evaluate(forMachines(trigger().breach, APP, instances), NOW, source);
    return value.type === "vector" ? value.samples.map((s) => s.labels.instance) : [];
  };
  const machines = fleet({
    good: [{ status: "200", perScrape: () => 30 }],
    // Failing every request for the last two minutes.
    dead: [
      { status: "200", perScrape: (t) => (t <= NOW - 120 ? 30 : 0) },
      { status: "502", perScrape: (t) => (t > NOW - 120 ? 30 : 0) },
    ],
    // Quiet: a request every other minute, the last one a 500.
    quiet: [
      { status: "200", perScrape: (t) => (t % 120 === 0 && t < NOW - 30 ? 1 : 0) },
      { status: "500", perScrape: (t) => (t === NOW - 30 ? 1 : 0) },
    ],
  });

  it("breaches on the new machine that fails every request, and names it", () => {
    expect(breaching(machines, ["good", "dead"])).toEqual(["dead"]);
  });

  it("does not breach on a quiet new machine whose one request failed", () => {
    expect(breaching(machines, ["quiet"])).toEqual([]);
  });
});

describe("the plan's releases section", () => {
  const section = () => renderReleases(summarizeReleases(plan.resources, summarizeServices(plan.resources), config), 120).split("\n");

  it("shows each service's strategy and, for the canary, its window and triggers", () => {
    const text = section().join("\n");
    expect(text).toMatch(/unified-api +canary +the canary is watched for 3 minutes in Fly's Prometheus and the release rolled back on: 5xx\s+above 5% for 2m; P95 above 500 ms for 3m;/);
    expect(text).toMatch(/agno-bridge +bluegreen +health checks only: new machines pass them before the old ones go/);
    expect(text).toMatch(/weaviate +rolling +health checks only: no SLO to judge it against/);
  });

  it("names the health checks the gate reads from the Machines API among the canary's triggers", () => {
    expect(section().join(" ").replace(/\s+/g, " ")).toMatch(/; its health checks failing 3 times in a row \(Machines API\)\. Under 100 requests/);
  });

  it("keeps every line within 120 columns", () => {
    expectEach(section(), (line) => expect(line.length, line).toBeLessThanOrEqual(120));
  });
});

describe("release config that only the services can refuse", () => {
  // Prod's own stack config, with one release setting changed.
  const prodWith = (services: StackConfig["release"]["services"]): StackConfig => ({ ...config, release: { ...config.release, services } });

  it("a trigger on a service with no SLO is refused, saying why", () => {
    const withTrigger = prodWith({ weaviate: { triggers: ["errorRate"] } });
    expect(releaseProblems(withTrigger, planServices(withTrigger, SERVICE_DEFINITIONS))).toEqual([
      expect.stringMatching(/^sophia:release\.services\.weaviate: weaviate has no SLO, so its releases have no trigger to be judged by \(it is private.*remove sophia:release\.services\.weaviate$/),
    ]);
  });

  it("asking to analyse a blue-green service is refused: only canary and rolling releases can be judged", () => {
    const bluegreen = prodWith({ "agno-bridge": { window: "5m" } });
    expect(releaseProblems(bluegreen, planServices(bluegreen, SERVICE_DEFINITIONS))).toEqual([
      expect.stringMatching(/^sophia:release\.services\.agno-bridge: agno-bridge's releases cannot be analysed \(health checks only: new machines pass them before the old ones go\)/),
    ]);
  });

  it("turning analysis off for a service without an SLO is no problem", () => {
    const off = prodWith({ weaviate: { analysis: false } });
    expect(releaseProblems(off, planServices(off, SERVICE_DEFINITIONS))).toEqual([]);
  });
});

describe("releases while failed over", () => {
  const failedOver = (): StackConfig => ({ ...config, recovery: { ...config.recovery, activeRegion: "lax" } });

  it("are judged on health checks alone, so that no analysis window holds up, or stops, a failover", () => {
    const plan = planServices(failedOver(), SERVICE_DEFINITIONS);
    expect(analysedServices(config, planServices(config, SERVICE_DEFINITIONS))).toEqual(["unified-api"]);
    expect(analysedServices(failedOver(), plan)).toEqual([]);
  });

  it("the plan says why, and that moving back resumes the analysis", () => {
    const api = { name: "unified-api", strategy: "canary", reach: "public" as const, internal: false };
    expect(notAnalysedBecause(failedOver(), api)).toBe("health checks only: failed over to lax (sophia:recovery.activeRegion); analysis resumes in sjc");
  });
});
