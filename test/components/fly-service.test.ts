/**
 * The pure parts of FlyService: normalization, Fly Proxy services, Flycast URLs and the config
 * digest that names blue-green machines. No mock engine: these are plain functions.
 */
import { describe, expect, it } from "vitest";
import { configDigest, flycastUrl, normalizeFlyService, proxyServices, type FlyServiceSpec } from "../../components/fly-service";
import { SERVICE_DEFINITIONS } from "../../components/services";
import { parseStackConfig, type ServiceConfig } from "../../src/stack-config";
import type { FlyMachineConfig } from "../../src/providers/fly";
import { errorOf } from "../helpers/errors";
import { expectEach } from "../helpers/expect-each";

const dev = parseStackConfig({ profile: "single-user-lax" }, "dev");

type NormalizeInput = Parameters<typeof normalizeFlyService>[0];

/** normalizeFlyService for one service of the dev profile, with the given config and defaults changes. */
function normalize(
  service: string,
  options: { config?: Partial<ServiceConfig>; defaults?: Partial<NormalizeInput["defaults"]>; snapshotRetentionDays?: number; protectVolumes?: boolean; retainVolumes?: boolean } = {},
): FlyServiceSpec {
  return normalizeFlyService({
    service,
    config: { ...dev.services[service]!, ...options.config },
    appPrefix: "sophia-test",
    org: "personal",
    primaryRegion: "lax",
    regions: ["lax"],
    defaults: { ...SERVICE_DEFINITIONS.find((d) => d.name === service)!, ...options.defaults },
    snapshotRetentionDays: options.snapshotRetentionDays ?? 5,
    retainVolumes: options.retainVolumes ?? false,
    protectVolumes: options.protectVolumes ?? false,
  });
}

/** The error message of a call expected to throw; fails the test if it returns. */
describe("normalizeFlyService", () => {
  it("takes the port from the service's default when the config gives none", () => {
    expect(normalize("unified-api").ports[0]).toEqual({ internalPort: 8003, kind: "http" });
  });

  it("takes the port from the config over the service's default", () => {
    expect(normalize("unified-api", { config: { port: 9100 } }).ports[0].internalPort).toBe(9100);
  });

  it("takes the health path from the service's default when the config gives none", () => {
    expect(normalize("unified-api").healthCheck.path).toBe("/healthz");
  });

  it("takes the health path from the config over the service's default", () => {
    const spec = normalize("unified-api", { config: { healthCheck: { ...dev.services["unified-api"].healthCheck, path: "/ready" } } });
    expect(spec.healthCheck.path).toBe("/ready");
  });

  it("keeps the configured health-check timings next to the defaulted path", () => {
    expect(normalize("unified-api").healthCheck).toEqual({ path: "/healthz", intervalSeconds: 60, gracePeriodSeconds: 10, timeoutSeconds: 5 });
  });

  it("names sophia:services.<name>.port when neither the config nor the service gives a port", () => {
    // agno-bridge has no default port (SERVICE_DEFINITIONS) and the dev profile sets none.
    expect(() => normalize("agno-bridge")).toThrow(/^sophia:services\.agno-bridge\.port is not set/);
  });

  it("names sophia:services.<name>.healthCheck.path when neither the config nor the service gives one", () => {
    expect(() => normalize("agno-bridge", { config: { port: 7777 } })).toThrow(/^sophia:services\.agno-bridge\.healthCheck\.path is not set/);
  });

  it("rejects volumeGb on a service that has no mount path", () => {
    const message = errorOf(() => normalize("unified-api", { config: { volumeGb: 5 } }));
    expect(message).toMatch(/^sophia:services\.unified-api\.volumeGb is set but unified-api is stateless/);
    expect(message).toMatch(/remove volumeGb/);
  });

  it("gives the volume the configured size, the service's mount path, the snapshot retention and protect", () => {
    expect(normalize("weaviate", { snapshotRetentionDays: 14, protectVolumes: true }).volume).toEqual({
      sizeGb: 3,
      mountPath: "/var/lib/weaviate",
      snapshotRetentionDays: 14,
      protect: true,
      retain: false,
    });
  });

  it("takes retention from its own switch, not from protect", () => {
    expect(normalize("weaviate", { protectVolumes: false, retainVolumes: true }).volume).toMatchObject({ protect: false, retain: true });
  });

  it("leaves an unprotected volume unprotected", () => {
    expect(normalize("weaviate", { snapshotRetentionDays: 5, protectVolumes: false }).volume).toMatchObject({ snapshotRetentionDays: 5, protect: false });
  });

  it("gives a service without volumeGb no volume, even if it could mount one", () => {
    expect(normalize("weaviate", { config: { volumeGb: undefined } }).volume).toBeUndefined();
  });

  it("names the app <appPrefix>-<service>", () => {
    expect(normalize("weaviate").appName).toBe("sophia-test-weaviate");
  });

  it("puts the service's extra ports after the main one", () => {
    expect(normalize("weaviate").ports).toEqual([
      { internalPort: 8080, kind: "http" },
      { internalPort: 50051, kind: "tcp" },
    ]);
  });
});

describe("proxyServices", () => {
  const publicApi = normalize("unified-api");
  const privateWeaviate = normalize("weaviate");

  it("serves a public HTTP port on 80, redirected to HTTPS, and on 443 with TLS", () => {
    const [service] = proxyServices(publicApi);
    expect(service.internal_port).toBe(8003);
    expect(service.protocol).toBe("tcp");
    expect(service.ports).toStrictEqual([
      { port: 80, handlers: ["http"], force_https: true },
      { port: 443, handlers: ["tls", "http"] },
    ]);
  });

  it("serves a private HTTP port on its internal port over plain HTTP, without force_https", () => {
    const [service] = proxyServices(privateWeaviate);
    expect(service.internal_port).toBe(8080);
    expect(service.ports).toStrictEqual([{ port: 8080, handlers: ["http"] }]);
  });

  it("passes a TCP extra port through on the same port with no handlers", () => {
    const grpc = proxyServices(privateWeaviate)[1];
    expect(grpc.internal_port).toBe(50051);
    expect(grpc.ports).toStrictEqual([{ port: 50051 }]);
  });

  it("gives one Fly Proxy service per port", () => {
    expect(proxyServices(privateWeaviate).map((s) => s.internal_port)).toEqual([8080, 50051]);
  });

  const tuned: FlyServiceSpec = {
    ...privateWeaviate,
    autostop: "suspend",
    autostart: false,
    minMachines: 3,
    concurrency: { type: "requests", softLimit: 7, hardLimit: 9 },
  };

  it("copies autostop, autostart, min_machines_running and the limits into every service", () => {
    expectEach(proxyServices(tuned), (service) =>
      expect(service).toMatchObject({ autostop: "suspend", autostart: false, min_machines_running: 3, concurrency: { soft_limit: 7, hard_limit: 9 } }),
    );
  });

  it("counts requests on the HTTP port as configured", () => {
    expect(proxyServices(tuned)[0].concurrency).toEqual({ type: "requests", soft_limit: 7, hard_limit: 9 });
  });

  it("counts connections on a TCP passthrough port, where Fly Proxy sees no requests", () => {
    expect(proxyServices(tuned)[1].concurrency).toEqual({ type: "connections", soft_limit: 7, hard_limit: 9 });
  });
});

describe("flycastUrl", () => {
  it("is http://<app>.flycast:<first port>", () => {
    expect(flycastUrl(normalize("weaviate"))).toBe("http://sophia-test-weaviate.flycast:8080");
  });

  it("follows a configured port", () => {
    expect(flycastUrl(normalize("mcp-memory", { config: { port: 8001 } }))).toBe("http://sophia-test-mcp-memory.flycast:8001");
  });
});

describe("configDigest", () => {
  const config = (): FlyMachineConfig => ({
    image: "ghcr.io/sophia-intel/agno-bridge:0.1.0",
    guest: { cpu_kind: "shared", cpus: 1, memory_mb: 1024 },
    env: { PRIMARY_REGION: "sjc", UNIFIED_API_URL: "https://api.sophia-intel.ai" },
    services: proxyServices(normalize("agno-bridge", { config: { port: 7777, healthCheck: { ...dev.services["agno-bridge"].healthCheck, path: "/health" } } })),
    restart: { policy: "on-failure", max_retries: 10 },
  });

  it("is 8 lower-case hex characters, usable in a machine name", () => {
    expect(configDigest(config())).toMatch(/^[0-9a-f]{8}$/);
  });

  it("is the same for two equal configs", () => {
    expect(configDigest(config())).toBe(configDigest(structuredClone(config())));
  });

  it("changes when the image changes", () => {
    expect(configDigest({ ...config(), image: "ghcr.io/sophia-intel/agno-bridge:0.1.1" })).not.toBe(configDigest(config()));
  });

  it("changes when an env value changes", () => {
    const changed = config();
    changed.env = { ...changed.env, UNIFIED_API_URL: "https://api2.sophia-intel.ai" };
    expect(configDigest(changed)).not.toBe(configDigest(config()));
  });

  it("ignores the order of keys, so reordering env vars replaces nothing", () => {
    const reordered = config();
    reordered.env = { UNIFIED_API_URL: "https://api.sophia-intel.ai", PRIMARY_REGION: "sjc" };
    expect(configDigest(reordered)).toBe(configDigest(config()));
  });
});
