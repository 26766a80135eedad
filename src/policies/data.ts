/** The data promises: prod data survives `pulumi destroy`, and data services are never public. */
import { byService, describe, isProduction, isUnknown, ofType, POLICY_TYPES, TYPES } from "./inspect";
import type { PolicyResource, SophiaPolicy, Violation } from "./types";

/** The services that hold data; they are reached only through Flycast. */
export const DATA_SERVICES = ["weaviate", "mcp-memory", "vector-store"] as const;

/** What goes wrong when a data store is not kept, and how each kind is fixed. */
function unkeptDataStore(resource: PolicyResource, fix: string): Violation | undefined {
  // The policy pack is not told retainOnDelete (the analyzer protocol does not carry it); there
  // only `protect` is checked, and the offline plan checks both.
  const missing = [!resource.protect ? "protect" : undefined, resource.retainOnDelete === false ? "retainOnDelete" : undefined].filter(
    (option): option is string => option !== undefined,
  );
  if (missing.length === 0) return undefined;
  return {
    urn: resource.urn,
    message:
      `${describe(resource)} holds production data but lacks ${missing.join(" and ")}: \`pulumi destroy\`, or removing it ` +
      `from the program, would delete the data. Fix: ${fix}`,
  };
}

export const protectedData: SophiaPolicy = {
  name: "prod-data-protected",
  description: "Production data stores (Fly volumes, the apps that hold them, the Lambda filesystem) are protected and retained on delete.",
  enforcement: (config) => (isProduction(config) ? "mandatory" : undefined),
  check({ resources }) {
    const volumeFix = "set sophia:volumes.protect to true in the stack file (the enterprise profile's default).";
    const services = byService(resources);
    const appsWithData = [...services.values()]
      .filter((inside) => inside.some((r) => r.type === TYPES.volume))
      .flatMap((inside) => ofType(inside, POLICY_TYPES.app));
    return [
      ...ofType(resources, TYPES.volume).map((v) => unkeptDataStore(v, volumeFix)),
      // Deleting a Fly app deletes its volumes, so the app is part of the data store.
      ...appsWithData.map((app) => unkeptDataStore(app, `deleting a Fly app deletes its volumes; ${volumeFix}`)),
      ...ofType(resources, POLICY_TYPES.lambdaFilesystem).map((fs) =>
        unkeptDataStore(
          fs,
          "create the filesystem with the resource options protect: true and retainOnDelete: true (components/gpu-pool.ts); " +
            "it holds the models every GPU node mounts.",
        ),
      ),
    ].filter((v): v is Violation => v !== undefined);
  },
};

export const privateDataServices: SophiaPolicy = {
  name: "data-services-private",
  description: "Weaviate, MCP memory and the vector store have no public IP address, only a Flycast (private_v6) one.",
  enforcement: () => "mandatory",
  check({ resources }) {
    const services = byService(resources);
    return DATA_SERVICES.flatMap((service) =>
      ofType(services.get(service) ?? [], TYPES.ip)
        .filter((ip) => ip.inputs.type !== "private_v6" && !isUnknown(ip.inputs.type))
        .map((ip) => ({
          urn: ip.urn,
          message:
            `${describe(ip)} gives the data service ${service} a public ${String(ip.inputs.type)} address; it must be reachable ` +
            `only inside the private network. Fix: give ${service} a private_v6 (Flycast) address alone, and have callers use ` +
            `http://<app>.flycast:<port> (its reach is "private" in components/services.ts).`,
        })),
    );
  },
};
