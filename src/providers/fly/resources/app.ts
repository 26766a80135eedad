/**
 * FlyApp: a Fly.io app in an organization. Apps have no mutable settings through the Machines API,
 * so any change to name or org replaces the app.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { isMachineGone, isVolumeGone } from "../api/client";
import type { FlyAppInfo } from "../api/schemas";
import { notOursError } from "../../dynamic/identity";
import { APP_NAME, changedKeys, compact, connectionOf, sameValue, flyClient, validate } from "./common";
import { withSecretOutputs, type FlyConnectionArgs } from "./args";
import { type FlyConnectionInputs } from "../api/connection";
import { explainingFailures } from "../../dynamic/errors";

/**
 * An existing app to take over rather than create (`sophia:adopt`): every live machine and volume
 * in it must be listed, by id (volumes also by name), so that nothing in it is left unaccounted for.
 */
export interface FlyAppAdoption {
  machines: string[];
  volumes: string[];
}

export interface FlyAppArgs extends FlyConnectionArgs {
  /** Globally unique app name: lowercase letters, digits and dashes. Changing it replaces the app. */
  name: pulumi.Input<string>;
  /** Organization slug (`sophia:flyOrg`), e.g. "personal". Changing it replaces the app. */
  org: pulumi.Input<string>;
  /** Take over the existing app of this name, with these machines and volumes. @default create it */
  adopt?: pulumi.Input<FlyAppAdoption>;
}

export interface FlyAppInputs extends FlyConnectionInputs {
  name: string;
  org: string;
  adopt?: FlyAppAdoption;
}

export interface FlyAppOutputs extends FlyAppInputs {
  /** Fly's status for the app, e.g. "pending" or "deployed". */
  status: string;
  appId?: string;
  /** Set when the app existed before the stack and was adopted; apps carry no marker, so state records it. */
  adopted?: boolean;
}

/** Where a "not ours" error points: the adoption list and the README section on it. */
export const ADOPT_HINT = "under sophia:adopt in the stack file; see the README, \"Bringing an existing Fly deployment under the stack\"";

const REPLACE_KEYS = ["name", "org"] as const;

function inputSchema() {
  return z.object({
    name: z.string().regex(APP_NAME, "app names are 1-63 lowercase letters, digits and dashes, not starting or ending with a dash"),
    org: z.string().regex(/^[a-z0-9-]+$/, 'org must be an organization slug such as "personal" (see `fly orgs list`)'),
    adopt: z.object({ machines: z.array(z.string()), volumes: z.array(z.string()) }).optional(),
    apiToken: z.string().optional(),
    apiUrl: z.string().optional(),
  });
}

export const flyAppProvider = explainingFailures({
  async check(_olds: FlyAppInputs, news: FlyAppInputs) {
    const { failures } = validate(inputSchema(), news);
    return { inputs: news, failures };
  },

  async diff(_id: string, olds: FlyAppOutputs, news: FlyAppInputs) {
    const replaces = changedKeys(olds, news, REPLACE_KEYS);
    // Names are global: the same name in another org can only exist once the old app is gone.
    const deleteBeforeReplace = replaces.includes("org") && !replaces.includes("name");
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace };
  },

  async create(inputs: FlyAppInputs) {
    const client = flyClient(inputs, `FlyApp "${inputs.name}"`);
    if (inputs.adopt) return adoptApp(client, inputs, inputs.adopt);
    // App names are global and apps carry no marker: an app in our org with nothing in it is what
    // an interrupted or unanswered create leaves (machines and volumes come only after the app is
    // recorded), so it is adopted; anything else under the name is not ours to take.
    const leftover = async (): Promise<FlyAppInfo | undefined> => {
      const app = await client.getApp(inputs.name);
      if (!app) return undefined;
      const org = app.organization?.slug;
      if (org && org !== inputs.org) {
        throw new Error(
          `create app "${inputs.name}": the name is already taken by another organization. ` +
            "Fly app names are global across all organizations: choose a prefix unique to you with " +
            "`pulumi config set sophia:appPrefix <prefix>` (it names every app).",
        );
      }
      const [machines, volumes] = await Promise.all([client.listMachines(inputs.name), client.listVolumes(inputs.name)]);
      const live = machines.filter((m) => !isMachineGone(m)).length + volumes.filter((v) => !isVolumeGone(v)).length;
      if (live > 0) {
        throw notOursError(
          `create app "${inputs.name}": an app with this name in org "${inputs.org}"`,
          `it already holds ${live} machine(s) or volume(s) that this stack did not record`,
          {
            adopt: `app: ${inputs.name}, with its volumes and machines, ${ADOPT_HINT}`,
            rename: "`pulumi config set sophia:appPrefix <prefix>`",
            remove: `fly apps destroy ${inputs.name}`,
          },
        );
      }
      return app;
    };
    const app = (await leftover()) ?? (await client.createApp({ name: inputs.name, org_slug: inputs.org }, leftover), await client.getApp(inputs.name));
    const outs: FlyAppOutputs = compact({
      ...connectionOf(inputs),
      name: inputs.name,
      org: app?.organization?.slug ?? inputs.org,
      status: app?.status ?? "pending",
      appId: app?.id ?? undefined,
    });
    return { id: inputs.name, outs };
  },

  async read(id: string, props: FlyAppOutputs) {
    const app = await flyClient(props, `FlyApp "${id}"`).getApp(id);
    if (!app) return {};
    const outs: FlyAppOutputs = compact({
      ...connectionOf(props),
      name: app.name,
      org: app.organization?.slug ?? props.org,
      adopt: props.adopt,
      status: app.status ?? props.status,
      appId: app.id ?? props.appId,
      adopted: props.adopted,
    });
    return { id, props: outs };
  },

  async update(_id: string, olds: FlyAppOutputs, news: FlyAppInputs) {
    // Only connection settings can reach here (everything else replaces).
    if (!sameValue(olds.name, news.name) || !sameValue(olds.org, news.org)) {
      throw new Error(`update app "${olds.name}": name and org cannot change in place; this is a bug in the FlyApp diff.`);
    }
    return { outs: compact({ ...olds, ...connectionOf(news), adopt: news.adopt }) };
  },

  async delete(id: string, props: FlyAppOutputs) {
    // Fly destroys the app's machines, volumes, IPs and certificates with it; 404 means already gone.
    await flyClient(props, `FlyApp "${id}"`).deleteApp(id);
  },
});

/**
 * Takes over an existing app: it must be in the declared org, and every live machine and volume in
 * it must be listed for adoption (each is then checked by its own resource). Nothing is changed
 * here; a mismatch is an error that says how to fix it.
 */
async function adoptApp(client: ReturnType<typeof flyClient>, inputs: FlyAppInputs, adopt: FlyAppAdoption) {
  const what = `adopt app "${inputs.name}"`;
  const app = await client.getApp(inputs.name);
  if (!app) {
    throw new Error(
      `${what}: no app of that name is visible with this Fly token (fly apps list). Check the name ${ADOPT_HINT}, ` +
        "or remove the entry to have the stack create a new app. Nothing was changed.",
    );
  }
  const org = app.organization?.slug;
  if (org && org !== inputs.org) {
    throw new Error(
      `${what}: it is in organization "${org}", but the stack deploys to "${inputs.org}" (sophia:flyOrg). Set sophia:flyOrg to "${org}", ` +
        "or move the app to the stack's organization first. Nothing was changed.",
    );
  }
  const [machines, volumes] = await Promise.all([client.listMachines(inputs.name), client.listVolumes(inputs.name)]);
  const strayMachines = machines.filter((m) => !isMachineGone(m) && !adopt.machines.includes(m.id)).map((m) => `${m.id}${m.name ? ` (${m.name})` : ""}`);
  const strayVolumes = volumes.filter((v) => !isVolumeGone(v) && !adopt.volumes.includes(v.id) && !adopt.volumes.includes(v.name ?? "")).map((v) => `${v.id} (${v.name})`);
  if (strayMachines.length + strayVolumes.length > 0) {
    const listed = [strayMachines.length > 0 ? `machine(s) ${strayMachines.join(", ")}` : "", strayVolumes.length > 0 ? `volume(s) ${strayVolumes.join(", ")}` : ""].filter(Boolean);
    throw new Error(
      `${what}: it holds ${listed.join(" and ")}, which the adoption does not list. List each ${ADOPT_HINT} (machines under machines:, ` +
        "volumes under volumes:, in the order of the service's machines), or remove it first (snapshot a volume before you destroy it: " +
        "fly volumes snapshots create <id>). Nothing was changed.",
    );
  }
  const outs: FlyAppOutputs = compact({
    ...connectionOf(inputs),
    name: inputs.name,
    org: org ?? inputs.org,
    adopt,
    status: app.status ?? "deployed",
    appId: app.id ?? undefined,
    adopted: true,
  });
  return { id: inputs.name, outs };
}

/** A Fly.io app. `pulumi-nodejs:dynamic/fly:App`. */
export class FlyApp extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly org: pulumi.Output<string>;
  declare readonly status: pulumi.Output<string>;
  declare readonly appId: pulumi.Output<string | undefined>;

  constructor(name: string, args: FlyAppArgs, opts?: pulumi.CustomResourceOptions) {
    super(flyAppProvider, name, { ...args, status: undefined, appId: undefined, adopted: undefined }, withSecretOutputs(opts), "fly", "App");
  }
}
