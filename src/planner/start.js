/**
 * The entry of `npm run plan`: runs the plan tool compiled to JavaScript, rebuilt whenever a source
 * changed, with Pulumi's slow closure-serialization modules stubbed before Pulumi loads.
 *
 * Plain JavaScript because it runs before anything can compile TypeScript. The compiled tree lives
 * in node_modules/.cache/sophia-plan/<hash of the sources' paths, sizes and mtimes>/, so a changed,
 * added or removed source gives a new hash and a fresh build (esbuild, about 0.2 s); parallel runs
 * each use a complete tree, since a build is renamed into place only when it is finished.
 */
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..", "..");
const SOURCE_DIRS = ["src", "components", "environments"];
const cacheDir = path.join(root, "node_modules", ".cache", "sophia-plan");
/** Builds unused for this long are removed when a new one is made; a running plan has long loaded its files. */
const STALE_BUILD_MS = 10 * 60 * 1000;

function sources() {
  const files = [];
  for (const dir of SOURCE_DIRS) {
    for (const entry of fs.readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) files.push(path.join(entry.parentPath ?? entry.path, entry.name));
    }
  }
  return files.sort();
}

function signature(files) {
  const hash = crypto.createHash("sha256");
  hash.update(`${process.version}\0${root}\n`);
  for (const file of files) {
    const stat = fs.statSync(file);
    hash.update(`${path.relative(root, file)}\0${stat.size}\0${stat.mtimeMs}\n`);
  }
  return hash.digest("hex").slice(0, 16);
}

function build(files, outDir) {
  const esbuild = require("esbuild");
  const tmp = `${outDir}.tmp-${process.pid}-${crypto.randomBytes(4).toString("hex")}`;
  esbuild.buildSync({ entryPoints: files, outdir: tmp, outbase: root, format: "cjs", platform: "node", target: `node${process.versions.node.split(".")[0]}`, logLevel: "error" });
  try {
    fs.renameSync(tmp, outDir);
  } catch (err) {
    // Another run finished the same build first; use theirs.
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(outDir)) throw err;
  }
  for (const name of fs.readdirSync(cacheDir)) {
    const old = path.join(cacheDir, name);
    // A parallel run may have pruned it (or renamed its own build) since the listing.
    const stat = fs.statSync(old, { throwIfNoEntry: false });
    if (old !== outDir && stat !== undefined && Date.now() - stat.mtimeMs > STALE_BUILD_MS) fs.rmSync(old, { recursive: true, force: true });
  }
}

function compiledTree() {
  const files = sources();
  const outDir = path.join(cacheDir, signature(files));
  if (fs.existsSync(outDir)) {
    // Marks the build as in use, so that another project's build does not prune it.
    const now = new Date();
    fs.utimesSync(outDir, now, now);
  } else {
    fs.mkdirSync(cacheDir, { recursive: true });
    build(files, outDir);
  }
  return outDir;
}

/** Loads the compiled plan command, after the offline settings that must precede Pulumi. */
function loadPlanCommand() {
  const tree = compiledTree();
  require(path.join(tree, "src", "planner", "offline-process.js")).prepareOfflineProcess();
  return { tree, planCommand: require(path.join(tree, "src", "planner", "plan-command.js")).planCommand };
}

if (require.main === module) {
  const tree = compiledTree();
  require(path.join(tree, "src", "planner", "offline-process.js")).prepareOfflineProcess();
  require(path.join(tree, "src", "planner", "cli.js"));
} else {
  // A process that runs the plan command many times (the tests' plan workers) loads it from here.
  module.exports = { loadPlanCommand, projectRoot: root };
}
