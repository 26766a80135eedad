/** How the rehearsal reads the dependency graph: stages, and components standing for their resources. */
import { describe, expect, it } from "vitest";
import type { RecordedResource } from "../../src/planner/engine";
import { customDependencies, keyOfUrn } from "../../src/rehearsal/deploy";
import { longestPath } from "../../src/rehearsal/phases";

const urn = (type: string, name: string, parentType?: string) => `urn:pulumi:dev::sophia::${parentType ? `${parentType}$` : ""}${type}::${name}`;

function resource(type: string, name: string, options: { custom?: boolean; parent?: string; dependencies?: string[]; parentType?: string } = {}): RecordedResource {
  return {
    urn: urn(type, name, options.parentType),
    type,
    name,
    parent: options.parent,
    custom: options.custom ?? true,
    inputs: {},
    protect: false,
    retainOnDelete: false,
    dependencies: options.dependencies ?? [],
  };
}

describe("rehearsal graph", () => {
  it("keys a resource by its type and name, whatever its parents", () => {
    expect(keyOfUrn(urn("pulumi-nodejs:dynamic/fly:App", "api-app", "sophia:fly:Service"))).toBe("pulumi-nodejs:dynamic/fly:App::api-app");
  });

  it("a dependency on a component stands for every custom resource under it", () => {
    const service = resource("sophia:fly:Service", "api", { custom: false });
    const app = resource("pulumi-nodejs:dynamic/fly:App", "api-app", { parent: service.urn, parentType: "sophia:fly:Service" });
    const machine = resource("pulumi-nodejs:dynamic/fly:Machine", "api-m0", { parent: service.urn, parentType: "sophia:fly:Service", dependencies: [app.urn] });
    const cert = resource("pulumi-nodejs:dynamic/fly:Certificate", "cert", { dependencies: [service.urn] });
    const deps = customDependencies([service, app, machine, cert]);
    expect(deps.get(keyOfUrn(cert.urn))!.sort()).toEqual([keyOfUrn(app.urn), keyOfUrn(machine.urn)].sort());
    expect(deps.has(keyOfUrn(service.urn))).toBe(false);
  });

  it("counts dependent stages as the longest chain, not the number of resources", () => {
    const deps: Record<string, string[]> = { app: [], ip: ["app"], vol: ["app"], m0: ["ip", "vol"], m1: ["ip", "vol"], cert: ["app", "ip"] };
    expect(longestPath(Object.keys(deps), (k) => deps[k]!, () => 1)).toBe(3);
  });

  it("weighs the longest chain by each operation's time", () => {
    const deps: Record<string, string[]> = { a: [], b: ["a"], c: [] };
    const ms: Record<string, number> = { a: 5, b: 7, c: 20 };
    expect(longestPath(Object.keys(deps), (k) => deps[k]!, (k) => ms[k]!)).toBe(20);
  });
});
