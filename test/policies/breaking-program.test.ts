/**
 * The promises the real program keeps by construction, broken on purpose by a small test program
 * (fixtures/breaking-program.ts) and planned under the mock engine with the prod stack's config.
 */
import { beforeAll, describe, expect, it, vi } from "vitest";
import { loadStackConfig } from "../../src/stack-config";
import type { PlanDocument } from "../../src/planner/document";
import { runPlan } from "../../src/planner/engine";
import { buildPlanDocument } from "../../src/planner/report";
import { projectDir } from "../helpers/plan";

let doc: PlanDocument;

beforeAll(async () => {
  const run = await runPlan({
    stack: "prod",
    projectDir,
    load: async () => {
      vi.resetModules(); // a fresh copy, registered anew (files share a module graph)
      return import("./fixtures/breaking-program");
    },
  });
  doc = buildPlanDocument(run, loadStackConfig());
});

const messages = (policy: string) => doc.policies.results.find((r) => r.name === policy)?.violations.map((v) => v.message) ?? [];

describe("a program that breaks the promises the real one keeps", () => {
  it("a data service with a public address is named, with the Flycast fix", () => {
    expect(messages("data-services-private")).toEqual([
      expect.stringMatching(/^fly:IpAddress weaviate-ip-v6 gives the data service weaviate a public v6 address; .*Fix: give weaviate a private_v6 \(Flycast\) address alone/),
    ]);
  });

  it("a machine without a health check is named, with where the check goes", () => {
    expect(messages("every-service-health-checked")).toEqual([
      expect.stringMatching(/^fly:Machine mcp-memory-machine-sjc-0 has no health check in its config.checks and on its proxy service \(services\[\]\.checks\).*sophia:services.mcp-memory.healthCheck/),
    ]);
  });

  it("a secret unwrapped into a machine's environment is found by its value, and named by its key", () => {
    expect(messages("secrets-stay-secret")).toContainEqual(
      expect.stringMatching(/^fly:Machine mcp-memory-machine-sjc-0 carries the value of sophia:databaseUrl in plain text at config\.env\.DATABASE_URL, .*Fix: pass it as a Pulumi secret/),
    );
  });

  it("a Fly secret set from a plain string is named by its key", () => {
    expect(messages("secrets-stay-secret")).toContainEqual(expect.stringMatching(/^fly:Secrets unified-api-secrets receives values\.REDIS_URL as plain text/));
  });

  it("a GPU firewall that opens SSH to the world is named, with the sshAllowedCidrs fix", () => {
    expect(messages("gpu-firewall-not-world-open")).toEqual([
      expect.stringMatching(/^lambda:FirewallRuleset gpu-firewall opens SSH to 0\.0\.0\.0\/0, which is the whole internet\. Fix: list only your own egress address in sophia:gpu.sshAllowedCidrs/),
    ]);
  });

  it("sizes Fly does not sell: names the machine and the volume, with the service's config keys", () => {
    const found = messages("fly-sizes-sold");
    expect(found).toContainEqual(expect.stringMatching(/^fly:Machine vector-store-machine-sjc-0: shared-cpu-16x is not sold; shared CPUs come in 1, 2, 4, 8\. Fix: set sophia:services.vector-store.cpuKind, cpus and memoryMb/));
    expect(found).toContainEqual(expect.stringMatching(/^fly:Volume vector-store-vol-sjc-0 asks for 600 GB; Fly volumes are whole GB from 1 to 500\. Fix: set sophia:services.vector-store.volumeGb/));
  });

  it("no secret value is in any message", () => {
    const text = JSON.stringify(doc.policies);
    expect(text).not.toMatch(/plan-placeholder|hunter2/);
  });

  it("production data stores created protected and retained pass", () => {
    expect(doc.resources.filter((r) => r.protect && r.retainOnDelete).map((r) => r.kind).sort()).toEqual(["fly:App", "fly:Volume", "fly:Volume", "lambda:Filesystem"]);
    expect(doc.policies.results.find((r) => r.name === "prod-data-protected")).toMatchObject({ enforcement: "mandatory", violations: [] });
  });
});
