/**
 * GpuPool: the Lambda Labs side of Sophia. An SSH key, a filesystem in the pool's region, a
 * firewall ruleset, the standing nodes, the pool token they report readiness with, and the launch
 * template the unified API uses to start identical on-demand workers.
 *
 * Readiness: by default ("dial-out") each node reports itself to the unified API with the pool
 * token, the firewall admits no inbound SSH, and `pulumi up` waits only for Lambda to call the
 * instance active; the API knows which nodes are ready. With readiness "ssh", `pulumi up` also
 * checks each node over SSH from the fixed deploy address the firewall admits.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { GpuConfig } from "../src/config/schema";
import { gpuArchitecture, type GpuArchitecture } from "../src/platform";
import {
  checkCapacity,
  INSTANCE_GONE_STATUSES,
  lambdaClient,
  LambdaFilesystem,
  LambdaFirewallRuleset,
  LambdaInstance,
  LambdaSshKey,
  type FirewallRuleArgs,
} from "../src/providers/lambda";
import { onDemandUserData, READY_FILE, standingUserData, type WorkerUserDataInput } from "./gpu-user-data";

export interface GpuPoolArgs {
  /** The pool's knobs from the profile: type, region, standing count, max instances, idle minutes. */
  gpu: GpuConfig;
  /** Prefix of every Lambda resource name, e.g. "sophia-prod". */
  namePrefix: string;
  /** Lambda API key, a Pulumi secret. */
  apiKey: pulumi.Input<string>;
  /** Lambda API endpoint override. @default https://cloud.lambda.ai/api/v1 */
  apiUrl?: string;
  /** URL the workers call home to. */
  callbackUrl: pulumi.Input<string>;
  /** Keep the models filesystem when it leaves the program (prod). @default false */
  retainFilesystem?: boolean;
  /** Protect the models filesystem from `pulumi destroy`. @default false */
  protectFilesystem?: boolean;
}

/** What the API's orchestrator needs to launch a worker identical to the standing ones. */
export interface LaunchTemplate {
  instanceType: string;
  region: string;
  sshKeyName: string;
  fileSystemNames: string[];
  firewallRulesetId: string;
  userData: string;
  /** CPU architecture of the instance type; the worker image must run on it. */
  architecture: GpuArchitecture;
  maxInstances: number;
  idleMinutes: number;
}

/** The worker image for the pool's architecture: the one multi-arch reference, or the per-arch entry. */
export function workerImageFor(gpu: Pick<GpuConfig, "workerImage" | "instanceType">): string {
  if (typeof gpu.workerImage === "string") return gpu.workerImage;
  const arch = gpuArchitecture(gpu.instanceType);
  const image = gpu.workerImage[arch];
  if (image === undefined) throw new Error(`sophia:gpu.workerImage.${arch} is missing: ${gpu.instanceType} nodes are ${arch}`);
  return image;
}


/**
 * Default deny. SSH only with readiness "ssh", and then only from the deploy address; the worker
 * port only from configured sources. Dial-out readiness needs no inbound rule at all.
 */
export function firewallRules(gpu: Pick<GpuConfig, "readiness" | "sshAllowedCidrs" | "workerSources" | "workerPort">): FirewallRuleArgs[] {
  const sshSources = gpu.readiness === "ssh" ? gpu.sshAllowedCidrs : [];
  return [
    ...sshSources.map((cidr) => ({ protocol: "tcp" as const, portRange: [22, 22] as [number, number], sourceNetwork: cidr, description: "SSH for the readiness check" })),
    ...gpu.workerSources.map((cidr) => ({
      protocol: "tcp" as const,
      portRange: [gpu.workerPort, gpu.workerPort] as [number, number],
      sourceNetwork: cidr,
      description: "GPU worker port",
    })),
  ];
}

/** The worker listens publicly only when the firewall admits someone to its port. */
export function workerPublishAddress(gpu: Pick<GpuConfig, "workerSources">): WorkerUserDataInput["publishAddress"] {
  return gpu.workerSources.length > 0 ? "0.0.0.0" : "127.0.0.1";
}

export const GPU_POOL_TYPE = "sophia:gpu:Pool";

export class GpuPool extends pulumi.ComponentResource {
  /** JSON launch template, a Pulumi secret because its user_data carries the pool token. */
  readonly launchTemplate: pulumi.Output<string>;
  /** The token nodes present to the API's node endpoints; the API gets it as GPU_POOL_TOKEN. */
  readonly poolToken: pulumi.Output<string>;
  readonly instances: LambdaInstance[] = [];

  constructor(name: string, args: GpuPoolArgs, opts?: pulumi.ComponentResourceOptions) {
    super(GPU_POOL_TYPE, name, {}, opts);
    const { gpu } = args;
    const access = { apiKey: args.apiKey, apiUrl: args.apiUrl };
    const architecture = gpuArchitecture(gpu.instanceType);
    // Per pool, never the Lambda key: a node that leaks it can at most report or release itself.
    this.poolToken = new random.RandomPassword(`${name}-pool-token`, { length: 40, special: false }, { parent: this }).result;

    const sshKey = new LambdaSshKey(`${name}-ssh-key`, { name: `${args.namePrefix}-gpu`, ...access }, { parent: this });
    const filesystem = new LambdaFilesystem(`${name}-fs-${gpu.region}`, { name: `${args.namePrefix}-models`, region: gpu.region, ...access },
      // The models live here: in prod the filesystem outlives the program (see README, "Data the stack keeps").
      { parent: this, protect: args.protectFilesystem ?? false, retainOnDelete: args.retainFilesystem ?? false },
    );
    const firewall = new LambdaFirewallRuleset(
      `${name}-firewall`,
      { name: `${args.namePrefix}-gpu`, region: gpu.region, rules: firewallRules(gpu), ...access },
      { parent: this },
    );

    const worker = pulumi.secret(
      pulumi.all([filesystem.mountPoint, args.callbackUrl, this.poolToken]).apply(
        ([mount, apiUrl, poolToken]): WorkerUserDataInput => ({
          workerImage: workerImageFor(gpu),
          architecture,
          workerPort: gpu.workerPort,
          publishAddress: workerPublishAddress(gpu),
          filesystemMount: mount,
          apiUrl,
          poolToken,
        }),
      ),
    );

    for (let i = 0; i < gpu.standing; i++) {
      const instance = new LambdaInstance(
        `${name}-node-${i}`,
        {
          instanceType: gpu.instanceType,
          region: gpu.region,
          sshKeyName: sshKey.keyName,
          fileSystemNames: [filesystem.name],
          firewallRulesetId: firewall.id,
          name: standingNodeName(args.namePrefix, i),
          tags: { "sophia-pool": args.namePrefix, "sophia-role": "standing", "sophia-arch": architecture },
          userData: worker.apply(standingUserData),
          ...access,
        },
        { parent: this },
      );
      this.instances.push(instance);
      if (gpu.readiness === "ssh") this.checkReadiness(`${name}-node-${i}-ready`, instance, sshKey, gpu.workerPort);
    }

    const template = pulumi
      .all([sshKey.keyName, filesystem.name, firewall.id, worker])
      .apply(([sshKeyName, fsName, rulesetId, input]): LaunchTemplate => ({
        instanceType: gpu.instanceType,
        region: gpu.region,
        sshKeyName,
        fileSystemNames: [fsName],
        firewallRulesetId: rulesetId,
        userData: onDemandUserData({ ...input, idleMinutes: gpu.idleMinutes }),
        architecture,
        maxInstances: gpu.maxInstances - gpu.standing,
        idleMinutes: gpu.idleMinutes,
      }));
    this.launchTemplate = pulumi.secret(template.apply((t) => JSON.stringify(t)));
    this.registerOutputs({ launchTemplate: this.launchTemplate, poolToken: this.poolToken });
  }

  /** nvidia-smi and the worker's health endpoint over SSH; a failure fails the update with the node's output. */
  private checkReadiness(name: string, instance: LambdaInstance, sshKey: LambdaSshKey, port: number): void {
    new command.remote.Command(
      name,
      {
        connection: {
          host: instance.ip.apply((ip) => ip ?? ""),
          user: "ubuntu",
          privateKey: pulumi.secret(sshKey.privateKey.apply((key) => key ?? "")),
        },
        create: readinessScript(port),
        triggers: [instance.id],
      },
      { parent: this },
    );
  }
}

/** Each step fails on its own, with its own message, and the node's output stays in the error. */
export function readinessScript(port: number): string {
  const fail = (what: string) => `{ echo "${what}" >&2; exit 1; }`;
  return [
    // Exit 2 means cloud-init finished with recoverable warnings, which is still finished.
    'cloud-init status --wait >/dev/null; rc=$?; [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] || ' +
      fail("cloud-init failed (exit $rc); see /var/log/cloud-init-output.log on the node"),
    `nvidia-smi || ${fail("nvidia-smi failed: the GPU driver is not working on this node")}`,
    `test -f ${READY_FILE} || ${fail("the worker never became healthy; see /var/log/cloud-init-output.log and docker logs sophia-worker")}`,
    `curl -fsS http://127.0.0.1:${port}/health || ${fail("the worker's /health endpoint failed; see docker logs sophia-worker")}`,
  ].join("\n");
}

/** Address ranges reserved for documentation (RFC 5737): an example left in a stack file. */
const DOCUMENTATION_RANGES = ["192.0.2.", "198.51.100.", "203.0.113."];

/**
 * Before a real deploy with readiness "ssh": the check needs SSH from where `pulumi up` runs, so
 * an example address left in the stack file would launch GPUs that can never be checked.
 */
export function assertOperatorCidrs(gpu: Pick<GpuConfig, "standing" | "sshAllowedCidrs" | "readiness">): void {
  if (gpu.standing === 0 || gpu.readiness !== "ssh") return;
  const examples = gpu.sshAllowedCidrs.filter((cidr) => DOCUMENTATION_RANGES.some((range) => cidr.startsWith(range)));
  if (examples.length === 0) return;
  throw new Error(
    `sophia:gpu.sshAllowedCidrs holds the example address ${examples.join(", ")}, which nobody owns (nothing was created). ` +
      "Replace it with the egress address of where `pulumi up` runs, e.g. the output of `curl -s https://checkip.amazonaws.com` followed by /32.",
  );
}

/** Name of the i-th standing node; the capacity check recognizes the pool's nodes by it. */
export function standingNodeName(namePrefix: string, index: number): string {
  return `${namePrefix}-gpu-${index}`;
}

/**
 * Fails before any resource exists when the pool's region has no capacity for the standing nodes
 * it still has to launch, naming the regions that do. Nodes that already run need none, so an
 * update of a running pool does not depend on spare capacity. On-demand launches are the API's.
 */
export async function assertGpuCapacity(gpu: GpuConfig, namePrefix: string, apiKey: string, apiUrl: string | undefined): Promise<void> {
  if (gpu.standing === 0) return;
  const client = lambdaClient({ apiKey, apiUrl });
  const wanted = new Set(Array.from({ length: gpu.standing }, (_, i) => standingNodeName(namePrefix, i)));
  const running = (await client.listInstances()).filter((instance) => instance.name !== undefined && instance.name !== null && wanted.has(instance.name) && !INSTANCE_GONE_STATUSES.includes(instance.status));
  if (running.length >= gpu.standing) return;
  await checkCapacity(client, gpu.instanceType, gpu.region);
}
