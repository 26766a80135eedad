/** Prod without the monitoring secrets in ESC: stopped before any resource, each key named with where to set it. */
import { beforeAll, describe, expect, it } from "vitest";
import type { PlanError } from "../../src/planner/engine";
import { planFailure } from "../helpers/plan";

let failure: PlanError;
beforeAll(async () => {
  failure = await planFailure("prod", { omitSecrets: ["sophia:alertHeartbeatUrl", "sophia:flyPrometheusToken"] });
}, 60_000);

describe("missing monitoring secrets", () => {
  it("stop the program before any resource is registered", () => {
    expect(failure.registered).toEqual([]);
  });

  it("name the heartbeat URL, who needs it and the ESC environment that holds it", () => {
    expect(failure.message).toContain(
      `sophia:alertHeartbeatUrl (dead man's switch URL the always-firing watchdog pings (e.g. a healthchecks.io check)) is not set; needed by alertmanager. Set it in the ESC environment sophia/prod`,
    );
  });

  it("name the read-only metrics token for all its users: vmalert, Grafana and the release analysis", () => {
    expect(failure.message).toMatch(/sophia:flyPrometheusToken \(read-only Fly token for the metrics API \(fly tokens create readonly\)\) is not set; needed by vmalert, grafana, the release analysis of unified-api\./);
  });
});
