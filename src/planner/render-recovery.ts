/** The plan's recovery table, for the terminal and the Markdown plan: each stateful service next to the seed's targets. */
import type { PlanDocument, RecoverySummary } from "./document";
import { DEFAULT_WIDTH, fitTable, wrap, wrapAll } from "./text-layout";

interface RecoveryOutput {
  activeRegion?: string;
  lostRegion?: string;
  rpoTargetMinutes?: number;
  bucket?: string | null;
}

const HEADERS = ["service", "method", "RPO", "data in", "restores into", "backups"];
const row = (r: RecoverySummary) => [r.service, r.method, `${r.rpoMinutes} min`, r.region, r.restoresInto.join(", "), r.schedule];

function heading(doc: PlanDocument): string {
  const out = (doc.outputs.recovery ?? {}) as RecoveryOutput;
  const seed = doc.cost.seedReference?.recovery;
  const targets = seed ? `seed targets: RPO ≤ ${seed.rpoMinutes} min, regional RTO ≤ ${seed.rtoMinutes} min; ` : "";
  const failover = out.lostRegion ? `; failed over from ${out.lostRegion}` : "";
  return `Recovery (${targets}stack RPO target ${out.rpoTargetMinutes ?? "?"} min; active region ${out.activeRegion ?? "?"}${failover})`;
}

function notes(doc: PlanDocument): string[] {
  const out = (doc.outputs.recovery ?? {}) as RecoveryOutput;
  return [
    ...(out.bucket ? [`Backups go to ${out.bucket} (sophia:recovery.bucket), which outlives a region.`] : []),
    ...doc.recovery.map((r) => `Restore ${r.service}: ${r.restore}${r.restoreFrom ? `; the next one from ${r.restoreFrom}` : ""}.`),
  ];
}

/** The section for a terminal `width` columns wide. */
export function renderRecovery(doc: PlanDocument, width = DEFAULT_WIDTH): string {
  if (doc.recovery.length === 0) return "Recovery: no stateful service in this plan.";
  return [...wrap(heading(doc), width, "", "  "), ...fitTable(HEADERS, doc.recovery.map(row), width), ...wrapAll(notes(doc), width, "", "  ")].join("\n");
}

export function renderRecoveryMarkdown(doc: PlanDocument): string[] {
  if (doc.recovery.length === 0) return [];
  const cell = (c: string) => c.replace(/\|/g, "\\|");
  return [
    "## Recovery",
    "",
    heading(doc),
    "",
    `| ${HEADERS.join(" | ")} |`,
    `|${HEADERS.map(() => "---").join("|")}|`,
    ...doc.recovery.map((r) => `| ${row(r).map(cell).join(" | ")} |`),
    "",
    ...notes(doc).map((n) => `- ${n}`),
    "",
  ];
}
