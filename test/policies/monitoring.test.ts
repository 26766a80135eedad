/**
 * The monitoring guardrails (src/policies/monitoring.ts) over prod's planned resources: they pass
 * as planned, and each fails, naming the fix, when the SLOs or the routing are taken away.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { everyPublicServiceHasSlo, everySeverityRouted, type PolicyContext, type PolicyResource } from "../../src/policies";
import { FLY_SERVICE_TYPE } from "../../components/fly-service";
import { planStack } from "../helpers/plan";
import { stackConfig } from "../helpers/stack-config";

let resources: PolicyResource[];
beforeAll(async () => {
  resources = (await planStack("prod")).resources.map((r) => ({ ...r, parent: r.parent ?? null }));
}, 60_000);

const context = (overrides: Record<string, unknown> = {}, only?: (r: PolicyResource) => boolean): PolicyContext => ({
  stack: "prod",
  config: stackConfig("prod", overrides),
  resources: only ? resources.filter(only) : resources,
  secretValues: [],
});

/** Prod's resources without the monitoring apps, as with sophia:monitoring.enabled false. */
const withoutMonitoring = (r: PolicyResource) => !/(vmalert|alertmanager|grafana)/.test(r.urn);

describe("prod-slo-every-public-service", () => {
  it("passes prod as planned", () => {
    expect(everyPublicServiceHasSlo.check(context())).toEqual([]);
  });

  it("names each public service left without an SLO, with where to give it one", () => {
    const violations = everyPublicServiceHasSlo.check(context({ slo: { objectives: null, services: { grafana: { availability: 0.99 } } } }));
    expect(violations.map((v) => v.message)).toEqual([
      expect.stringMatching(/^The public service unified-api has no SLO, .*Fix: give it objectives under sophia:slo.services.unified-api/),
      expect.stringMatching(/^The public service agno-bridge has no SLO/),
    ]);
    expect(violations[0].urn).toBe(resources.find((r) => r.type === FLY_SERVICE_TYPE && r.name === "unified-api")?.urn);
  });

  it("fails when no rule file is deployed, saying how to turn monitoring on", () => {
    expect(everyPublicServiceHasSlo.check(context({}, withoutMonitoring)).map((v) => v.message)).toEqual([
      expect.stringMatching(/^No rule file is deployed .*Fix: set sophia:monitoring.enabled to true/),
    ]);
  });

  it("does not apply outside production", () => {
    expect(everyPublicServiceHasSlo.enforcement(stackConfig("dev"))).toBeUndefined();
  });
});

describe("prod-every-severity-routed", () => {
  it("passes prod as planned", () => {
    expect(everySeverityRouted.check(context())).toEqual([]);
  });

  it("names a severity that reaches nobody, with the notify fix", () => {
    expect(everySeverityRouted.check(context({ monitoring: { escalation: { P2: { notify: [] } } } })).map((v) => v.message)).toEqual([
      expect.stringMatching(/^P2 alerts reach nobody: sophia:monitoring.escalation.P2.notify is empty\. Fix: list who is told/),
    ]);
  });

  it("fails when no Alertmanager is deployed", () => {
    expect(everySeverityRouted.check(context({}, withoutMonitoring)).map((v) => v.message)).toEqual([
      expect.stringMatching(/^No Alertmanager is deployed, so no alert reaches anyone\. Fix: set sophia:monitoring.enabled to true/),
    ]);
  });
});
