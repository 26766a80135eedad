/**
 * LambdaInstance: one GPU instance, launched with one SSH key, optional filesystems and a
 * firewall ruleset, and bootstrapped by cloud-init `userData`. The API can rename an instance
 * and nothing else, so every other change replaces it.
 */
import * as pulumi from "@pulumi/pulumi";
import { isKnownInstanceType, unknownInstanceTypeMessage } from "../api/capacity";
import {
  accessOf,
  Checker,
  configureFromStack,
  diffProps,
  containsUnknown,
  resourceMarker,
  withClient,
  withSecretOutputs,
  type LambdaAccess,
  type LambdaAccessArgs,
} from "./common";
import { markerOr, notOursError, ownership, type Marked } from "../../dynamic/identity";
import { LAMBDA_REGIONS, type Instance, type LaunchRequest } from "../api/schemas";
import { explainingFailures, messageOf } from "../../dynamic/errors";

export interface LambdaInstanceArgs extends LambdaAccessArgs {
  /** Instance type, e.g. `gpu_1x_gh200`. Changing it replaces the instance. */
  instanceType: pulumi.Input<string>;
  /** Lambda region, e.g. `us-east-1`. Changing it replaces the instance. */
  region: pulumi.Input<string>;
  /** Name of the one SSH key the instance accepts (launch takes exactly one). Changing it replaces the instance. */
  sshKeyName: pulumi.Input<string>;
  /** Filesystems to mount, all in `region`. Changing them replaces the instance. @default none */
  fileSystemNames?: pulumi.Input<pulumi.Input<string>[]>;
  /** Firewall ruleset to attach, in `region`. Changing it replaces the instance. @default none */
  firewallRulesetId?: pulumi.Input<string>;
  /** Instance name, at most 64 characters. Renamed in place. */
  name: pulumi.Input<string>;
  /** Tags; keys match `^[a-z][a-z0-9-:]+$`. Changing them replaces the instance (the API cannot edit tags). @default none */
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** cloud-init user data, at most 1 MB. Changing it replaces the instance. @default none */
  userData?: pulumi.Input<string>;
}

/** `marker` is launched as a tag, so that a create adopts an instance an interrupted run launched. */
export interface InstanceInputs extends LambdaAccess, Marked {
  instanceType: string;
  region: string;
  sshKeyName: string;
  fileSystemNames?: string[];
  firewallRulesetId?: string;
  name: string;
  tags?: Record<string, string>;
  userData?: string;
}

export interface InstanceOutputs extends InstanceInputs {
  status: string;
  ip?: string;
  privateIp?: string;
  hostname?: string;
}

/**
 * Statuses that mean the instance is gone for Pulumi. `terminating` is included: it can only end
 * in `terminated`, so the next `up` should launch a replacement rather than keep a dying node.
 */
export const INSTANCE_GONE_STATUSES: readonly string[] = ["terminating", "terminated", "preempted"];

const TAG_KEY = /^[a-z][a-z0-9-:]+$/;
/** Tag holding the marker; kept out of `tags`, whose change would replace the instance. */
export const INSTANCE_MARKER_TAG = "sophia-resource";
const MAX_USER_DATA_BYTES = 1024 * 1024;

function observed(instance: Instance, stored: InstanceOutputs): InstanceOutputs {
  const tags = instance.tags
    ? Object.fromEntries(instance.tags.filter((tag) => tag.key !== INSTANCE_MARKER_TAG).map((tag) => [tag.key, tag.value]))
    : stored.tags;
  const out: InstanceOutputs = {
    ...stored,
    instanceType: instance.instance_type.name,
    region: instance.region.name,
    sshKeyName: instance.ssh_key_names[0] ?? stored.sshKeyName,
    fileSystemNames: [...instance.file_system_names].sort(),
    name: instance.name ?? "",
    tags,
    status: instance.status,
  };
  // Only compare the ruleset when we set one (Lambda may report a default ruleset otherwise) and
  // when the API reports rulesets at all: a missing field is not drift, and drift here replaces a GPU.
  if (stored.firewallRulesetId !== undefined && instance.firewall_rulesets != null) {
    out.firewallRulesetId = instance.firewall_rulesets[0]?.id;
  }
  if (instance.ip) out.ip = instance.ip;
  if (instance.private_ip) out.privateIp = instance.private_ip;
  if (instance.hostname) out.hostname = instance.hostname;
  return out;
}

export const lambdaInstanceProvider: pulumi.dynamic.ResourceProvider<InstanceInputs, InstanceOutputs> = explainingFailures({
  configure: configureFromStack,

  async check(_olds, news) {
    const checker = new Checker();
    checker.check("instanceType", news.instanceType, () => typeof news.instanceType === "string" && isKnownInstanceType(news.instanceType),
      unknownInstanceTypeMessage(String(news.instanceType)));
    checker.oneOf("region", news.region, LAMBDA_REGIONS, "Lambda region");
    if (Array.isArray(news.sshKeyName)) {
      checker.check("sshKeyName", news.sshKeyName, false, "sshKeyName takes one key name: Lambda launches an instance with exactly one SSH key.");
    } else {
      checker.requiredString("sshKeyName", news.sshKeyName, 64);
    }
    checker.requiredString("name", news.name, 64);
    const fileSystemNames = news.fileSystemNames;
    checker.check("fileSystemNames", fileSystemNames,
      () => fileSystemNames === undefined || (Array.isArray(fileSystemNames) && fileSystemNames.every((fs) => typeof fs === "string" && fs.length > 0)),
      "fileSystemNames must be a list of filesystem names.");
    if (news.firewallRulesetId !== undefined) checker.requiredString("firewallRulesetId", news.firewallRulesetId, 64);
    for (const [key, value] of Object.entries(news.tags ?? {})) {
      checker.check(`tags.${key}`, key, TAG_KEY.test(key) && key.length <= 55,
        `Tag key "${key}" must match ^[a-z][a-z0-9-:]+$ and be at most 55 characters.`);
      checker.check(`tags.${key}`, value, typeof value === "string" && value.length <= 128, `Tag "${key}" needs a string value of at most 128 characters.`);
    }
    const userData = news.userData;
    checker.check("userData", userData,
      () => userData === undefined || (typeof userData === "string" && Buffer.byteLength(userData) <= MAX_USER_DATA_BYTES),
      "userData must be plain-text cloud-init of at most 1 MB.");
    const inputs =
      Array.isArray(fileSystemNames) && !containsUnknown(fileSystemNames) ? { ...news, fileSystemNames: [...fileSystemNames].sort() } : news;
    return { inputs, failures: checker.failures };
  },

  async diff(_id, olds, news) {
    const { changed, replaces } = diffProps(olds, news, {
      replace: ["instanceType", "region", "userData", "sshKeyName", "fileSystemNames", "firewallRulesetId", "tags"],
      update: ["name"],
    });
    return { changes: changed.length > 0, replaces };
  },

  async create(inputs) {
    return withClient(accessOf(inputs), async (client) => {
      const request: LaunchRequest = {
        region_name: inputs.region,
        instance_type_name: inputs.instanceType,
        ssh_key_names: [inputs.sshKeyName],
        name: inputs.name,
      };
      if (inputs.fileSystemNames?.length) request.file_system_names = inputs.fileSystemNames;
      if (inputs.firewallRulesetId) request.firewall_rulesets = [{ id: inputs.firewallRulesetId }];
      const marker = markerOr(inputs.marker, `lambda-instance:${inputs.name}`);
      request.tags = [...Object.entries(inputs.tags ?? {}).map(([key, value]) => ({ key, value })), { key: INSTANCE_MARKER_TAG, value: marker }];
      if (inputs.userData !== undefined) request.user_data = inputs.userData;
      // An instance with our name and marker was launched for this resource, by whichever run:
      // adopt it (a second GPU would bill unseen). One with our name but not our marker is not ours.
      const ours = async (): Promise<Instance | undefined> => {
        const named = (await client.listInstances()).filter((i) => i.name === inputs.name && !INSTANCE_GONE_STATUSES.includes(i.status));
        const mine = named.find((i) => ownership(markerTag(i), marker) === "ours");
        const other = named.find((i) => i !== mine);
        if (mine || !other) return mine;
        throw notOursError(
          `create instance "${inputs.name}": instance ${other.id} with this name`,
          markerTag(other) ? `it belongs to another stack or resource (${markerTag(other)})` : "it carries no marker of this stack",
          {
            rename: "change the pool's name prefix",
            remove: `terminate it in the Lambda Cloud dashboard, or with the API: POST /instance-operations/terminate {"instance_ids":["${other.id}"]}`,
          },
        );
      };
      const id = (await ours())?.id ?? (await client.launchInstance(request, ours));
      let instance: Instance;
      try {
        instance = await client.waitUntilActive(id);
      } catch (err) {
        // A create that fails leaves nothing in state, so an instance left running would bill unseen.
        await client.terminateInstance(id).catch(() => undefined);
        const reason = messageOf(err);
        throw new Error(`${reason} Instance "${id}" was terminated so that it does not bill unseen; run \`pulumi up\` again to retry.`);
      }
      const stored: InstanceOutputs = { ...inputs, status: instance.status };
      return { id, outs: observed(instance, stored) };
    });
  },

  async read(id, props) {
    const stored = props ?? ({ instanceType: "", region: "", sshKeyName: "", name: "", status: "" } as InstanceOutputs);
    const instance = await withClient(accessOf(stored), (client) => client.getInstance(id), true);
    if (!instance || INSTANCE_GONE_STATUSES.includes(instance.status)) return {};
    return { id, props: observed(instance, stored) };
  },

  async update(id, olds, news) {
    return withClient(accessOf(news), async (client) => {
      const instance = olds.name === news.name ? await client.getInstance(id) : await client.renameInstance(id, news.name);
      if (!instance) throw new Error(`Lambda Cloud API: instance "${id}" no longer exists; run \`pulumi refresh\` so that Pulumi launches a new one.`);
      return { outs: observed(instance, { ...olds, ...accessOf(news), name: news.name }) };
    });
  },

  async delete(id, props) {
    await withClient(
      accessOf(props),
      async (client) => {
        await client.terminateInstance(id);
        // Wait, so that the filesystems and ruleset it used can be deleted right after.
        await client.waitUntilTerminated(id);
      },
      true,
    );
  },
});

function markerTag(instance: Instance): string | undefined {
  return instance.tags?.find((tag) => tag.key === INSTANCE_MARKER_TAG)?.value;
}

export class LambdaInstance extends pulumi.dynamic.Resource {
  /** Instance type as Lambda reports it, e.g. `gpu_1x_gh200`. */
  declare readonly instanceType: pulumi.Output<string>;
  /** Lambda region the instance runs in. */
  declare readonly region: pulumi.Output<string>;
  /** Instance name (renamed in place). */
  declare readonly name: pulumi.Output<string>;
  /** Lambda's status, e.g. `active`. */
  declare readonly status: pulumi.Output<string>;
  /** Public IPv4 address, once Lambda assigns one. */
  declare readonly ip: pulumi.Output<string | undefined>;
  /** Address inside Lambda's private network. */
  declare readonly privateIp: pulumi.Output<string | undefined>;
  /** Hostname Lambda gives the instance. */
  declare readonly hostname: pulumi.Output<string | undefined>;

  constructor(name: string, args: LambdaInstanceArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      lambdaInstanceProvider,
      name,
      { ...args, marker: resourceMarker(name), status: undefined, ip: undefined, privateIp: undefined, hostname: undefined },
      withSecretOutputs(opts, ["apiKey"]),
      "lambda",
      "Instance",
    );
  }
}
