/** The plan's policy section, for the terminal and for `plans/<stack>.md`. */
import type { PolicyReport, PolicyResult } from "../policies";
import { DEFAULT_WIDTH, wrap } from "./text-layout";

/** "policies: 6 passed, 1 failed (2 mandatory violations), 1 not applicable" */
export function policySummary(report: PolicyReport): string {
  const parts = [`${report.passed} passed`];
  if (report.failed > 0) {
    const mandatory = report.mandatoryViolations;
    parts.push(`${report.failed} failed${mandatory > 0 ? ` (${mandatory} mandatory violation${mandatory === 1 ? "" : "s"})` : " (advisory)"}`);
  }
  if (report.notApplicable > 0) parts.push(`${report.notApplicable} not applicable`);
  return `policies: ${parts.join(", ")}`;
}

const MARK = { passed: "✓", failed: "✗", skipped: "–" };

function status(result: PolicyResult): { mark: string; label: string } {
  if (result.enforcement === "not applicable") return { mark: MARK.skipped, label: `${result.name} (not applicable to this stack)` };
  return { mark: result.violations.length === 0 ? MARK.passed : MARK.failed, label: `${result.name} (${result.enforcement})` };
}

export function renderPolicies(report: PolicyReport, width = DEFAULT_WIDTH): string {
  return [
    policySummary(report),
    ...report.results.flatMap((result) => {
      const { mark, label } = status(result);
      return [`  ${mark} ${label}`, ...result.violations.flatMap((v) => wrap(v.message, width, "      - ", "        "))];
    }),
  ].join("\n");
}

export function renderPoliciesMarkdown(report: PolicyReport): string[] {
  return [
    `## ${policySummary(report).replace(/^policies/, "Policies")}`,
    "",
    ...report.results.flatMap((result) => {
      const { mark, label } = status(result);
      return [`- ${mark} \`${label.split(" ")[0]}\` ${label.slice(label.indexOf(" ") + 1)}: ${result.description}`, ...result.violations.map((v) => `  - **${v.message}**`)];
    }),
    "",
  ];
}
