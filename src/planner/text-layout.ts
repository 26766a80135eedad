/**
 * Text that fits the terminal: the width to write to, prose wrapped at it, tables whose widest
 * columns wrap instead of running past it, and long lists summarised with a count. Used by the
 * plan and the rehearsal for what they print for people; their JSON keeps every item.
 */

/** Width when the output is not a terminal and COLUMNS is not set (a CI log, a pipe). */
export const DEFAULT_WIDTH = 100;
/** Narrower than this, wrapping makes things worse, not better. */
const MIN_WIDTH = 40;
/** Space between table columns. */
const GAP = "  ";

/** The terminal's width: stdout's own when it is a terminal, else COLUMNS, else 100. */
export function terminalWidth(stream: { isTTY?: boolean; columns?: number } = process.stdout, env: NodeJS.ProcessEnv = process.env): number {
  const fromTerminal = stream.isTTY ? stream.columns : undefined;
  const fromEnv = Number(env.COLUMNS);
  const width = fromTerminal !== undefined && fromTerminal > 0 ? fromTerminal : Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_WIDTH;
  return Math.max(MIN_WIDTH, width);
}

/** Characters as a terminal counts them: one per code point (the box-drawing and × signs are one each). */
export function displayWidth(text: string): number {
  return [...text].length;
}

/** Splits a word longer than `width`, after a "/", ":" or "-" where one falls late enough, else anywhere. */
function breakWord(word: string, width: number): string[] {
  const parts: string[] = [];
  let rest = [...word];
  while (rest.length > width) {
    const head = rest.slice(0, width);
    const cut = Math.max(head.lastIndexOf("/"), head.lastIndexOf(":"), head.lastIndexOf("-"));
    const at = cut >= width / 2 ? cut + 1 : width;
    parts.push(rest.slice(0, at).join(""));
    rest = rest.slice(at);
  }
  return [...parts, rest.join("")];
}

/**
 * Wraps text at spaces to `width` columns, the first line after `first` and the rest after
 * `rest` (a hanging indent). A word longer than the line is broken.
 */
export function wrap(text: string, width: number, first = "", rest = first): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  const room = (prefix: string) => Math.max(1, width - displayWidth(prefix));
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    const candidate = empty ? `${line}${word}` : `${line} ${word}`;
    if (displayWidth(candidate) <= width) {
      line = candidate;
      empty = false;
      continue;
    }
    if (!empty) {
      lines.push(line);
      line = rest;
      empty = true;
    }
    const pieces = breakWord(word, room(line));
    for (const piece of pieces.slice(0, -1)) {
      lines.push(`${line}${piece}`);
      line = rest;
    }
    line = `${line}${pieces.at(-1)}`;
    empty = false;
  }
  lines.push(line);
  return lines.map((l) => l.trimEnd());
}

/** Wraps each paragraph (a list of lines in, a list of lines out). */
export function wrapAll(texts: string[], width: number, first = "", rest = first): string[] {
  return texts.flatMap((t) => wrap(t, width, first, rest));
}

/**
 * A table in columns two spaces apart, at most `width` wide: while it is too wide, the widest
 * column gives up a column (never below its header), and cells wrap inside their column.
 */
export function fitTable(headers: string[], rows: string[][], width: number): string[] {
  const widths = headers.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ""))));
  const floors = headers.map((h) => Math.max(displayWidth(h), 4));
  const total = () => widths.reduce((a, b) => a + b, 0) + GAP.length * (widths.length - 1);
  while (total() > width) {
    let widest = -1;
    widths.forEach((w, i) => {
      if (w > floors[i] && (widest === -1 || w > widths[widest])) widest = i;
    });
    if (widest === -1) break;
    widths[widest]--;
  }
  const render = (cells: string[]): string[] => {
    const wrapped = cells.map((c, i) => (displayWidth(c) <= widths[i] ? [c] : wrap(c, widths[i])));
    const height = Math.max(...wrapped.map((w) => w.length));
    return Array.from({ length: height }, (_, row) =>
      wrapped
        .map((w, i) => (w[row] ?? "").padEnd(widths[i] + (w[row] ?? "").length - displayWidth(w[row] ?? "")))
        .join(GAP)
        .trimEnd(),
    );
  };
  return [...render(headers), render(widths.map((w) => "-".repeat(w)))[0], ...rows.flatMap(render)];
}

/**
 * A long list as a count per group, e.g. "12 resources: 5 fly:Secrets, 4 fly:IpAddress, …"; short
 * lists are written out. `groupOf` names each item's group.
 */
export function summarizeList(items: string[], groupOf: (item: string) => string, noun: string, writeOutUpTo = 3): string {
  if (items.length === 0) return "nothing";
  if (items.length <= writeOutUpTo) return items.join(", ");
  const groups = new Map<string, number>();
  for (const item of items) groups.set(groupOf(item), (groups.get(groupOf(item)) ?? 0) + 1);
  const counts = [...groups].sort((a, b) => b[1] - a[1]).map(([group, n]) => `${n} ${group}`);
  return `${items.length} ${noun}: ${counts.join(", ")}`;
}
