/**
 * The prod routing, as `npm run plan -- --stack prod` writes it (placeholders for ESC's secrets),
 * through Alertmanager's own amtool: the config loads, and every severity and the watchdog reach
 * the receiver the escalation matrix names. Dev's routing, monitoring on, loads too.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PLACEHOLDER_RECEIVERS, receiverName, renderAlertmanagerConfig } from "../../components/observability/alertmanager";
import { SEVERITIES } from "../../src/config/slo";
import { stackConfig } from "../helpers/stack-config";
import { planProd, run, type PlannedFiles } from "./harness";

let files: PlannedFiles;
beforeAll(async () => {
  files = await planProd();
});

/** `amtool config routes test`, which exits non-zero when the alert reaches another receiver. */
const route = (receiver: string, labels: string[]) => run("amtool", ["config", "routes", "test", `--config.file=${files.alertmanager}`, `--verify.receivers=${receiver}`, ...labels]);

describe("amtool", () => {
  it("check-config accepts the routing", () => {
    const result = run("amtool", ["check-config", files.alertmanager]);
    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain("SUCCESS");
  });

  it.each(SEVERITIES)("routes a %s alert to its severity's receiver", (severity) => {
    const result = route(receiverName(severity), [`severity=${severity}`, "service=unified-api", "alertname=ErrorBudgetBurn"]);
    expect(result.status, result.output).toBe(0);
  });

  it("routes the watchdog to the heartbeat receiver, whatever its severity", () => {
    const result = route("heartbeat", ["alertname=Watchdog", "severity=P3", "service=platform"]);
    expect(result.status, result.output).toBe(0);
  });

  it("routes an alert of no known severity to the least urgent receiver", () => {
    const result = route(receiverName("P3"), ["alertname=SomethingNew", "service=unified-api"]);
    expect(result.status, result.output).toBe(0);
  });

  it("check-config accepts dev's routing with monitoring on, which pages nobody", () => {
    const dev = stackConfig("dev", { monitoring: { enabled: true } });
    const file = path.join(files.dir, "dev.alertmanager.yml");
    fs.writeFileSync(file, renderAlertmanagerConfig(dev.monitoring, { slackWebhookUrl: PLACEHOLDER_RECEIVERS.slackWebhookUrl, heartbeatUrl: PLACEHOLDER_RECEIVERS.heartbeatUrl }));
    const result = run("amtool", ["check-config", file]);
    expect(result.status, result.output).toBe(0);
    expect(fs.readFileSync(file, "utf8")).not.toContain("pagerduty");
  });
});
