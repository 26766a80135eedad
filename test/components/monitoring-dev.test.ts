/**
 * Dev with its one monitoring key turned on (sophia:monitoring.enabled): the three apps appear, and
 * since dev pages nobody, Alertmanager needs no PagerDuty key (the plan runs without one).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { FLY_SERVICE_TYPE } from "../../components/fly-service";
import { machineInputs, planStack, type PlannedStack } from "../helpers/plan";

let plan: PlannedStack;
beforeAll(async () => {
  plan = await planStack("dev", {
    configOverrides: { "sophia:monitoring": JSON.stringify({ enabled: true, runbookUrl: "https://github.com/acme/sophia-infra/blob/main/README.md" }) },
    omitSecrets: ["sophia:pagerdutyRoutingKey"],
  });
}, 60_000);

const secretKeysOf = (service: string) => Object.keys(plan.inside(FLY_SERVICE_TYPE, service).find((r) => r.kind === "fly:Secrets")!.inputs.values as object).sort();
const autostopOf = (service: string) => machineInputs(plan.inside(FLY_SERVICE_TYPE, service).find((r) => r.kind === "fly:Machine")!).config.services[0].autostop;

describe("dev with sophia:monitoring.enabled", () => {
  it("runs vmalert, Alertmanager and Grafana", () => {
    expect(plan.ofKind("fly:App").map((a) => String(a.inputs.name)).filter((n) => /vmalert|alertmanager|grafana/.test(n)).sort()).toEqual([
      "sophia-dev-alertmanager",
      "sophia-dev-grafana",
      "sophia-dev-vmalert",
    ]);
  });

  it("keeps vmalert and Alertmanager running, and lets Grafana stop when idle like the rest of dev", () => {
    expect([autostopOf("vmalert"), autostopOf("alertmanager"), autostopOf("grafana")]).toEqual(["off", "off", "stop"]);
  });

  it("gives Alertmanager no PagerDuty key, since dev pages nobody", () => {
    expect(secretKeysOf("alertmanager")).toEqual(["ALERT_HEARTBEAT_URL", "FILE_ETC_ALERTMANAGER_SOPHIA_YML", "SLACK_WEBHOOK_URL"]);
  });

  it("serves Grafana at its fly.dev name, since dev has no custom domain", () => {
    expect(plan.outputs.grafanaUrl).toBe("https://sophia-dev-grafana.fly.dev");
  });
});
