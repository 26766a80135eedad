/**
 * `sophia:release`: how canary and rolling releases are judged. After the canary (or each rolling
 * step) passes its health checks, its machines are watched in Fly's Prometheus for `window`
 * against the rollback triggers of `sophia:slo.rollback` (the very expressions the alert rules
 * use), and a breach puts the release back (components/release-analysis.ts builds the inputs,
 * the machine provider does the watching). `services.<name>` overrides any setting per service.
 */
import { z } from "zod";
import { FLY_PROMETHEUS } from "../platform";
import { durationSchema, durationSeconds } from "./duration";
import { nearestName } from "./nearest";
import { strictObject as strict } from "./strict-object";

/** The rollback triggers, by their key under `sophia:slo.rollback`. */
export const TRIGGER_KINDS = ["errorRate", "latency", "healthChecks"] as const;
export type TriggerKind = (typeof TRIGGER_KINDS)[number];

const settings = {
  /** Judge canary and rolling releases on metrics; false: health checks only (an emergency release). */
  analysis: z.boolean(),
  /** How long the new machines are watched. @default the longest `for` of its triggers (the seed's: 3m) */
  window: durationSchema.optional(),
  /** Which of `sophia:slo.rollback`'s triggers judge the release. @default all of them */
  triggers: z.array(z.enum(TRIGGER_KINDS)).nonempty("list at least one trigger, or set analysis: false").optional(),
  /** Fewer requests than `minRequests` reached the new machines: `hold` puts the release back, `proceed` lets it go on unjudged. */
  lowTraffic: z.enum(["hold", "proceed"]),
  /** Requests the new machines must serve in the window for the release to be judged. */
  minRequests: z.number().int().min(1, "must be at least 1 request"),
};

/** A service's own settings; what it leaves out comes from `sophia:release`. */
const serviceReleaseSchema = strict({
  analysis: settings.analysis.optional(),
  window: settings.window,
  triggers: settings.triggers,
  lowTraffic: settings.lowTraffic.optional(),
  minRequests: settings.minRequests.optional(),
});

export const releaseSchema = strict({
  ...settings,
  /** Fly's Prometheus, e.g. an emulator's. @default https://api.fly.io/prometheus/<sophia:flyOrg>/ */
  prometheusUrl: z.url("must be an http(s) URL such as http://127.0.0.1:4280/prometheus/personal").optional(),
  /** Per service, settings that replace the ones above. @default {} */
  services: z.record(z.string(), serviceReleaseSchema).default({}),
});

export type ReleaseConfig = z.infer<typeof releaseSchema>;

/** A service's settings once its own replace the stack's. */
export interface ServiceRelease {
  analysis: boolean;
  /** Seconds; undefined means the longest `for` of the triggers. */
  windowSeconds?: number;
  triggers: TriggerKind[];
  lowTraffic: "hold" | "proceed";
  minRequests: number;
}

export function releaseOf(release: ReleaseConfig, service: string): ServiceRelease {
  const own = release.services[service] ?? {};
  const window = own.window ?? release.window;
  return {
    analysis: own.analysis ?? release.analysis,
    windowSeconds: window === undefined ? undefined : durationSeconds(window),
    triggers: [...(own.triggers ?? release.triggers ?? TRIGGER_KINDS)],
    lowTraffic: own.lowTraffic ?? release.lowTraffic,
    minRequests: own.minRequests ?? release.minRequests,
  };
}

type Add = (path: (string | number)[], message: string) => void;

/** Cross-field rules of `sophia:release`; `services` are the stack's service names. */
export function checkRelease(release: ReleaseConfig, services: readonly string[], add: Add): void {
  const scrape = FLY_PROMETHEUS.scrapeIntervalSeconds;
  const checkWindow = (at: (string | number)[], window: string | undefined) => {
    const seconds = window === undefined ? undefined : durationSeconds(window);
    if (seconds !== undefined && seconds < scrape) {
      add(at, `"${window}" is shorter than Fly's scrape interval (${scrape}s): the new machines would be judged on at most one sample; use ${scrape}s or more (the seed's triggers want 3m)`);
    }
  };
  checkWindow(["release", "window"], release.window);
  for (const [name, own] of Object.entries(release.services)) {
    if (!services.includes(name)) {
      const near = nearestName(name, services);
      add(["release", "services", name], `is not a service${near ? `; did you mean "${near}"?` : ""} Services: ${services.join(", ")}`);
    }
    checkWindow(["release", "services", name, "window"], own.window);
  }
}
