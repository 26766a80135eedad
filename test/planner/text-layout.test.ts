/** Text that fits the terminal: the width, wrapped prose, tables that wrap their widest column, counted lists. */
import { describe, expect, it } from "vitest";
import { displayWidth, fitTable, summarizeList, terminalWidth, wrap } from "../../src/planner/text-layout";
import { expectEach } from "../helpers/expect-each";

describe("terminalWidth", () => {
  it("takes a terminal's own width over COLUMNS", () => {
    expect(terminalWidth({ isTTY: true, columns: 132 }, { COLUMNS: "80" })).toBe(132);
  });

  it("takes COLUMNS when the output is not a terminal", () => {
    expect(terminalWidth({ isTTY: false }, { COLUMNS: "120" })).toBe(120);
  });

  it("is 100 when neither says", () => {
    expect(terminalWidth({ isTTY: false }, {})).toBe(100);
    expect(terminalWidth({ isTTY: false }, { COLUMNS: "wide" })).toBe(100);
  });
});

describe("wrap", () => {
  const text = "Prices: Lambda on-demand GPU instances (re-checked types): https://lambda.ai/pricing (as of 2026-05-07); note: gpu_1x_gh200 $2.29, gpu_1x_h100_sxm5 $3.78";

  it("keeps every line within the width, with a hanging indent after the first", () => {
    const lines = wrap(text, 50, "", "  ");
    expectEach(lines, (line) => expect(displayWidth(line)).toBeLessThanOrEqual(50));
    expectEach(lines.slice(1), (line) => expect(line.startsWith("  ")).toBe(true));
    expect(lines.join(" ").replace(/\s+/g, " ")).toBe(text);
  });

  it("breaks a word longer than the line, after a slash where it can", () => {
    expect(wrap("cr.weaviate.io/semitechnologies/weaviate:1.38.11", 20)).toEqual(["cr.weaviate.io/", "semitechnologies/", "weaviate:1.38.11"]);
  });
});

describe("fitTable", () => {
  const rows = [["weaviate", "compute", "1 × shared-cpu-1x 1024MB (lax) × $0.01115/h × 195.5 h = $2.18"], ["fly-org", "egress", "5 GB × $0.02/GB = $0.10"]];

  it("is laid out as before when it fits", () => {
    expect(fitTable(["service", "kind", "formula"], rows, 200)[0]).toBe("service   kind     formula");
  });

  it("wraps the widest column inside it when the table is wider than the terminal", () => {
    const lines = fitTable(["service", "kind", "formula"], rows, 60);
    expectEach(lines, (line) => expect(displayWidth(line)).toBeLessThanOrEqual(60));
    expect(lines[2]).toMatch(/^weaviate {2}compute {2}1 × shared-cpu-1x/);
    expect(lines[3]).toMatch(/^ {19}\S/);
  });
});

describe("summarizeList", () => {
  const items = ['fly:Secrets "a"', 'fly:Secrets "b"', 'fly:IpAddress "c"', 'fly:Machine "d"'];
  const kind = (item: string) => item.split(" ")[0]!;

  it("counts a long list by group, largest first", () => {
    expect(summarizeList(items, kind, "resources")).toBe("4 resources: 2 fly:Secrets, 1 fly:IpAddress, 1 fly:Machine");
  });

  it("writes out a short one", () => {
    expect(summarizeList(items.slice(0, 2), kind, "resources")).toBe('fly:Secrets "a", fly:Secrets "b"');
  });
});
