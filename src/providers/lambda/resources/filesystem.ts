/**
 * LambdaFilesystem: a persistent shared filesystem. Filesystems are regional and can only be
 * mounted by instances in the same region; one that is mounted cannot be deleted.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  accessOf,
  Checker,
  configureFromStack,
  diffProps,
  withClient,
  withSecretOutputs,
  type LambdaAccess,
  type LambdaAccessArgs,
} from "./common";
import { notOursError } from "../../dynamic/identity";
import { LAMBDA_REGIONS, type Filesystem } from "../api/schemas";
import { explainingFailures } from "../../dynamic/errors";

export interface LambdaFilesystemArgs extends LambdaAccessArgs {
  /** Filesystem name, unique in the account; launches mount it by name. Changing it replaces the filesystem. */
  name: pulumi.Input<string>;
  /** Lambda region, e.g. `us-west-1`. Changing it replaces the filesystem (and loses its data). */
  region: pulumi.Input<string>;
}

export interface FilesystemInputs extends LambdaAccess {
  name: string;
  region: string;
}

export interface FilesystemOutputs extends FilesystemInputs {
  /** Default mount point on instances, e.g. `/lambda/nfs/<name>`. */
  mountPoint: string;
  /** Whether an instance mounts it (then it cannot be deleted). */
  isInUse: boolean;
}

const NAME = /^[a-zA-Z]+[0-9a-zA-Z-]*$/;

function observed(fs: Filesystem): Omit<FilesystemOutputs, keyof LambdaAccess> {
  return { name: fs.name, region: fs.region.name, mountPoint: fs.mount_point, isInUse: fs.is_in_use };
}

export const lambdaFilesystemProvider: pulumi.dynamic.ResourceProvider<FilesystemInputs, FilesystemOutputs> = explainingFailures({
  configure: configureFromStack,

  async check(_olds, news) {
    const checker = new Checker();
    if (checker.requiredString("name", news.name, 60)) {
      checker.check("name", news.name, NAME.test(news.name),
        `Filesystem name "${news.name}" must start with a letter and contain only letters, digits and hyphens.`);
    }
    checker.oneOf("region", news.region, LAMBDA_REGIONS, "Lambda region");
    return { inputs: news, failures: checker.failures };
  },

  async diff(_id, olds, news) {
    const { changed, replaces } = diffProps(olds, news, { replace: ["name", "region"], update: [] });
    // Names are unique per account: a move to another region under the same name must delete first.
    return { changes: changed.length > 0, replaces, deleteBeforeReplace: !changed.includes("name") };
  },

  async create(inputs) {
    const fs = await withClient(accessOf(inputs), async (client) => {
      // Names are unique in the account and filesystems carry no marker. One with our name in our
      // region that nothing mounts is what an interrupted or unanswered create leaves: adopt it.
      const leftover = async (): Promise<Filesystem | undefined> => {
        const found = (await client.listFilesystems()).find((f) => f.name === inputs.name);
        if (!found || (found.region.name === inputs.region && !found.is_in_use)) return found;
        throw notOursError(
          `create filesystem "${inputs.name}" in ${inputs.region}: a filesystem with this name (${found.id}, in ${found.region.name})`,
          found.region.name === inputs.region ? "an instance this stack did not launch mounts it" : `it is in ${found.region.name}`,
          { rename: "change the pool's name prefix", remove: "delete it in the Lambda Cloud dashboard under Storage, after saving its data" },
        );
      };
      return (await leftover()) ?? (await client.createFilesystem(inputs.name, inputs.region, leftover));
    });
    return { id: fs.id, outs: { ...accessOf(inputs), ...observed(fs) } };
  },

  async read(id, props) {
    const stored = props ?? ({ name: "", region: "", mountPoint: "", isInUse: false } as FilesystemOutputs);
    const fs = await withClient(accessOf(stored), (client) => client.getFilesystem(id), true);
    if (!fs) return {};
    return { id, props: { ...stored, ...observed(fs) } };
  },

  // Every real change replaces; an update only ever carries new credentials.
  async update(_id, olds, news) {
    return { outs: { ...olds, apiKey: news.apiKey, apiUrl: news.apiUrl } };
  },

  async delete(id, props) {
    await withClient(accessOf(props), (client) => client.deleteFilesystem(id), true);
  },
});

export class LambdaFilesystem extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly region: pulumi.Output<string>;
  declare readonly mountPoint: pulumi.Output<string>;
  declare readonly isInUse: pulumi.Output<boolean>;

  constructor(name: string, args: LambdaFilesystemArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      lambdaFilesystemProvider,
      name,
      { ...args, mountPoint: undefined, isInUse: undefined },
      withSecretOutputs(opts, ["apiKey"]),
      "lambda",
      "Filesystem",
    );
  }
}
