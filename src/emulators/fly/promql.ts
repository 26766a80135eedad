/**
 * PromQL for the emulator's Prometheus: the query text is parsed with Prometheus's own grammar
 * (@prometheus-io/lezer-promql) and the subset that release analysis and alert rules use is
 * evaluated over series the traffic model (metrics.ts) synthesises: selectors with every matcher
 * (regex ones too), range selectors, rate/increase, aggregations with by/without, histogram_quantile,
 * arithmetic, comparisons (with `bool`) and set operators, scalar and vector operands. Anything else
 * is refused with the construct's name, never answered with a guess.
 */
import { parser } from "@prometheus-io/lezer-promql";

type Node = ReturnType<typeof parser.parse>["topNode"];

export type Labels = Record<string, string>;
/** One series: its labels (with `__name__`) and its scraped samples, oldest first, in seconds. */
export interface Series {
  labels: Labels;
  samples: (start: number, end: number) => [number, number][];
}
/** What a selector reads: every series whose labels match. */
export type SeriesSource = (matchers: Matcher[]) => Series[];

export interface Matcher {
  name: string;
  op: "=" | "!=" | "=~" | "!~";
  value: string;
}

export type Value =
  | { type: "scalar"; value: number }
  | { type: "string"; value: string }
  | { type: "vector"; samples: { labels: Labels; value: number }[] }
  /** Points in (windowStart, time], plus the last one before the window for rate's base. */
  | { type: "matrix"; windowStart: number; series: { labels: Labels; points: [number, number][] }[] };

/** A query the emulator cannot answer: `kind` maps to Prometheus's errorType and status. */
export class QueryError extends Error {
  constructor(
    readonly kind: "bad_data" | "execution",
    message: string,
  ) {
    super(message);
  }
}

/** Prometheus's default lookback for an instant selector. */
const LOOKBACK_SECONDS = 300;

/** Evaluates `query` at `time` (unix seconds) over `source`. */
export function evaluate(query: string, time: number, source: SeriesSource): Value {
  const tree = parser.parse(query);
  tree.iterate({
    enter(node) {
      if (node.type.isError) throw new QueryError("bad_data", `1:${node.from + 1}: parse error: unexpected ${describeAt(query, node.from)}`);
    },
  });
  const root = tree.topNode.firstChild;
  if (!root) throw new QueryError("bad_data", "1:1: parse error: no expression found in input");
  return new Evaluator(query, time, source).eval(root);
}

function describeAt(query: string, at: number): string {
  const rest = query.slice(at).trim();
  return rest === "" ? "end of input" : `"${rest.slice(0, 20)}"`;
}

class Evaluator {
  constructor(
    private readonly text: string,
    private readonly time: number,
    private readonly source: SeriesSource,
  ) {}

  eval(node: Node): Value {
    switch (node.name) {
      case "PromQL":
      case "ParenExpr":
        return this.eval(only(children(node)));
      case "NumberDurationLiteral":
        return { type: "scalar", value: parseNumber(this.src(node)) };
      case "StringLiteral":
        return { type: "string", value: unquote(this.src(node)) };
      case "UnaryExpr":
        return this.unary(node);
      case "VectorSelector":
        return this.instant(node);
      case "MatrixSelector":
        return this.range(node);
      case "FunctionCall":
        return this.call(node);
      case "AggregateExpr":
        return this.aggregate(node);
      case "BinaryExpr":
        return this.binary(node);
      default:
        throw new QueryError("execution", `the emulator does not evaluate ${node.name} ("${this.src(node)}")`);
    }
  }

  private src(node: Node): string {
    return this.text.slice(node.from, node.to);
  }

  private unary(node: Node): Value {
    const [op, operand] = children(node);
    const value = this.eval(operand!);
    if (this.src(op!) === "+") return value;
    return mapValue(value, (v) => -v, true);
  }

  private selector(node: Node): Matcher[] {
    const matchers: Matcher[] = [];
    for (const child of children(node)) {
      if (child.name === "Identifier") matchers.push({ name: "__name__", op: "=", value: this.src(child) });
      if (child.name === "LabelMatchers") {
        for (const m of children(child)) {
          const parts = children(m);
          const name = parts.find((p) => p.name === "LabelName" || p.name === "QuotedLabelName");
          const op = parts.find((p) => p.name === "MatchOp");
          const value = parts.find((p) => p.name === "StringLiteral");
          if (!op || !value) {
            // A bare quoted name in braces is the metric name (Prometheus 3).
            if (m.name === "QuotedLabelName") matchers.push({ name: "__name__", op: "=", value: unquote(this.src(m)) });
            continue;
          }
          matchers.push({ name: name ? unquote(this.src(name)) : "__name__", op: this.src(op) as Matcher["op"], value: unquote(this.src(value)) });
        }
      }
    }
    if (!matchers.some((m) => !matchesLabel(m, ""))) {
      throw new QueryError("bad_data", `vector selector must contain at least one non-empty matcher: ${this.src(node)}`);
    }
    for (const m of matchers) if (m.op === "=~" || m.op === "!~") compileRegex(m.value);
    return matchers;
  }

  private instant(node: Node): Value {
    const samples: { labels: Labels; value: number }[] = [];
    for (const series of this.source(this.selector(node))) {
      const points = series.samples(this.time - LOOKBACK_SECONDS, this.time);
      const last = points.at(-1);
      if (last) samples.push({ labels: series.labels, value: last[1] });
    }
    return { type: "vector", samples };
  }

  private range(node: Node): Value {
    const [selector, duration] = children(node);
    const seconds = parseDuration(this.src(duration!));
    const series = this.source(this.selector(selector!))
      .map((s) => ({ labels: s.labels, points: s.samples(this.time - seconds, this.time), before: s.samples(this.time - seconds - LOOKBACK_SECONDS, this.time - seconds) }))
      .filter((s) => s.points.length > 0);
    return { type: "matrix", windowStart: this.time - seconds, series: series.map((s) => ({ labels: s.labels, points: [...s.before.slice(-1), ...s.points] })) };
  }

  private call(node: Node): Value {
    const [ident, body] = children(node);
    const name = this.src(ident!);
    const argNodes = children(body!);
    const args = argNodes.map((a) => this.eval(a));
    switch (name) {
      case "rate":
      case "increase": {
        const matrix = expect(args[0], "matrix", name);
        const window = this.time - matrix.windowStart;
        const samples = matrix.series.flatMap((s) => {
          const increase = counterIncrease(s.points, matrix.windowStart);
          return increase === undefined ? [] : [{ labels: dropName(s.labels), value: name === "rate" ? increase / window : increase }];
        });
        return { type: "vector", samples };
      }
      case "histogram_quantile": {
        const phi = expect(args[0], "scalar", name).value;
        return { type: "vector", samples: histogramQuantile(phi, expect(args[1], "vector", name).samples) };
      }
      case "clamp_min":
      case "clamp_max": {
        const bound = expect(args[1], "scalar", name).value;
        const vector = expect(args[0], "vector", name);
        const clamp = name === "clamp_min" ? (v: number) => Math.max(v, bound) : (v: number) => Math.min(v, bound);
        return { type: "vector", samples: vector.samples.map((s) => ({ labels: dropName(s.labels), value: clamp(s.value) })) };
      }
      case "abs":
        return mapValue(expect(args[0], "vector", name), Math.abs, true);
      case "scalar": {
        const vector = expect(args[0], "vector", name);
        return { type: "scalar", value: vector.samples.length === 1 ? vector.samples[0]!.value : NaN };
      }
      case "vector":
        return { type: "vector", samples: [{ labels: {}, value: expect(args[0], "scalar", name).value }] };
      case "time":
        return { type: "scalar", value: this.time };
      default:
        throw new QueryError("execution", `the emulator does not evaluate the function ${name}()`);
    }
  }

  private aggregate(node: Node): Value {
    const parts = children(node);
    const op = this.src(parts.find((p) => p.name === "AggregateOp")!);
    const modifier = parts.find((p) => p.name === "AggregateModifier");
    const body = parts.find((p) => p.name === "FunctionCallBody")!;
    const args = children(body);
    if (args.length !== 1) throw new QueryError("execution", `the emulator does not evaluate ${op} with parameters`);
    const vector = expect(this.eval(args[0]!), "vector", op);
    const grouping = modifier ? children(children(modifier).find((c) => c.name === "GroupingLabels")!).map((l) => unquote(this.src(l))) : [];
    const without = modifier ? children(modifier)[0]!.name === "Without" : false;
    const keyOf = (labels: Labels): Labels =>
      Object.fromEntries(
        Object.entries(labels).filter(([k]) => (without ? !grouping.includes(k) && k !== "__name__" : grouping.includes(k))),
      );
    const groups = new Map<string, { labels: Labels; values: number[] }>();
    for (const s of vector.samples) {
      const labels = keyOf(s.labels);
      const key = signature(labels);
      const group = groups.get(key) ?? { labels, values: [] };
      group.values.push(s.value);
      groups.set(key, group);
    }
    const reduce: Record<string, (values: number[]) => number> = {
      sum: (v) => v.reduce((a, b) => a + b, 0),
      avg: (v) => v.reduce((a, b) => a + b, 0) / v.length,
      min: (v) => Math.min(...v),
      max: (v) => Math.max(...v),
      count: (v) => v.length,
    };
    const fn = reduce[op];
    if (!fn) throw new QueryError("execution", `the emulator does not evaluate the aggregation ${op}`);
    return { type: "vector", samples: [...groups.values()].map((g) => ({ labels: g.labels, value: fn(g.values) })) };
  }

  private binary(node: Node): Value {
    const parts = children(node);
    const [lhsNode, opNode] = parts;
    const rhsNode = parts.at(-1)!;
    const op = this.src(opNode!);
    const returnBool = parts.some((p) => p.name === "BoolModifier");
    const matching = parts.find((p) => p.name === "MatchingModifierClause");
    const lhs = this.eval(lhsNode!);
    const rhs = this.eval(rhsNode);
    const comparison = COMPARISONS.includes(op);
    if (SET_OPERATORS.includes(op)) return this.setOperation(op, expect(lhs, "vector", op), expect(rhs, "vector", op), matching);
    const apply = (a: number, b: number): number | undefined => {
      const result = arithmetic(op, a, b);
      if (!comparison) return result;
      if (returnBool) return result ? 1 : 0;
      return result ? a : undefined;
    };
    if (lhs.type === "scalar" && rhs.type === "scalar") {
      if (comparison && !returnBool) throw new QueryError("bad_data", "comparisons between scalars must use BOOL modifier");
      return { type: "scalar", value: apply(lhs.value, rhs.value) ?? NaN };
    }
    if (lhs.type === "vector" && rhs.type === "scalar") return this.vectorScalar(lhs.samples, (v) => apply(v, rhs.value), comparison && !returnBool);
    if (lhs.type === "scalar" && rhs.type === "vector") {
      // A filtering comparison keeps the vector's own value.
      return this.vectorScalar(rhs.samples, (v) => (comparison && !returnBool ? (arithmetic(op, lhs.value, v) ? v : undefined) : apply(lhs.value, v)), comparison && !returnBool);
    }
    const left = expect(lhs, "vector", op);
    const right = expect(rhs, "vector", op);
    const key = this.matchKey(matching);
    const byKey = new Map<string, { labels: Labels; value: number }>();
    for (const s of right.samples) {
      const k = key(s.labels);
      if (byKey.has(k)) throw new QueryError("execution", `found duplicate series for the match group ${k} on the right hand-side of the operation: many-to-many matching not allowed`);
      byKey.set(k, s);
    }
    const samples: { labels: Labels; value: number }[] = [];
    for (const s of left.samples) {
      const match = byKey.get(key(s.labels));
      if (!match) continue;
      const value = apply(s.value, match.value);
      if (value === undefined) continue;
      const labels = comparison && !returnBool ? s.labels : this.resultLabels(s.labels, matching);
      samples.push({ labels, value });
    }
    return { type: "vector", samples };
  }

  private vectorScalar(samples: { labels: Labels; value: number }[], fn: (v: number) => number | undefined, keepName: boolean): Value {
    const out: { labels: Labels; value: number }[] = [];
    for (const s of samples) {
      const value = fn(s.value);
      if (value !== undefined) out.push({ labels: keepName ? s.labels : dropName(s.labels), value });
    }
    return { type: "vector", samples: out };
  }

  private matchLabels(matching: Node): string[] {
    const grouping = children(matching).find((c) => c.name === "GroupingLabels");
    if (children(matching).some((c) => c.name === "GroupLeft" || c.name === "GroupRight")) {
      throw new QueryError("execution", "the emulator does not evaluate group_left/group_right");
    }
    return grouping ? children(grouping).map((l) => unquote(this.src(l))) : [];
  }

  /** One-to-one matching keeps the `on` labels, or drops the `ignoring` ones, and the name. */
  private resultLabels(labels: Labels, matching: Node | undefined): Labels {
    if (!matching) return dropName(labels);
    const names = this.matchLabels(matching);
    if (this.src(children(matching)[0]!) === "on") return pick(labels, names);
    return Object.fromEntries(Object.entries(dropName(labels)).filter(([k]) => !names.includes(k)));
  }

  private matchKey(matching: Node | undefined): (labels: Labels) => string {
    if (!matching) return (labels) => signature(dropName(labels));
    const names = this.matchLabels(matching);
    const on = this.src(children(matching)[0]!) === "on";
    return (labels) => signature(on ? pick(labels, names) : Object.fromEntries(Object.entries(dropName(labels)).filter(([k]) => !names.includes(k))));
  }

  private setOperation(op: string, left: { samples: { labels: Labels; value: number }[] }, right: { samples: { labels: Labels; value: number }[] }, matching: Node | undefined): Value {
    const key = this.matchKey(matching);
    const rightKeys = new Set(right.samples.map((s) => key(s.labels)));
    if (op === "and") return { type: "vector", samples: left.samples.filter((s) => rightKeys.has(key(s.labels))) };
    if (op === "unless") return { type: "vector", samples: left.samples.filter((s) => !rightKeys.has(key(s.labels))) };
    const leftKeys = new Set(left.samples.map((s) => key(s.labels)));
    return { type: "vector", samples: [...left.samples, ...right.samples.filter((s) => !leftKeys.has(key(s.labels)))] };
  }
}

const COMPARISONS = ["==", "!=", ">", "<", ">=", "<="];
const SET_OPERATORS = ["and", "or", "unless"];

function arithmetic(op: string, a: number, b: number): number {
  switch (op) {
    case "+": return a + b;
    case "-": return a - b;
    case "*": return a * b;
    case "/": return a / b;
    case "%": return a % b;
    case "^": return a ** b;
    case "==": return a === b ? 1 : 0;
    case "!=": return a !== b ? 1 : 0;
    case ">": return a > b ? 1 : 0;
    case "<": return a < b ? 1 : 0;
    case ">=": return a >= b ? 1 : 0;
    case "<=": return a <= b ? 1 : 0;
    default:
      throw new QueryError("execution", `the emulator does not evaluate the operator ${op}`);
  }
}

/**
 * The increase of a counter from `windowStart` to its last sample, as VictoriaMetrics (Fly's
 * backend) computes it: from the last sample before the window when there is one, else from the
 * window's first sample; a drop is a counter reset. Undefined when nothing can be said.
 */
export function counterIncrease(points: [number, number][], windowStart: number): number | undefined {
  const inWindow = points.filter(([t]) => t > windowStart);
  const base = points.filter(([t]) => t <= windowStart).at(-1);
  const series = base ? [base, ...inWindow] : inWindow;
  if (series.length < 2) return undefined;
  let total = 0;
  for (let i = 1; i < series.length; i++) {
    const delta = series[i]![1] - series[i - 1]![1];
    total += delta >= 0 ? delta : series[i]![1];
  }
  return total;
}

/** Prometheus's histogram_quantile over classic buckets: linear interpolation within the bucket. */
export function histogramQuantile(phi: number, samples: { labels: Labels; value: number }[]): { labels: Labels; value: number }[] {
  const groups = new Map<string, { labels: Labels; buckets: [number, number][] }>();
  for (const s of samples) {
    if (s.labels.le === undefined) continue;
    const labels = Object.fromEntries(Object.entries(s.labels).filter(([k]) => k !== "le" && k !== "__name__"));
    const key = signature(labels);
    const group = groups.get(key) ?? { labels, buckets: [] };
    group.buckets.push([parseNumber(s.labels.le), s.value]);
    groups.set(key, group);
  }
  return [...groups.values()].map(({ labels, buckets }) => ({ labels, value: quantile(phi, buckets) }));
}

function quantile(phi: number, unsorted: [number, number][]): number {
  if (phi < 0) return -Infinity;
  if (phi > 1) return Infinity;
  const buckets = [...unsorted].sort((a, b) => a[0] - b[0]);
  // Counts are cumulative; keep them monotonic as Prometheus does after float noise.
  for (let i = 1; i < buckets.length; i++) buckets[i]![1] = Math.max(buckets[i]![1], buckets[i - 1]![1]);
  const last = buckets.at(-1);
  if (!last || last[0] !== Infinity || buckets.length < 2) return NaN;
  const total = last[1];
  if (total === 0) return NaN;
  const rank = phi * total;
  const index = buckets.findIndex(([, count]) => count >= rank);
  if (index === buckets.length - 1) return buckets[buckets.length - 2]![0];
  const [upper, count] = buckets[index]!;
  const [lower, below] = index === 0 ? [upper <= 0 ? upper : 0, 0] : buckets[index - 1]!;
  if (count === below) return upper;
  return lower + (upper - lower) * ((rank - below) / (count - below));
}

export function matchesLabel(m: Matcher, value: string): boolean {
  switch (m.op) {
    case "=": return value === m.value;
    case "!=": return value !== m.value;
    case "=~": return compileRegex(m.value).test(value);
    case "!~": return !compileRegex(m.value).test(value);
  }
}

/** Prometheus anchors label regexes at both ends. */
function compileRegex(source: string): RegExp {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch {
    throw new QueryError("bad_data", `invalid regular expression in label matcher: "${source}"`);
  }
}

function expect<T extends Value["type"]>(value: Value | undefined, type: T, where: string): Extract<Value, { type: T }> {
  if (!value || value.type !== type) {
    throw new QueryError("bad_data", `expected type ${type === "vector" ? "instant vector" : type === "matrix" ? "range vector" : type} in ${where}, got ${value ? value.type : "nothing"}`);
  }
  return value as Extract<Value, { type: T }>;
}

function mapValue(value: Value, fn: (v: number) => number, dropNames: boolean): Value {
  if (value.type === "scalar") return { type: "scalar", value: fn(value.value) };
  if (value.type === "vector") return { type: "vector", samples: value.samples.map((s) => ({ labels: dropNames ? dropName(s.labels) : s.labels, value: fn(s.value) })) };
  throw new QueryError("bad_data", `unary expression only allowed on expressions of type scalar or instant vector, got ${value.type}`);
}

function children(node: Node): Node[] {
  const out: Node[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) out.push(child);
  return out;
}

function only(nodes: Node[]): Node {
  const meaningful = nodes.filter((n) => n.name !== "(" && n.name !== ")");
  if (meaningful.length !== 1) throw new QueryError("bad_data", "parse error: expected one expression");
  return meaningful[0]!;
}

function dropName(labels: Labels): Labels {
  const { __name__: _name, ...rest } = labels;
  return rest;
}

function pick(labels: Labels, names: string[]): Labels {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => names.includes(k)));
}

export function signature(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(",");
}

function parseNumber(text: string): number {
  const lower = text.toLowerCase();
  if (lower === "inf" || lower === "+inf") return Infinity;
  if (lower === "-inf") return -Infinity;
  if (lower === "nan") return NaN;
  const value = Number(text);
  if (Number.isNaN(value)) throw new QueryError("bad_data", `invalid number "${text}"`);
  return value;
}

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

/** "1h30m", "15s", "500ms", or plain seconds. */
export function parseDuration(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) throw new QueryError("bad_data", `invalid duration "${text}"`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0);
}

function unquote(text: string): string {
  if (text.startsWith("`")) return text.slice(1, -1);
  if (text.startsWith('"') || text.startsWith("'")) {
    const inner = text.slice(1, -1);
    return inner.replace(/\\(.)/g, (_, c: string) => ({ n: "\n", t: "\t", "\\": "\\", '"': '"', "'": "'" })[c] ?? `\\${c}`);
  }
  return text;
}
