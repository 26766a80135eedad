/**
 * `npm run plan` and the monitoring: prod writes the rule file and the routing beside its JSON and
 * lists the SLOs and the alerts by severity; dev, with monitoring off, writes neither and says
 * which key turns it on.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import type { PlanDocument } from "../../src/planner/document";
import { deployedRuleFile } from "../../src/estimate/monitoring";
import { PLACEHOLDER_RECEIVERS } from "../../components/observability/alertmanager";
import { expectEach } from "../helpers/expect-each";
import { runPlanCliAsync } from "../helpers/cli";
import { displayWidth } from "../../src/planner/text-layout";

interface Planned {
  status: number | null;
  stdout: string;
  stderr: string;
  out: string;
  doc: PlanDocument;
}

/** The terminal's width for these plans: the section must fit it. */
const WIDTH = 120;

async function plan(stack: string): Promise<Planned> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "plan-monitoring-"));
  // A stale file from an earlier plan must not survive a plan that writes none.
  fs.writeFileSync(path.join(out, `${stack}.rules.yml`), "stale");
  const result = await runPlanCliAsync(["--stack", stack, "--out", out], { COLUMNS: String(WIDTH) });
  return { ...result, out, doc: JSON.parse(fs.readFileSync(path.join(out, `${stack}.json`), "utf8")) as PlanDocument };
}

let prod: Planned;
let dev: Planned;
beforeAll(async () => {
  [prod, dev] = await Promise.all([plan("prod"), plan("dev")]);
}, 240_000);

/** The plan's monitoring section, from its first line to the cost estimate. */
const section = (text: string) => text.slice(text.indexOf("\nMonitoring: "), text.indexOf("\nMonthly cost estimate"));

describe("the prod plan", () => {
  it("writes the exact rule file vmalert gets", () => {
    expect(prod.status, prod.stderr).toBe(0);
    const written = fs.readFileSync(path.join(prod.out, "prod.rules.yml"), "utf8");
    expect(written).toBe(deployedRuleFile(prod.doc.resources));
    expect((parse(written) as { groups: unknown[] }).groups.length).toBeGreaterThan(3);
  });

  it("writes the routing with placeholders where ESC supplies the secrets", () => {
    const written = fs.readFileSync(path.join(prod.out, "prod.alertmanager.yml"), "utf8");
    expectEach(Object.values(PLACEHOLDER_RECEIVERS), (placeholder) => expect(written).toContain(placeholder));
    expect(written).not.toMatch(/plan-placeholder|plan-generated/);
  });

  it("lists the SLOs and the alerts by severity, with who is told and how soon", () => {
    const text = section(prod.stdout);
    expect(text).toContain("Monitoring: on (sophia:monitoring.enabled)");
    expect(text).toMatch(/^ {2}unified-api +99\.9% +P95 < 150 ms, P99 < 300 ms$/m);
    expect(text).toContain("  P0  PagerDuty + Slack, respond within 15m");
    expect(text).toContain("  P3  Slack, respond within 24h");
    expect(text).toMatch(/^ {6}ErrorBudgetBurn 1h\/5m: unified-api, agno-bridge$/m);
  });

  it(`keeps the monitoring section within the terminal's ${WIDTH} columns`, () => {
    expectEach(section(prod.stdout).split("\n"), (line) => expect(displayWidth(line), line).toBeLessThanOrEqual(WIDTH));
  });

  it("puts the same in the JSON: SLOs, every alert, the files and Grafana's address", () => {
    expect(prod.doc.monitoring).toMatchObject({
      enabled: true,
      sloWindow: "14d",
      files: { rules: "prod.rules.yml", alertmanager: "prod.alertmanager.yml" },
      grafanaUrl: "https://grafana.sophia-intel.ai",
      withoutSlo: [],
    });
    expect(prod.doc.monitoring.alerts.length).toBe(prod.doc.monitoring.alerts.filter((a) => ["P0", "P1", "P2", "P3"].includes(a.severity)).length);
  });
});

describe("the dev plan", () => {
  it("writes no rule file and no routing, and removes a stale one", () => {
    expect(dev.status, dev.stderr).toBe(0);
    expect(fs.readdirSync(dev.out).sort()).toEqual(["dev.json", "dev.md"]);
  });

  it("says monitoring is off and which key turns it on", () => {
    expect(section(dev.stdout)).toContain("Monitoring: off. Turn it on with: pulumi config set --path sophia:monitoring.enabled true");
    expect(dev.doc.monitoring).toMatchObject({ enabled: false, files: null, alerts: [] });
  });

  it("stays inside its $25 budget with monitoring off", () => {
    expect(dev.doc.cost.total).toBeLessThanOrEqual(25);
  });
});
