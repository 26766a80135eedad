/**
 * The plan's view of how each service's changes reach its machines: the strategy, and the
 * analysis its machines carry (window, triggers, what too little traffic does), read from the
 * machine inputs the plan holds, so it shows what a deployment would get.
 */
import type { StackConfig } from "../stack-config";
import { notAnalysedBecause } from "../../components/release-analysis";
import { INTERNAL_KEY } from "../../components/fly-service";
import type { ReleaseGate } from "../providers/fly";
import { TYPES } from "../estimate/resources";
import type { ReleaseSummary, ServiceSummary } from "./document";

interface Placed {
  type: string;
  inputs: Record<string, unknown>;
}

export function summarizeReleases(resources: readonly Placed[], services: readonly ServiceSummary[], config: StackConfig): ReleaseSummary[] {
  const machines = resources.filter((r) => r.type === TYPES.machine);
  const gates = machines.map((r) => ({ app: String(r.inputs.app), gate: r.inputs.releaseGate as ReleaseGate | undefined }));
  const internal = (app: string | null) =>
    machines.some((r) => r.inputs.app === app && (r.inputs.config as { metadata?: Record<string, string> } | undefined)?.metadata?.[INTERNAL_KEY] !== undefined);
  return services.flatMap((service): ReleaseSummary[] => {
    const strategy = config.services[service.name]?.strategy;
    if (strategy === undefined) return [];
    const gated = gates.filter((g) => g.app === service.app && g.gate !== undefined).map((g) => g.gate!);
    const analysed = gated.find((g) => g.analyse);
    if (!analysed) {
      return [{ service: service.name, strategy, analysis: null, checksOnly: notAnalysedBecause(config, { name: service.name, strategy, reach: service.reach, internal: internal(service.app) }) ?? "no machine carries an analysis" }];
    }
    const { analysis } = analysed;
    return [
      {
        service: service.name,
        strategy,
        analysis: {
          steps: gated.filter((g) => g.analyse).length,
          windowSeconds: analysis.windowSeconds,
          triggers: analysis.triggers.map((t) => t.description),
          minRequests: analysis.minRequests,
          lowTraffic: analysis.lowTraffic,
          checksFailingInARow: analysis.healthChecks?.consecutiveFailures ?? null,
        },
        checksOnly: null,
      },
    ];
  });
}
