/**
 * The prod rule file, as `npm run plan -- --stack prod` writes it, through Prometheus's own
 * promtool: `check rules`, then `test rules` with scenarios built from synthetic Fly series. The
 * latency buckets below deliberately have no bound at the objectives (150 ms, 300 ms, 500 ms).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { counter, gauge, planProd, promtoolTest, rulesOf, run, type Expected, type PlannedFiles, type Scenario } from "./harness";

let files: PlannedFiles;
beforeAll(async () => {
  files = await planProd();
});

const app = (service: string) => {
  const found = files.doc.services.find((s) => s.name === service)?.app;
  if (!found) throw new Error(`no service ${service} in the prod plan`);
  return found;
};
const burn = (severity: string, service = "unified-api"): Expected => ({ alert: "ErrorBudgetBurn", rule: { service, severity } });
const edge = (service: string, status: string, values: string) => ({ series: `fly_edge_http_responses_count{app="${app(service)}",status="${status}"}`, values });
/** One machine's responses with `status`, as Fly's proxy counts them. */
const machineResponses = (service: string) => (instance: string, status: string, values: string) => ({
  series: `fly_app_http_responses_count{app="${app(service)}",instance="${instance}",status="${status}"}`,
  values,
});

/** Latency buckets as Fly might have them (its own are undocumented); none at 0.15, 0.3 or 0.5 s. */
const BUCKETS = ["0.05", "0.1", "0.25", "0.75", "1", "2.5", "+Inf"];
/** Cumulative per-interval counts per bucket for a fast service: 90% under 50 ms, all under 100 ms. */
const FAST = [90, 100, 100, 100, 100, 100, 100];
/** A regression: 90% between 250 and 750 ms. */
const SLOW = [0, 0, 10, 100, 100, 100, 100];
/** Worse: 90% between 750 ms and 1 s. */
const SLOWER = [0, 0, 0, 10, 100, 100, 100];

function histogram(metric: string, labels: string, ...segments: [steps: number, counts: number[]][]) {
  return BUCKETS.map((le, i) => ({ series: `${metric}{${labels},le="${le}"}`, values: counter(...segments.map(([steps, counts]): [number, number] => [steps, counts[i]])) }));
}

/** The stateful services whose backups the agent watches (not Fly's snapshots alone). */
const backedUp = () => files.doc.recovery.filter((r) => r.method !== "volume-snapshot").map((r) => r.service);
/** The agent's gauge: the unix time of a service's newest good backup (promtool's clock starts at 0). */
const backupGauge = (service: string, values: string) => ({ series: `sophia_backup_last_success_timestamp_seconds{service="${service}"}`, values });

/** A counter over `steps` intervals that grows by one at each of the steps `at`: a quiet machine's requests. */
const requestsAt = (steps: number, at: number[]) => Array.from({ length: steps + 1 }, (_, i) => at.filter((step) => step <= i).length).join(" ");

/** The health-check trigger firing for one machine, which its summary names. */
function healthChecksFired(service: string, instance: string): Expected {
  const rule = rulesOf(files.rules).find((r) => r.alert === "ReleaseHealthChecks" && r.labels.service === service)!;
  return { alert: "ReleaseHealthChecks", rule: { service }, extra: { instance }, rendered: { summary: rule.annotations.summary!.replace("{{ $labels.instance }}", instance) } };
}

function test(name: string, scenario: Scenario): void {
  const result = promtoolTest(files.rules, name, scenario);
  expect(result.status, result.output).toBe(0);
}

describe("promtool", () => {
  it("check rules accepts the rule file", () => {
    const result = run("promtool", ["check", "rules", files.rules]);
    expect(result.status, result.output).toBe(0);
    expect(result.output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it("an outage pages within minutes: P0 by the third minute of 100% errors", () => {
    test("outage", {
      interval: "1m",
      series: [edge("unified-api", "200", counter([120, 100], [10, 0])), edge("unified-api", "503", counter([120, 0], [10, 100]))],
      checks: [
        { at: "119m", alert: "ErrorBudgetBurn", firing: [] },
        // promtool evaluates every group at its test's interval, so the ticket tiers show at once too.
        { at: "123m", alert: "ErrorBudgetBurn", firing: [burn("P0"), burn("P1"), burn("P2"), burn("P3")] },
      ],
    });
  });

  it("a fast burn pages within the hour: 2% errors page at P1 within 30 minutes and at P0 within 50", () => {
    test("fast burn", {
      interval: "1m",
      series: [edge("unified-api", "200", counter([60, 100], [60, 98])), edge("unified-api", "503", counter([60, 0], [60, 2]))],
      checks: [
        { at: "55m", alert: "ErrorBudgetBurn", firing: [] },
        { at: "90m", alert: "ErrorBudgetBurn", firing: [burn("P1"), burn("P2"), burn("P3")] },
        { at: "110m", alert: "ErrorBudgetBurn", firing: [burn("P0"), burn("P1"), burn("P2"), burn("P3")] },
      ],
    });
  });

  it("a slow burn opens a ticket and never pages: 0.2% errors for 12 hours fire P3 alone", () => {
    test("slow burn", {
      interval: "1m",
      series: [edge("agno-bridge", "200", counter([720, 998])), edge("agno-bridge", "503", counter([720, 2]))],
      checks: ["1h", "3h", "6h", "9h", "12h"].map((at) => ({ at, alert: "ErrorBudgetBurn", firing: [burn("P3", "agno-bridge")] })),
    });
  });

  it("healthy traffic fires nothing but the watchdog", () => {
    const steps = 360;
    const services = files.doc.services;
    const running = services.filter((s) => s.minMachines > 0 || s.autostop === "off");
    const series = [
      // Every machine that should run reports; every public service answers, 0.01% of it 5xx, fast.
      ...running.map((s) => ({ series: `fly_instance_up{app="${s.app}",instance="m-${s.name}",region="sjc"}`, values: gauge([steps, 1]) })),
      { series: `sophia_gpu_nodes_ready{app="${app("unified-api")}",kind="standing"}`, values: gauge([steps, 1]) },
      ...services.filter((s) => s.reach === "public").flatMap((s) => [
        edge(s.name, "200", counter([steps, 9999])),
        edge(s.name, "503", counter([steps, 1])),
        ...histogram("fly_edge_http_response_time_seconds_bucket", `app="${s.app}",status="200"`, [steps, FAST]),
      ]),
      ...services.flatMap((s) => [
        { series: `fly_app_http_responses_count{app="${s.app}",instance="m-${s.name}",status="200"}`, values: counter([steps, 9999]) },
        { series: `fly_app_http_responses_count{app="${s.app}",instance="m-${s.name}",status="500"}`, values: counter([steps, 1]) },
        ...histogram("fly_app_http_response_time_seconds_bucket", `app="${s.app}",instance="m-${s.name}",status="200"`, [steps, FAST]),
        { series: `fly_instance_exit_oom{app="${s.app}",instance="m-${s.name}",region="sjc"}`, values: gauge([steps, 0]) },
      ]),
      ...services.filter((s) => s.volumes.count > 0).map((s) => ({ series: `fly_volume_used_pct{app="${s.app}",id="vol-${s.name}"}`, values: gauge([steps, 50]) })),
      // The backup agent reports each backed-up service's newest good backup, two minutes old.
      ...backedUp().map((service) => backupGauge(service, `-120+60x${steps}`)),
    ];
    const names = [...new Set(rulesOf(files.rules).map((r) => r.alert))];
    expect(names.length).toBeGreaterThan(5);
    const checks = ["30m", "2h", "6h"].flatMap((at) =>
      names.map((alert) => ({ at, alert, firing: alert === "Watchdog" ? [{ alert, rule: { service: "platform" } }] : [] })),
    );
    test("healthy", { interval: "1m", series, checks });
  });

  it("backups that fail warn P2 at the first failure, then page P1 once the newest is older than the RPO", () => {
    // A backup every 10 minutes (the gauge follows the clock) until 30 min; the ones at 40 and 50 min fail.
    // Its description says how old the newest backup is, as promtool renders `humanizeDuration`.
    const fired = (alert: string, severity: string, age?: string): Expected => {
      const rule = rulesOf(files.rules).find((r) => r.alert === alert && r.labels.service === "weaviate")!;
      const description = age === undefined ? rule.annotations.description! : rule.annotations.description!.replace("{{ $value | humanizeDuration }}", age);
      return { alert, rule: { service: "weaviate", severity }, rendered: { description } };
    };
    expect(backedUp()).toContain("weaviate");
    test("backups fail", {
      interval: "1m",
      series: [
        backupGauge("weaviate", "-120+60x32 1800x60"),
        { series: `sophia_backup_runs_total{service="weaviate",result="failure"}`, values: gauge([41, 0], [10, 1], [42, 2]) },
      ],
      checks: [
        { at: "39m", alert: "BackupMissed", firing: [] },
        { at: "41m", alert: "BackupMissed", firing: [fired("BackupMissed", "P2")] },
        { at: "41m", alert: "BackupOlderThanRpo", firing: [] },
        { at: "50m", alert: "BackupOlderThanRpo", firing: [fired("BackupOlderThanRpo", "P1", "20m 0s")] },
      ],
    });
  });

  it("a Litestream service idle for most of a day raises nothing; one that has replicated nothing for a day warns P2", () => {
    expect(backedUp()).toContain("mcp-memory");
    const stalled = rulesOf(files.rules).find((r) => r.alert === "BackupReplicationStalled" && r.labels.service === "mcp-memory")!;
    test("replication stalls", {
      interval: "10m",
      evaluationInterval: "10m",
      // The service's newest replicated object stays at time 0: an idle database, then a stopped Litestream.
      // The vector store keeps replicating (its gauge follows the clock).
      series: [backupGauge("mcp-memory", gauge([180, 0])), backupGauge("vector-store", "0+600x180")],
      checks: [
        { at: "24h", alert: "BackupReplicationStalled", firing: [] },
        { at: "25h30m", alert: "BackupReplicationStalled", firing: [{ alert: "BackupReplicationStalled", rule: { service: "mcp-memory", severity: "P2" }, rendered: { description: stalled.annotations.description!.replace("{{ $value | humanizeDuration }}", "1d 1h 30m 0s") } }] },
      ],
    });
  });

  it("a latency regression alerts, with no histogram bucket at the objectives", () => {
    const latency = (quantile: string): Expected => ({ alert: "LatencyAboveObjective", rule: { service: "unified-api", quantile } });
    test("latency regression", {
      interval: "1m",
      series: histogram("fly_edge_http_response_time_seconds_bucket", `app="${app("unified-api")}",status="200"`, [60, FAST], [60, SLOW]),
      checks: [
        { at: "55m", alert: "LatencyAboveObjective", firing: [] },
        { at: "90m", alert: "LatencyAboveObjective", firing: [latency("0.95"), latency("0.99")] },
      ],
    });
  });

  it("the error-rate trigger fires after 2 minutes above 5%, not before", () => {
    const machine = (instance: string) => [
      { series: `fly_app_http_responses_count{app="${app("unified-api")}",instance="${instance}",status="200"}`, values: counter([40, 100], [40, 90]) },
      { series: `fly_app_http_responses_count{app="${app("unified-api")}",instance="${instance}",status="500"}`, values: counter([40, 0], [40, 10]) },
    ];
    const fired: Expected = { alert: "ReleaseErrorRate", rule: { service: "unified-api" } };
    test("error-rate trigger", {
      interval: "15s",
      series: [...machine("m1"), ...machine("m2")],
      checks: [
        { at: "11m", alert: "ReleaseErrorRate", firing: [] },
        { at: "13m30s", alert: "ReleaseErrorRate", firing: [fired] },
      ],
    });
  });

  it("the latency trigger fires after 3 minutes of P95 above 500 ms, not before", () => {
    const fired: Expected = { alert: "ReleaseLatency", rule: { service: "unified-api" } };
    test("latency trigger", {
      interval: "15s",
      series: histogram("fly_app_http_response_time_seconds_bucket", `app="${app("unified-api")}",instance="m1",status="200"`, [40, FAST], [40, SLOWER]),
      checks: [
        { at: "12m", alert: "ReleaseLatency", firing: [] },
        { at: "14m30s", alert: "ReleaseLatency", firing: [fired] },
      ],
    });
  });

  it("the health-check trigger fires once one machine has failed every request for 3 check intervals on two evaluations in a row, not for 2", () => {
    const responses = machineResponses("agno-bridge");
    const series = [
      responses("good", "200", counter([80, 100])),
      // Fails every request for two check intervals (15 s each) at 5 minutes, then recovers.
      responses("blip", "200", counter([20, 100], [2, 0], [58, 100])),
      responses("blip", "502", counter([20, 0], [2, 100], [58, 0])),
      // Fails every request from 10 minutes on.
      responses("bad", "200", counter([40, 100], [40, 0])),
      responses("bad", "502", counter([40, 0], [40, 100])),
    ];
    test("health-check trigger", {
      interval: "15s",
      series,
      checks: [
        { at: "5m30s", alert: "ReleaseHealthChecks", firing: [] },
        { at: "9m30s", alert: "ReleaseHealthChecks", firing: [] },
        // From 11m its whole 45 s window has failed (pending); the next evaluation fires.
        { at: "11m", alert: "ReleaseHealthChecks", firing: [] },
        { at: "11m30s", alert: "ReleaseHealthChecks", firing: [healthChecksFired("agno-bridge", "bad")] },
      ],
    });
  });

  it("the health-check trigger ignores a lone 5xx on a quiet machine, and names the machine that fails every request", () => {
    const responses = machineResponses("unified-api");
    // A request every other minute (at 1, 3, 5, … minutes); the one at 5 minutes is a 500, so for
    // two evaluations in a row all it answered in the window failed.
    const everyOtherMinute = Array.from({ length: 10 }, (_, i) => 4 + 8 * i);
    const series = [
      responses("quiet", "200", requestsAt(80, everyOtherMinute.filter((step) => step !== 20))),
      responses("quiet", "500", requestsAt(80, [20])),
      // Fails every one of its 100 requests a scrape from 10 minutes on.
      responses("bad", "200", counter([40, 100], [40, 0])),
      responses("bad", "502", counter([40, 0], [40, 100])),
    ];
    test("health-check trigger on a quiet machine", {
      interval: "15s",
      series,
      checks: [
        { at: "5m", alert: "ReleaseHealthChecks", firing: [] },
        { at: "5m30s", alert: "ReleaseHealthChecks", firing: [] },
        { at: "12m", alert: "ReleaseHealthChecks", firing: [healthChecksFired("unified-api", "bad")] },
      ],
    });
  });

  it("the infrastructure alerts: no machine running, an OOM exit, a volume over 80%, no ready GPU node", () => {
    const steps = 50;
    const running = files.doc.services.filter((s) => (s.minMachines > 0 || s.autostop === "off") && s.name !== "weaviate");
    test("infrastructure", {
      interval: "1m",
      series: [
        ...running.map((s) => ({ series: `fly_instance_up{app="${s.app}",instance="m-${s.name}",region="sjc"}`, values: gauge([steps, 1]) })),
        // Weaviate's machines stop reporting after 30 minutes.
        { series: `fly_instance_up{app="${app("weaviate")}",instance="w1",region="sjc"}`, values: `${gauge([30, 1])} _x${steps - 30}` },
        { series: `fly_instance_exit_oom{app="${app("mcp-memory")}",instance="oom1",region="sjc"}`, values: `${gauge([10, 0])} 1 _x${steps - 11}` },
        { series: `fly_volume_used_pct{app="${app("vector-store")}",id="vol_full"}`, values: gauge([steps, 85]) },
        { series: `sophia_gpu_nodes_ready{app="${app("unified-api")}",kind="standing"}`, values: gauge([20, 1], [steps - 20, 0]) },
      ],
      checks: [
        { at: "33m", alert: "NoRunningMachine", firing: [] },
        { at: "40m", alert: "NoRunningMachine", firing: [{ alert: "NoRunningMachine", rule: { service: "weaviate" } }] },
        { at: "11m", alert: "MachineOutOfMemory", firing: [{ alert: "MachineOutOfMemory", rule: { service: "mcp-memory" }, extra: { instance: "oom1", region: "sjc" } }] },
        { at: "30m", alert: "MachineOutOfMemory", firing: [] },
        { at: "10m", alert: "VolumeAlmostFull", firing: [] },
        { at: "16m", alert: "VolumeAlmostFull", firing: [{ alert: "VolumeAlmostFull", rule: { service: "vector-store" }, extra: { id: "vol_full" } }] },
        { at: "25m", alert: "GpuStandingNodeNotReady", firing: [] },
        { at: "32m", alert: "GpuStandingNodeNotReady", firing: [{ alert: "GpuStandingNodeNotReady", rule: { service: "platform" } }] },
      ],
    });
  });
});
