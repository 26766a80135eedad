/**
 * The "bad release" phase, for a stack whose releases are judged on metrics (prod): a new release
 * of the first analysed service whose machines pass their health checks but answer a fifth of
 * requests with errors must be rolled back on its own, within 30 s of the breach being seen; then
 * a good release must go through. The release is a changed env var in the stack's config; the Fly
 * emulator is told, through its control API, that the new release misbehaves as soon as its first
 * machine takes it, so this runs against an emulator started elsewhere too.
 */
import { probeControl, type EmulatorControl } from "../emulators/control-client";
import { FlyClient } from "../providers/fly/api/client";
import { profiles } from "../../environments/profiles";
import type { ReleaseGate } from "../providers/fly";
import { ROLLED_BACK } from "../providers/fly/resources/release-gate";
import type { DeploymentState } from "./state";

/** The seed's promise: a misbehaving canary is back on its previous release within this long. */
export const ROLLBACK_LIMIT_SECONDS = 30;
/** The env var whose value makes a new release of the service. */
const RELEASE_ENV = "SOPHIA_REHEARSAL_RELEASE";
const ERROR_SHARE = 0.2;

export interface BadReleaseContext {
  state: DeploymentState;
  /** The Fly API (`…/v1`) and its token: its emulator's control API and Prometheus are on the same host. */
  flyApiUrl: string;
  flyApiToken: string;
  /** The stack file's config, raw. */
  stackConfig: Record<string, string>;
  /** Real time per platform time of the rehearsal: the emulator's metrics clock runs at it too. */
  timeScale: number;
  /** Runs `up` of the main deployment with these config keys replaced. */
  up(overrides: Record<string, string>): Promise<{ error?: string }>;
}

export interface BadReleaseOutcome {
  service: string;
  problems: string[];
  /** Platform seconds from the breach being seen to the canary running its previous release again. */
  rollbackSeconds?: number;
}

type Json = Record<string, unknown>;

/** The service to release: the first whose machine is analysed, or undefined when none is. */
function analysedService(state: DeploymentState): { service: string; app: string; release: string } | undefined {
  for (const entry of state.values()) {
    const gate = entry.inputs.releaseGate as ReleaseGate | undefined;
    if (!entry.type.endsWith("fly:Machine") || !gate?.analyse) continue;
    const release = (entry.inputs.config as { metadata?: Record<string, string> } | undefined)?.metadata?.sophia_release;
    if (release) return { service: gate.analysis.service, app: String(entry.inputs.app), release };
  }
  return undefined;
}

/** Merges `patch` into the stack file's JSON value of `key`. */
function withPatch(stackConfig: Record<string, string>, key: string, patch: Json): string {
  const merge = (base: Json, extra: Json): Json =>
    Object.fromEntries(
      [...new Set([...Object.keys(base), ...Object.keys(extra)])].map((k) => {
        const [b, e] = [base[k], extra[k]];
        const objects = [b, e].every((v) => v !== null && typeof v === "object" && !Array.isArray(v));
        return [k, objects ? merge(b as Json, e as Json) : e === undefined ? b : e];
      }),
    );
  return JSON.stringify(merge(JSON.parse(stackConfig[key] ?? "{}") as Json, patch));
}

export async function rehearseBadRelease(ctx: BadReleaseContext): Promise<BadReleaseOutcome | undefined> {
  const target = analysedService(ctx.state);
  if (!target) return undefined;
  const { service } = target;
  const control = await probeControl(ctx.flyApiUrl);
  if (!control) {
    return { service, problems: [`${ctx.flyApiUrl} has no emulator control API (/_emulator), so a release of ${service} cannot be made to misbehave there; rehearse against the emulators.`] };
  }
  const fly = new FlyClient({ apiUrl: ctx.flyApiUrl, apiToken: ctx.flyApiToken, context: "rehearsal: the bad release" });
  // The analysis windows are platform time: the emulator's metrics must pass at the providers' pace
  // (an emulator started elsewhere runs its clock at its own), and go back to it afterwards.
  const timing = (await control.put("/timing", {})) as { timing?: { timeScale?: number } };
  const ownScale = timing.timing?.timeScale ?? 1;
  await control.put("/timing", { timeScale: ctx.timeScale });
  try {
    return await releaseOf(ctx, target, control, fly);
  } finally {
    await control.put("/timing", { timeScale: ownScale }).catch(() => undefined);
  }
}

async function releaseOf(ctx: BadReleaseContext, target: { service: string; app: string; release: string }, control: EmulatorControl, fly: FlyClient): Promise<BadReleaseOutcome> {
  const { service, app, release: good } = target;
  const profile = ctx.stackConfig["sophia:profile"] as keyof typeof profiles | undefined;
  const org = ctx.stackConfig["sophia:flyOrg"] ?? (profile && profiles[profile]?.flyOrg) ?? "personal";
  const overrides = (value: string) => ({
    "sophia:services": withPatch(ctx.stackConfig, "sophia:services", { [service]: { env: { [RELEASE_ENV]: value } } }),
    "sophia:release": withPatch(ctx.stackConfig, "sophia:release", { prometheusUrl: `${ctx.flyApiUrl.replace(/\/v1\/?$/, "")}/prometheus/${org}` }),
  });
  const releases = async () =>
    (await fly.listMachines(app)).map((m) => ({ name: String(m.name), release: ((m.config as Json | undefined)?.metadata as Json | undefined)?.sophia_release }));
  const problems: string[] = [];

  // 1. A bad release: every machine passes its checks, a fifth of the requests fail. The watch
  // tells the emulator as soon as a machine runs a release other than the good one.
  const misbehaving = new Set<string>();
  let deploying = true;
  const watch = (async () => {
    while (deploying) {
      for (const { release } of await releases().catch(() => [])) {
        if (typeof release === "string" && release !== good && !misbehaving.has(release)) {
          misbehaving.add(release);
          await control.post(`/releases/${encodeURIComponent(release)}/misbehave`, { errorShare: ERROR_SHARE });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const bad = await ctx.up(overrides("bad")).finally(() => (deploying = false));
  await watch;
  let rollbackSeconds: number | undefined;
  if (!bad.error) {
    problems.push(`The bad release of ${service} went through: its error ratio of ${ERROR_SHARE * 100}% was not caught.`);
  } else {
    const said = [service, "error ratio", "breached the trigger", "threshold", "analysis window", "The release was rolled back"].filter((words) => !bad.error!.includes(words));
    if (said.length > 0) problems.push(`The failure does not say ${said.map((w) => `"${w}"`).join(", ")}: ${bad.error.slice(0, 400)}`);
    const seconds = ROLLED_BACK.exec(bad.error)?.[1];
    if (seconds === undefined) problems.push("The failure does not say how long after the breach the release was rolled back.");
    else rollbackSeconds = Number(seconds);
    if (rollbackSeconds !== undefined && rollbackSeconds > ROLLBACK_LIMIT_SECONDS) {
      problems.push(`The canary was rolled back ${rollbackSeconds} s after the breach was seen, more than the seed's ${ROLLBACK_LIMIT_SECONDS} s.`);
    }
  }
  const strays = (await releases()).filter((m) => m.release !== good);
  if (strays.length > 0) problems.push(`After the rollback, ${strays.map((m) => m.name).join(", ")} still run${strays.length === 1 ? "s" : ""} the bad release.`);

  // 2. A good release goes through, judged.
  const fine = await ctx.up(overrides("good"));
  if (fine.error) problems.push(`The good release of ${service} failed: ${fine.error.slice(0, 400)}`);
  const next = await releases();
  const stale = next.filter((m) => m.release === good);
  if (!fine.error && (next.length === 0 || stale.length > 0)) problems.push(`After the good release, ${stale.map((m) => m.name).join(", ") || "no machine"} still run the previous one.`);
  const judged = [...ctx.state.values()].some((e) => e.inputs.app === app && typeof e.outputs.releaseAnalysis === "string" && e.outputs.releaseAnalysis.startsWith("passed"));
  if (!fine.error && !judged) problems.push(`The good release of ${service} was not judged on its metrics.`);
  for (const release of misbehaving) await control.post(`/releases/${encodeURIComponent(release)}/misbehave`, {});
  return { service, problems, rollbackSeconds };
}
