import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../src/stack-config";
import { releaseOf } from "../../src/config/release";
import { configRefusal } from "../helpers/stack-config";

const prod = (release: Record<string, unknown>) => parseStackConfig({ profile: "enterprise-multi-region", release }, "prod");

const errorOf = (release: Record<string, unknown>) => configRefusal({ profile: "enterprise-multi-region", release }, "prod");

describe("sophia:release", () => {
  it("prod judges its releases by default, holding when there is too little traffic", () => {
    expect(releaseOf(prod({}).release, "unified-api")).toEqual({ analysis: true, windowSeconds: undefined, triggers: ["errorRate", "latency", "healthChecks"], lowTraffic: "hold", minRequests: 100 });
  });

  it("a service's own settings replace the stack's", () => {
    const release = prod({ window: "5m", services: { "unified-api": { lowTraffic: "proceed", triggers: ["errorRate"] } } }).release;
    expect(releaseOf(release, "unified-api")).toMatchObject({ windowSeconds: 300, lowTraffic: "proceed", triggers: ["errorRate"] });
    expect(releaseOf(release, "agent-ui")).toMatchObject({ windowSeconds: 300, lowTraffic: "hold", triggers: ["errorRate", "latency", "healthChecks"] });
  });

  it("a window shorter than Fly's 15 s scrape interval is refused, with what to write", () => {
    expect(errorOf({ window: "10s" })).toMatch(/sophia:release\.window.*"10s" is shorter than Fly's scrape interval \(15s\).*use 15s or more/);
  });

  it("a service's window shorter than the scrape interval is refused at its path", () => {
    expect(errorOf({ services: { "unified-api": { window: "5s" } } })).toMatch(/sophia:release\.services\.unified-api\.window.*shorter than Fly's scrape interval/);
  });

  it("an unknown service is refused with the nearest name", () => {
    expect(errorOf({ services: { "unified-apii": { analysis: false } } })).toMatch(/sophia:release\.services\.unified-apii.*is not a service; did you mean "unified-api"\?/);
  });

  it("an unknown trigger is refused with the triggers there are", () => {
    expect(errorOf({ triggers: ["errors"] })).toMatch(/sophia:release\.triggers.*errorRate.*latency.*healthChecks/);
  });
});
