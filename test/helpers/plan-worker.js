/**
 * A process that runs `npm run plan`'s command many times: the same compiled command the launcher
 * (src/planner/start.js) runs, with the same offline settings, given each run's arguments over IPC
 * and answering with its exit code and what it wrote to stdout and stderr. A plan process spends
 * most of its time starting Node and loading Pulumi; the tests (test/helpers/cli.ts) pay that once
 * per worker instead of once per plan. The command loads the program afresh on every run after the
 * first (src/planner/engine.ts), as the rehearsal's runs do.
 *
 * Plain JavaScript, started with `node`: nothing to compile before it runs.
 */
"use strict";
const path = require("node:path");

const { loadPlanCommand, projectRoot } = require(path.join(__dirname, "..", "..", "src", "planner", "start.js"));
const { planCommand } = loadPlanCommand();

// A failed plan leaves promises that reject after its run has answered (Pulumi's own, for
// resources that never registered); a CLI process would have exited by then.
process.on("unhandledRejection", () => undefined);

let queue = Promise.resolve();

process.on("message", (request) => {
  queue = queue.then(() => run(request));
});

async function run({ id, args }) {
  let stdout = "";
  let stderr = "";
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  const capture = (append) => (chunk, encoding, callback) => {
    append(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString());
    const done = typeof encoding === "function" ? encoding : callback;
    if (done) process.nextTick(done);
    return true;
  };
  process.stdout.write = capture((text) => (stdout += text));
  process.stderr.write = capture((text) => (stderr += text));
  let status;
  try {
    status = await planCommand(args, projectRoot);
  } catch (err) {
    stderr += `plan worker: ${err && err.stack ? err.stack : String(err)}\n`;
    status = 1;
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
  process.send({ id, status, stdout, stderr });
}

// The test process that started it is gone: so is the reason to run.
process.on("disconnect", () => process.exit(0));

process.send({ ready: true });
