/**
 * What `npm run test:alerts` shares: the files the plan writes for prod (`npm run plan -- --stack
 * prod`, into a temp dir), Prometheus's own tools (promtool, amtool), and scenario tests written
 * as synthetic series plus the alerts that must fire, turned into promtool's test format.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import type { PlanDocument } from "../../src/planner/document";
import { runPlanCliAsync } from "../helpers/cli";

/** promtool or amtool, or a clear failure saying how to get it. */
export function tool(name: "promtool" | "amtool"): string {
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).stdout.trim();
  if (found === "") {
    throw new Error(
      `${name} is not installed. It comes from Debian's ${name === "promtool" ? "prometheus" : "prometheus-alertmanager"} package: ` +
        "apt-get install -y --no-install-recommends prometheus prometheus-alertmanager (.ci/run installs both when they are missing).",
    );
  }
  return found;
}

export interface ToolRun {
  status: number | null;
  output: string;
}

export function run(name: "promtool" | "amtool", args: string[]): ToolRun {
  const result = spawnSync(tool(name), args, { encoding: "utf8" });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** The prod plan's files: the rule file and the routing, as `npm run plan -- --stack prod` writes them. */
export interface PlannedFiles {
  dir: string;
  rules: string;
  alertmanager: string;
  doc: PlanDocument;
}

export async function planProd(): Promise<PlannedFiles> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "alerts-"));
  const result = await runPlanCliAsync(["--stack", "prod", "--out", dir]);
  if (result.status !== 0) throw new Error(`npm run plan -- --stack prod failed (${String(result.status)}): ${result.stderr}`);
  return {
    dir,
    rules: path.join(dir, "prod.rules.yml"),
    alertmanager: path.join(dir, "prod.alertmanager.yml"),
    doc: JSON.parse(fs.readFileSync(path.join(dir, "prod.json"), "utf8")) as PlanDocument,
  };
}

interface Rule {
  alert: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export function rulesOf(file: string): Rule[] {
  const doc = parse(fs.readFileSync(file, "utf8")) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
}

/**
 * A counter in promtool's series notation: it starts at 0 and grows by `perStep` each interval for
 * `steps` intervals, segment after segment, so that a rate can change mid-test.
 */
export function counter(...segments: [steps: number, perStep: number][]): string {
  let value = 0;
  const parts = ["0"];
  for (const [steps, perStep] of segments) {
    parts.push(steps === 1 ? `${value + perStep}` : `${value + perStep}+${perStep}x${steps - 1}`);
    value += steps * perStep;
  }
  return parts.join(" ");
}

/** A gauge that holds each value for its number of intervals. */
export function gauge(...segments: [steps: number, value: number][]): string {
  return segments.map(([steps, value]) => (steps === 1 ? `${value}` : `${value}x${steps - 1}`)).join(" ");
}

/** Which rule an expected alert is: its name, and labels that tell it from the alert's other rules. */
export interface Expected {
  alert: string;
  /** Labels of the rule, e.g. `{ service: "unified-api", severity: "P0" }`. */
  rule: Record<string, string>;
  /** Labels the expression adds, e.g. the machine's `instance`. @default none */
  extra?: Record<string, string>;
  /** Rule annotations as promtool renders their templates (e.g. `{{ $value | humanizeDuration }}`). @default none templated */
  rendered?: Record<string, string>;
}

export interface Check {
  /** Time since the series start, e.g. "63m". */
  at: string;
  alert: string;
  /** Every alert of that name that must be firing then; an empty list means none may. */
  firing: Expected[];
}

export interface Scenario {
  /** Interval between samples, e.g. "1m". */
  interval: string;
  /** How often promtool evaluates the rules; a longer one keeps a scenario of a day quick. @default "30s" */
  evaluationInterval?: string;
  series: { series: string; values: string }[];
  checks: Check[];
}

/** The expected alert as promtool wants it: every label and annotation of its rule, plus what the expression adds. */
function expectedAlert(rules: Rule[], expected: Expected): { exp_labels: Record<string, string>; exp_annotations: Record<string, string> } {
  const matches = rules.filter((r) => r.alert === expected.alert && Object.entries(expected.rule).every(([k, v]) => r.labels[k] === v));
  if (matches.length !== 1) {
    throw new Error(`expected alert ${expected.alert} ${JSON.stringify(expected.rule)} matches ${matches.length} rules in the rule file, not one`);
  }
  const [rule] = matches;
  return { exp_labels: { alertname: rule.alert, ...rule.labels, ...expected.extra }, exp_annotations: { ...rule.annotations, ...expected.rendered } };
}

/** Writes the scenario as a promtool test file and runs `promtool test rules` on it. */
export function promtoolTest(rulesFile: string, name: string, scenario: Scenario): ToolRun {
  const rules = rulesOf(rulesFile);
  const test = {
    rule_files: [rulesFile],
    evaluation_interval: scenario.evaluationInterval ?? "30s",
    tests: [
      {
        name,
        interval: scenario.interval,
        input_series: scenario.series,
        alert_rule_test: scenario.checks.map((c) => ({ eval_time: c.at, alertname: c.alert, exp_alerts: c.firing.map((e) => expectedAlert(rules, e)) })),
      },
    ],
  };
  const file = path.join(path.dirname(rulesFile), `${name.replace(/[^a-z0-9]+/gi, "-")}.test.yml`);
  fs.writeFileSync(file, stringify(test, { lineWidth: 0 }));
  return run("promtool", ["test", "rules", file]);
}
