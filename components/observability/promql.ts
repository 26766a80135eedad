/**
 * Small builders for PromQL text: label selectors and numbers. Everything the rules, the
 * dashboards and the release gate query goes through here, so quoting is done once. (The gate's
 * selector holds placeholders for the new machines, which the machine provider fills in and
 * escapes: components/release-analysis.ts, src/providers/fly/resources/release-analysis.ts.)
 */

/** One label matcher, e.g. `app="sophia-prod-unified-api"` or `instance=~"148e…|3d8e…"`. */
export interface Matcher {
  label: string;
  op: "=" | "!=" | "=~" | "!~";
  value: string;
}

/** A set of matchers: which series a query reads. */
export type Selector = readonly Matcher[];

const quote = (value: string) => `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;

/** `{app="x",status=~"5.."}`: the selector's matchers, then the extra ones. */
export function braces(selector: Selector, ...extra: Matcher[]): string {
  return `{${[...selector, ...extra].map((m) => `${m.label}${m.op}${quote(m.value)}`).join(",")}}`;
}

/** Every series of one Fly app. */
export function appSelector(app: string): Selector {
  return [{ label: "app", op: "=", value: app }];
}

export const SERVER_ERRORS: Matcher = { label: "status", op: "=~", value: "5.." };
export const NOT_SERVER_ERRORS: Matcher = { label: "status", op: "!~", value: "5.." };

/** A number as PromQL and people read it: 0.0144, not 0.014400000000000001. */
export function num(n: number): string {
  return String(Number(n.toPrecision(10)));
}

/** A share as a percentage, exactly: 0.0144 → "1.44%". */
export function percent(ratio: number): string {
  return `${num(ratio * 100)}%`;
}

/** A share as a percentage for a sentence, to two significant digits: 0.042857 → "4.3%". */
export function roughPercent(ratio: number): string {
  return `${Number((ratio * 100).toPrecision(2))}%`;
}
