/** How a rehearsal reads in a terminal: a line per resource as it happens, then a summary per phase. */
import type { OperationEvent } from "./deploy";
import type { PhaseName, PhaseReport, RehearsalReport } from "./phases";
import { DEFAULT_WIDTH, displayWidth, summarizeList, wrap } from "../planner/text-layout";

const VERB: Record<OperationEvent["action"], string> = {
  create: "created",
  update: "updated",
  replace: "replaced",
  same: "unchanged",
  delete: "deleted",
  retain: "retained",
  adopt: "adopted",
  dropped: "lost (created, never recorded)",
};

/** One progress line: phase, what happened, to what, in platform time; too wide for `width`, the name goes under the rest. */
export function progressLine(phase: PhaseName, event: OperationEvent, timeScale: number, width = DEFAULT_WIDTH): string {
  const took = event.ms > 0 ? `  ${(event.ms / timeScale / 1000).toFixed(1)} s` : "";
  const line = `  [${phase}] ${VERB[event.action].padEnd(10)} ${event.kind.padEnd(24)} ${event.name}${took}`;
  if (displayWidth(line) <= width) return line;
  return [...wrap(`[${phase}] ${VERB[event.action]} ${event.kind}`, width, "  ", "      "), ...wrap(`${event.name}${took}`, width, "      ")].join("\n");
}

function calls(apiCalls: PhaseReport["apiCalls"]): string {
  const parts = Object.entries(apiCalls).flatMap(([api, byMethod]) => {
    const methods = Object.entries(byMethod).sort(([a], [b]) => a.localeCompare(b));
    return methods.length === 0 ? [] : [`${api} ${methods.map(([m, n]) => `${m} ${n}`).join(", ")}`];
  });
  return parts.join("; ") || "none";
}

function duration(seconds: number): string {
  return seconds >= 90 ? `${Math.floor(seconds / 60)} min ${seconds % 60} s` : `${seconds} s`;
}

/** `fly:Volume "weaviate-vol-lax-0"` → `fly:Volume` */
const kindOf = (item: string) => item.split(" ")[0] ?? item;

/** The report for a terminal `width` columns wide; long lists are counted here and listed in full in --json. */
export function renderReport(report: RehearsalReport, width = DEFAULT_WIDTH): string {
  const detail = (text: string) => wrap(text, width, "      ", "        ");
  const lines = [
    ...wrap(`Rehearsal of ${report.stack} against ${report.apis} emulators, time scale ${report.timeScale}`, width),
    ...wrap("(simulated time: the longest chain of operations, real time ÷ time scale; it includes the rehearsal's own work, so it overstates)", width, "", " "),
    "",
  ];
  for (const p of report.phases) {
    const counts = Object.entries(p.counts)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${n} ${k}`)
      .join(", ");
    lines.push(...wrap(`${p.phase}: ${p.expectation}`, width, `${p.ok ? "PASS" : "FAIL"}  `, "      "));
    lines.push(...detail(counts || "no operation"));
    lines.push(...detail(`API calls: ${calls(p.apiCalls)}`));
    lines.push(
      ...detail(
        `simulated wall time at most ${duration(p.simulatedSeconds)}${p.stages === undefined ? "" : `, ${p.stages} dependent stages`}` +
          `; real time ${duration(Math.round(p.realMs / 1000))} of its bound of ${duration(p.boundSeconds)}`,
      ),
    );
    if (p.interruption) {
      const dropped = summarizeList(p.interruption.dropped, kindOf, "resources");
      lines.push(...detail(`interrupted after ${p.interruption.after} creates; made but never recorded: ${dropped}`));
    }
    if (p.rollbackSeconds !== undefined) lines.push(...detail(`breach seen to canary rolled back: ${p.rollbackSeconds} s (simulated)`));
    if (p.retained?.length) {
      const retained = summarizeList(p.retained.map((r) => `${r.kind} "${r.name}"`), kindOf, "resources");
      lines.push(...detail(`retained by the stack: ${retained}`));
    }
    if (p.rtoSeconds !== undefined) {
      lines.push(...detail(`RTO ${duration(p.rtoSeconds)} (rtoSeconds ${p.rtoSeconds}), RPO ${duration(p.rpoSeconds ?? 0)} (rpoSeconds ${p.rpoSeconds}); the seed's targets: 15 min each`));
    }
    for (const [service, restores] of groupBy(p.restores ?? [], (r) => r.service)) {
      const backups = [...new Set(restores.map((r) => r.backup))];
      const from = backups.length === 1 ? backups[0] : `${backups.length} backups (listed in --json)`;
      lines.push(...detail(`${service}: ${restores.length === 1 ? "restored" : `${restores.length} volumes restored`} from ${from}`));
    }
    for (const problem of p.problems) lines.push(...wrap(problem, width, "      - ", "        "));
  }
  for (const { phase, reason } of report.skipped ?? []) lines.push("", ...wrap(`SKIP  ${phase}: ${reason}`, width, "", "      "));
  if (report.notRehearsed.length > 0) {
    const byKind = new Map<string, number>();
    for (const r of report.notRehearsed) byKind.set(r.kind, (byKind.get(r.kind) ?? 0) + 1);
    lines.push("", ...wrap(`Not rehearsed (not dynamic; given the plan's outputs): ${[...byKind].map(([k, n]) => `${n} ${k}`).join(", ")}`, width, "", "  "));
  }
  const partial = Object.entries(report.coverage).filter(([, c]) => !(c.created && c.diffed && c.deleted));
  if (partial.length > 0) {
    const text = `Kinds not through every operation here: ${partial.map(([k, c]) => `${k} (${Object.entries(c).filter(([, v]) => !v).map(([op]) => `not ${op}`).join(", ")})`).join("; ")}`;
    lines.push(...wrap(text, width, "", "  "));
  }
  const summarized = report.phases.some((p) => (p.interruption?.dropped.length ?? 0) > 3 || (p.retained?.length ?? 0) > 3);
  if (summarized) lines.push(...wrap("Lists above are counted by kind; --json lists every resource.", width));
  lines.push("", report.ok ? "Rehearsal passed." : "Rehearsal FAILED: see the problems above.");
  return lines.join("\n");
}

/** Items grouped by a key, in the order each key first appears. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}
