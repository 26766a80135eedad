/**
 * RecoveryRegion: where a stateful service's data lives, as Pulumi state. Its update is the one
 * moment the data moves (a failover, moving back, one service restored elsewhere): it refuses when
 * the new region already holds the app's volumes or machines (data left there before, which a
 * restore must not be mixed with), and records the region the data came from, which tells the
 * restore that it has work to do. Creating it checks nothing: a new stack has nothing anywhere,
 * and an existing one's data is where it should be.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isMachineGone, isVolumeGone } from "../fly/api/client";
import { flyClient } from "../fly/resources/common";
import { withSecretOutputs, type FlyConnectionArgs } from "../fly/resources/args";
import type { FlyConnectionInputs } from "../fly/api/connection";
import { validate } from "../dynamic/check";

export interface RecoveryRegionArgs extends FlyConnectionArgs {
  /** The stateful service, for messages. */
  service: pulumi.Input<string>;
  app: pulumi.Input<string>;
  /** The region its data lives in. */
  region: pulumi.Input<string>;
}

export interface RecoveryRegionInputs extends FlyConnectionInputs {
  service: string;
  app: string;
  region: string;
}

export interface RecoveryRegionOutputs extends RecoveryRegionInputs {
  /** The region the data was in before the last move; absent until the data first moves. */
  previousRegion?: string;
  movedAt?: string;
}

function inputSchema() {
  return z.object({ service: z.string().min(1), app: z.string().min(1), region: z.string().regex(/^[a-z]{3}$/), apiToken: z.string().optional(), apiUrl: z.string().optional() });
}

/** Refuses when `region` already holds the app's volumes or machines; the message names them and what to do. */
export async function assertRegionEmpty(inputs: RecoveryRegionInputs, from: string): Promise<void> {
  const client = flyClient(inputs, `restore of ${inputs.service}`);
  const [volumes, machines] = await Promise.all([client.listVolumes(inputs.app), client.listMachines(inputs.app)]);
  const stayingVolumes = volumes.filter((v) => v.region === inputs.region && !isVolumeGone(v));
  const stayingMachines = machines.filter((m) => m.region === inputs.region && !isMachineGone(m));
  if (stayingVolumes.length + stayingMachines.length === 0) return;
  const listed = [...stayingVolumes.map((v) => `volume ${v.id} (${v.name})`), ...stayingMachines.map((m) => `machine ${m.id} (${m.name ?? "unnamed"})`)];
  throw new Error(
    `restore ${inputs.service} into ${inputs.region} (its data moves from ${from}): ${inputs.region} already holds ${inputs.service}'s data from before: ${listed.join(", ")}. ` +
      `A restore goes only into a region without the service's data, so nothing stale is mixed with the backup; nothing was created. ` +
      `Once you no longer need that data, remove it (${[
        ...stayingMachines.map((m) => `fly machine destroy ${m.id} -a ${inputs.app} --force`),
        ...stayingVolumes.map((v) => `fly volumes destroy ${v.id} -a ${inputs.app}`),
      ].join("; ")}) and run \`pulumi up\` again.`,
  );
}

export const recoveryRegionProvider = {
  async check(_olds: Partial<RecoveryRegionInputs>, news: RecoveryRegionInputs) {
    return { inputs: news, failures: validate(inputSchema(), news).failures };
  },

  async diff(_id: string, olds: RecoveryRegionOutputs, news: RecoveryRegionInputs) {
    const replaces = olds.app !== news.app ? ["app"] : [];
    return { changes: replaces.length > 0 || olds.region !== news.region || olds.service !== news.service, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: RecoveryRegionInputs) {
    return { id: `${inputs.app}/data`, outs: { ...inputs } satisfies RecoveryRegionOutputs };
  },

  async read(id: string, props: RecoveryRegionOutputs) {
    return { id, props };
  },

  async update(_id: string, olds: RecoveryRegionOutputs, news: RecoveryRegionInputs) {
    if (olds.region === news.region) return { outs: { ...olds, ...news } };
    await assertRegionEmpty(news, olds.region);
    const outs: RecoveryRegionOutputs = { ...news, previousRegion: olds.region, movedAt: new Date().toISOString() };
    return { outs };
  },

  // Nothing exists on any platform for it.
  async delete() {},
};

/** Where a stateful service's data lives. `pulumi-nodejs:dynamic/recovery:Region`. */
export class RecoveryRegion extends pulumi.dynamic.Resource {
  declare readonly region: pulumi.Output<string>;
  declare readonly previousRegion: pulumi.Output<string | undefined>;

  constructor(name: string, args: RecoveryRegionArgs, opts?: pulumi.CustomResourceOptions) {
    super(recoveryRegionProvider, name, { ...args, previousRegion: undefined, movedAt: undefined }, withSecretOutputs(opts), "recovery", "Region");
  }
}
