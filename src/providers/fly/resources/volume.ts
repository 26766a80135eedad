/**
 * FlyVolume: a Fly volume, bound to one region and attached to at most one machine.
 * Volumes only grow: a larger size extends in place, a smaller one fails at check.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ApiError } from "../../http";
import { isMachineGone, isVolumeGone } from "../api/client";
import { notOursError } from "../../dynamic/identity";
import { ADOPT_HINT } from "./app";
import { APP_NAME, REGION, changedKeys, compact, connectionOf, flyClient, isUnknown, validate, type Failure } from "./common";
import { withSecretOutputs, type FlyConnectionArgs } from "./args";
import { flyDefaults, type FlyConnectionInputs } from "../api/connection";
import type { FlyVolumeInfo } from "../api/schemas";
import { explainingFailures } from "../../dynamic/errors";

export interface FlyVolumeArgs extends FlyConnectionArgs {
  /** App the volume belongs to. Changing it replaces the volume. */
  app: pulumi.Input<string>;
  /**
   * Volume name (letters, digits, underscores; at most 30), unique per app and region: a create
   * adopts an unattached volume of this name left by an interrupted run. Machines mount it by id.
   * Changing it replaces the volume.
   */
  name: pulumi.Input<string>;
  /** Fly region, e.g. "sjc". A machine can only mount a volume in its own region. Changing it replaces the volume. */
  region: pulumi.Input<string>;
  /** Size in GB. Can grow in place (extend), never shrink. */
  sizeGb: pulumi.Input<number>;
  /** Encrypt at rest. Changing it replaces the volume. @default true */
  encrypted?: pulumi.Input<boolean>;
  /** Days of daily snapshots kept (1-60). @default 5 */
  snapshotRetention?: pulumi.Input<number>;
  /** Take daily snapshots. @default true */
  autoBackupEnabled?: pulumi.Input<boolean>;
  /**
   * Grow when usage passes this percentage. Fly applies auto-extend per machine mount, so these three
   * settings come out as `mountAutoExtend`, to spread into the machine's mount. @default off
   */
  autoExtendSizeThreshold?: pulumi.Input<number>;
  /**
   * Size of the machine that will mount the volume, so that Fly puts the volume on a host with
   * room for that machine. Only used when the volume is created. @default none
   */
  compute?: pulumi.Input<{ cpu_kind: "shared" | "performance"; cpus: number; memory_mb: number }>;
  /** GB added each time the threshold is passed. Required with the threshold. */
  autoExtendSizeIncrement?: pulumi.Input<number>;
  /** Auto-extend never grows the volume beyond this many GB. @default no limit */
  autoExtendSizeLimit?: pulumi.Input<number>;
  /**
   * Take over this existing volume of the app (its id, or a name no other volume of the app has)
   * rather than create one (`sophia:adopt`). It is checked against the inputs and keeps its data.
   * @default create a volume
   */
  adopt?: pulumi.Input<string>;
}

export interface FlyVolumeInputs extends FlyConnectionInputs {
  app: string;
  name: string;
  region: string;
  sizeGb: number;
  encrypted?: boolean;
  snapshotRetention?: number;
  autoBackupEnabled?: boolean;
  autoExtendSizeThreshold?: number;
  autoExtendSizeIncrement?: number;
  autoExtendSizeLimit?: number;
  compute?: { cpu_kind: "shared" | "performance"; cpus: number; memory_mb: number };
  adopt?: string;
}

/** Auto-extend as the Machines API wants it on a mount (fly.MachineMount). */
export interface FlyMountAutoExtend {
  extend_threshold_percent: number;
  add_size_gb: number;
  size_gb_limit?: number;
}

export interface FlyVolumeOutputs extends FlyVolumeInputs {
  volumeId: string;
  /** Machine the volume is attached to, as of the last create/update/refresh. */
  attachedMachineId?: string;
  zone?: string;
  mountAutoExtend?: FlyMountAutoExtend;
  /** Set when the last extend needs the attached machine restarted before the filesystem grows. */
  needsRestart?: boolean;
  /** Set when the volume existed before the stack and was adopted; volumes carry no marker, so state records it. */
  adopted?: boolean;
}

const REPLACE_KEYS = ["app", "name", "region", "encrypted"] as const;
const UPDATE_KEYS = [
  "snapshotRetention",
  "autoBackupEnabled",
  "autoExtendSizeThreshold",
  "autoExtendSizeIncrement",
  "autoExtendSizeLimit",
] as const;

function inputSchema() {
  const gb = z.int().min(1).max(500);
  return z
    .object({
      app: z.string().regex(APP_NAME, "app must be a Fly app name"),
      name: z.string().regex(/^[A-Za-z0-9_]{1,30}$/, "volume names are letters, digits and underscores, at most 30 characters"),
      region: z.string().regex(REGION, 'region must be a Fly region code such as "sjc"'),
      sizeGb: gb,
      encrypted: z.boolean().optional(),
      snapshotRetention: z.int().min(1).max(60).optional(),
      autoBackupEnabled: z.boolean().optional(),
      autoExtendSizeThreshold: z.int().min(1).max(99).optional(),
      autoExtendSizeIncrement: z.int().min(1).optional(),
      autoExtendSizeLimit: gb.optional(),
      compute: z
        .strictObject({ cpu_kind: z.enum(["shared", "performance"]), cpus: z.int().min(1).max(16), memory_mb: z.int().min(256) })
        .optional(),
      adopt: z.string().min(1).optional(),
      apiToken: z.string().optional(),
      apiUrl: z.string().optional(),
    })
    .refine((v) => (v.autoExtendSizeThreshold === undefined) === (v.autoExtendSizeIncrement === undefined), {
      message: "set autoExtendSizeThreshold and autoExtendSizeIncrement together",
      path: ["autoExtendSizeIncrement"],
    })
    .refine((v) => v.autoExtendSizeLimit === undefined || v.autoExtendSizeLimit >= v.sizeGb, {
      message: "autoExtendSizeLimit must be at least sizeGb",
      path: ["autoExtendSizeLimit"],
    });
}

/** The message for a smaller size: checked against the previous inputs, never the live size. */
export function shrinkFailure(name: string, oldGb: number, newGb: number): Failure {
  return {
    property: "sizeGb",
    reason:
      `volume "${name}" cannot shrink from ${oldGb} GB to ${newGb} GB: Fly volumes never shrink, they only grow (extend). ` +
      `Keep sizeGb at ${oldGb} or more; to get a smaller volume, create a new one under a new name and move the data.`,
  };
}

export const flyVolumeProvider = explainingFailures({
  async check(olds: Partial<FlyVolumeInputs>, news: FlyVolumeInputs) {
    const { failures } = validate(inputSchema(), news);
    const oldGb = olds?.sizeGb;
    if (typeof oldGb === "number" && typeof news.sizeGb === "number" && news.sizeGb < oldGb) {
      failures.push(shrinkFailure(news.name, oldGb, news.sizeGb));
    }
    // Fly's own defaults, so that state and drift compare like with like.
    const inputs: FlyVolumeInputs = {
      ...news,
      encrypted: news.encrypted ?? flyDefaults.volume.encrypted,
      snapshotRetention: news.snapshotRetention ?? flyDefaults.volume.snapshotRetention,
      autoBackupEnabled: news.autoBackupEnabled ?? flyDefaults.volume.autoBackupEnabled,
    };
    return { inputs, failures };
  },

  async diff(_id: string, olds: FlyVolumeOutputs, news: FlyVolumeInputs) {
    const replaces = changedKeys(olds, news, REPLACE_KEYS);
    const updates = changedKeys(olds, news, UPDATE_KEYS);
    // A volume that grew (auto-extend, or by hand) beyond the requested size is not a change.
    if (isUnknown(news.sizeGb) || news.sizeGb > olds.sizeGb) updates.push("sizeGb");
    return { changes: replaces.length + updates.length > 0, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: FlyVolumeInputs) {
    const client = flyClient(inputs, `FlyVolume "${inputs.name}"`);
    if (inputs.adopt !== undefined) return adoptVolume(client, inputs, inputs.adopt);
    const what = `volume "${inputs.name}" in app "${inputs.app}" (${inputs.region})`;
    // Volumes carry no marker, but each of ours has its own name in its app and region. One with
    // that name and no machine is what an interrupted or unanswered create leaves: adopt it. One
    // that a machine mounts was made for that machine, not lost by us.
    const leftover = async (): Promise<FlyVolumeInfo | undefined> => {
      const named = (await client.listVolumes(inputs.app)).filter((v) => v.name === inputs.name && v.region === inputs.region && !isVolumeGone(v));
      const free = named.find((v) => !v.attached_machine_id);
      if (free || named.length === 0) return free;
      throw notOursError(
        `create ${what}: a volume with this name (${named[0]?.id})`,
        `it is attached to machine ${named[0]?.attached_machine_id} that this stack did not record`,
        {
          adopt: `volumes: [${named[0]?.id}], with the machine that mounts it under machines:, ${ADOPT_HINT}`,
          rename: "choose another volume name",
          remove: `fly volumes destroy ${named[0]?.id} -a ${inputs.app}, after its machine`,
        },
      );
    };
    const found = await leftover();
    let volume =
      found ??
      (await client.createVolume(
        inputs.app,
        {
          name: inputs.name,
          region: inputs.region,
          size_gb: inputs.sizeGb,
          encrypted: inputs.encrypted ?? flyDefaults.volume.encrypted,
          snapshot_retention: inputs.snapshotRetention ?? flyDefaults.volume.snapshotRetention,
          auto_backup_enabled: inputs.autoBackupEnabled ?? flyDefaults.volume.autoBackupEnabled,
          ...(inputs.compute ? { compute: inputs.compute } : {}),
        },
        leftover,
      ));
    if (found) {
      // An adopted volume gets what this create asks for (it can only grow).
      if (found.size_gb < inputs.sizeGb) volume = (await client.extendVolume(inputs.app, found.id, inputs.sizeGb)).volume ?? volume;
      const retention = inputs.snapshotRetention ?? flyDefaults.volume.snapshotRetention;
      const backup = inputs.autoBackupEnabled ?? flyDefaults.volume.autoBackupEnabled;
      if (volume.snapshot_retention !== retention || volume.auto_backup_enabled !== backup) {
        volume = await client.updateVolume(inputs.app, found.id, { snapshot_retention: retention, auto_backup_enabled: backup });
      }
    }
    return { id: volume.id, outs: volumeOutputs(inputs, volume) };
  },

  async read(id: string, props: FlyVolumeOutputs) {
    const volume = await flyClient(props, `FlyVolume "${props.name}"`).getVolume(props.app, id);
    if (isVolumeGone(volume)) return {};
    return { id, props: volumeOutputs(props, volume as FlyVolumeInfo, props.adopted) };
  },

  async update(id: string, olds: FlyVolumeOutputs, news: FlyVolumeInputs) {
    const client = flyClient(news, `FlyVolume "${news.name}"`);
    let volume: FlyVolumeInfo | undefined;
    let needsRestart = false;
    if (news.sizeGb > olds.sizeGb) {
      const extended = await client.extendVolume(news.app, id, news.sizeGb);
      volume = extended.volume;
      needsRestart = extended.needsRestart;
    }
    const retention = news.snapshotRetention ?? flyDefaults.volume.snapshotRetention;
    const backup = news.autoBackupEnabled ?? flyDefaults.volume.autoBackupEnabled;
    if (retention !== olds.snapshotRetention || backup !== olds.autoBackupEnabled) {
      volume = await client.updateVolume(news.app, id, { snapshot_retention: retention, auto_backup_enabled: backup });
    }
    volume ??= await client.getVolume(news.app, id);
    if (isVolumeGone(volume)) {
      throw new Error(
        `update volume "${news.name}" (${id}) in app "${news.app}": the volume no longer exists. Run \`pulumi refresh\` so that Pulumi recreates it.`,
      );
    }
    return { outs: { ...volumeOutputs(news, volume as FlyVolumeInfo, olds.adopted), ...(needsRestart ? { needsRestart } : {}) } };
  },

  async delete(id: string, props: FlyVolumeOutputs) {
    const client = flyClient(props, `FlyVolume "${props.name}"`);
    const volume = await client.getVolume(props.app, id);
    if (isVolumeGone(volume)) return;
    const machineId = volume?.attached_machine_id;
    if (machineId) {
      // Allowed only when the machine is going too; Pulumi deletes dependent machines first.
      const machine = await client.getMachine(props.app, machineId);
      if (!isMachineGone(machine)) {
        throw new Error(
          `delete volume "${props.name}" (${id}) in app "${props.app}": it is attached to machine ${machineId} ` +
            `(state ${machine?.state}), and Fly refuses to delete an attached volume. Remove or replace the FlyMachine ` +
            "that mounts it in the same update (it must depend on this volume, e.g. through config.mounts), " +
            "or destroy that machine first.",
        );
      }
    }
    try {
      await client.deleteVolume(props.app, id);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 409 || err.status === 412)) {
        throw new Error(
          `delete volume "${props.name}" (${id}) in app "${props.app}": Fly still reports it attached (${err.apiMessage ?? "conflict"}). ` +
            "Wait a minute for the machine's destruction to settle and run the command again.",
        );
      }
      throw err;
    }
  },
});

/**
 * Takes over an existing volume: it must be in the app and region the inputs declare, encrypted as
 * declared, and no larger than declared (a volume never shrinks, so the stack must declare at
 * least its size). Its data is never touched: the volume is not recreated, and only grows to the
 * declared size and takes the declared snapshot settings, as any volume of the stack would.
 */
async function adoptVolume(client: ReturnType<typeof flyClient>, inputs: FlyVolumeInputs, ref: string) {
  const what = `adopt volume "${ref}" of app "${inputs.app}"`;
  const live = (await client.listVolumes(inputs.app)).filter((v) => !isVolumeGone(v));
  const matches = live.filter((v) => v.id === ref || v.name === ref);
  if (matches.length === 0) {
    const known = live.map((v) => `${v.id} (${v.name}, ${v.region}, ${v.size_gb} GB)`).join(", ") || "none";
    throw new Error(`${what}: the app has no volume with that id or name; its volumes: ${known}. Check the entry ${ADOPT_HINT}. Nothing was changed.`);
  }
  if (matches.length > 1) {
    throw new Error(`${what}: ${matches.length} volumes of the app are named "${ref}" (${matches.map((v) => v.id).join(", ")}); list the one you mean by its id ${ADOPT_HINT}. Nothing was changed.`);
  }
  const found = matches[0]!;
  const mismatch = (problem: string) => new Error(`${what}: ${problem}. Nothing was changed; the volume and its data are as they were.`);
  if (found.region !== inputs.region) {
    throw mismatch(
      `it is in region ${found.region}, but the stack puts this volume (and the machine that mounts it) in ${inputs.region}; a volume cannot move. ` +
        `Adopt it where the service runs in ${found.region} (sophia:primaryRegion), or restore a snapshot of it into ${inputs.region} and adopt that`,
    );
  }
  const encrypted = inputs.encrypted ?? flyDefaults.volume.encrypted;
  if (found.encrypted !== undefined && found.encrypted !== null && found.encrypted !== encrypted) {
    throw mismatch(`it is ${found.encrypted ? "" : "not "}encrypted and the stack declares ${encrypted ? "encrypted" : "unencrypted"} volumes; encryption cannot change in place`);
  }
  if (found.size_gb > inputs.sizeGb) {
    throw mismatch(`it holds ${found.size_gb} GB, and the stack declares ${inputs.sizeGb} GB; a volume never shrinks, so declare at least ${found.size_gb} (the service's volumeGb)`);
  }
  let volume: FlyVolumeInfo = found;
  if (found.size_gb < inputs.sizeGb) volume = (await client.extendVolume(inputs.app, found.id, inputs.sizeGb)).volume ?? volume;
  const retention = inputs.snapshotRetention ?? flyDefaults.volume.snapshotRetention;
  const backup = inputs.autoBackupEnabled ?? flyDefaults.volume.autoBackupEnabled;
  if (volume.snapshot_retention !== retention || volume.auto_backup_enabled !== backup) {
    volume = await client.updateVolume(inputs.app, found.id, { snapshot_retention: retention, auto_backup_enabled: backup });
  }
    return { id: found.id, outs: volumeOutputs(inputs, volume, true) };
}

/**
 * Outputs from the inputs and the volume as Fly shows it. An adopted volume keeps the name the
 * stack declares (its own may differ, and a volume's name cannot change): a name is part of how
 * the stack finds its own volumes, not of an adopted one's identity, which is its id.
 */
function volumeOutputs(inputs: FlyVolumeInputs, volume: FlyVolumeInfo, adopted?: boolean): FlyVolumeOutputs {
  const threshold = inputs.autoExtendSizeThreshold;
  const increment = inputs.autoExtendSizeIncrement;
  return compact({
    ...connectionOf(inputs),
    app: inputs.app,
    name: adopted ? inputs.name : volume.name,
    region: volume.region,
    sizeGb: volume.size_gb,
    encrypted: volume.encrypted ?? inputs.encrypted,
    snapshotRetention: volume.snapshot_retention ?? inputs.snapshotRetention,
    autoBackupEnabled: volume.auto_backup_enabled ?? inputs.autoBackupEnabled,
    autoExtendSizeThreshold: threshold,
    autoExtendSizeIncrement: increment,
    autoExtendSizeLimit: inputs.autoExtendSizeLimit,
    adopt: inputs.adopt,
    adopted,
    volumeId: volume.id,
    attachedMachineId: volume.attached_machine_id ?? undefined,
    zone: volume.zone ?? undefined,
    mountAutoExtend:
      threshold !== undefined && increment !== undefined
        ? compact({ extend_threshold_percent: threshold, add_size_gb: increment, size_gb_limit: inputs.autoExtendSizeLimit })
        : undefined,
  });
}

/** A Fly volume. `pulumi-nodejs:dynamic/fly:Volume`. */
export class FlyVolume extends pulumi.dynamic.Resource {
  declare readonly volumeId: pulumi.Output<string>;
  declare readonly name: pulumi.Output<string>;
  declare readonly region: pulumi.Output<string>;
  declare readonly sizeGb: pulumi.Output<number>;
  declare readonly attachedMachineId: pulumi.Output<string | undefined>;
  declare readonly mountAutoExtend: pulumi.Output<FlyMountAutoExtend | undefined>;

  constructor(name: string, args: FlyVolumeArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = { volumeId: undefined, attachedMachineId: undefined, zone: undefined, mountAutoExtend: undefined, adopted: undefined };
    super(flyVolumeProvider, name, { ...args, ...outputs }, withSecretOutputs(opts), "fly", "Volume");
  }
}
