/** The plan's releases section, for a terminal `width` columns wide and for `plans/<stack>.md`. */
import { describeDuration } from "../config/duration";
import type { ReleaseSummary } from "./document";
import { DEFAULT_WIDTH, wrap } from "./text-layout";

const HEADING = "Releases (sophia:release): how a change reaches each service's machines";

function analysisText(r: ReleaseSummary): string {
  if (!r.analysis) return r.checksOnly ?? "";
  const { steps, windowSeconds, triggers, minRequests, lowTraffic, checksFailingInARow } = r.analysis;
  const who = r.strategy === "canary" ? "the canary" : steps === 1 ? "its machine" : `each of its ${steps} machines in turn`;
  // Fly Proxy routes nothing to a machine failing its checks, so Prometheus alone cannot show them.
  const checks = checksFailingInARow === null ? [] : [`its health checks failing ${checksFailingInARow} times in a row (Machines API)`];
  return (
    `${who} is watched for ${describeDuration(windowSeconds)} in Fly's Prometheus and the release rolled back on: ${[...triggers, ...checks].join("; ")}. ` +
    `Under ${minRequests} requests: ${lowTraffic === "hold" ? "held (rolled back)" : "proceeds unjudged"}`
  );
}

/** The section for a terminal `width` columns wide. */
export function renderReleases(releases: readonly ReleaseSummary[], width = DEFAULT_WIDTH): string {
  const name = Math.max(7, ...releases.map((r) => r.service.length));
  const strategy = Math.max(8, ...releases.map((r) => r.strategy.length));
  const indent = " ".repeat(2 + name + 2 + strategy + 2);
  const lines = wrap(HEADING, width, "", "  ");
  // Columns are padded; only the analysis wraps, under itself.
  for (const r of releases) lines.push(...wrap(analysisText(r), width, `  ${r.service.padEnd(name)}  ${r.strategy.padEnd(strategy)}  `, indent));
  if (releases.length === 0) lines.push("  none");
  return lines.join("\n");
}

export function renderReleasesMarkdown(releases: readonly ReleaseSummary[]): string[] {
  const cell = (c: string) => c.replace(/\|/g, "\\|");
  return ["## Releases", "", "| service | strategy | analysis |", "|---|---|---|", ...releases.map((r) => `| ${r.service} | ${r.strategy} | ${cell(analysisText(r))} |`), ""];
}
