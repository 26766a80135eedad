/**
 * Every dependency with an install script is allowed or denied explicitly in package.json's
 * `allowScripts` (npm 11 warns about the others; a later npm blocks them), and only esbuild's runs:
 * it puts the native binary in place that the offline plan compiles with.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, test } from "vitest";

const root = path.resolve(__dirname, "..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { allowScripts?: Record<string, boolean> };
const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { hasInstallScript?: boolean }> };

/** `node_modules/a/node_modules/@b/c` → `@b/c` */
const nameOf = (key: string) => key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length);

test("every dependency with an install script is allowed or denied in allowScripts", () => {
  const withScripts = Object.entries(lock.packages).filter(([key, p]) => key !== "" && p.hasInstallScript).map(([key]) => nameOf(key));
  expect(withScripts.length).toBeGreaterThan(0);
  const decided = Object.keys(pkg.allowScripts ?? {}).map((key) => key.replace(/(?<=.)@[^@/]+$/, ""));
  expect(withScripts.filter((name) => !decided.includes(name))).toEqual([]);
});

test("only esbuild's install script runs: the Pulumi CLI installs @pulumi/command's plugin itself", () => {
  expect(Object.entries(pkg.allowScripts ?? {}).filter(([, allowed]) => allowed).map(([name]) => name)).toEqual(["esbuild"]);
});
