/** The plan's releases section, for the terminal (at most 120 columns) and for `plans/<stack>.md`. */
import { describeDuration } from "../config/duration";
import type { ReleaseSummary } from "./document";
import { wrap } from "./render-monitoring";

const WIDTH = 120;
const HEADING = "Releases (sophia:release): how a change reaches each service's machines";

function analysisText(r: ReleaseSummary): string {
  if (!r.analysis) return r.checksOnly ?? "";
  const { steps, windowSeconds, triggers, minRequests, lowTraffic } = r.analysis;
  const who = r.strategy === "canary" ? "the canary" : steps === 1 ? "its machine" : `each of its ${steps} machines in turn`;
  return (
    `${who} is watched for ${describeDuration(windowSeconds)} in Fly's Prometheus and the release rolled back on: ${triggers.join("; ")}. ` +
    `Under ${minRequests} requests: ${lowTraffic === "hold" ? "held (rolled back)" : "proceeds unjudged"}`
  );
}

export function renderReleases(releases: readonly ReleaseSummary[]): string {
  const name = Math.max(7, ...releases.map((r) => r.service.length));
  const strategy = Math.max(8, ...releases.map((r) => r.strategy.length));
  const indent = " ".repeat(2 + name + 2 + strategy + 2);
  const lines = [HEADING];
  for (const r of releases) {
    // Columns are padded; only the analysis wraps, under itself.
    const [first, ...rest] = wrap(analysisText(r), "", WIDTH - indent.length);
    lines.push(`  ${r.service.padEnd(name)}  ${r.strategy.padEnd(strategy)}  ${first}`, ...rest.map((l) => `${indent}${l}`));
  }
  if (releases.length === 0) lines.push("  none");
  return lines.join("\n");
}

export function renderReleasesMarkdown(releases: readonly ReleaseSummary[]): string[] {
  const cell = (c: string) => c.replace(/\|/g, "\\|");
  return ["## Releases", "", "| service | strategy | analysis |", "|---|---|---|", ...releases.map((r) => `| ${r.service} | ${r.strategy} | ${cell(analysisText(r))} |`), ""];
}
