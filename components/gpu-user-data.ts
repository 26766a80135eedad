/**
 * cloud-init for GPU workers. Lambda's image already ships the NVIDIA driver, Docker and the
 * NVIDIA container toolkit, so nothing is installed: it starts the worker container, mounts the
 * pool's filesystem, and marks readiness. On-demand workers also get an idle watchdog.
 */
import { stringify } from "yaml";

export interface WorkerUserDataInput {
  workerImage: string;
  workerPort: number;
  /** Where the worker port listens: loopback unless the firewall admits worker sources. */
  publishAddress: "127.0.0.1" | "0.0.0.0";
  /** Mount point of the pool's filesystem on the instance, e.g. /lambda/nfs/<name>. */
  filesystemMount: string;
  /** URL the worker calls home to (the unified API); workers dial out, nothing dials in. */
  apiUrl: string;
}

export interface WatchdogInput {
  idleMinutes: number;
  /** Lambda API base URL the watchdog calls to terminate its own instance. */
  lambdaApiUrl: string;
}

export const READY_FILE = "/var/run/sophia-worker-ready";

function workerScript(input: WorkerUserDataInput): string {
  return [
    "#!/bin/bash",
    "set -euo pipefail",
    "docker rm -f sophia-worker >/dev/null 2>&1 || true",
    `docker run -d --name sophia-worker --gpus all --restart unless-stopped \\`,
    `  -p ${input.publishAddress}:${input.workerPort}:${input.workerPort} \\`,
    `  -v ${input.filesystemMount}:/models \\`,
    `  -e SOPHIA_API_URL=${input.apiUrl} -e WORKER_PORT=${input.workerPort} \\`,
    `  --env-file /etc/sophia/worker.env \\`,
    `  ${input.workerImage}`,
    `for i in $(seq 1 120); do`,
    `  if curl -fsS http://127.0.0.1:${input.workerPort}/health >/dev/null; then touch ${READY_FILE}; exit 0; fi`,
    "  sleep 5",
    "done",
    `echo "sophia worker did not become healthy in 10 minutes" >&2`,
    "exit 1",
  ].join("\n");
}

/**
 * Idle means: no process on any GPU (nvidia-smi --query-compute-apps) and GPU utilization 0%,
 * checked every minute; after `idleMinutes` consecutive idle checks the instance finds its own id
 * by its public IP and asks the Lambda API to terminate it, with the key in /etc/sophia/lambda.env.
 */
function watchdogScript(input: WatchdogInput): string {
  return [
    "#!/bin/bash",
    "set -uo pipefail",
    "source /etc/sophia/lambda.env",
    "state=/var/run/sophia-idle-minutes",
    `busy=$(nvidia-smi --query-compute-apps=pid --format=csv,noheader | wc -l)`,
    `util=$(nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits | sort -n | tail -1)`,
    `if [ "$busy" -gt 0 ] || [ "\${util:-0}" -gt 0 ]; then echo 0 > "$state"; exit 0; fi`,
    `idle=$(( $(cat "$state" 2>/dev/null || echo 0) + 1 )); echo "$idle" > "$state"`,
    `[ "$idle" -lt ${input.idleMinutes} ] && exit 0`,
    `ip=$(curl -fsS https://checkip.amazonaws.com || hostname -I | awk '{print $1}')`,
    `id=$(curl -fsS -H "Authorization: Bearer $LAMBDA_API_KEY" ${input.lambdaApiUrl}/instances \\`,
    `  | python3 -c "import json,sys; print(next(i['id'] for i in json.load(sys.stdin)['data'] if i.get('ip') == '$ip'))")`,
    `curl -fsS -X POST -H "Authorization: Bearer $LAMBDA_API_KEY" -H 'Content-Type: application/json' \\`,
    `  -d "{\\"instance_ids\\": [\\"$id\\"]}" ${input.lambdaApiUrl}/instance-operations/terminate`,
  ].join("\n");
}

const WORKER_START = "/usr/local/bin/sophia-worker-start";

interface CloudFile {
  path: string;
  permissions: string;
  content: string;
}

/** A cloud-config document; the yaml library does the quoting and block scalars. */
function cloudConfig(files: CloudFile[]): string {
  return `#cloud-config\n${stringify({ write_files: files, runcmd: [[WORKER_START]] }, { lineWidth: 0 })}`;
}

/** What every worker gets: its (empty) env file and the script that starts it. */
function workerFiles(input: WorkerUserDataInput): CloudFile[] {
  return [
    // Empty on purpose: operators put worker settings here (docker --env-file) without a redeploy.
    { path: "/etc/sophia/worker.env", permissions: "0600", content: "" },
    { path: WORKER_START, permissions: "0755", content: `${workerScript(input)}\n` },
  ];
}

/** user_data for a standing node: worker only, no watchdog and no Lambda key on the box. */
export function standingUserData(input: WorkerUserDataInput): string {
  return cloudConfig(workerFiles(input));
}

/**
 * user_data for an on-demand worker: the same worker plus the idle watchdog. It carries the
 * Lambda API key, so the whole template is a Pulumi secret.
 */
export function onDemandUserData(input: WorkerUserDataInput & WatchdogInput, lambdaApiKey: string): string {
  return cloudConfig([
    ...workerFiles(input),
    { path: "/etc/sophia/lambda.env", permissions: "0600", content: `LAMBDA_API_KEY=${lambdaApiKey}\n` },
    { path: "/usr/local/bin/sophia-idle-watchdog", permissions: "0755", content: `${watchdogScript(input)}\n` },
    {
      path: "/etc/cron.d/sophia-idle-watchdog",
      permissions: "0644",
      content: "* * * * * root /usr/local/bin/sophia-idle-watchdog >> /var/log/sophia-idle-watchdog.log 2>&1\n",
    },
  ]);
}
