/**
 * sophia:slo and sophia:monitoring as a stack file writes them: the profiles' defaults, and each
 * mistake refused with a message that says what to write instead.
 */
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../src/stack-config";
import { objectivesOf } from "../../src/config/slo";
import { configRefusal } from "../helpers/stack-config";

const dev = { profile: "single-user-lax" };
const prod = { profile: "enterprise-multi-region" };

/** The config error for these overrides, failing the test if they parse. */
const refusal = (overrides: Record<string, unknown>) => configRefusal(overrides, "prod");

const objectives = (o: Record<string, unknown>) => ({ ...prod, slo: { objectives: { availability: 0.999, latency: [], ...o } } });

describe("the profiles' SLOs and monitoring", () => {
  it("prod takes the seeds' objectives: 99.9% available, P95 under 150 ms, P99 under 300 ms", () => {
    const config = parseStackConfig(prod, "prod");
    expect(objectivesOf(config.slo, "unified-api")).toEqual({
      availability: 0.999,
      latency: [
        { quantile: 0.95, thresholdMs: 150 },
        { quantile: 0.99, thresholdMs: 300 },
      ],
    });
  });

  it("prod takes the seed's rollback triggers: 5% errors for 2m, P95 above 500 ms for 3m, 3 failed checks", () => {
    expect(parseStackConfig(prod, "prod").slo.rollback).toMatchObject({
      errorRate: { above: 0.05, for: "2m" },
      latency: { quantile: 0.95, aboveMs: 500, for: "3m" },
      healthChecks: { consecutiveFailures: 3 },
    });
  });

  it("prod runs monitoring and pages P0 and P1; dev runs none and, turned on, pages nobody", () => {
    const p = parseStackConfig(prod, "prod").monitoring;
    const d = parseStackConfig(dev, "dev").monitoring;
    expect(p.enabled).toBe(true);
    expect([p.escalation.P0.notify, p.escalation.P1.notify, p.escalation.P2.notify]).toEqual([["pagerduty", "slack"], ["pagerduty", "slack"], ["slack"]]);
    expect(d.enabled).toBe(false);
    expect(Object.values(d.escalation).flatMap((l) => l.notify)).not.toContain("pagerduty");
  });

  it("one key turns dev's monitoring on", () => {
    expect(parseStackConfig({ ...dev, monitoring: { enabled: true } }, "dev").monitoring.enabled).toBe(true);
  });

  it("a service's own objectives replace the defaults, key by key", () => {
    const config = parseStackConfig({ ...prod, slo: { services: { "unified-api": { availability: 0.9995 } } } }, "prod");
    expect(objectivesOf(config.slo, "unified-api")).toMatchObject({ availability: 0.9995, latency: [{ quantile: 0.95, thresholdMs: 150 }, { quantile: 0.99, thresholdMs: 300 }] });
    expect(objectivesOf(config.slo, "agno-bridge")?.availability).toBe(0.999);
  });
});

describe("SLO mistakes", () => {
  it("an objective written as a percentage says which ratio to write", () => {
    expect(refusal(objectives({ availability: 99.9 }))).toContain("sophia:slo.objectives.availability: 99.9 reads as a percentage; an availability objective is a ratio: write 0.999 for 99.9%");
  });

  it("an objective of 1 (100%) is refused: it leaves no error budget", () => {
    expect(refusal(objectives({ availability: 1 }))).toContain("1 is an availability objective of 100%, which leaves no room for a single failure; write a ratio below 1, e.g. 0.999");
  });

  it("an objective of 100 is refused the same way", () => {
    expect(refusal(objectives({ availability: 100 }))).toContain("100 is an availability objective of 100%");
  });

  it("a latency quantile written as a percentile number says which ratio to write", () => {
    expect(refusal(objectives({ latency: [{ quantile: 95, thresholdMs: 150 }] }))).toContain("sophia:slo.objectives.latency[0].quantile: 95 reads as a percentage; a latency quantile is a ratio: write 0.95 for 95%");
  });

  it("an error-rate trigger of 5 says to write 0.05", () => {
    expect(refusal({ ...prod, slo: { rollback: { errorRate: { above: 5 } } } })).toContain("sophia:slo.rollback.errorRate.above: 5 reads as a percentage; an error-rate trigger is a ratio: write 0.05 for 5%");
  });

  it("an unknown service names the nearest one", () => {
    expect(refusal({ ...prod, slo: { services: { "unified-apj": { availability: 0.99 } } } })).toContain('sophia:slo.services.unified-apj: is not a service; did you mean "unified-api"?');
  });

  it("a window longer than Fly's Prometheus keeps is refused with the longest that fits", () => {
    expect(refusal({ ...prod, slo: { window: "30d" } })).toContain(`sophia:slo.window: "30d" is longer than Fly's Prometheus keeps about 15 days, so the error budget could not be counted; use at most 14d`);
  });

  it("a burn-rate window longer than the retention is refused", () => {
    const tiers = [{ longWindow: "20d", shortWindow: "1d", burnRate: 1, severity: "P3" }];
    expect(refusal({ ...prod, slo: { window: "14d", burnRateAlerts: tiers } })).toContain('sophia:slo.burnRateAlerts[0].longWindow: "20d" is longer than Fly\'s Prometheus keeps about 15 days; use at most 14d');
  });

  it("a short window that is not shorter than the long one is refused", () => {
    const tiers = [{ longWindow: "1h", shortWindow: "1h", burnRate: 14.4, severity: "P0" }];
    expect(refusal({ ...prod, slo: { burnRateAlerts: tiers } })).toContain('sophia:slo.burnRateAlerts[0].shortWindow: "1h" must be shorter than longWindow "1h"');
  });

  it("a burn rate below 1 is refused: the budget would outlast the window", () => {
    const tiers = [{ longWindow: "3d", shortWindow: "6h", burnRate: 0.5, severity: "P3" }];
    expect(refusal({ ...prod, slo: { burnRateAlerts: tiers } })).toContain("sophia:slo.burnRateAlerts[0].burnRate: 0.5 is below 1");
  });

  it("an objective whose fastest burn needs more than 100% errors is refused: the alert could never fire", () => {
    expect(refusal({ ...prod, slo: { services: { "unified-api": { availability: 0.9 } } } })).toContain(
      "sophia:slo.services.unified-api.availability: 0.9 leaves a budget of 10% errors; at the burn rate 14.4 that is 144% errors, which can never happen",
    );
  });

  it("a duration without a unit says how to write one", () => {
    expect(refusal({ ...prod, slo: { rollback: { errorRate: { for: "2 minutes" } } } })).toContain('sophia:slo.rollback.errorRate.for: "2 minutes" is not a duration; write a whole number and a unit (s, m, h, d, w), e.g. 30s, 5m, 1h, 14d');
  });

  it("a service's latency objectives need an availability objective, its own or the stack's: without one they would alert on nothing", () => {
    const latency = [{ quantile: 0.95, thresholdMs: 200 }];
    expect(refusal({ ...prod, slo: { objectives: null, services: { "unified-api": { latency } } } })).toContain(
      "sophia:slo.services.unified-api: has latency objectives but no availability objective, here or in sophia:slo.objectives, so unified-api would get no SLO alert at all; add sophia:slo.services.unified-api.availability (e.g. 0.999)",
    );
    const beside = parseStackConfig({ ...prod, slo: { services: { "unified-api": { latency } } } }, "prod");
    expect(objectivesOf(beside.slo, "unified-api")).toEqual({ availability: 0.999, latency });
  });

  it("a severity outside P0–P3 lists them", () => {
    expect(refusal({ ...prod, slo: { latencyAlert: { severity: "critical" } } })).toContain('sophia:slo.latencyAlert.severity: must be one of "P0", "P1", "P2", "P3"');
  });
});

describe("monitoring mistakes", () => {
  it("an evaluation interval shorter than Fly's scrape interval is refused", () => {
    expect(refusal({ ...prod, monitoring: { evaluationInterval: "5s" } })).toContain('sophia:monitoring.evaluationInterval: "5s" is shorter than Fly\'s scrape interval (15s)');
  });

  it("a lower severity that asks for a faster response than a higher one is refused", () => {
    expect(refusal({ ...prod, monitoring: { escalation: { P1: { respondWithin: "10m" } } } })).toContain(
      'sophia:monitoring.escalation.P1.respondWithin: "10m" asks for a faster response than P0 (15 minutes)',
    );
  });

  it("an unknown receiver lists the ones there are", () => {
    expect(refusal({ ...prod, monitoring: { escalation: { P2: { notify: ["email"] } } } })).toContain('sophia:monitoring.escalation.P2.notify[0]: must be one of "pagerduty", "slack"');
  });

  it("a relative runbook URL is refused, saying what to write: Slack and PagerDuty cannot open it", () => {
    expect(refusal({ ...prod, monitoring: { runbookUrl: "README.md" } })).toContain(
      "sophia:monitoring.runbookUrl: must be an absolute http(s) URL, the README as your repository serves it, e.g. https://github.com/<owner>/<repo>/blob/main/README.md",
    );
  });

  it("a runbook URL that still holds the example's <owner>/<repo> is refused", () => {
    expect(refusal({ ...prod, monitoring: { runbookUrl: "https://github.com/<owner>/<repo>/blob/main/README.md" } })).toContain(
      "sophia:monitoring.runbookUrl: still holds the example's <owner> or <repo>",
    );
  });

  it("a runbook URL with an anchor of its own is refused: each alert adds its own", () => {
    expect(refusal({ ...prod, monitoring: { runbookUrl: "https://github.com/acme/infra/blob/main/README.md#runbooks" } })).toContain("sophia:monitoring.runbookUrl: has a #anchor");
  });

  it("a typo in a monitoring key names the nearest key", () => {
    expect(refusal({ ...prod, monitoring: { enabeld: true } })).toContain('Did you mean "enabled"?');
  });
});
