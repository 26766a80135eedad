/**
 * FlySecrets: the secret keys this stack manages for an app. Values are secret in state
 * (additionalSecretOutputs) and never appear in an error. Fly machines only pick up new secrets
 * when they are updated, so after a change the app's machines are updated in place; any machine
 * that could not be is named in `notice`.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ApiError } from "../../http";
import { isMachineGone, type FlyClient } from "../api/client";
import type { FlySecretInfo } from "../api/schemas";
import { APP_NAME, changedKeys, compact, connectionOf, containsUnknown, sameValue, flyClient, validate } from "./common";
import { resourceMarker, withSecretOutputs, type FlyConnectionArgs } from "./args";
import { markerOr, type Marked } from "../../dynamic/identity";
import { flyDefaults, type FlyConnectionInputs } from "../api/connection";
import { explainingFailures } from "../../dynamic/errors";

export interface FlySecretsArgs extends FlyConnectionArgs {
  /** App whose secrets these are. Changing it replaces the resource. */
  app: pulumi.Input<string>;
  /** Secret name → value. Keys removed here are unset on the app. Values stay secret in state. */
  values: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Update the app's machines after a change so that they run with the new values. @default true */
  updateMachines?: pulumi.Input<boolean>;
}

export interface FlySecretsInputs extends FlyConnectionInputs, Marked {
  app: string;
  values: Record<string, string>;
  updateMachines?: boolean;
}

export interface FlySecretsOutputs extends FlySecretsInputs {
  /** Fly's digest per managed key, to notice values changed outside Pulumi. */
  digests: Record<string, string>;
  /** Secrets version after the last change. */
  version?: number;
  /** Machines updated to pick up the last change. */
  machinesUpdated: string[];
  /** Keys on the app that this resource does not manage (left alone). */
  unmanagedKeys: string[];
  /** Set when some machines still run with older secrets, saying which and what to do. */
  notice?: string;
}

const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function inputSchema() {
  return z.object({
    app: z.string().regex(APP_NAME, "app must be a Fly app name"),
    values: z.record(
      z.string().regex(SECRET_NAME, "secret names are letters, digits and underscores, not starting with a digit"),
      // The message must not quote the value.
      z.string({ error: "secret values must be strings" }),
    ),
    updateMachines: z.boolean().optional(),
    apiToken: z.string().optional(),
    apiUrl: z.string().optional(),
  });
}

export const flySecretsProvider = explainingFailures({
  async check(_olds: Partial<FlySecretsInputs>, news: FlySecretsInputs) {
    const { failures } = validate(inputSchema(), news);
    return { inputs: news, failures };
  },

  async diff(_id: string, olds: FlySecretsOutputs, news: FlySecretsInputs) {
    const replaces = changedKeys(olds, news, ["app"] as const);
    const changed = containsUnknown(news.values) || !sameValue(olds.values ?? {}, news.values ?? {});
    return { changes: replaces.length > 0 || changed, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: FlySecretsInputs) {
    const client = secretsClient(inputs);
    const outs = await apply(client, inputs, {}, inputs.values);
    return { id: `${inputs.app}/secrets`, outs };
  },

  async read(id: string, props: FlySecretsOutputs) {
    const client = secretsClient(props);
    let live;
    try {
      live = await listSince(client, props.app, props.version);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return {};
      throw err;
    }
    const digests = new Map(live.map((s) => [s.name, s.digest ?? ""]));
    // A managed key that is gone, or whose digest changed, drops out of `values`: the next update
    // sets it again. Nothing here can learn the new value, which is the point.
    const values: Record<string, string> = {};
    const kept: Record<string, string> = {};
    for (const [key, value] of Object.entries(props.values ?? {})) {
      const digest = digests.get(key);
      if (digest === undefined || (props.digests?.[key] !== undefined && props.digests[key] !== digest)) continue;
      values[key] = value;
      kept[key] = digest;
    }
    const unmanagedKeys = [...digests.keys()].filter((k) => !(k in (props.values ?? {}))).sort();
    return { id, props: { ...props, values, digests: kept, unmanagedKeys } };
  },

  async update(_id: string, olds: FlySecretsOutputs, news: FlySecretsInputs) {
    return { outs: await apply(secretsClient(news), news, olds.values ?? {}, news.values, olds.version) };
  },

  async delete(_id: string, props: FlySecretsOutputs) {
    const client = secretsClient(props);
    let present: string[];
    try {
      present = (await listSince(client, props.app, props.version)).map((s) => s.name);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return; // the app is gone, and its secrets with it
      throw err;
    }
    const keys = Object.keys(props.values ?? {}).filter((k) => present.includes(k));
    if (keys.length > 0) await client.updateSecrets(props.app, Object.fromEntries(keys.map((k) => [k, null])));
  },
});

/**
 * The app's secrets at least as new as the version this resource last wrote: an older replica
 * would show our own change as drift, or miss a key we set. A version newer than the app's (the
 * app was made again outside Pulumi) is no floor at all: then the secrets as they are.
 */
async function listSince(client: FlyClient, app: string, version: number | undefined): Promise<FlySecretInfo[]> {
  if (version === undefined) return client.listSecrets(app);
  try {
    return await client.listSecrets(app, version);
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) return client.listSecrets(app);
    throw err;
  }
}

function secretsClient(inputs: FlySecretsInputs): FlyClient {
  // Every value is registered for redaction, in case Fly ever echoes one back in an error.
  return flyClient(inputs, `FlySecrets for app "${inputs.app}"`, Object.values(inputs.values ?? {}));
}

/** Sets changed keys and unsets removed ones in one call, then rolls the app's machines. */
async function apply(
  client: FlyClient,
  inputs: FlySecretsInputs,
  previous: Record<string, string>,
  next: Record<string, string>,
  previousVersion?: number,
): Promise<FlySecretsOutputs> {
  const changes: Record<string, string | null> = {};
  for (const key of Object.keys(previous)) if (!(key in next)) changes[key] = null;
  for (const [key, value] of Object.entries(next)) if (previous[key] !== value) changes[key] = value;
  // Kept when nothing changed: machines send it as min_secrets_version, and it must not vanish.
  let version = previousVersion;
  let machinesUpdated: string[] = [];
  let notice: string | undefined;
  let written: number | undefined;
  if (Object.keys(changes).length > 0) {
    version = written = await client.updateSecrets(inputs.app, changes);
    const rollout = await rollMachines(client, inputs, version);
    machinesUpdated = rollout.updated;
    notice = rollout.notice;
  }
  // At the version just written: an older replica's digests would be recorded as ours, and the
  // next refresh would take our own values for a change made outside Pulumi.
  const live = await client.listSecrets(inputs.app, written);
  const digests = Object.fromEntries(live.filter((s) => s.name in next).map((s) => [s.name, s.digest ?? ""]));
  return compact({
    ...connectionOf(inputs),
    app: inputs.app,
    values: next,
    updateMachines: inputs.updateMachines,
    digests,
    version,
    machinesUpdated,
    unmanagedKeys: live.map((s) => s.name).filter((k) => !(k in next)).sort(),
    notice,
  });
}

/**
 * Updates every machine of the app with its current config and the new secrets version, so it
 * runs with the new values. Stopped machines stay stopped and pick them up when they next start.
 */
async function rollMachines(
  client: FlyClient,
  inputs: FlySecretsInputs,
  version: number | undefined,
): Promise<{ updated: string[]; notice?: string }> {
  const machines = (await client.listMachines(inputs.app)).filter((m) => !isMachineGone(m));
  if (machines.length === 0) return { updated: [] };
  if (inputs.updateMachines === false) {
    return {
      updated: [],
      notice:
        `${machines.length} machine(s) of app "${inputs.app}" still run with the previous secrets (updateMachines is false): ` +
        `${machines.map((m) => m.id).join(", ")}. They pick up the new values on their next update (e.g. the next deploy).`,
    };
  }
  const updated: string[] = [];
  const skipped: string[] = [];
  for (const machine of machines) {
    const running = machine.state === "started";
    try {
      const holder = markerOr(inputs.marker, `fly-secrets:${inputs.app}`);
      const after = await client.withLease(inputs.app, machine.id, flyDefaults.leaseTtlSeconds, holder, (nonce) =>
        client.updateMachine(
          inputs.app,
          machine.id,
          { config: machine.config ?? {}, skip_launch: !running, ...(version === undefined ? {} : { min_secrets_version: version }) },
          nonce,
          machine.instance_id ?? undefined,
        ),
      );
      if (running) {
        await client.waitForState(inputs.app, machine.id, "started", {
          timeoutSeconds: flyDefaults.machineTimeoutSeconds,
          version: after.instance_id ?? undefined,
        });
      }
      updated.push(machine.id);
    } catch (err) {
      // A leased or vanished machine must not fail the secrets change itself; say so instead.
      if (err instanceof ApiError && (err.status === 404 || err.status === 409 || err.status === 412)) {
        skipped.push(`${machine.id} (${err.status === 404 ? "gone" : "leased by another deployment"})`);
        continue;
      }
      throw err;
    }
  }
  const notice =
    skipped.length === 0
      ? undefined
      : `secrets of app "${inputs.app}" changed, but these machines were not updated and still run with the previous values: ` +
        `${skipped.join(", ")}. Run the update again, or update them (fly machine update <id> -a ${inputs.app}).`;
  return { updated, notice };
}

/** Secrets of one Fly app. `pulumi-nodejs:dynamic/fly:Secrets`. */
export class FlySecrets extends pulumi.dynamic.Resource {
  declare readonly app: pulumi.Output<string>;
  declare readonly values: pulumi.Output<Record<string, string>>;
  declare readonly version: pulumi.Output<number | undefined>;
  declare readonly machinesUpdated: pulumi.Output<string[]>;
  declare readonly unmanagedKeys: pulumi.Output<string[]>;
  declare readonly notice: pulumi.Output<string | undefined>;

  constructor(name: string, args: FlySecretsArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = { digests: undefined, version: undefined, machinesUpdated: undefined, unmanagedKeys: undefined, notice: undefined };
    super(flySecretsProvider, name, { ...args, marker: resourceMarker(name), ...outputs }, withSecretOutputs(opts, ["values", "digests"]), "fly", "Secrets");
  }
}
