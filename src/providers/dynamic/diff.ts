/** The one diff helper: which properties changed, and which of those replace the resource. */
import { containsUnknown } from "./unknown";

/** Deep equality where undefined, null, [] and {} all mean "not set", and key order does not count. */
export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

function normalize(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.map(normalize);
  if (typeof value === "object") {
    const entries = Object.entries(value)
      .map(([k, v]) => [k, normalize(v)] as const)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b));
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  }
  return value;
}

/** The properties among `keys` whose new value differs from the old one (or isn't known yet). */
export function changedKeys<T extends object>(olds: Partial<T>, news: Partial<T>, keys: readonly (keyof T & string)[]): string[] {
  return keys.filter((key) => containsUnknown(news[key]) || !sameValue(olds[key], news[key]));
}

/** Compares inputs with the stored outputs, property by property; unknown new values count as changed. */
export function diffProps<T extends object>(
  olds: Partial<T>,
  news: Partial<T>,
  props: { replace: readonly (keyof T & string)[]; update: readonly (keyof T & string)[] },
): { changed: string[]; replaces: string[] } {
  const replaces = changedKeys(olds, news, props.replace);
  return { changed: [...replaces, ...changedKeys(olds, news, props.update)], replaces };
}
