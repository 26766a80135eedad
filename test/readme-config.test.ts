/**
 * The README's configuration guidance works as written. Every YAML block in it is marked as a stack
 * file (`<!-- stack file: Pulumi.<stack>.yaml -->`) or as a fragment to merge into one
 * (`<!-- stack file: merge into Pulumi.<stack>.yaml -->`), and each is planned through the same
 * command line as `npm run plan`. Nested keys on a `pulumi config set` line use `--path`.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { projectDir, runPlanCliAsync } from "./helpers/cli";

const README = fs.readFileSync(path.join(projectDir, "README.md"), "utf8");
const MARKER = /<!-- stack file: (merge into )?Pulumi\.([\w.-]+)\.yaml -->\n```yaml\n([\s\S]*?)```/g;

interface Snippet {
  stackName: string;
  merge: boolean;
  yaml: string;
  line: number;
}

const snippets: Snippet[] = [...README.matchAll(MARKER)].map((m) => ({
  merge: m[1] !== undefined,
  stackName: m[2],
  yaml: m[3],
  line: README.slice(0, m.index).split("\n").length,
}));

type Mapping = Record<string, unknown>;
const isMapping = (v: unknown): v is Mapping => typeof v === "object" && v !== null && !Array.isArray(v);

/** What a reader does when told to merge lines into a stack file: add to mappings, replace anything else, keep nulls. */
function mergeInto(base: unknown, extra: unknown): unknown {
  if (!isMapping(base) || !isMapping(extra)) return extra;
  const out: Mapping = { ...base };
  for (const [key, value] of Object.entries(extra)) out[key] = mergeInto(base[key], value);
  return out;
}

function stackFileText(snippet: Snippet): string {
  if (!snippet.merge) return snippet.yaml;
  const named = parse(fs.readFileSync(path.join(projectDir, `Pulumi.${snippet.stackName}.yaml`), "utf8")) as unknown;
  return stringify(mergeInto(named, parse(snippet.yaml)));
}

describe("README configuration snippets", () => {
  it("marks every YAML block as a stack file or a fragment of one", () => {
    const yamlBlocks = README.match(/```yaml\n/g) ?? [];
    expect(snippets.length).toBeGreaterThan(0);
    expect(snippets.length).toBe(yamlBlocks.length);
  });

  it.concurrent.each(snippets)("the block at README line $line plans as a stack file of $stackName", { timeout: 120_000 }, async (snippet) => {
    const stackDir = fs.mkdtempSync(path.join(os.tmpdir(), "readme-stack-"));
    fs.writeFileSync(path.join(stackDir, `Pulumi.${snippet.stackName}.yaml`), stackFileText(snippet));
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "readme-plan-"));
    const result = await runPlanCliAsync(["--stack", snippet.stackName, "--stack-dir", stackDir, "--out", out]);
    expect(result.status, result.stderr).toBe(0);
  });

  it("every link to a section of the README leads to a heading", () => {
    // GitHub's anchors: the heading in lower case, without punctuation, spaces as dashes.
    const anchors = new Set([...README.matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-")));
    const links = [...README.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((link) => !anchors.has(link))).toEqual([]);
  });

  it("sets nested keys with pulumi config set --path", () => {
    const sets = README.split("\n").filter((line) => /pulumi config set\b/.test(line));
    const nested = sets.filter((line) => /\bsophia:\w+[.[]/.test(line));
    expect(nested.length).toBeGreaterThan(0);
    expect(nested.filter((line) => !line.includes("--path"))).toEqual([]);
  });
});
