/** The restore jobs' scripts, run by /bin/sh with a stand-in `litestream` that records its arguments. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { LITESTREAM_RESTORE_SCRIPT } from "../../../components/recovery/restore-jobs";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Runs the Litestream restore script; the stand-in writes its arguments and exits 0. */
function runLitestreamRestore(env: Record<string, string>): { status: number | null; args: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sophia-restore-job-"));
  dirs.push(dir);
  fs.mkdirSync(path.join(dir, "bin"));
  fs.writeFileSync(path.join(dir, "bin", "litestream"), `#!/bin/sh\nprintf '%s\\n' "$@" > "${dir}/args"\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, "restore.sh"), LITESTREAM_RESTORE_SCRIPT);
  const run = spawnSync("/bin/sh", [path.join(dir, "restore.sh")], {
    env: { PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`, SOPHIA_DB_PATH: path.join(dir, "data", "app.db"), ...env },
    encoding: "utf8",
  });
  const argsFile = path.join(dir, "args");
  return { status: run.status, args: fs.existsSync(argsFile) ? fs.readFileSync(argsFile, "utf8").trim().split("\n") : [] };
}

describe("Litestream restore job", () => {
  test("restores the generation the stack chose, which is the one it records", () => {
    const { status, args } = runLitestreamRestore({ SOPHIA_RESTORE_BACKUP_ID: "b6a8c2e4f0d1a3b5" });
    expect(status).toBe(0);
    expect(args.slice(args.indexOf("-generation"), args.indexOf("-generation") + 2)).toEqual(["-generation", "b6a8c2e4f0d1a3b5"]);
  });

  test("a point-in-time restore keeps both the chosen generation and the time", () => {
    const { status, args } = runLitestreamRestore({ SOPHIA_RESTORE_BACKUP_ID: "b6a8c2e4f0d1a3b5", SOPHIA_RESTORE_TIMESTAMP: "2026-12-05T15:40:00Z" });
    expect(status).toBe(0);
    expect(args).toEqual(expect.arrayContaining(["-generation", "b6a8c2e4f0d1a3b5", "-timestamp", "2026-12-05T15:40:00Z"]));
    expect(args[args.indexOf("-generation") + 1]).toBe("b6a8c2e4f0d1a3b5");
  });
});
