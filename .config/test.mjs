// `npm test`: the type-check, the lint and the fast tests (`npm run test:unit`), all at once: on a
// 2-core machine the three fit beside each other better than one after the other. The tests'
// output streams as it comes; each check's is printed whole once it is done. Fails if any fails.
// Arguments after `npm test --` go to vitest. Lives in .config/ because the design card fixes the
// top level of the repository.
import { spawn } from "node:child_process";

const npm = process.platform === "win32" ? "npm.cmd" : "npm";

function run(args, buffered) {
  return new Promise((resolve) => {
    const child = spawn(npm, args, { stdio: buffered ? ["ignore", "pipe", "pipe"] : "inherit" });
    let output = "";
    if (buffered) {
      child.stdout.on("data", (chunk) => (output += chunk));
      child.stderr.on("data", (chunk) => (output += chunk));
    }
    child.on("error", (err) => resolve({ code: 1, output: `${err.message}\n` }));
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

const checks = [
  ["type-check", run(["run", "-s", "typecheck"], true)],
  ["lint", run(["run", "-s", "lint"], true)],
];
const tests = await run(["run", "-s", "test:unit", "--", ...process.argv.slice(2)], false);
let failed = tests.code !== 0;
for (const [name, check] of checks) {
  const { code, output } = await check;
  if (output.trim() !== "") process.stdout.write(`\n${name}:\n${output}`);
  if (code !== 0) {
    failed = true;
    process.stdout.write(`${name} failed (exit code ${code})\n`);
  }
}
process.exit(failed ? 1 : 0);
