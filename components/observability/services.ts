/**
 * The monitoring apps, as service definitions like the others (so the plan, the cost, the diagram,
 * the guardrails and the rehearsal see them): vmalert evaluates the generated rules against Fly's
 * managed Prometheus and sends what fires to Alertmanager, which routes by severity; Grafana
 * shows the generated dashboards. Off the shelf, pinned, configured through machine `files`, and
 * run only with sophia:monitoring.enabled.
 *
 * Secrets never sit in a plain file: vmalert expands `%{NAME}` in its flags from the environment
 * (VictoriaMetrics' env references, v1.83+) and Grafana expands `$NAME` in provisioning files, and
 * both get the Prometheus token as a Fly secret; Alertmanager's routing config, which must hold
 * its webhook URLs inline, travels whole as a Fly secret (see ./alertmanager.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../../src/config/schema";
import { SECRETS, type SecretKey } from "../../src/config/secrets";
import { FLY_PROMETHEUS } from "../../src/platform";
import type { ServiceDefinition, StackView } from "../service-definition";
import { flycastUrl } from "../fly-service";
import { publicUrl } from "../platform-services";
import { receiverKinds, renderAlertmanagerConfig } from "./alertmanager";
import { dashboardFiles, dashboardProviderFile, datasourcesFile, DASHBOARDS_DIR } from "./grafana";
import { alertGroups, monitoredServices, renderRuleFile, type RuleInput } from "./rules";
import { extraAlertGroups } from "./alert-sources";

/** Pinned releases of the engines. vmalert must be v1.128.0 or later, for `-secret.flags` (below). */
export const VMALERT_IMAGE = "victoriametrics/vmalert:v1.139.0";
export const ALERTMANAGER_IMAGE = "prom/alertmanager:v0.28.1";
export const GRAFANA_IMAGE = "grafana/grafana:12.2.0";

export const RULES_PATH = "/etc/vmalert/rules.yml";
export const ALERTMANAGER_CONFIG_PATH = "/etc/alertmanager/sophia.yml";

const monitoringOn = (config: StackConfig) => config.monitoring.enabled;
const AUTHORIZATION_ENV = SECRETS.flyPrometheusToken.envName;
const ALERTMANAGER_URL_ENV = "ALERTMANAGER_URL";

/** What the rules are generated from, for a stack. */
export function ruleInput(view: Pick<StackView, "config" | "plan">): RuleInput {
  const { config, plan } = view;
  return {
    slo: config.slo,
    monitoring: config.monitoring,
    services: monitoredServices(config, plan),
    gpu: { standing: config.gpu.standing, reporterApp: plan.gpuLauncher.spec.appName },
  };
}

/** The rule file vmalert gets: the generated groups and those other capabilities add. */
export function stackRuleFile(view: StackView): string {
  return renderRuleFile(alertGroups(ruleInput(view), extraAlertGroups(view)), view.config.monitoring);
}

const vmalert: ServiceDefinition = {
  name: "vmalert",
  image: VMALERT_IMAGE,
  port: 8880,
  healthPath: "/health",
  reach: "private",
  secrets: ["flyPrometheusToken"],
  calls: { alertmanager: { url: ALERTMANAGER_URL_ENV } },
  enabled: monitoringOn,
  internal: true,
  metrics: { port: 8880, path: "/metrics" },
  env: (spec) => ({ FLY_PROMETHEUS_URL: FLY_PROMETHEUS.queryUrl(spec.org) }),
  // `%{NAME}` is filled in by vmalert itself from the machine's environment, before it logs every
  // flag at startup (lib/logger/flag.go) and exports each as `flag{name,value}` on /metrics
  // (lib/appmetrics/appmetrics.go), which Fly scrapes. Both hide only a flag whose name holds
  // pass/key/secret/token or that `-secret.flags` lists (VictoriaMetrics lib/envflag/secret.go,
  // since v1.128.0; an older vmalert refuses the flag and prints the expanded arguments as it exits).
  init: (spec) => ({
    cmd: [
      "-secret.flags=datasource.headers",
      `-rule=${RULES_PATH}`,
      "-datasource.url=%{FLY_PROMETHEUS_URL}",
      `-datasource.headers=Authorization:%{${AUTHORIZATION_ENV}}`,
      `-notifier.url=%{${ALERTMANAGER_URL_ENV}}`,
      `-httpListenAddr=:${spec.ports[0].internalPort}`,
      `-external.url=${flycastUrl(spec)}`,
    ],
  }),
  fromStack: (view) => ({ files: [{ path: RULES_PATH, content: stackRuleFile(view) }] }),
};

/** Alertmanager needs the PagerDuty key only when some severity pages. */
function alertmanagerSecrets(config: StackConfig): SecretKey[] {
  const kinds = receiverKinds(config.monitoring);
  return [...(kinds.has("pagerduty") ? (["pagerdutyRoutingKey"] as const) : []), ...(kinds.has("slack") ? (["slackWebhookUrl"] as const) : []), "alertHeartbeatUrl"];
}

const alertmanager: ServiceDefinition = {
  name: "alertmanager",
  image: ALERTMANAGER_IMAGE,
  port: 9093,
  healthPath: "/-/healthy",
  reach: "private",
  secrets: alertmanagerSecrets,
  enabled: monitoringOn,
  internal: true,
  metrics: { port: 9093, path: "/metrics" },
  // One instance, so no gossip; silences live as long as the machine does (the image runs as
  // `nobody`, which cannot write to a Fly volume, mounted as root).
  init: (spec) => ({
    cmd: [
      `--config.file=${ALERTMANAGER_CONFIG_PATH}`,
      "--storage.path=/alertmanager",
      `--web.listen-address=:${spec.ports[0].internalPort}`,
      "--cluster.listen-address=",
      `--web.external-url=${flycastUrl(spec)}`,
    ],
  }),
  fromStack: ({ config, secrets }) => {
    const kinds = receiverKinds(config.monitoring);
    const content = pulumi
      .all([kinds.has("pagerduty") ? secrets.pagerdutyRoutingKey : undefined, kinds.has("slack") ? secrets.slackWebhookUrl : undefined, secrets.alertHeartbeatUrl])
      .apply(([pagerdutyRoutingKey, slackWebhookUrl, heartbeatUrl]) => renderAlertmanagerConfig(config.monitoring, { pagerdutyRoutingKey, slackWebhookUrl, heartbeatUrl }));
    return { files: [{ path: ALERTMANAGER_CONFIG_PATH, content, secret: true }] };
  },
};

const grafana: ServiceDefinition = {
  name: "grafana",
  image: GRAFANA_IMAGE,
  port: 3000,
  healthPath: "/api/health",
  reach: "public",
  secrets: ["flyPrometheusToken"],
  calls: { alertmanager: { url: ALERTMANAGER_URL_ENV } },
  // The admin password, generated by the stack (`pulumi stack output grafanaAdminPassword --show-secrets`).
  accessKey: { env: "GF_SECURITY_ADMIN_PASSWORD" },
  enabled: monitoringOn,
  internal: true,
  env: () => ({
    GF_AUTH_ANONYMOUS_ENABLED: "false",
    GF_USERS_ALLOW_SIGN_UP: "false",
    GF_SECURITY_COOKIE_SECURE: "true",
    GF_ANALYTICS_REPORTING_ENABLED: "false",
    GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
    // Its /metrics would be public on the same port; nothing here reads it.
    GF_METRICS_ENABLED: "false",
  }),
  fromStack: ({ config, plan }) => {
    const self = plan.fly.find((p) => p.definition.name === "grafana");
    const services = monitoredServices(config, plan);
    const dashboards = dashboardFiles(config.slo, services, { reporterApp: plan.gpuLauncher.spec.appName, standing: config.gpu.standing });
    return {
      env: self ? { GF_SERVER_ROOT_URL: publicUrl(config, self.spec) } : undefined,
      files: [
        {
          path: "/etc/grafana/provisioning/datasources/sophia.yaml",
          content: datasourcesFile({ prometheusUrl: FLY_PROMETHEUS.queryUrl(config.flyOrg), authorizationEnv: AUTHORIZATION_ENV, alertmanagerUrlEnv: ALERTMANAGER_URL_ENV }),
        },
        { path: "/etc/grafana/provisioning/dashboards/sophia.yaml", content: dashboardProviderFile() },
        ...Object.entries(dashboards).map(([name, content]) => ({ path: `${DASHBOARDS_DIR}/${name}`, content })),
      ],
    };
  },
};

/** The monitoring apps, in the order they are created. */
export const MONITORING_DEFINITIONS: readonly ServiceDefinition[] = [alertmanager, vmalert, grafana];

/** What `pulumi stack output` shows of the monitoring: Grafana's URL and admin password. */
export function monitoringOutputs(config: StackConfig, urls: Record<string, pulumi.Output<string>>, accessKeys: Record<string, pulumi.Output<string>>) {
  if (!config.monitoring.enabled) return {};
  return { grafanaUrl: urls.grafana, grafanaAdminPassword: accessKeys.grafana ? pulumi.secret(accessKeys.grafana) : undefined };
}
