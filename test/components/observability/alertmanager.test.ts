/**
 * Alertmanager's routing config from the escalation matrix (components/observability/alertmanager.ts):
 * who hears each severity, how often, and where the watchdog goes; secrets only where they belong.
 */
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { alertmanagerConfig, PLACEHOLDER_RECEIVERS, receiverKinds, receiverName, renderAlertmanagerConfig, type ReceiverSecrets } from "../../../components/observability/alertmanager";
import { SEVERITIES } from "../../../src/config/slo";
import { expectEach } from "../../helpers/expect-each";
import { stackConfig } from "../../helpers/stack-config";

interface Route {
  receiver: string;
  matchers: string[];
  repeat_interval: string;
}
interface Receiver {
  name: string;
  pagerduty_configs?: { routing_key: string; severity: string }[];
  slack_configs?: { api_url: string }[];
  webhook_configs?: { url: string }[];
}
interface Routing {
  route: { receiver: string; routes: Route[] };
  receivers: Receiver[];
  inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal: string[] }[];
}

const prod = stackConfig("prod");
const dev = stackConfig("dev", { monitoring: { enabled: true } });
const routing = (config = prod, secrets: ReceiverSecrets = PLACEHOLDER_RECEIVERS) => alertmanagerConfig(config.monitoring, secrets) as unknown as Routing;
const receiver = (r: Routing, name: string) => r.receivers.find((x) => x.name === name)!;
const routeOf = (r: Routing, severity: string) => r.route.routes.find((x) => x.matchers.includes(`severity="${severity}"`));

describe("routing by severity", () => {
  it.each(SEVERITIES)("routes %s to its own receiver, repeated at its response time", (severity) => {
    const route = routeOf(routing(), severity);
    expect(route).toMatchObject({ receiver: receiverName(severity), repeat_interval: prod.monitoring.escalation[severity].respondWithin });
  });

  it("pages P0 and P1 through PagerDuty and posts them to Slack", () => {
    expectEach(["P0", "P1"] as const, (severity) => {
      const r = receiver(routing(), receiverName(severity));
      expect(r.pagerduty_configs).toEqual([expect.objectContaining({ routing_key: PLACEHOLDER_RECEIVERS.pagerdutyRoutingKey })]);
      expect(r.slack_configs).toEqual([expect.objectContaining({ api_url: PLACEHOLDER_RECEIVERS.slackWebhookUrl })]);
    });
    expect(receiver(routing(), receiverName("P0")).pagerduty_configs?.[0].severity).toBe("critical");
  });

  it("posts P2 and P3 to Slack and pages nobody", () => {
    expectEach(["P2", "P3"] as const, (severity) => {
      const r = receiver(routing(), receiverName(severity));
      expect(r.pagerduty_configs).toBeUndefined();
      expect(r.slack_configs).toHaveLength(1);
    });
  });

  it("sends the watchdog to the heartbeat receiver before any severity route, every heartbeat interval", () => {
    const first = routing().route.routes[0];
    expect(first).toMatchObject({ receiver: "heartbeat", matchers: ['alertname="Watchdog"'], repeat_interval: "5m" });
    expect(receiver(routing(), "heartbeat").webhook_configs).toEqual([expect.objectContaining({ url: PLACEHOLDER_RECEIVERS.heartbeatUrl })]);
  });

  it("lets a higher severity of the same alert on the same service silence the lower ones", () => {
    expect(routing().inhibit_rules[0]).toEqual({ source_matchers: ['severity="P0"'], target_matchers: ['severity=~"P1|P2|P3"'], equal: ["alertname", "service"] });
  });

  it("routes an alert of no known severity to the least urgent receiver, not to nobody", () => {
    expect(routing().route.receiver).toBe(receiverName("P3"));
  });
});

describe("secrets in the routing", () => {
  it("needs the PagerDuty key only where some severity pages: prod does, dev does not", () => {
    expect([...receiverKinds(prod.monitoring)].sort()).toEqual(["pagerduty", "slack"]);
    expect([...receiverKinds(dev.monitoring)]).toEqual(["slack"]);
    const devRouting = routing(dev, { slackWebhookUrl: "https://hooks.slack.com/services/T/B/x", heartbeatUrl: "https://hc-ping.com/x" });
    expectEach(devRouting.receivers, (r) => expect(r.pagerduty_configs).toBeUndefined());
  });

  it("refuses to render a page without the PagerDuty key, rather than write an empty one", () => {
    expect(() => routing(prod, { slackWebhookUrl: "https://hooks.slack.com/services/T/B/x", heartbeatUrl: "https://hc-ping.com/x" })).toThrow(/P0 needs the PagerDuty routing key/);
  });

  it("puts each given value exactly where it belongs and nowhere else", () => {
    const text = renderAlertmanagerConfig(prod.monitoring, { pagerdutyRoutingKey: "pd-key-1f3", slackWebhookUrl: "https://hooks.slack.com/services/T0/B0/s3cr3t", heartbeatUrl: "https://hc-ping.com/uuid-77" });
    expect(text.match(/pd-key-1f3/g)).toHaveLength(2);
    expect(text.match(/s3cr3t/g)).toHaveLength(4);
    expect(text.match(/uuid-77/g)).toHaveLength(1);
    expect(parse(text)).toEqual(JSON.parse(JSON.stringify(routing(prod, { pagerdutyRoutingKey: "pd-key-1f3", slackWebhookUrl: "https://hooks.slack.com/services/T0/B0/s3cr3t", heartbeatUrl: "https://hc-ping.com/uuid-77" }))));
  });
});
