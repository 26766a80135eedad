/**
 * The pure parts of GpuPool: its firewall rules, the workers' cloud-init, and the capacity check
 * that runs before any resource exists (against the in-process Lambda emulator on loopback).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { assertGpuCapacity, assertOperatorCidrs, firewallRules, readinessScript, standingNodeName, workerImageFor, workerPublishAddress } from "../../components/gpu-pool";
import { IDLE_SAMPLES, NODE_ENDPOINTS, onDemandUserData, READY_FILE, standingUserData, type WorkerUserDataInput } from "../../components/gpu-user-data";
import { parseStackConfig, type GpuConfig } from "../../src/stack-config";
import { lambdaClient, setLambdaClientOverrides } from "../../src/providers/lambda";
import { LambdaEmulator, type RunningEmulator } from "../../src/emulators/lambda/emulator";
import { expectEach } from "../helpers/expect-each";

const devGpu = parseStackConfig({ profile: "single-user-lax" }, "dev").gpu;
const prodGpu = parseStackConfig({ profile: "enterprise-multi-region" }, "prod").gpu;

const OPERATORS = ["203.0.113.10/32", "198.51.100.0/24"];
const WORKER_SOURCES = ["192.0.2.0/24"];
const gpuWith = (extra: Partial<GpuConfig>): GpuConfig => ({ ...devGpu, workerPort: 8000, ...extra });

describe("firewallRules with readiness dial-out (the default)", () => {
  it("admits no inbound SSH in either profile", () => {
    expect([devGpu.readiness, prodGpu.readiness]).toEqual(["dial-out", "dial-out"]);
    const rules = [...firewallRules(devGpu), ...firewallRules(prodGpu)];
    expect(rules.filter((r) => r.portRange?.[0] === 22)).toEqual([]);
  });
});

describe("firewallRules with readiness ssh", () => {
  const rules = firewallRules(gpuWith({ readiness: "ssh", sshAllowedCidrs: OPERATORS, workerSources: WORKER_SOURCES }));
  const onPort = (port: number) => rules.filter((r) => r.portRange !== undefined && r.portRange[0] <= port && port <= r.portRange[1]);

  it("opens SSH (tcp/22) only to sshAllowedCidrs", () => {
    expect(onPort(22).map((r) => [r.protocol, r.portRange, r.sourceNetwork])).toEqual(OPERATORS.map((cidr) => ["tcp", [22, 22], cidr]));
  });

  it("opens the worker port (tcp) only to workerSources", () => {
    expect(onPort(8000).map((r) => [r.protocol, r.portRange, r.sourceNetwork])).toEqual(WORKER_SOURCES.map((cidr) => ["tcp", [8000, 8000], cidr]));
  });

  it("opens nothing else", () => {
    expect(rules).toHaveLength(OPERATORS.length + WORKER_SOURCES.length);
    expectEach(rules, (rule) => {
      expect(rule.protocol).toBe("tcp");
      expect([[22, 22], [8000, 8000]]).toContainEqual(rule.portRange);
      expect(rule.sourceNetwork).not.toBe("0.0.0.0/0");
    });
  });

  it("has no worker-port rule when workerSources is empty", () => {
    const closed = firewallRules(gpuWith({ readiness: "ssh", sshAllowedCidrs: OPERATORS, workerSources: [] }));
    expect(closed.map((r) => r.portRange)).toEqual(OPERATORS.map(() => [22, 22]));
  });

  it("is empty when there are no operator CIDRs and no worker sources (the dev profile)", () => {
    expect(firewallRules(devGpu)).toEqual([]);
  });
});

describe("readinessScript (run with stand-ins for the node's commands)", () => {
  /** Runs the script with fake cloud-init, nvidia-smi and curl that exit with the given codes. */
  function runReadiness(codes: { cloudInit: number; nvidiaSmi: number }) {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "node-bin-"));
    const stub = (name: string, code: number) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho ${name} output\nexit ${code}\n`, { mode: 0o755 });
    stub("cloud-init", codes.cloudInit);
    stub("nvidia-smi", codes.nvidiaSmi);
    stub("curl", 0);
    return spawnSync("bash", ["--norc", "--noprofile", "-c", readinessScript(8000)], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { PATH: `${bin}:/usr/bin:/bin` } });
  }

  it("treats cloud-init's exit 2 (finished with warnings) as finished and goes on to nvidia-smi", () => {
    const result = runReadiness({ cloudInit: 2, nvidiaSmi: 1 });
    expect([result.status, result.stderr.trim()]).toEqual([1, "nvidia-smi failed: the GPU driver is not working on this node"]);
  });

  it("fails on a cloud-init error with its own message", () => {
    const result = runReadiness({ cloudInit: 1, nvidiaSmi: 0 });
    expect([result.status, result.stderr.trim()]).toEqual([1, "cloud-init failed (exit 1); see /var/log/cloud-init-output.log on the node"]);
  });

  it("shows nvidia-smi's own output to the person running pulumi up", () => {
    expect(runReadiness({ cloudInit: 0, nvidiaSmi: 0 }).stdout).toContain("nvidia-smi output");
  });
});

describe("assertOperatorCidrs", () => {
  it("rejects the example address left in a stack file, saying what to put there", () => {
    expect(() => assertOperatorCidrs({ standing: 3, readiness: "ssh", sshAllowedCidrs: ["203.0.113.10/32"] })).toThrow(
      /sophia:gpu\.sshAllowedCidrs holds the example address 203\.0\.113\.10\/32.*egress address of where `pulumi up` runs/,
    );
  });

  it("accepts a real address", () => {
    expect(() => assertOperatorCidrs({ standing: 3, readiness: "ssh", sshAllowedCidrs: ["34.82.10.7/32"] })).not.toThrow();
  });

  it("does not care without standing nodes, which get no SSH check", () => {
    expect(() => assertOperatorCidrs({ standing: 0, readiness: "ssh", sshAllowedCidrs: ["203.0.113.10/32"] })).not.toThrow();
  });
});

describe("workerImageFor", () => {
  const perArch = { arm64: "ghcr.io/o/worker:1-arm64", x86_64: "ghcr.io/o/worker:1-amd64" };

  it("gives GH200 nodes the arm64 image", () => {
    expect(workerImageFor({ instanceType: "gpu_1x_gh200", workerImage: perArch })).toBe(perArch.arm64);
  });

  it("gives A100 nodes the x86_64 image", () => {
    expect(workerImageFor({ instanceType: "gpu_1x_a100", workerImage: perArch })).toBe(perArch.x86_64);
  });

  it("uses a multi-arch reference on every architecture", () => {
    expect(workerImageFor({ instanceType: "gpu_1x_gh200", workerImage: "ghcr.io/o/worker:1" })).toBe("ghcr.io/o/worker:1");
  });
});

describe("workerPublishAddress", () => {
  it("keeps the worker on loopback when no source may reach it", () => {
    expect(workerPublishAddress(gpuWith({ workerSources: [] }))).toBe("127.0.0.1");
  });

  it("listens publicly when the firewall admits worker sources", () => {
    expect(workerPublishAddress(gpuWith({ workerSources: ["198.51.100.7/32"] }))).toBe("0.0.0.0");
  });
});

const worker: WorkerUserDataInput = {
  workerImage: "ghcr.io/sophia-intel/gpu-worker:0.1.0",
  workerPort: 8000,
  publishAddress: workerPublishAddress(devGpu),
  filesystemMount: "/lambda/nfs/sophia-test-models",
  apiUrl: "https://api.sophia-intel.ai",
  architecture: "x86_64",
  poolToken: "pool_token_test_7c1e",
};
const WATCHDOG = { idleMinutes: 23 };

interface CloudConfig {
  write_files: { path: string; permissions: string; content: string }[];
  runcmd: unknown[];
  [key: string]: unknown;
}
const cloudConfig = (userData: string) => parse(userData) as CloudConfig;
const fileAt = (userData: string, path: string) => {
  const file = cloudConfig(userData).write_files.find((f) => f.path === path);
  if (!file) throw new Error(`no ${path} in the user data`);
  return file;
};
const START = "/usr/local/bin/sophia-worker-start";

describe("standingUserData", () => {
  const userData = standingUserData(worker);
  const script = fileAt(userData, START).content;

  it("is a #cloud-config document that parses as YAML and runs the worker start script", () => {
    expect(userData.startsWith("#cloud-config\n")).toBe(true);
    expect(cloudConfig(userData).runcmd).toEqual([[START]]);
  });

  it("makes the start script executable", () => {
    expect(fileAt(userData, START).permissions).toBe("0755");
  });

  it("starts the worker container with --gpus all, the filesystem mounted and the API URL", () => {
    expect(script).toMatch(/^docker run -d --name sophia-worker --gpus all /m);
    expect(script).toContain(`-v ${worker.filesystemMount}:/models`);
    expect(script).toContain(`-e SOPHIA_API_URL=${worker.apiUrl}`);
    expect(script).toMatch(new RegExp(`^\\s+${worker.workerImage.replace(/[.]/g, "\\.")}$`, "m"));
  });

  it("touches READY_FILE only once the worker's health endpoint answers", () => {
    expect(script).toContain(`if curl -fsS http://127.0.0.1:8000/health >/dev/null; then touch ${READY_FILE}; exit 0; fi`);
    expect(script.split(READY_FILE)).toHaveLength(2);
  });

  it("installs nothing: no packages, apt-get or pip", () => {
    expect(cloudConfig(userData)).not.toHaveProperty("packages");
    expect(userData).not.toMatch(/apt-get|apt install|pip3? install|snap install|yum |curl [^\n]*\| *(ba)?sh/);
  });

  it("carries no Lambda key and no watchdog", () => {
    expect(userData).not.toMatch(/LAMBDA_API_KEY|lambda\.env|watchdog/i);
  });

  it("reports readiness by dialing out to the API's ready endpoint with the pool token", () => {
    const report = fileAt(userData, "/usr/local/bin/sophia-report-ready").content;
    expect(report).toContain(`"$SOPHIA_API_URL${NODE_ENDPOINTS.ready}"`);
    expect(report).toContain('Authorization: Bearer $SOPHIA_POOL_TOKEN');
    expect(fileAt(userData, "/etc/cron.d/sophia-report-ready").content).toMatch(/^\* \* \* \* \* root .*\/usr\/local\/bin\/sophia-report-ready /m);
  });

  it("keeps the pool token only in /etc/sophia/pool.env, readable by root alone (0600)", () => {
    const holders = cloudConfig(userData).write_files.filter((f) => f.content.includes(worker.poolToken));
    expect(holders.map((f) => [f.path, f.permissions])).toEqual([["/etc/sophia/pool.env", "0600"]]);
  });

  it("publishes the worker port on 127.0.0.1 only", () => {
    const published = [...script.matchAll(/-p (\S+)/g)].map((m) => m[1]);
    expect(published).toEqual(["127.0.0.1:8000:8000"]);
  });
});

describe("onDemandUserData", () => {
  const userData = onDemandUserData({ ...worker, ...WATCHDOG });
  const watchdog = fileAt(userData, "/usr/local/bin/sophia-idle-watchdog").content;

  it("is a #cloud-config document that parses as YAML and runs the worker start script", () => {
    expect(userData.startsWith("#cloud-config\n")).toBe(true);
    expect(cloudConfig(userData).runcmd).toEqual([[START]]);
  });

  it("starts the same worker as a standing node", () => {
    expect(fileAt(userData, START).content).toBe(fileAt(standingUserData(worker), START).content);
  });

  it("carries no Lambda key: the watchdog asks the API to end the worker", () => {
    expect(userData).not.toMatch(/LAMBDA_API_KEY|lambda\.env|cloud\.lambda\.ai|instance-operations/i);
    expect(watchdog).toContain(`"$SOPHIA_API_URL${NODE_ENDPOINTS.release}"`);
  });

  it("runs the watchdog every minute from cron, never two at once", () => {
    const cron = fileAt(userData, "/etc/cron.d/sophia-idle-watchdog");
    expect(cron.permissions).toBe("0644");
    expect(cron.content).toMatch(/^\* \* \* \* \* root flock -n \S+ \/usr\/local\/bin\/sophia-idle-watchdog( |$)/m);
    expect(cron.content.endsWith("\n")).toBe(true);
  });

  it("publishes the worker port on 127.0.0.1 only", () => {
    const published = [...fileAt(userData, START).content.matchAll(/-p (\S+)/g)].map((m) => m[1]);
    expect(published).toEqual(["127.0.0.1:8000:8000"]);
  });
});

/**
 * The watchdog run under bash with stand-ins for the tools it calls, defined as shell functions
 * ahead of the script (a function wins over PATH, as a stand-in on PATH would, without a process
 * per call): nvidia-smi prints the utilisation from a file, date prints the fake clock from a
 * file, sleep does nothing, curl records its call.
 */
describe("the idle watchdog's logic (fake nvidia-smi and clock)", { timeout: 30_000 }, () => {
  const scriptFor = (idleMinutes: number) => fileAt(onDemandUserData({ ...worker, idleMinutes }), "/usr/local/bin/sophia-idle-watchdog").content;
  const script15 = scriptFor(15);

  /** A fake node; `script` is its watchdog, ending the worker after some idle minutes. */
  function node(script = script15) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "watchdog-"));
    const file = (name: string) => path.join(dir, name);
    const standIns = [
      // One sample per call, from the file's first line ("fail" exits 9), the rest kept for the next.
      `nvidia-smi() { local lines; mapfile -t lines < "${file("util")}"; printf '%s\n' "\${lines[@]:1}" > "${file("util")}"; [ "\${lines[0]}" = fail ] && return 9; printf '%s\n' "\${lines[0]//,/$'\\n'}"; }`,
      `date() { local t; read -r t < "${file("clock")}"; echo "$t"; }`,
      "sleep() { :; }",
      `curl() { echo "$@" >> "${file("curl")}"; }`,
    ].join("\n");
    fs.writeFileSync(file("pool.env"), "SOPHIA_API_URL=https://api.test\nSOPHIA_POOL_TOKEN=tok\n");
    const env = {
      PATH: "/usr/bin:/bin",
      SOPHIA_READY_FILE: file("ready"),
      SOPHIA_IDLE_SINCE_FILE: file("since"),
      SOPHIA_POOL_ENV: file("pool.env"),
    };
    return {
      ready: () => fs.writeFileSync(file("ready"), ""),
      /** One watchdog run at `minute`, with every sample reading `util` (comma-separated per GPU, or "fail"). */
      run(minute: number, util: string) {
        fs.writeFileSync(file("clock"), String(1_700_000_000 + minute * 60));
        fs.writeFileSync(file("util"), `${Array(IDLE_SAMPLES).fill(util).join("\n")}\n`);
        const result = spawnSync("bash", ["--norc", "--noprofile", "-c", `${standIns}\n${script}`], { encoding: "utf8", env });
        expect(result.status, result.stderr).toBe(0);
      },
      released: () => (fs.existsSync(file("curl")) ? fs.readFileSync(file("curl"), "utf8") : ""),
    };
  }

  it("asks the API to end the worker after idleMinutes at 0% utilisation", () => {
    // Three idle minutes, not fifteen: every minute is a run of the script, and the clock is fake.
    const n = node(scriptFor(3));
    n.ready();
    for (let minute = 0; minute < 3; minute++) n.run(minute, "0");
    expect(n.released()).toBe("");
    n.run(3, "0");
    expect(n.released()).toContain("-X POST -H Authorization: Bearer tok https://api.test/internal/gpu/nodes/release");
  });

  it("counts a loaded model at 0% as idle: no process or memory check keeps it alive", () => {
    const n = node();
    n.ready();
    n.run(0, "0,2");
    n.run(20, "1,0");
    expect(n.released()).not.toBe("");
  });

  it("starts counting only once the worker is ready", () => {
    const n = node();
    n.run(0, "0");
    n.run(30, "0");
    n.ready();
    n.run(31, "0");
    n.run(45, "0");
    expect(n.released()).toBe("");
    n.run(46, "0");
    expect(n.released()).not.toBe("");
  });

  it("restarts the count after work on any GPU", () => {
    const n = node();
    n.ready();
    n.run(0, "0");
    n.run(10, "0,80");
    n.run(11, "0");
    n.run(25, "0");
    expect(n.released()).toBe("");
    n.run(26, "0");
    expect(n.released()).not.toBe("");
  });

  it("counts a failing or unreadable nvidia-smi as busy", () => {
    const n = node();
    n.ready();
    n.run(0, "0");
    n.run(20, "fail");
    n.run(21, "[N/A]");
    n.run(35, "0");
    expect(n.released()).toBe("");
  });
});

const PREFIX = "sophia-prod";

describe("assertGpuCapacity (against the in-process Lambda emulator)", () => {
  let emulator: LambdaEmulator;
  let running: RunningEmulator;
  const key = () => emulator.settings.apiKeys[0];

  beforeAll(async () => {
    emulator = new LambdaEmulator();
    running = await emulator.listen(0);
    setLambdaClientOverrides({ requestIntervalMs: 0, launchIntervalMs: 0, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2, maxTotalMs: 1_000 } });
  });
  afterAll(async () => {
    setLambdaClientOverrides(undefined);
    await running?.close();
  });

  it("resolves without any request when no node is standing", async () => {
    const before = emulator.log.length;
    expect(prodGpu.standing).toBeGreaterThan(0);
    await expect(assertGpuCapacity({ ...prodGpu, standing: 0 }, PREFIX, key(), running.url)).resolves.toBeUndefined();
    expect(emulator.log.length).toBe(before);
  });

  it("rejects naming the type and the region and listing the regions that have capacity", async () => {
    emulator.setCapacity(prodGpu.instanceType, prodGpu.region, 0);
    emulator.setCapacity(prodGpu.instanceType, "us-east-1", 2);
    emulator.setCapacity(prodGpu.instanceType, "us-south-1", 1);
    await expect(assertGpuCapacity(prodGpu, PREFIX, key(), running.url)).rejects.toThrow(
      `Lambda Cloud has no capacity for gpu_1x_gh200 in us-west-1. Regions with capacity for gpu_1x_gh200 right now: us-east-1, us-south-1.`,
    );
  });

  it("resolves when the pool's region has capacity", async () => {
    emulator.setCapacity(prodGpu.instanceType, prodGpu.region, 3);
    const before = emulator.log.length;
    await expect(assertGpuCapacity(prodGpu, PREFIX, key(), running.url)).resolves.toBeUndefined();
    expect(emulator.log.slice(before).map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      "GET /api/v1/instances 200",
      "GET /api/v1/instance-types 200",
    ]);
  });

  it("needs no spare capacity once the standing nodes run, so updating a running pool works", async () => {
    emulator.setCapacity(prodGpu.instanceType, prodGpu.region, 3);
    const client = lambdaClient({ apiKey: key(), apiUrl: running.url });
    const sshKey = await client.addSshKey(`${PREFIX}-gpu`);
    for (let i = 0; i < prodGpu.standing; i++) {
      await client.launchInstance({
        region_name: prodGpu.region,
        instance_type_name: prodGpu.instanceType,
        ssh_key_names: [sshKey.name],
        name: standingNodeName(PREFIX, i),
      });
    }
    emulator.setCapacity(prodGpu.instanceType, prodGpu.region, 0);
    await expect(assertGpuCapacity(prodGpu, PREFIX, key(), running.url)).resolves.toBeUndefined();
  });
});
