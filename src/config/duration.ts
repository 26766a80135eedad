/**
 * Durations as Prometheus, vmalert and Alertmanager write them (`30s`, `5m`, `1h30m`, `14d`), so
 * that a value in the stack file goes into a rule file or a route unchanged.
 */
import { z } from "zod";

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const WHOLE = /^(\d+[smhdw])+$/;

/** Seconds in a duration such as `1h30m`, or undefined when it is not one. */
export function durationSeconds(text: string): number | undefined {
  if (!WHOLE.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([smhdw])/g)) total += Number(amount) * UNIT_SECONDS[unit];
  return total;
}

/** The shortest way to write `seconds` in one unit where it divides evenly: 900 → `15m`. */
export function formatDuration(seconds: number): string {
  for (const unit of ["w", "d", "h", "m"] as const) {
    if (seconds >= UNIT_SECONDS[unit] && seconds % UNIT_SECONDS[unit] === 0) return `${seconds / UNIT_SECONDS[unit]}${unit}`;
  }
  return `${seconds}s`;
}

/** Words for a duration in messages: `14 days`, `90 seconds`. */
export function describeDuration(seconds: number): string {
  const names: [string, number][] = [["week", 604_800], ["day", 86_400], ["hour", 3600], ["minute", 60]];
  for (const [name, size] of names) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size} ${name}${seconds === size ? "" : "s"}`;
  }
  return `${seconds} second${seconds === 1 ? "" : "s"}`;
}

/** A duration in the config: a number and a unit, more than zero. */
export const durationSchema = z.string().superRefine((value, ctx) => {
  const seconds = durationSeconds(value);
  if (seconds === undefined) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a duration; write a whole number and a unit (s, m, h, d, w), e.g. 30s, 5m, 1h, 14d` });
  } else if (seconds === 0) {
    ctx.addIssue({ code: "custom", message: `"${value}" is zero; give a duration of at least 1s` });
  }
});
