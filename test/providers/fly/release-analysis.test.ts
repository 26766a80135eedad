/**
 * The analysis loop on its own, with scripted Prometheus answers and a fake clock that each sleep
 * and each query advance: nothing really waits, and the times it reports are exact.
 */
import { describe, expect, test } from "vitest";
import { analyseRelease, type AnalysisRun, type ReleaseTrigger } from "../../../src/providers/fly/resources/release-analysis";

const trigger = (name: string, forSeconds: number): ReleaseTrigger => ({
  metric: name,
  description: `${name} above 5% for ${forSeconds}s`,
  value: `${name}{app="$app",instance=~"$instances"}`,
  breach: `${name}{app="$app",instance=~"$instances"} > 0.05`,
  threshold: 0.05,
  forSeconds,
  unit: "ratio",
});

/**
 * A run over candidate "new" and baseline "old": `answer` gets each query and the evaluation it
 * belongs to (counted by the breach queries of the first trigger), and each query takes
 * `querySeconds` of the fake clock.
 */
function scripted(triggers: ReleaseTrigger[], answer: (expr: string, evaluation: number) => number[], querySeconds = 0) {
  let now = 0;
  let evaluation = -1;
  const run: AnalysisRun = {
    analysis: { service: "api", prometheusUrl: "http://prometheus", windowSeconds: 60, triggers, minRequests: 10, lowTraffic: "hold" },
    app: "api",
    candidates: ["new"],
    baseline: ["old"],
    query: async (expr) => {
      if (expr === triggers[0]!.breach.replace("$app", "api").replace("$instances", "new")) evaluation += 1;
      // A loop that never ends fails here rather than hang the suite.
      if (evaluation > 100) throw new Error("the analysis did not end after 100 evaluations");
      now += querySeconds * 1000;
      return answer(expr, evaluation);
    },
    inspect: async () => ({ name: "new", state: "started", checks: [] }),
    clock: { now: () => now, sleep: async (ms) => void (now += ms), timeScale: 1 },
  };
  return run;
}

const onNew = (expr: string) => expr.includes('instance=~"new"');

describe("release analysis", () => {
  test("a breach stands when the previous release's machines cannot be measured for comparison", async () => {
    const run = scripted([trigger("errors", 0)], (expr) => {
      if (!onNew(expr)) throw new Error("Fly Prometheus: query failed with HTTP 503 after 6 attempts");
      return [0.2];
    });
    expect(await analyseRelease(run)).toMatchObject({ verdict: "breach", value: 0.2, baseline: undefined, baselineError: expect.stringMatching(/HTTP 503/) });
  });

  test("triggers that take turns breaching after the window are followed for the longest `for`, then the release is held", async () => {
    const errors = trigger("errors", 30);
    const latency = trigger("latency", 30);
    // Every 15 s evaluation one of the two breaches, never one for its whole 30 s.
    const run = scripted([errors, latency], (expr, evaluation) => {
      if (expr.startsWith("errors") && expr.includes(">")) return evaluation % 2 === 0 ? [0.2] : [];
      if (expr.startsWith("latency") && expr.includes(">")) return evaluation % 2 === 1 ? [0.2] : [];
      return [100];
    });
    expect(await analyseRelease(run)).toEqual({ verdict: "unsettled", seconds: 90, pending: 'errors 20% ("errors above 5% for 30s", pending for 0 s)' });
  });

  test("a breach is seen when its query answers, before the previous release is measured", async () => {
    // Each query takes 30 s (a query retrying, say): the breach answers at 30 s, the comparison at 90 s.
    const run = scripted([trigger("errors", 0)], () => [0.2], 30);
    expect(await analyseRelease(run)).toMatchObject({ verdict: "breach", seenAt: 30_000, baseline: { value: 0.2, breaches: true } });
  });
});
