/**
 * GpuPool: the Lambda Labs side of Sophia (D9). An SSH key, a filesystem in the pool's region, a
 * firewall ruleset, the standing nodes with a readiness check, and the launch template the
 * unified API uses to start identical on-demand workers.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { GpuConfig } from "../src/config";
import {
  checkCapacity,
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
}

/** What the API's orchestrator needs to launch a worker identical to the standing ones. */
export interface LaunchTemplate {
  instanceType: string;
  region: string;
  sshKeyName: string;
  fileSystemNames: string[];
  firewallRulesetId: string;
  userData: string;
  maxInstances: number;
  idleMinutes: number;
}

export const DEFAULT_LAMBDA_API_URL = "https://cloud.lambda.ai/api/v1";

/** Default deny: SSH from the operator CIDRs, the worker port only from configured sources. */
export function firewallRules(gpu: GpuConfig): FirewallRuleArgs[] {
  return [
    ...gpu.sshAllowedCidrs.map((cidr) => ({ protocol: "tcp" as const, portRange: [22, 22] as [number, number], sourceNetwork: cidr, description: "SSH for the readiness check" })),
    ...gpu.workerSources.map((cidr) => ({
      protocol: "tcp" as const,
      portRange: [gpu.workerPort, gpu.workerPort] as [number, number],
      sourceNetwork: cidr,
      description: "GPU worker port",
    })),
  ];
}

export class GpuPool extends pulumi.ComponentResource {
  /** JSON launch template, a Pulumi secret because its user_data carries the Lambda key. */
  readonly launchTemplate: pulumi.Output<string>;
  readonly instances: LambdaInstance[] = [];

  constructor(name: string, args: GpuPoolArgs, opts?: pulumi.ComponentResourceOptions) {
    super("sophia:gpu:Pool", name, {}, opts);
    const { gpu } = args;
    const access = { apiKey: args.apiKey, apiUrl: args.apiUrl };
    const lambdaApiUrl = args.apiUrl ?? DEFAULT_LAMBDA_API_URL;

    const sshKey = new LambdaSshKey(`${name}-ssh-key`, { name: `${args.namePrefix}-gpu`, ...access }, { parent: this });
    const filesystem = new LambdaFilesystem(`${name}-fs-${gpu.region}`, { name: `${args.namePrefix}-models`, region: gpu.region, ...access }, { parent: this });
    const firewall = new LambdaFirewallRuleset(
      `${name}-firewall`,
      { name: `${args.namePrefix}-gpu`, region: gpu.region, rules: firewallRules(gpu), ...access },
      { parent: this },
    );

    const worker = pulumi.all([filesystem.mountPoint, args.callbackUrl]).apply(
      ([mount, apiUrl]): WorkerUserDataInput => ({ workerImage: gpu.workerImage, workerPort: gpu.workerPort, filesystemMount: mount, apiUrl }),
    );

    for (let i = 0; i < gpu.standing; i++) {
      const instance = new LambdaInstance(
        `${name}-node-${i}`,
        {
          instanceType: gpu.instanceType,
          region: gpu.region,
          sshKeyName: sshKey.name,
          fileSystemNames: [filesystem.name],
          firewallRulesetId: firewall.id,
          name: `${args.namePrefix}-gpu-${i}`,
          tags: { "sophia-pool": args.namePrefix, "sophia-role": "standing" },
          userData: worker.apply(standingUserData),
          ...access,
        },
        { parent: this },
      );
      this.instances.push(instance);
      this.checkReadiness(`${name}-node-${i}-ready`, instance, sshKey, gpu.workerPort);
    }

    const template = pulumi
      .all([sshKey.name, filesystem.name, firewall.id, worker, pulumi.secret(args.apiKey)])
      .apply(([sshKeyName, fsName, rulesetId, input, apiKey]): LaunchTemplate => ({
        instanceType: gpu.instanceType,
        region: gpu.region,
        sshKeyName,
        fileSystemNames: [fsName],
        firewallRulesetId: rulesetId,
        userData: onDemandUserData({ ...input, idleMinutes: gpu.idleMinutes, lambdaApiUrl }, apiKey),
        maxInstances: gpu.maxInstances - gpu.standing,
        idleMinutes: gpu.idleMinutes,
      }));
    this.launchTemplate = pulumi.secret(template.apply((t) => JSON.stringify(t)));
    this.registerOutputs({ launchTemplate: this.launchTemplate });
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
        create: [
          "cloud-init status --wait >/dev/null",
          "nvidia-smi",
          `test -f ${READY_FILE} || { echo "worker not ready; see /var/log/cloud-init-output.log" >&2; exit 1; }`,
          `curl -fsS http://127.0.0.1:${port}/health`,
        ].join(" && "),
        triggers: [instance.id],
      },
      { parent: this },
    );
  }
}

/**
 * Fails before any resource exists when the pool's region has no capacity for its type, naming
 * the regions that do. Standing nodes only: on-demand launches are the API's to retry.
 */
export async function assertGpuCapacity(gpu: GpuConfig, apiKey: string, apiUrl: string | undefined): Promise<void> {
  if (gpu.standing === 0) return;
  await checkCapacity(lambdaClient({ apiKey, apiUrl }), gpu.instanceType, gpu.region);
}
