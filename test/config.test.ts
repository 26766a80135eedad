import { describe, expect, it } from "vitest";
import { cidrProblem, decodeConfigValue, parseStackConfig, serviceRegions } from "../src/stack-config";
import { CONFIG_NAMESPACES, configKeyProblem } from "../src/config/namespaces";
import { nearestName } from "../src/config/nearest";
import { profiles } from "../environments/profiles";
import { expectEach } from "./helpers/expect-each";
import { configRefusal } from "./helpers/stack-config";

const dev = { profile: "single-user-lax" };
const prod = { profile: "enterprise-multi-region" };

const errorOf = (overrides: Record<string, unknown>) => configRefusal(overrides, "dev");

describe("profiles", () => {
  it("single-user-lax parses and keeps everything in lax", () => {
    const config = parseStackConfig(dev, "dev");
    expect(config.regions).toEqual(["lax"]);
    expect(config.primaryRegion).toBe("lax");
  });

  it("single-user-lax scales every product service to zero", () => {
    const config = parseStackConfig(dev, "dev");
    // vmalert and Alertmanager (off in dev by default) must keep evaluating and routing when on.
    const product = Object.entries(config.services).filter(([name]) => !["vmalert", "alertmanager"].includes(name));
    expectEach(product, ([name, service]) => {
      expect(service, name).toMatchObject({ minMachines: 0, autostart: true, strategy: "immediate" });
      expect(service.autostop, name).not.toBe("off");
    });
  });

  it("single-user-lax gives the API shared-cpu-2x 512 MB with a 60 s /healthz check and 5/10 connections", () => {
    const api = parseStackConfig(dev, "dev").services["unified-api"];
    expect(api).toMatchObject({ cpuKind: "shared", cpus: 2, memoryMb: 512 });
    expect(api.healthCheck).toMatchObject({ intervalSeconds: 60, gracePeriodSeconds: 10, timeoutSeconds: 5 });
    expect(api.concurrency).toEqual({ type: "connections", softLimit: 5, hardLimit: 10 });
  });

  it("single-user-lax has no standing GPU nodes", () => {
    expect(parseStackConfig(dev, "dev").gpu.standing).toBe(0);
  });

  it("enterprise-multi-region parses with sjc primary and lax failover", () => {
    const config = parseStackConfig(prod, "prod");
    expect(config.primaryRegion).toBe("sjc");
    expect(config.regions).toEqual(["sjc", "lax"]);
  });

  it("enterprise-multi-region follows the seed's production table", () => {
    const s = parseStackConfig(prod, "prod").services;
    const row = (name: keyof typeof s) => [s[name].cpus, s[name].memoryMb, s[name].volumeGb, s[name].minMachines, s[name].maxMachines];
    // The seed's 2–4 Weaviate machines, but three, all running: four Raft voters survive no more lost nodes than three.
    expect(row("weaviate")).toEqual([2, 2048, 20, 3, 3]);
    expect(row("mcp-memory")).toEqual([2, 2048, 10, 2, 8]);
    expect(row("vector-store")).toEqual([2, 2048, 10, 2, 12]);
    expect(row("unified-api")).toEqual([4, 4096, undefined, 4, 20]);
    expect(row("agno-bridge")).toEqual([1, 1024, undefined, 2, 8]);
    expect(row("agent-ui")).toEqual([1, 1024, undefined, 2, 6]);
  });

  it("enterprise-multi-region stands one GH200 node", () => {
    const gpu = parseStackConfig(prod, "prod").gpu;
    expect([gpu.standing, gpu.instanceType]).toEqual([1, "gpu_1x_gh200"]);
  });

  it("keeps stateful services in the primary region and spans stateless ones", () => {
    const config = parseStackConfig(prod, "prod");
    expect(serviceRegions(config, config.services.weaviate)).toEqual(["sjc"]);
    expect(serviceRegions(config, config.services["unified-api"])).toEqual(["sjc", "lax"]);
  });

  it("both profiles define the same keys, so they compare side by side", () => {
    const keys = (o: object) => Object.keys(o).sort();
    expect(keys(profiles["single-user-lax"])).toEqual(keys(profiles["enterprise-multi-region"]));
  });
});

describe("stack overrides", () => {
  it("a stack file value overrides the profile", () => {
    const config = parseStackConfig({ ...dev, services: { weaviate: { maxMachines: 2 } } }, "dev");
    expect(config.services.weaviate.maxMachines).toBe(2);
    expect(config.services.weaviate.memoryMb).toBe(1024);
  });

  it("null removes a profile value, making a service stateless", () => {
    const config = parseStackConfig({ ...prod, services: { "mcp-memory": { volumeGb: null } } }, "prod");
    expect(config.services["mcp-memory"].volumeGb).toBeUndefined();
  });

  it("appPrefix defaults to sophia-<stack>", () => {
    expect(parseStackConfig(dev, "dev").appPrefix).toBe("sophia-dev");
  });
});

describe("budget", () => {
  it("defaults to the seeds' budgets: dev $25, prod $4,500 a month", () => {
    expect(parseStackConfig(dev, "dev").budget).toBe(25);
    expect(parseStackConfig(prod, "prod").budget).toBe(4500);
  });

  it("sophia:budget must be more than 0", () => {
    expect(errorOf({ ...dev, budget: 0 })).toContain("sophia:budget: must be a monthly budget in USD, more than 0 (got 0)");
  });
});

describe("bad input is rejected with the path, the value and the fix", () => {
  it("a missing profile lists the profiles", () => {
    expect(errorOf({})).toMatch(/sophia:profile: missing is not a profile; allowed: single-user-lax, enterprise-multi-region/);
  });

  it("a typo'd top-level key is rejected with the allowed keys", () => {
    expect(errorOf({ ...dev, regoins: ["lax"] })).toMatch(/sophia: unknown key "regoins"; allowed keys here: .*regions.*\. Did you mean "regions"\?/);
  });

  it("a typo'd service field is rejected with the allowed fields", () => {
    expect(errorOf({ ...dev, services: { weaviate: { maxMachine: 3 } } })).toMatch(
      /sophia:services\.weaviate: unknown key "maxMachine"; allowed keys here: .*maxMachines.*\. Did you mean "maxMachines"\?/,
    );
  });

  it("an unknown service name is rejected", () => {
    expect(errorOf({ ...dev, services: { weaviat: {} } })).toMatch(/sophia:services: unknown key "weaviat"/);
  });

  it("an unknown region lists the allowed regions", () => {
    expect(errorOf({ ...dev, regions: ["mars"] })).toMatch(/sophia:regions\[0\]: .*"lax".*\(got "mars"\)/);
  });

  it("a primary region outside the regions is rejected", () => {
    expect(errorOf({ ...dev, primaryRegion: "sjc" })).toMatch(/sophia:primaryRegion: "sjc" is not in regions \[lax\]/);
  });

  it("a service whose regions omit the primary region is rejected", () => {
    expect(errorOf({ ...prod, services: { "unified-api": { regions: ["lax"] } } })).toMatch(
      /sophia:services\.unified-api\.regions: \[lax\] must include the primary region "sjc"/,
    );
  });

  it("min above max is rejected", () => {
    expect(errorOf({ ...dev, services: { weaviate: { minMachines: 3 } } })).toMatch(
      /sophia:services\.weaviate\.minMachines: 3 is more than maxMachines 1/,
    );
  });

  it("a fractional volume size is rejected", () => {
    expect(errorOf({ ...dev, services: { weaviate: { volumeGb: 2.5 } } })).toMatch(
      /sophia:services\.weaviate\.volumeGb: must be a whole number of GB \(got 2\.5\)/,
    );
  });

  it("a zero volume size is rejected", () => {
    expect(errorOf({ ...dev, services: { weaviate: { volumeGb: 0 } } })).toMatch(/volumeGb: must be at least 1 GB \(got 0\)/);
  });

  it("canary on a service with a volume is rejected with the reason", () => {
    expect(errorOf({ ...prod, services: { weaviate: { strategy: "canary" } } })).toMatch(
      /sophia:services\.weaviate\.strategy: "canary" is not possible with a volume .*Fly forbids canary and bluegreen/,
    );
  });

  it("bluegreen on a service with a volume is rejected", () => {
    expect(errorOf({ ...prod, services: { "mcp-memory": { strategy: "bluegreen" } } })).toMatch(/"bluegreen" is not possible with a volume/);
  });

  it("an unknown strategy lists the strategies", () => {
    expect(errorOf({ ...dev, services: { "agent-ui": { strategy: "yolo" } } })).toMatch(/immediate.*rolling.*canary.*bluegreen.*\(got "yolo"\)/);
  });

  it("a CPU count Fly does not sell is rejected", () => {
    expect(errorOf({ ...dev, services: { "agent-ui": { cpus: 3 } } })).toMatch(/cpus: Fly does not sell shared-cpu-3x; shared CPUs come in 1, 2, 4, 8/);
  });

  it("16 shared CPUs are rejected: shared stops at 8", () => {
    expect(errorOf({ ...dev, services: { "agent-ui": { cpus: 16, memoryMb: 4096 } } })).toMatch(
      /sophia:services\.agent-ui\.cpus: Fly does not sell shared-cpu-16x; shared CPUs come in 1, 2, 4, 8 \(for more, use cpuKind "performance"\)/,
    );
  });

  it("16 performance CPUs are accepted", () => {
    expect(() => parseStackConfig({ ...dev, services: { "agent-ui": { cpuKind: "performance", cpus: 16, memoryMb: 32768 } } }, "dev")).not.toThrow();
  });

  it("a volume above Fly's maximum is rejected with the allowed range", () => {
    expect(errorOf({ ...dev, services: { weaviate: { volumeGb: 501 } } })).toMatch(/sophia:services\.weaviate\.volumeGb: Fly volumes are at most 500 GB; allowed 1–500/);
  });

  it("memory outside the CPU's range is rejected with the range", () => {
    expect(errorOf({ ...dev, services: { "agent-ui": { memoryMb: 4096 } } })).toMatch(/memoryMb: 4096 MB does not fit shared-cpu-1x; allowed 256–2048 MB/);
  });

  it("suspend on a machine above 2 GB is rejected", () => {
    expect(errorOf({ ...prod, services: { "unified-api": { autostop: "suspend" } } })).toMatch(/"suspend" needs at most 2048 MB/);
  });

  it("a soft limit above the hard limit is rejected", () => {
    expect(errorOf({ ...dev, services: { "agent-ui": { concurrency: { softLimit: 50 } } } })).toMatch(/softLimit: 50 is more than hardLimit 10/);
  });

  it("a stateful service spread over two regions is rejected", () => {
    expect(errorOf({ ...prod, services: { weaviate: { regions: ["sjc", "lax"] } } })).toMatch(/a service with a volume stays in the primary region/);
  });

  it("an app prefix too long for Fly's 63-character machine names is rejected", () => {
    expect(errorOf({ ...dev, appPrefix: "a".repeat(31) })).toMatch(/sophia:appPrefix: must be 2–30 lower-case letters/);
  });

  it("standing GPUs above the pool maximum are rejected", () => {
    expect(errorOf({ ...prod, gpu: { standing: 7 } })).toMatch(/sophia:gpu\.standing: 7 standing instances is more than maxInstances 6/);
  });

  it("prod's standing GPUs need no SSH source: readiness dials out by default", () => {
    expect(parseStackConfig(prod, "prod").gpu).toMatchObject({ readiness: "dial-out", sshAllowedCidrs: [] });
  });

  it("SSH sources with dial-out readiness are rejected: the firewall opens no SSH then", () => {
    expect(errorOf({ ...prod, gpu: { sshAllowedCidrs: ["34.82.10.7/32"] } })).toMatch(/sophia:gpu\.sshAllowedCidrs: lists \[34\.82\.10\.7\/32\], but readiness is "dial-out"/);
  });

  it("SSH readiness without a deploy address is rejected", () => {
    expect(errorOf({ ...prod, gpu: { readiness: "ssh" } })).toMatch(/sophia:gpu\.sshAllowedCidrs: is empty, but readiness "ssh" checks 1 standing GPU node/);
  });

  it("SSH readiness open to the world (/0) is rejected", () => {
    expect(errorOf({ ...prod, gpu: { readiness: "ssh", sshAllowedCidrs: ["0.0.0.0/0"] } })).toMatch(/sophia:gpu\.sshAllowedCidrs\[0\]: "0\.0\.0\.0\/0" opens SSH to the whole internet/);
  });

  it("SSH readiness from a wide range is rejected", () => {
    expect(errorOf({ ...prod, gpu: { readiness: "ssh", sshAllowedCidrs: ["10.0.0.0/8"] } })).toMatch(/"10\.0\.0\.0\/8" opens SSH to 2\^24 addresses/);
  });

  it("SSH readiness from a fixed address is accepted", () => {
    expect(parseStackConfig({ ...prod, gpu: { readiness: "ssh", sshAllowedCidrs: ["34.82.10.7/32"] } }, "prod").gpu.readiness).toBe("ssh");
  });

  it("a per-arch worker image without the pool's architecture is rejected", () => {
    expect(errorOf({ ...prod, gpu: { workerImage: { x86_64: "ghcr.io/o/w:1-amd64" } } })).toMatch(/sophia:gpu\.workerImage\.arm64: is missing: gpu_1x_gh200 nodes are arm64/);
  });

  it("an unknown GPU type lists the known types", () => {
    expect(errorOf({ ...dev, gpu: { instanceType: "gpu_1x_tpu" } })).toMatch(/sophia:gpu\.instanceType: .*gpu_1x_a100.*\(got "gpu_1x_tpu"\)/);
  });

  it("a hostname outside the domain is rejected", () => {
    expect(errorOf({ ...prod, edge: { hostnames: { "unified-api": ["api.example.com"] } } })).toMatch(
      /sophia:edge\.hostnames\.unified-api\[0\]: "api\.example\.com" is outside the domain "sophia-intel\.ai"/,
    );
  });

  it("two services claiming one hostname are rejected", () => {
    expect(errorOf({ ...prod, edge: { hostnames: { "agno-bridge": ["api.sophia-intel.ai"] } } })).toMatch(
      /"api\.sophia-intel\.ai" is already claimed by unified-api/,
    );
  });

  it("a Vercel UI with no repository is rejected", () => {
    expect(errorOf({ ...prod, edge: { vercelProject: { repo: null } } })).toMatch(/sophia:edge\.vercelProject\.repo: is required when uiHost is "vercel"/);
  });

  it("a price override for an unknown region lists the regions", () => {
    expect(errorOf({ ...dev, cost: { prices: { fly: { regionMultiplier: { mars: 1.2 } } } } })).toMatch(
      /sophia:cost\.prices\.fly\.regionMultiplier: unknown key "mars"; allowed keys here: ams, .*lax/,
    );
  });

  it("no message is zod's generic text", () => {
    const message = errorOf({ ...dev, flyOrg: "", services: { weaviate: { env: "A=1", cpus: "2" } }, volumes: { protect: "false" } });
    expect(message).not.toMatch(/Invalid input|Too small|Too big|Unrecognized key|Invalid option|expected \w+, received/);
  });

  it("every problem is reported at once, not only the first", () => {
    const message = errorOf({ ...prod, primaryRegion: "ord", services: { weaviate: { minMachines: 9 } } });
    expect(message).toMatch(/primaryRegion/);
    expect(message).toMatch(/minMachines/);
  });
});

describe("decodeConfigValue", () => {
  it("decodes structured values the way pulumi.Config.getObject does", () => {
    expect(decodeConfigValue('{"a":[1,true]}')).toEqual({ a: [1, true] });
  });

  it("keeps plain strings, including ones that look like JSON but are not", () => {
    expect(decodeConfigValue("{not json")).toBe("{not json");
    expect(decodeConfigValue("ghcr.io/x:1.0")).toBe("ghcr.io/x:1.0");
  });
});

describe("config key names", () => {
  it.each(["vercel", "docker"])("the %s settings listed are exactly the installed provider's", async (namespace) => {
    const pkg = namespace === "vercel" ? await import("@pulumiverse/vercel/config") : await import("@pulumi/docker/config");
    expect([...(CONFIG_NAMESPACES[namespace]?.keys ?? [])].sort()).toEqual(Object.keys(pkg).filter((k) => k !== "default").sort());
  });

  it.each(["vercel:team", "pulumi:tags", "sophia:profile"])("%s is a key something reads", (key) => {
    expect(configKeyProblem(key)).toBeUndefined();
  });

  it("a transposed region is one edit from the real one", () => {
    expect(nearestName("lxa", ["fra", "lax", "sjc"])).toBe("lax");
  });

  it("a word nothing resembles gets no suggestion", () => {
    expect(nearestName("kubernetes", ["sophia", "vercel", "docker", "pulumi"])).toBeUndefined();
  });
});

describe("cidrProblem", () => {
  it.each(["203.0.113.7/32", "10.0.0.0/8", "0.0.0.0/0"])("accepts %s", (cidr) => {
    expect(cidrProblem(cidr)).toBeUndefined();
  });

  it("names the octet above 255", () => {
    expect(cidrProblem("10.256.0.0/16")).toMatch(/256 is above 255/);
  });
});
