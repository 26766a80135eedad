/**
 * The folders follow the import direction (README, "How it is built"): the emulators import nothing of
 * the product; providers import nothing above them; config reads platform facts; the profiles are
 * typed config; the stack config merges a stack file onto a profile; components build on providers
 * and config; the program wires components; the estimate reads a set of resources; the policies read
 * the estimate; the policy pack runs the policies under the Pulumi CLI; the planner runs the program
 * and the policies; the rehearsal runs the program against the emulators. A change that imports
 * upward, closes a cycle, or imports from test/ fails here.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(__dirname, "../..");
const sourceDirs = ["src", "components", "environments"];

function listTs(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return listTs(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

function resolveImport(from: string, spec: string): string {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, path.join(base, "index.ts")]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  throw new Error(`${path.relative(root, from)} imports "${spec}", which does not resolve`);
}

/** Relative imports of every project source file, repo-relative. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceDirs.flatMap((d) => listTs(path.join(root, d)))) {
    const text = fs.readFileSync(file, "utf8");
    const specs = [...text.matchAll(/(?:from|import|import\(|require\()\s*["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]!);
    graph.set(path.relative(root, file), specs.map((s) => path.relative(root, resolveImport(file, s))));
  }
  return graph;
}

/** Layers from the bottom up; a file may import its own layer or any below it. */
const LAYERS: { name: string; matches: (file: string) => boolean }[] = [
  // The emulators are an independent reading of the APIs: they import nothing of the product (checked below).
  { name: "emulators", matches: (f) => f.startsWith("src/emulators/") },
  { name: "providers", matches: (f) => f.startsWith("src/providers/") },
  { name: "platform facts", matches: (f) => f === "src/platform.ts" },
  { name: "config", matches: (f) => f.startsWith("src/config/") },
  { name: "environments", matches: (f) => f.startsWith("environments/") },
  { name: "stack config", matches: (f) => f === "src/stack-config.ts" },
  { name: "components", matches: (f) => f.startsWith("components/") },
  { name: "program", matches: (f) => f === "src/index.ts" || f === "src/program.ts" || f === "src/output-value.ts" },
  // What reads a set of resources (cost, per-service inspection): the policies and the plan share it.
  { name: "estimate", matches: (f) => f.startsWith("src/estimate/") },
  { name: "policies", matches: (f) => f.startsWith("src/policies/") },
  { name: "policy pack", matches: (f) => f.startsWith("src/policy-pack/") },
  { name: "planner", matches: (f) => f.startsWith("src/planner/") },
  { name: "rehearsal", matches: (f) => f.startsWith("src/rehearsal/") },
  // Reads a deployed stack's outputs and calls its services; shares the planner's command line.
  { name: "deploy check", matches: (f) => f.startsWith("src/deploy-check/") },
];

function layerOf(file: string): number {
  const index = LAYERS.findIndex((layer) => layer.matches(file));
  if (index < 0) throw new Error(`${file} belongs to no layer; add it to the README's architecture and to LAYERS here`);
  return index;
}

describe("import direction", () => {
  const graph = importGraph();

  it("every source file belongs to a layer", () => {
    expect(graph.size).toBeGreaterThan(0);
    for (const file of graph.keys()) expect(() => layerOf(file)).not.toThrow();
  });

  it("no file imports a layer above its own", () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      for (const target of imports) {
        if (layerOf(target) > layerOf(file)) upward.push(`${file} (${LAYERS[layerOf(file)]!.name}) imports ${target} (${LAYERS[layerOf(target)]!.name})`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("the emulators import nothing of the product, so they stay an independent reading of the APIs", () => {
    const emulatorFiles = [...graph.keys()].filter((file) => file.startsWith("src/emulators/"));
    expect(emulatorFiles.length).toBeGreaterThan(0);
    const outside = emulatorFiles.flatMap((file) => graph.get(file)!.filter((target) => !target.startsWith("src/emulators/")).map((target) => `${file} imports ${target}`));
    expect(outside).toEqual([]);
  });

  it("nothing outside test/ imports from test/", () => {
    const fromTests = [...graph].flatMap(([file, imports]) => imports.filter((target) => target.startsWith("test/")).map((target) => `${file} imports ${target}`));
    expect(fromTests).toEqual([]);
  });

  it("the source files import each other without a cycle", () => {
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (file: string, trail: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "visiting") {
        cycles.push([...trail.slice(trail.indexOf(file)), file].join(" -> "));
        return;
      }
      state.set(file, "visiting");
      for (const target of graph.get(file) ?? []) visit(target, [...trail, file]);
      state.set(file, "done");
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
