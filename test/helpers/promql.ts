/** PromQL syntax through Prometheus's own grammar (@prometheus-io/lezer-promql, the one its UI uses). */
import { parser } from "@prometheus-io/lezer-promql";

/** Where the expression fails to parse, as "at <offset>: <text around it>"; empty when it parses. */
export function promqlErrors(expr: string): string[] {
  const errors: string[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(`at ${node.from}: …${expr.slice(Math.max(0, node.from - 20), node.from + 20)}…`);
    },
  });
  return errors;
}
