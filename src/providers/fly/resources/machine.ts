/**
 * FlyMachine: one Fly machine with its whole config. Region and name are immutable, so changing
 * them replaces the machine; everything else is an update that sends the whole config under a
 * lease, then waits for the intended state (and health checks when the release strategy asks).
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ApiError } from "../../http";
import { isMachineGone, type FlyClient } from "../api/client";
import { APP_NAME, REGION, compact, connectionOf, containsUnknown, sameValue, flyClient, isUnknown, validate } from "./common";
import { resourceMarker, withSecretOutputs, type FlyConnectionArgs } from "./args";
import { markerOr, notOursError, ownership, type Marked } from "../../dynamic/identity";
import { flyDefaults, type FlyConnectionInputs } from "../api/connection";
import { ADOPT_HINT } from "./app";
import { machineConfigSchema, normalizeAutostop, type FlyMachineConfig, type FlyMachineInfo } from "../api/schemas";
import { DECLARED_NAME_KEY, declaredNameOf } from "./machine-name";
import { failureIn, longestStepSeconds, markFailed, markStep, passStep, releaseGateSchema, releaseOf, ReleaseStopped, STEP_KEY, stepPassed, withStepMark, type ReleaseGate, type StepMark } from "./release-gate";
import { explainingFailures, messageOf } from "../../dynamic/errors";

export type { FlyMachineConfig, FlyMachineService, FlyMachineCheck, FlyMachineMount } from "../api/schemas";

export interface FlyMachineArgs extends FlyConnectionArgs {
  /** App the machine belongs to. Changing it replaces the machine. */
  app: pulumi.Input<string>;
  /** Machine name, unique within the app. Immutable on Fly: changing it replaces the machine. */
  name: pulumi.Input<string>;
  /** Fly region, e.g. "sjc". Immutable on Fly: changing it replaces the machine. */
  region: pulumi.Input<string>;
  /** The whole machine config, in the Machines API's own field names (fly.MachineConfig). */
  config: pulumi.Input<FlyMachineConfig>;
  /** Wait until the machine's checks pass after create/update (rolling, canary, bluegreen). @default false */
  waitForChecks?: pulumi.Input<boolean>;
  /**
   * With waitForChecks, also wait after create. A cluster member whose check needs a quorum sets
   * false: the first node cannot pass alone, so waiting would deadlock the first deploy. @default true
   */
  checksOnCreate?: pulumi.Input<boolean>;
  /** Create the machine without starting it. @default false */
  skipLaunch?: pulumi.Input<boolean>;
  /** Upper bound for reaching the intended state and passing checks. @default 300 */
  waitTimeoutSeconds?: pulumi.Input<number>;
  /**
   * Release order on update: machines of the same app (by name) that must run this machine's
   * release (`config.metadata.sophia_release`), and pass their checks when waitForChecks, before
   * this one is updated. A create never waits. @default [] (update at once)
   */
  releaseAfter?: pulumi.Input<string[]>;
  /**
   * The app's secrets version (FlySecrets' `version`): Fly starts the machine only with secrets at
   * least this new, as flyctl does on every launch and update. Without it a machine can boot with
   * the previous secrets while a new version is still propagating.
   */
  minSecretsVersion?: pulumi.Input<number | undefined>;
  /**
   * Gates the release on metrics (canary and rolling): the analysed step is watched in Fly's
   * Prometheus and a breach puts every machine the release changed back (see release-gate.ts).
   * @default none: checks only
   */
  releaseGate?: pulumi.Input<ReleaseGate>;
  /** Read-only token for Fly's Prometheus (`fly tokens create readonly`); secret in state. */
  metricsToken?: pulumi.Input<string>;
  /**
   * Take over this existing machine of the app (its id) rather than create one (`sophia:adopt`): it
   * keeps its id, name and volume and is updated to `config`. @default create a machine
   */
  adopt?: pulumi.Input<string>;
}

/** `marker` goes into the machine's metadata, so that a create can adopt its own leftover. */
export interface FlyMachineInputs extends FlyConnectionInputs, Marked {
  app: string;
  name: string;
  region: string;
  config: FlyMachineConfig;
  waitForChecks?: boolean;
  checksOnCreate?: boolean;
  skipLaunch?: boolean;
  waitTimeoutSeconds?: number;
  releaseAfter?: string[];
  minSecretsVersion?: number;
  releaseGate?: ReleaseGate;
  metricsToken?: string;
  adopt?: string;
}

export interface FlyMachineOutputs extends FlyMachineInputs {
  /** How the last release of this machine was judged, when it was gated. */
  releaseAnalysis?: string;
  machineId: string;
  /** Fly's version id of the current config. */
  instanceId?: string;
  /** 6PN address inside the org's private network. */
  privateIp?: string;
  /** The name the stack gave it, when the machine was adopted under a name of its own (names never change on Fly). */
  declaredName?: string;
}

const IMMUTABLE_KEYS = ["app", "name", "region"] as const;

function inputSchema() {
  return z.object({
    app: z.string().regex(APP_NAME, "app must be a Fly app name"),
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, "machine names are letters, digits, dashes and underscores (max 63)"),
    region: z.string().regex(REGION, 'region must be a Fly region code such as "sjc"'),
    config: machineConfigSchema(),
    waitForChecks: z.boolean().optional(),
    checksOnCreate: z.boolean().optional(),
    skipLaunch: z.boolean().optional(),
    waitTimeoutSeconds: z.int().min(1).max(3600).optional(),
    releaseAfter: z.array(z.string()).optional(),
    marker: z.string().optional(),
    minSecretsVersion: z.int().min(0).optional(),
    releaseGate: releaseGateSchema().optional(),
    metricsToken: z.string().optional(),
    adopt: z.string().min(1).optional(),
    apiToken: z.string().optional(),
    apiUrl: z.string().optional(),
  });
}

export const flyMachineProvider = explainingFailures({
  async check(_olds: Partial<FlyMachineInputs>, news: FlyMachineInputs) {
    const { failures } = validate(inputSchema(), news);
    if (news.releaseGate && !isUnknown(news.config) && !containsUnknown(news.config?.metadata) && news.config?.metadata?.sophia_release === undefined) {
      failures.push({ property: "releaseGate", reason: "a gated release needs config.metadata.sophia_release, which names the release the machines wait on" });
    }
    return { inputs: news, failures };
  },

  async diff(_id: string, olds: FlyMachineOutputs, news: FlyMachineInputs) {
    // An adopted machine keeps its own name; the one the stack declared is what a change compares.
    const current = { ...olds, name: olds.declaredName ?? olds.name };
    const replaces: string[] = IMMUTABLE_KEYS.filter((key) => isUnknown(news[key]) || current[key] !== news[key]);
    // A different volume or mount path is a new machine: the data moves with it. A config that is
    // wholly unknown in preview (e.g. a new image digest) is an update, not a replacement.
    const configUnknown = isUnknown(news.config);
    const oldMount = olds.config?.mounts?.[0];
    const newMount = configUnknown ? oldMount : news.config?.mounts?.[0];
    const mountChanged = containsUnknown(newMount) || oldMount?.volume !== newMount?.volume || oldMount?.path !== newMount?.path;
    if (mountChanged) replaces.push("config");
    const configChanged = containsUnknown(news.config) || !sameValue(canonicalConfig(olds.config), canonicalConfig(news.config));
    // The new machine can only mount the volume, or take the name, once the old one is gone.
    const sameVolume = oldMount?.volume !== undefined && oldMount.volume === newMount?.volume;
    const sameName = current.name === news.name && olds.app === news.app;
    return {
      changes: replaces.length > 0 || configChanged,
      replaces,
      deleteBeforeReplace: replaces.length > 0 && (sameVolume || sameName),
    };
  },

  async create(inputs: FlyMachineInputs) {
    const client = flyClient(inputs, `FlyMachine "${inputs.name}"`);
    const marker = machineMarker(inputs);
    if (inputs.adopt !== undefined) return adoptMachine(client, inputs, inputs.adopt, marker);
    // A machine made while its fleet takes a gated release counts as having passed its step, in this
    // run and later ones (it is never judged): the mark goes in with the config, so no call after the
    // create can fail and leave it unrecorded.
    const release = inputs.config.metadata?.sophia_release;
    const created = inputs.releaseGate && release !== undefined ? withStepMark(inputs.config, { state: "passed", release, at: client.now(), complete: true }) : inputs.config;
    const config = withMarker(canonicalConfig(created), marker);
    const what = `machine "${inputs.name}" in app "${inputs.app}"`;
    // The name is unique in the app; the marker tells our own leftover from someone else's machine.
    const ours = async (): Promise<FlyMachineInfo | undefined> => {
      const found = (await client.listMachines(inputs.app)).find((m) => m.name === inputs.name && !isMachineGone(m));
      if (!found) return undefined;
      const owner = ownership(markerOf(found), marker);
      if (owner !== "ours") {
        throw notOursError(
          `create ${what}: machine ${found.id} with this name`,
          owner === "foreign" ? `it belongs to another stack or resource (${markerOf(found)})` : "it carries no marker of this stack",
          {
            adopt: `machines: [${found.id}], with its app and volume, ${ADOPT_HINT}`,
            rename: "change the service's app prefix or machine name",
            remove: `fly machine destroy ${found.id} -a ${inputs.app} --force`,
          },
        );
      }
      if (found.region !== inputs.region) {
        throw new Error(
          `create ${what}: this stack's machine with this name (${found.id}) is in region ${found.region}, not ${inputs.region}. ` +
            `Destroy it (fly machine destroy ${found.id} -a ${inputs.app} --force) and run the command again.`,
        );
      }
      return found;
    };
    // A machine left behind by an interrupted run is adopted (and given our config) rather than duplicated.
    const leftover = await ours();
    const machine = leftover
      ? await client.withLease(inputs.app, leftover.id, flyDefaults.leaseTtlSeconds, marker, (nonce) =>
          client.updateMachine(inputs.app, leftover.id, { config, skip_launch: inputs.skipLaunch ?? false, ...secretsVersionOf(inputs) }, nonce, leftover.instance_id ?? undefined),
        )
      : await client.createMachine(inputs.app, { name: inputs.name, region: inputs.region, config, skip_launch: inputs.skipLaunch ?? false, ...secretsVersionOf(inputs) }, ours);
    if (!inputs.skipLaunch) {
      try {
        await settle(client, inputs, machine, "create");
      } catch (err) {
        // A failed create records nothing, so a machine left running would be half-done and hidden.
        const reason = messageOf(err);
        const destroyed = await client.deleteMachine(inputs.app, machine.id, true).then(
          () => `Machine ${machine.id} was destroyed, so nothing runs unrecorded; fix the cause and run the command again.`,
          () => `Destroying machine ${machine.id} failed too: destroy it yourself (fly machine destroy ${machine.id} -a ${inputs.app} --force).`,
        );
        throw new Error(`${reason} ${destroyed}`);
      }
    }
    return { id: machine.id, outs: machineOutputs(inputs, machine, inputs.config) };
  },

  async read(id: string, props: FlyMachineOutputs) {
    const machine = await flyClient(props, `FlyMachine "${props.name}"`).getMachine(props.app, id);
    if (isMachineGone(machine)) return {};
    const live = machine as FlyMachineInfo;
    // Only the config is compared; the run state is deliberately not an output, because Fly Proxy
    // stops and starts machines on its own (autostop) and that is not drift.
    const config = projectConfig(props.config, live.config ?? {});
    return { id, props: machineOutputs(props, live, config) };
  },

  async update(id: string, olds: FlyMachineOutputs, news: FlyMachineInputs) {
    const client = flyClient(news, `FlyMachine "${news.name}"`);
    if (sameValue(canonicalConfig(olds.config), canonicalConfig(news.config))) {
      return {
        outs: compact({
          ...olds,
          ...connectionOf(news),
          waitForChecks: news.waitForChecks,
          checksOnCreate: news.checksOnCreate,
          skipLaunch: news.skipLaunch,
          releaseAfter: news.releaseAfter,
          releaseGate: news.releaseGate,
          metricsToken: news.metricsToken,
        }),
      };
    }
    const since = client.now();
    const release = news.config.metadata?.sophia_release;
    const gate = release === undefined ? undefined : news.releaseGate;
    // Set once this machine's failed step is marked with its cause, or left to passStep, which marks every failure it meets.
    let stepMarked = false;
    try {
      await awaitReleaseOrder(client, news, since);
      const current = await client.getMachine(news.app, id);
      if (isMachineGone(current)) {
        throw new Error(
          `update machine "${news.name}" (${id}) in app "${news.app}": the machine no longer exists. ` +
            "Run `pulumi refresh` so that Pulumi recreates it.",
        );
      }
      // Keep scale-to-zero: a machine the proxy stopped stays stopped and picks up the config on its next start.
      const idle = current?.state === "stopped" || current?.state === "suspended";
      // An analysed step is started even if the proxy had stopped it: a stopped machine cannot be judged.
      const skipLaunch = news.skipLaunch === true || (idle && autostopEnabled(news.config) && news.releaseGate?.analyse !== true);
      const marker = machineMarker(news);
      const declared = olds.declaredName !== undefined ? news.name : undefined;
      const apply = (config: FlyMachineConfig, from: string | undefined) =>
        client
          .withLease(news.app, id, flyDefaults.leaseTtlSeconds, marker, (nonce) =>
            client.updateMachine(news.app, id, { config: withMarker(canonicalConfig(config), marker, declared), skip_launch: skipLaunch, ...secretsVersionOf(news) }, nonce, from),
          )
          .catch((err: unknown) => {
            if (err instanceof ApiError && err.status === 409 && err.operation.startsWith("acquire lease")) {
              throw new Error(
                `update machine "${news.name}" (${id}) in app "${news.app}": another deployment holds the machine's lease ` +
                  `(${err.apiMessage ?? "leased"}). Wait for it to finish (leases expire) and run the command again.`,
              );
            }
            throw err;
          });
      const machine = await apply(news.config, current?.instance_id ?? undefined);
      if (!skipLaunch) {
        try {
          await settle(client, news, machine, "update");
        } catch (err) {
          // The new config failed its checks: put the previous one back, so nothing is left half-done;
          // in a gated release, marked failed, so that the machines before it go back too.
          const reason = messageOf(err);
          const failed: StepMark | undefined = gate && release ? { state: "failed", release, at: client.now(), reason: "health checks failed", machine: news.name } : undefined;
          if (failed) {
            await markStep(client, news.app, id, failed).catch(() => undefined);
            stepMarked = true;
          }
          const rolledBack = await apply(failed ? withStepMark(olds.config, failed) : olds.config, machine.instance_id ?? undefined).then(
            () => "The machine was rolled back to its previous config; fix the change and run the command again.",
            (rollbackErr: unknown) =>
              `Rolling the machine back to its previous config failed as well (${messageOf(rollbackErr)}): ` +
              "run `pulumi refresh`, then the command again.",
          );
          throw new Error(`${reason} ${rolledBack}`);
        }
      }
      let releaseAnalysis: string | undefined;
      if (gate && release) {
        // Every way out of passStep but a pass marks the step failed, with its cause.
        stepMarked = true;
        releaseAnalysis = await passStep({
          client,
          app: news.app,
          name: news.name,
          id,
          release,
          gate,
          metricsToken: news.metricsToken,
          since,
          waitTimeoutSeconds: news.waitTimeoutSeconds ?? flyDefaults.machineTimeoutSeconds,
          restore: async (mark) => {
            const back = await apply(withStepMark(olds.config, mark), machine.instance_id ?? undefined);
            if (skipLaunch) return;
            // A minute at most, or the machine's own bound when shorter: the rollback reports either way.
            const timeoutSeconds = Math.min(60, news.waitTimeoutSeconds ?? flyDefaults.machineTimeoutSeconds);
            if (!(await client.waitForState(news.app, id, "started", { timeoutSeconds, version: back.instance_id ?? undefined }))) {
              const state = (await client.getMachine(news.app, id).catch(() => undefined))?.state ?? "unknown";
              throw new Error(
                `it is back on its previous config but did not start within ${timeoutSeconds} s (state: ${state}); ` +
                  `check its logs (fly logs -a ${news.app} --machine ${id}) and start it (fly machine start ${id} -a ${news.app})`,
              );
            }
          },
        });
      }
      return { outs: compact({ ...machineOutputs(news, machine, news.config), releaseAnalysis }) };
    } catch (err) {
      // Whatever else stops a gated update (its turn never came, the machine could not be read or
      // leased) fails its step at once, so the machines already on the release go back now instead
      // of holding until the no-progress timeout. A stop caused by another machine's failure is not
      // marked again: that machine's mark names the cause.
      if (gate && release && !stepMarked && !(err instanceof ReleaseStopped)) {
        const reason = `update failed: ${messageOf(err)}`.slice(0, 200);
        const told = await markFailed(client, news.app, id, gate, { state: "failed", release, at: client.now(), reason, machine: news.name }, since);
        if (!told) {
          throw new Error(
            `${messageOf(err)} Its failure could not be marked on any machine of the release either, so the machines already ` +
              "on it hold until their no-progress timeout before they go back.",
          );
        }
      }
      throw err;
    }
  },

  async delete(id: string, props: FlyMachineOutputs) {
    const client = flyClient(props, `FlyMachine "${props.name}"`);
    const existed = await client.deleteMachine(props.app, id, true);
    if (!existed) return;
    // Wait until it's really gone, so that a volume it mounted can be deleted right after. The
    // destroy already succeeded, so an API error here (e.g. 404 once it's purged) changes nothing.
    await client.waitForState(props.app, id, "destroyed", { timeoutSeconds: 60 }).catch((err: unknown) => {
      if (err instanceof ApiError) return true;
      throw err;
    });
  },
});

/**
 * Release order for an update: waits until every machine in `releaseAfter` runs this release
 * and, when the strategy waits for checks, passes them (a machine the proxy stopped counts as
 * released). The order lives here rather than in Pulumi dependencies because dependencies would
 * also chain the first create, which has no traffic to protect. The wait fails only when no
 * machine of the app has moved to the release for a whole timeout, so a long rolling chain works.
 */
async function awaitReleaseOrder(client: FlyClient, inputs: FlyMachineInputs, since: number): Promise<void> {
  const release = inputs.config.metadata?.sophia_release;
  const after = inputs.releaseAfter ?? [];
  if (release === undefined || after.length === 0) return;
  const gate = inputs.releaseGate;
  // A gated predecessor is analysed after its checks: that counts as being on its way.
  const timeoutMs = ((inputs.waitTimeoutSeconds ?? flyDefaults.machineTimeoutSeconds) + (gate ? longestStepSeconds(gate) * client.timeScale : 0)) * 1000;
  let deadline = client.now() + timeoutMs;
  let moved = -1;
  for (;;) {
    const machines = (await client.listMachines(inputs.app)).filter((m) => !isMachineGone(m));
    if (gate) {
      const failed = failureIn(machines, release, since);
      if (failed) {
        throw new ReleaseStopped(
          failed,
          `update machine "${inputs.name}" in app "${inputs.app}": the release of ${gate.analysis.service} (${release}) was stopped at machine ` +
            `"${failed.machine}" (${failed.reason}) before this machine's turn, so it was not changed. See that machine's update in this deployment's output.`,
        );
      }
    }
    const released = (m: FlyMachineInfo) =>
      gate ? stepPassed(m, release, since) :
      releaseOf(m) === release &&
      (!inputs.waitForChecks ||
        m.state === "stopped" ||
        m.state === "suspended" ||
        (m.state === "started" && (m.checks ?? []).every((c) => c.status === "passing")));
    // A predecessor that does not exist (removed, or not created yet) holds nothing up.
    const pending = after.filter((name) => machines.some((m) => declaredNameOf(m) === name && !released(m)));
    if (pending.length === 0) return;
    const onRelease = machines.filter((m) => releaseOf(m) === release).length;
    if (onRelease > moved) {
      moved = onRelease;
      deadline = client.now() + timeoutMs;
    }
    if (client.now() >= deadline) {
      throw new Error(
        `update machine "${inputs.name}" in app "${inputs.app}": it is released after ${pending.join(", ")}, which did not take the new ` +
          `release (${release})${inputs.waitForChecks ? " and pass its checks" : ""} within ${timeoutMs / 1000}s. See that machine's update ` +
          `in this deployment's output, fix it, and run the command again.`,
      );
    }
    await client.sleep(client.pollIntervalMs);
  }
}

/** `min_secrets_version` for a create or update body, when the app has a secrets version. */
function secretsVersionOf(inputs: FlyMachineInputs): { min_secrets_version?: number } {
  return inputs.minSecretsVersion === undefined ? {} : { min_secrets_version: inputs.minSecretsVersion };
}

/** Waits for the machine to start and, when asked, for its checks to pass, within the timeout. */
async function settle(client: FlyClient, inputs: FlyMachineInputs, machine: FlyMachineInfo, action: "create" | "update") {
  const timeoutSeconds = inputs.waitTimeoutSeconds ?? flyDefaults.machineTimeoutSeconds;
  const deadline = client.now() + timeoutSeconds * 1000;
  const what = `${action} machine "${inputs.name}" (${machine.id}) in app "${inputs.app}"`;
  const advice = `Check its logs (fly logs -a ${inputs.app} --machine ${machine.id}) or raise waitTimeoutSeconds (now ${timeoutSeconds}).`;
  for (;;) {
    const remaining = (deadline - client.now()) / 1000;
    if (remaining <= 0) {
      const state = (await client.getMachine(inputs.app, machine.id))?.state ?? "unknown";
      throw new Error(`${what}: not started within ${timeoutSeconds}s (state: ${state}). ${advice}`);
    }
    const started = await client.waitForState(inputs.app, machine.id, "started", {
      timeoutSeconds: remaining,
      version: machine.instance_id ?? undefined,
    });
    if (started) break;
  }
  if (!inputs.waitForChecks || (action === "create" && inputs.checksOnCreate === false)) return;
  const expected = countChecks(inputs.config);
  if (expected === 0) return;
  for (;;) {
    const current = await client.getMachine(inputs.app, machine.id);
    const checks = current?.checks ?? [];
    if (checks.length >= expected && checks.every((c) => c.status === "passing")) return;
    if (client.now() >= deadline) {
      const failing = checks
        .filter((c) => c.status !== "passing")
        .map((c) => `${c.name}: ${c.status}${c.output ? ` (${c.output.slice(0, 120)})` : ""}`)
        .join("; ");
      throw new Error(client.scrub(`${what}: health checks did not pass within ${timeoutSeconds}s [${failing || "no check results yet"}]. ${advice}`));
    }
    await client.sleep(Math.min(client.pollIntervalMs, Math.max(0, deadline - client.now())));
  }
}

/** Metadata key holding the marker; kept out of the config Pulumi compares. */
const MARKER_KEY = "sophia_resource";
/**
 * Takes over an existing machine: it must be in the app and region the inputs declare, carry no
 * other stack's marker, and mount the volume the inputs mount (or none), so that its data stays
 * where it is. Then it is marked as the stack's and updated to the declared config under a lease,
 * and waited for like a created machine. A mismatch is an error before anything changes.
 */
async function adoptMachine(client: FlyClient, inputs: FlyMachineInputs, machineId: string, marker: string) {
  const what = `adopt machine ${machineId} of app "${inputs.app}"`;
  const found = await client.getMachine(inputs.app, machineId);
  if (isMachineGone(found)) {
    const live = (await client.listMachines(inputs.app)).filter((m) => !isMachineGone(m)).map((m) => `${m.id} (${m.name}, ${m.region})`);
    throw new Error(`${what}: the app has no such machine; its machines: ${live.join(", ") || "none"}. Check the entry ${ADOPT_HINT}. Nothing was changed.`);
  }
  const machine = found as FlyMachineInfo;
  const mismatch = (problem: string) => new Error(`${what}: ${problem}. Nothing was changed.`);
  const owner = ownership(markerOf(machine), marker);
  if (owner === "foreign") throw mismatch(`it belongs to another stack or resource (${markerOf(machine)}), which manages it; adopt it there, or not at all`);
  if (machine.region !== inputs.region) {
    throw mismatch(
      `it runs in region ${machine.region}, but this place in the service's machines is in ${inputs.region}; a machine cannot move. ` +
        "List the service's machines region by region, in the order of its regions, or destroy this one",
    );
  }
  const theirs = (machine.config as FlyMachineConfig | undefined)?.mounts?.[0]?.volume;
  const ours = inputs.config.mounts?.[0]?.volume;
  if (theirs !== undefined && theirs !== ours) {
    throw mismatch(
      `it mounts volume ${theirs}, but the stack would mount ${ours ?? "no volume"} on it, which would take its data away from it. ` +
        "List that volume at the same position under volumes: as the machine under machines:",
    );
  }
  const declared = machine.name !== inputs.name ? inputs.name : undefined;
  const config = withMarker(canonicalConfig(inputs.config), marker, declared);
  const updated = await client.withLease(inputs.app, machine.id, flyDefaults.leaseTtlSeconds, marker, (nonce) =>
    client.updateMachine(inputs.app, machine.id, { config, skip_launch: inputs.skipLaunch ?? false, ...secretsVersionOf(inputs) }, nonce, machine.instance_id ?? undefined),
  );
  // A failure here leaves the machine the stack's, on the declared config, unrecorded: it is not
  // destroyed (it was not the stack's to destroy), and the next run adopts it again.
  if (!inputs.skipLaunch) await settle(client, inputs, updated, "create");
  return { id: machine.id, outs: machineOutputs(inputs, updated, inputs.config) };
}

function machineMarker(inputs: FlyMachineInputs): string {
  return markerOr(inputs.marker, `fly-machine:${inputs.app}/${inputs.name}`);
}

export function markerOf(machine: FlyMachineInfo): string | undefined {
  const metadata = machine.config?.metadata;
  const value = metadata && typeof metadata === "object" ? (metadata as Record<string, unknown>)[MARKER_KEY] : undefined;
  return typeof value === "string" ? value : undefined;
}

export function withMarker(config: FlyMachineConfig, marker: string, declaredName?: string): FlyMachineConfig {
  return { ...config, metadata: { ...config.metadata, [MARKER_KEY]: marker, ...(declaredName === undefined ? {} : { [DECLARED_NAME_KEY]: declaredName }) } };
}

function countChecks(config: FlyMachineConfig): number {
  const top = Object.keys(config.checks ?? {}).length;
  return top + (config.services ?? []).reduce((n, s) => n + (s.checks?.length ?? 0), 0);
}

function autostopEnabled(config: FlyMachineConfig): boolean {
  return (config.services ?? []).some((s) => s.autostop !== undefined && s.autostop !== "off");
}

function machineOutputs(inputs: FlyMachineInputs, machine: FlyMachineInfo, config: FlyMachineConfig): FlyMachineOutputs {
  const declared = (inputs as Partial<FlyMachineOutputs>).declaredName ?? inputs.name;
  return compact({
    ...connectionOf(inputs),
    app: inputs.app,
    name: machine.name ?? inputs.name,
    region: machine.region ?? inputs.region,
    config,
    waitForChecks: inputs.waitForChecks,
    checksOnCreate: inputs.checksOnCreate,
    skipLaunch: inputs.skipLaunch,
    waitTimeoutSeconds: inputs.waitTimeoutSeconds,
    releaseAfter: inputs.releaseAfter,
    releaseGate: inputs.releaseGate,
    metricsToken: inputs.metricsToken,
    marker: inputs.marker,
    adopt: inputs.adopt,
    declaredName: machine.name && machine.name !== declared ? declared : undefined,
    machineId: machine.id,
    instanceId: machine.instance_id ?? undefined,
    privateIp: machine.private_ip ?? undefined,
  });
}

/** A config in comparable form: no undefined, no empty maps/lists, autostop as a string. */
export function canonicalConfig(config: FlyMachineConfig | undefined): FlyMachineConfig {
  return canonical(config ?? {}) as FlyMachineConfig;
}

function canonical(value: unknown, key?: string): unknown {
  if (key === "autostop") return normalizeAutostop(value);
  if (Array.isArray(value)) return value.map((item) => canonical(item));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const c = canonical(v, k);
      if (c === undefined || c === null) continue;
      if (Array.isArray(c) && c.length === 0) continue;
      if (typeof c === "object" && !Array.isArray(c) && Object.keys(c).length === 0) continue;
      out[k] = c;
    }
    return out;
  }
  return value;
}

// Arrays, not Sets: Pulumi's closure serializer turns a module-level Set into a plain object.
/** Metadata the provider writes for itself (identity, release step): never drift. */
const PROVIDER_METADATA: readonly string[] = [MARKER_KEY, STEP_KEY, DECLARED_NAME_KEY];
/** Keys that are maps: every key in them is ours, so extra keys found on Fly are drift. */
const MAP_KEYS: readonly string[] = ["env", "metadata", "checks"];
/** Top-level keys whose appearance out of band is drift even if we never set them. */
const ALWAYS_COMPARED: readonly string[] = ["env", "services", "checks", "mounts"];

/**
 * The live config seen through the desired one: fields Fly fills in on its own (defaults, mount
 * sizes, fly_* metadata) are dropped, so only real differences remain.
 */
export function projectConfig(desired: FlyMachineConfig | undefined, actual: Record<string, unknown>): FlyMachineConfig {
  const want = canonicalConfig(desired) as Record<string, unknown>;
  const have = canonical(actual) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(have)) {
    if (!(key in want) && !ALWAYS_COMPARED.includes(key)) continue;
    if (!(key in want)) {
      out[key] = value;
    } else if (MAP_KEYS.includes(key) && value && typeof value === "object") {
      const wanted = want[key] as Record<string, unknown>;
      out[key] = Object.fromEntries(
        Object.entries(value).filter(([k]) => key !== "metadata" || !PROVIDER_METADATA.includes(k) && (!k.startsWith("fly_") || k in wanted)),
      );
    } else {
      out[key] = project(want[key], value);
    }
  }
  return out as FlyMachineConfig;
}

function project(want: unknown, have: unknown): unknown {
  if (Array.isArray(want) && Array.isArray(have)) return have.map((item, i) => project(want[i], item));
  if (want && have && typeof want === "object" && typeof have === "object" && !Array.isArray(want) && !Array.isArray(have)) {
    const wanted = want as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(have as Record<string, unknown>)
        .filter(([k]) => k in wanted)
        .map(([k, v]) => [k, project(wanted[k], v)]),
    );
  }
  return have;
}

/** A Fly machine. `pulumi-nodejs:dynamic/fly:Machine`. */
export class FlyMachine extends pulumi.dynamic.Resource {
  declare readonly machineId: pulumi.Output<string>;
  declare readonly name: pulumi.Output<string>;
  declare readonly region: pulumi.Output<string>;
  declare readonly instanceId: pulumi.Output<string | undefined>;
  declare readonly privateIp: pulumi.Output<string | undefined>;
  declare readonly config: pulumi.Output<FlyMachineConfig>;
  declare readonly releaseAnalysis: pulumi.Output<string | undefined>;

  constructor(name: string, args: FlyMachineArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = { machineId: undefined, instanceId: undefined, privateIp: undefined, releaseAnalysis: undefined };
    super(flyMachineProvider, name, { ...args, marker: resourceMarker(name), ...outputs }, withSecretOutputs(opts, ["metricsToken"]), "fly", "Machine");
  }
}
