import { FLY_SERVICE_TYPE } from "../../components/fly-service";
import { beforeAll, describe, expect, it } from "vitest";
import { loadStackConfig } from "../../src/stack-config";
import { expectEach } from "../helpers/expect-each";
import { planStack, type PlannedStack } from "../helpers/plan";

let plan: PlannedStack;
beforeAll(async () => {
  plan = await planStack("dev", { configOverrides: { "sophia:edge": JSON.stringify({ customDomain: true }) } });
}, 60_000);

describe("dev with a custom domain", () => {
  it("keeps the agent UI on Fly", () => {
    expect(plan.ofKind("fly:App").map((a) => a.inputs.name)).toContain("sophia-dev-agent-ui");
    expect(plan.ofKind("vercel:Project")).toHaveLength(0);
  });

  it("gets a Fly certificate for every dev hostname on its app", () => {
    const certs = plan.ofKind("fly:Certificate").map((c) => `${c.inputs.hostname} → ${c.inputs.app}`).sort();
    expect(certs).toEqual([
      "dev-api.sophia-intel.ai → sophia-dev-unified-api",
      "dev-app.sophia-intel.ai → sophia-dev-agent-ui",
      "dev-bridge.sophia-intel.ai → sophia-dev-agno-bridge",
    ]);
  });

  it("points each dev hostname at Fly with a CNAME and an ACME challenge record", () => {
    const records = plan.ofKind("vercel:DnsRecord").map((r) => `${r.inputs.type} ${r.inputs.name}`).sort();
    expect(records).toEqual([
      "CNAME _acme-challenge.dev-api",
      "CNAME _acme-challenge.dev-app",
      "CNAME _acme-challenge.dev-bridge",
      "CNAME dev-api",
      "CNAME dev-app",
      "CNAME dev-bridge",
    ]);
  });

  it("gives every record the configured TTL", () => {
    const ttl = loadStackConfig().edge.dnsTtl;
    expectEach(plan.ofKind("vercel:DnsRecord"), (r) => expect(r.inputs.ttl).toBe(ttl));
  });

  it("exports the custom hostnames as public URLs", () => {
    expect(plan.outputs.publicUrls).toEqual({
      "unified-api": "https://dev-api.sophia-intel.ai",
      "agno-bridge": "https://dev-bridge.sophia-intel.ai",
      "agent-ui": "https://dev-app.sophia-intel.ai",
    });
  });

  it("wires the bridge to the API by its custom hostname", () => {
    const machine = plan.inside(FLY_SERVICE_TYPE, "agno-bridge").find((r) => r.kind === "fly:Machine");
    expect((machine?.inputs.config as { env: Record<string, string> }).env.UNIFIED_API_URL).toBe("https://dev-api.sophia-intel.ai");
  });
});
