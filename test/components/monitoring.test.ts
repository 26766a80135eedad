/**
 * Prod's monitoring apps under the mock engine: vmalert, Alertmanager and Grafana as Fly services
 * like the others, configured through machine `files` and `metrics`, with every secret a Fly
 * secret and never a plain file.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { FLY_SERVICE_TYPE, fileSecretName } from "../../components/fly-service";
import { ALERTMANAGER_CONFIG_PATH, ALERTMANAGER_IMAGE, GRAFANA_IMAGE, RULES_PATH, stackRuleFile, VMALERT_IMAGE } from "../../components/observability/services";
import { loadStackConfig, type StackConfig } from "../../src/stack-config";
import { deployedRuleFile } from "../../src/estimate/monitoring";
import { stackPlan } from "../helpers/stack-config";
import { expectEach } from "../helpers/expect-each";
import { machineInputs, planStack, type PlannedStack } from "../helpers/plan";

/** Recognizable values standing in for ESC's; none may appear in a plain input. */
const secrets = {
  "sophia:flyPrometheusToken": "FlyV1 fm2_test_readonly_token_31c",
  "sophia:pagerdutyRoutingKey": "test-pagerduty-routing-key-8e2",
  "sophia:slackWebhookUrl": "https://hooks.slack.com/services/T000/B000/test-slack-secret-5a9",
  "sophia:alertHeartbeatUrl": "https://hc-ping.com/test-heartbeat-uuid-c47",
};

let plan: PlannedStack;
let config: StackConfig;
beforeAll(async () => {
  plan = await planStack("prod", { secretOverrides: secrets });
  config = loadStackConfig();
}, 60_000);

interface MachineConfig {
  image: string;
  env: Record<string, string>;
  init?: { cmd?: string[] };
  files?: { guest_path: string; raw_value?: string; secret_name?: string }[];
  metrics?: { port: number; path: string };
  metadata: Record<string, string>;
}
const machineOf = (service: string) => machineInputs(plan.inside(FLY_SERVICE_TYPE, service).find((r) => r.kind === "fly:Machine")!).config as unknown as MachineConfig;
const secretsOf = (service: string) => plan.inside(FLY_SERVICE_TYPE, service).find((r) => r.kind === "fly:Secrets")!.inputs.values as Record<string, string>;
const decode = (raw: string | undefined) => Buffer.from(raw ?? "", "base64").toString("utf8");

describe("prod's monitoring apps", () => {
  it("runs vmalert, Alertmanager and Grafana, one always-on machine each in the primary region, on pinned images", () => {
    const images = Object.fromEntries(["vmalert", "alertmanager", "grafana"].map((s) => [s, machineOf(s).image]));
    expect(images).toEqual({ vmalert: VMALERT_IMAGE, alertmanager: ALERTMANAGER_IMAGE, grafana: GRAFANA_IMAGE });
    expectEach(["vmalert", "alertmanager", "grafana"], (service) => {
      const machines = plan.inside(FLY_SERVICE_TYPE, service).filter((r) => r.kind === "fly:Machine").map(machineInputs);
      expect(machines.map((m) => [m.region, m.config.services[0].autostop]), service).toEqual([["sjc", "off"]]);
    });
    expect(images.vmalert).toMatch(/:v\d+\.\d+\.\d+$/);
  });

  it("gives vmalert exactly the rule file generated from the SLOs, as a machine file", () => {
    const file = machineOf("vmalert").files?.find((f) => f.guest_path === RULES_PATH);
    expect(decode(file?.raw_value)).toBe(stackRuleFile({ config, plan: stackPlan(config), secrets: {} as never }));
    expect(deployedRuleFile(plan.resources)).toBe(decode(file?.raw_value));
  });

  it("links every alert's runbook to the README at an absolute URL, which Slack and PagerDuty can open", () => {
    const file = parse(decode(machineOf("vmalert").files?.find((f) => f.guest_path === RULES_PATH)?.raw_value)) as { groups: { rules: { annotations: { runbook: string } }[] }[] };
    const runbooks = file.groups.flatMap((g) => g.rules.map((r) => r.annotations.runbook));
    expect(runbooks.length).toBeGreaterThan(10);
    expectEach(runbooks, (runbook) => expect(runbook).toMatch(/^https:\/\/[^#\s]+\/README\.md#[a-z0-9-]+$/));
  });

  it("points vmalert at Fly's Prometheus with the token from its environment, and at Alertmanager over Flycast", () => {
    const { init, env } = machineOf("vmalert");
    expect(init?.cmd).toEqual(expect.arrayContaining([`-rule=${RULES_PATH}`, "-datasource.url=%{FLY_PROMETHEUS_URL}", "-datasource.headers=Authorization:%{FLY_PROMETHEUS_AUTHORIZATION}", "-notifier.url=%{ALERTMANAGER_URL}"]));
    expect(env).toMatchObject({ FLY_PROMETHEUS_URL: "https://api.fly.io/prometheus/sophia", ALERTMANAGER_URL: "http://sophia-prod-alertmanager.flycast:9093" });
    expect(Object.keys(secretsOf("vmalert"))).toEqual(["FLY_PROMETHEUS_AUTHORIZATION"]);
  });

  it("hides every vmalert flag that carries a secret from its startup log and its /metrics page", () => {
    const flags = (machineOf("vmalert").init?.cmd ?? []).flatMap((arg) => {
      const m = /^-([^=]+)=(.*)$/s.exec(arg);
      return m ? [{ name: m[1].toLowerCase(), value: m[2] }] : [];
    });
    const secretEnvs = Object.keys(secretsOf("vmalert"));
    const carrying = flags.filter((f) => secretEnvs.some((env) => f.value.includes(`%{${env}}`))).map((f) => f.name);
    expect(carrying).toContain("datasource.headers");
    // VictoriaMetrics' IsSecretFlag (lib/flagutil/secret.go): a name containing pass, key, secret
    // or token, or one listed in -secret.flags (lib/envflag/secret.go).
    const listed = flags.filter((f) => f.name === "secret.flags").flatMap((f) => f.value.toLowerCase().split(","));
    const hidden = (name: string) => /pass|key|secret|token/.test(name) || listed.includes(name);
    expect(carrying.filter((name) => !hidden(name))).toEqual([]);
  });

  it("pins a vmalert that knows -secret.flags (v1.128.0 and later)", () => {
    const [major, minor] = (/:v(\d+)\.(\d+)\.\d+$/.exec(VMALERT_IMAGE) ?? []).slice(1).map(Number);
    expect(major * 1000 + minor, VMALERT_IMAGE).toBeGreaterThanOrEqual(1128);
  });

  it("delivers Alertmanager's routing as a secret file: the machine config names the secret and holds no contents", () => {
    const { files } = machineOf("alertmanager");
    expect(files).toEqual([{ guest_path: ALERTMANAGER_CONFIG_PATH, secret_name: fileSecretName(ALERTMANAGER_CONFIG_PATH) }]);
    expect(secretsOf("alertmanager")).toMatchObject({ [fileSecretName(ALERTMANAGER_CONFIG_PATH)]: "[secret]" });
  });

  it("gives Alertmanager the PagerDuty key, the Slack webhook and the heartbeat URL as Fly secrets", () => {
    expect(Object.keys(secretsOf("alertmanager")).sort()).toEqual(["ALERT_HEARTBEAT_URL", fileSecretName(ALERTMANAGER_CONFIG_PATH), "PAGERDUTY_ROUTING_KEY", "SLACK_WEBHOOK_URL"].sort());
  });

  it("provisions Grafana's datasource and dashboards from files, its admin password generated and its token a secret", () => {
    const { files, env } = machineOf("grafana");
    expect(files?.map((f) => f.guest_path)).toEqual([
      "/etc/grafana/provisioning/datasources/sophia.yaml",
      "/etc/grafana/provisioning/dashboards/sophia.yaml",
      "/etc/grafana/dashboards/sophia-slo.json",
      "/etc/grafana/dashboards/sophia-services.json",
      "/etc/grafana/dashboards/sophia-gpu.json",
    ]);
    expect(env).toMatchObject({ GF_SERVER_ROOT_URL: "https://grafana.sophia-intel.ai", GF_AUTH_ANONYMOUS_ENABLED: "false" });
    expect(Object.keys(secretsOf("grafana")).sort()).toEqual(["FLY_PROMETHEUS_AUTHORIZATION", "GF_SECURITY_ADMIN_PASSWORD"]);
    expect(plan.ofKind("random:RandomPassword").map((r) => r.name)).toContain("grafana-access-key");
    expect(plan.outputs).toMatchObject({ grafanaUrl: "https://grafana.sophia-intel.ai", grafanaAdminPassword: "[secret]" });
  });

  it("serves Grafana at its hostname under the stack's domain, with a certificate", () => {
    expect(plan.ofKind("fly:Certificate").map((c) => `${c.inputs.hostname} → ${c.inputs.app}`)).toContain("grafana.sophia-intel.ai → sophia-prod-grafana");
  });

  it("has Fly scrape vmalert's and Alertmanager's own metrics, and unified-api's GPU readiness", () => {
    expect(machineOf("vmalert").metrics).toEqual({ port: 8880, path: "/metrics" });
    expect(machineOf("alertmanager").metrics).toEqual({ port: 9093, path: "/metrics" });
    expect(machineOf("unified-api").metrics).toEqual({ port: 9091, path: "/metrics" });
    expect(machineOf("grafana").metrics).toBeUndefined();
  });

  it("marks the monitoring apps as operators' tools and the product's services as not", () => {
    expect(["vmalert", "alertmanager", "grafana"].map((s) => machineOf(s).metadata["sophia-internal"])).toEqual(["true", "true", "true"]);
    expect(machineOf("unified-api").metadata["sophia-internal"]).toBeUndefined();
  });

  it("never lets a monitoring secret into a plain input, a file or an output", () => {
    const decodedFiles = plan.ofKind("fly:Machine").flatMap((m) => ((machineInputs(m).config as unknown as MachineConfig).files ?? []).map((f) => decode(f.raw_value)));
    const everything = plan.text + decodedFiles.join("\n");
    expectEach(Object.values(secrets), (value) => {
      expect(everything).not.toContain(value);
      expect(everything).not.toContain(Buffer.from(value).toString("base64"));
    });
    expect(everything).not.toContain("fm2_test_readonly_token");
  });
});
