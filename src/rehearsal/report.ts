/** How a rehearsal reads in a terminal: a line per resource as it happens, then a summary per phase. */
import type { OperationEvent } from "./deploy";
import type { PhaseName, PhaseReport, RehearsalReport } from "./phases";

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

/** One progress line: phase, what happened, to what, in platform time. */
export function progressLine(phase: PhaseName, event: OperationEvent, timeScale: number): string {
  const took = event.ms > 0 ? `  ${(event.ms / timeScale / 1000).toFixed(1)} s` : "";
  return `  [${phase}] ${VERB[event.action].padEnd(10)} ${event.kind.padEnd(24)} ${event.name}${took}`;
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

export function renderReport(report: RehearsalReport): string {
  const lines = [
    `Rehearsal of ${report.stack} against ${report.apis} emulators, time scale ${report.timeScale}`,
    "(simulated time: the longest chain of operations, real time ÷ time scale; it includes the rehearsal's own work, so it overstates)",
    "",
  ];
  for (const p of report.phases) {
    const counts = Object.entries(p.counts)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${n} ${k}`)
      .join(", ");
    lines.push(`${p.ok ? "PASS" : "FAIL"}  ${p.phase}: ${p.expectation}`);
    lines.push(`      ${counts || "no operation"}`);
    lines.push(`      API calls: ${calls(p.apiCalls)}`);
    lines.push(
      `      simulated wall time at most ${duration(p.simulatedSeconds)}${p.stages === undefined ? "" : `, ${p.stages} dependent stages`}` +
        `; real time ${duration(Math.round(p.realMs / 1000))} of its bound of ${duration(p.boundSeconds)}`,
    );
    if (p.interruption) {
      lines.push(`      interrupted after ${p.interruption.after} creates; made but never recorded: ${p.interruption.dropped.join(", ") || "nothing"}`);
    }
    if (p.retained?.length) lines.push(`      retained by the stack: ${p.retained.map((r) => `${r.kind} "${r.name}"`).join(", ")}`);
    for (const problem of p.problems) lines.push(`      - ${problem}`);
  }
  if (report.notRehearsed.length > 0) {
    const byKind = new Map<string, number>();
    for (const r of report.notRehearsed) byKind.set(r.kind, (byKind.get(r.kind) ?? 0) + 1);
    lines.push("", `Not rehearsed (not dynamic; given the plan's outputs): ${[...byKind].map(([k, n]) => `${n} ${k}`).join(", ")}`);
  }
  const partial = Object.entries(report.coverage).filter(([, c]) => !(c.created && c.diffed && c.deleted));
  if (partial.length > 0) {
    lines.push(`Kinds not through every operation here: ${partial.map(([k, c]) => `${k} (${Object.entries(c).filter(([, v]) => !v).map(([op]) => `not ${op}`).join(", ")})`).join("; ")}`);
  }
  lines.push("", report.ok ? "Rehearsal passed." : "Rehearsal FAILED: see the problems above.");
  return lines.join("\n");
}
