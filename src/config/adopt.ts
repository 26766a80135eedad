/**
 * `sophia:adopt`: Fly resources that already exist (an app the team runs, its volumes with their
 * data, its machines) and that a service takes over instead of creating. Pulumi cannot import
 * dynamic-provider resources (pulumi/pulumi#16175), so this is the way in: the providers find
 * each one, check it against what the stack declares, record it as the stack's, and never touch
 * its data. What the stack adopted it keeps when it is deleted (retainOnDelete).
 *
 *   sophia:adopt:
 *     weaviate:
 *       app: acme-weaviate            # the existing app; the service keeps this name from now on
 *       volumes: [vol_6vjq3ynm18p1wz2]  # by id, or by name if no other volume of the app has it
 *       machines: [3d8d9015f95228]    # by id; each keeps its volume and takes the stack's config
 */
import { z } from "zod";
import { strictObject } from "./strict-object";

/** Fly app names: lower-case letters, digits and dashes. */
const appName = z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, "must be a Fly app name (lower-case letters, digits and dashes)");

export const serviceAdoptionSchema = strictObject({
  /** The existing Fly app's name. Its machines and volumes must all be listed below, or be gone. */
  app: appName,
  /**
   * Its volumes, one per machine of the service in the primary region, in order: the first is
   * mounted by the first machine. A volume id (`vol_…`, from `fly volumes list -a <app>`) or a
   * name that no other volume of the app carries.
   */
  volumes: z.array(z.string().min(1)).optional(),
  /**
   * Its machines (ids from `fly machines list -a <app>`), in the order of the service's machines:
   * region by region as the stack lists its regions, then by index. Each keeps its id, name and
   * volume and is updated to the stack's config.
   */
  machines: z.array(z.string().min(1)).optional(),
});

/** Per service name, what it adopts. */
export const adoptSchema = z.record(z.string(), serviceAdoptionSchema);

export type ServiceAdoption = z.infer<typeof serviceAdoptionSchema>;
export type AdoptConfig = z.infer<typeof adoptSchema>;

/** What the cross-field check reads of the stack config. */
interface AdoptionContext {
  appPrefix: string;
  adopt: AdoptConfig;
  services: Record<string, { volumeGb?: number; maxMachines: number }>;
}

/** Duplicates in a list, each once. */
const repeated = (items: string[]) => [...new Set(items.filter((item, i) => items.indexOf(item) !== i))];

/**
 * Problems with the adoption list that need no API: an unknown service, more volumes or machines
 * than the service has, an entry listed twice, an app name another service uses. Each is a config
 * path and a sentence. `regionCount` gives how many regions a service runs in.
 */
export function adoptionProblems(config: AdoptionContext, regionCount: (service: string) => number): [(string | number)[], string][] {
  const problems: [(string | number)[], string][] = [];
  const appOwners = new Map<string, string>();
  for (const service of Object.keys(config.services)) appOwners.set(config.adopt[service]?.app ?? `${config.appPrefix}-${service}`, service);
  for (const [service, adoption] of Object.entries(config.adopt)) {
    const at = (key: string) => ["adopt", service, key];
    const sized = config.services[service];
    if (sized === undefined) {
      problems.push([["adopt", service], `is not a service of this stack; services: ${Object.keys(config.services).join(", ")}`]);
      continue;
    }
    const owner = appOwners.get(adoption.app);
    if (owner !== undefined && owner !== service) problems.push([at("app"), `"${adoption.app}" is already the app of ${owner}; each service has an app of its own`]);
    const machines = sized.maxMachines * regionCount(service);
    const volumes = adoption.volumes ?? [];
    if (volumes.length > 0 && sized.volumeGb === undefined) {
      problems.push([at("volumes"), `lists ${volumes.length} volume(s), but ${service} has no volume in this stack (no volumeGb); set sophia:services.${service}.volumeGb, or list no volumes`]);
    } else if (volumes.length > machines) {
      problems.push([at("volumes"), `lists ${volumes.length} volumes, but ${service} has ${machines} machine(s), each with one volume; raise sophia:services.${service}.maxMachines, or list fewer`]);
    }
    if ((adoption.machines ?? []).length > machines) {
      problems.push([at("machines"), `lists ${adoption.machines!.length} machines, but ${service} has ${machines}; raise sophia:services.${service}.maxMachines, or destroy the extra ones first`]);
    }
    for (const key of ["volumes", "machines"] as const) {
      const twice = repeated(adoption[key] ?? []);
      if (twice.length > 0) problems.push([at(key), `lists ${twice.map((x) => `"${x}"`).join(", ")} more than once`]);
    }
  }
  return problems;
}
