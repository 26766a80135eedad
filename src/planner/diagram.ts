/**
 * The architecture diagram of a plan, as a Mermaid flowchart: Fly apps grouped by region, their
 * reach (public or Flycast only), the GPU pool, the Vercel edge and who calls whom. Everything is
 * read from the plan's resources.
 */
import type { PlanResource, ServiceSummary } from "./document";
import { serviceOwner, TYPES } from "../estimate/resources";


type Reach = "Flycast" | "public";

export interface DiagramInput {
  resources: Pick<PlanResource, "urn" | "type" | "name" | "parent" | "inputs" | "dependencies">[];
  services: ServiceSummary[];
  /** Stack outputs; `primaryRegion` orders the regions when present. */
  outputs: Record<string, unknown>;
}

/** One service calling another, and how it reaches it. */
export interface ServiceCall {
  from: string;
  to: string;
  reach: Reach;
}


/** Mermaid ids allow letters, digits and underscores. */
const id = (...parts: string[]) => parts.join("__").replace(/[^A-Za-z0-9_]/g, "_");
/** Text inside ["..."]: quotes would end the label. */
const text = (s: string) => s.replace(/"/g, "'");

/** Finds the service a URL points at: `<app>.flycast`, `<app>.fly.dev` or a certificate's hostname. */
function urlTarget(url: string, appToService: Map<string, string>, hostToApp: Map<string, string>): { service: string; reach: Reach } | undefined {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return undefined;
  }
  const flycast = /^(.+)\.flycast$/.exec(host);
  if (flycast) {
    const service = appToService.get(flycast[1]);
    return service ? { service, reach: "Flycast" } : undefined;
  }
  const app = /^(.+)\.fly\.dev$/.exec(host)?.[1] ?? hostToApp.get(host);
  const service = app !== undefined ? appToService.get(app) : undefined;
  return service ? { service, reach: "public" } : undefined;
}

/** The caller id of the UI that Vercel serves, which is no Fly service. */
export const VERCEL_UI = "vercel-ui";

/**
 * The service a Vercel UI variable points at. The Vercel provider keeps every value secret, so
 * only the name tells: `<SERVICE>_URL`, or `_<LAST WORD OF SERVICE>_URL` when exactly one service
 * ends in that word (NEXT_PUBLIC_API_URL → unified-api).
 */
function namedTarget(key: string, services: ServiceSummary[]): ServiceSummary | undefined {
  if (!/_URL$/.test(key)) return undefined;
  const upper = (name: string) => name.toUpperCase().replace(/-/g, "_");
  const full = services.find((s) => key.endsWith(`${upper(s.name)}_URL`));
  if (full) return full;
  const byLastWord = services.filter((s) => key.endsWith(`_${upper(s.name.split("-").at(-1)!)}_URL`));
  return byLastWord.length === 1 ? byLastWord[0] : undefined;
}

/** Who calls whom, from the *_URL env vars the plan's machines and the Vercel UI carry. */
export function serviceCalls(input: DiagramInput, uiOnVercel: boolean): ServiceCall[] {
  const ownerService = serviceOwner(input.resources);
  const appToService = new Map(input.services.filter((s) => s.app !== null).map((s) => [s.app as string, s.name]));
  const hostToApp = new Map(
    input.resources.filter((r) => r.type === TYPES.certificate).map((r) => [String(r.inputs.hostname), String(r.inputs.app)]),
  );

  const found = new Map<string, ServiceCall>();
  const addUrl = (from: string, key: string, value: unknown) => {
    if (!/_URL$/.test(key) || typeof value !== "string") return;
    const target = urlTarget(value, appToService, hostToApp);
    if (target && target.service !== from) found.set(`${from}>${target.service}`, { from, to: target.service, reach: target.reach });
  };
  for (const machine of input.resources.filter((r) => r.type === TYPES.machine)) {
    const from = ownerService(machine);
    const env = (machine.inputs.config as { env?: Record<string, unknown> } | undefined)?.env ?? {};
    if (from) for (const [key, value] of Object.entries(env)) addUrl(from, key, value);
  }
  if (uiOnVercel) {
    for (const v of input.resources.filter((r) => r.type === TYPES.vercelEnv)) {
      const key = String(v.inputs.key);
      addUrl(VERCEL_UI, key, v.inputs.value);
      const named = namedTarget(key, input.services);
      if (named && !found.has(`${VERCEL_UI}>${named.name}`)) found.set(`${VERCEL_UI}>${named.name}`, { from: VERCEL_UI, to: named.name, reach: "public" });
    }
  }
  return [...found.values()];
}

/** Services whose resources take an input from the GPU pool (its launch template): they launch and call its workers. */
export function gpuCallers(input: Pick<DiagramInput, "resources">): string[] {
  const byUrn = new Map(input.resources.map((r) => [r.urn, r]));
  const inPool = (urn: string): boolean => {
    for (let at = byUrn.get(urn); at; at = at.parent ? byUrn.get(at.parent) : undefined) if (at.type === TYPES.gpuPool) return true;
    return false;
  };
  const ownerService = serviceOwner(input.resources);
  const callers = new Set<string>();
  for (const r of input.resources) {
    const owner = ownerService(r);
    if (owner !== undefined && r.dependencies.some(inPool)) callers.add(owner);
  }
  return [...callers];
}

export function renderDiagram(input: DiagramInput): string {
  const primary = typeof input.outputs.primaryRegion === "string" ? input.outputs.primaryRegion : undefined;
  const homeRegion = (s: ServiceSummary) => (primary && s.regions.includes(primary) ? primary : s.regions[0] ?? primary ?? "unplaced");
  const placed = (s: ServiceSummary) => (s.regions.length > 0 ? s.regions : [homeRegion(s)]);
  const allRegions = [...new Set(input.services.flatMap(placed))];
  const regions = primary && allRegions.includes(primary) ? [primary, ...allRegions.filter((r) => r !== primary)] : allRegions;

  const vercelProjects = input.resources.filter((r) => r.type === TYPES.vercelProject);
  // The edge creates a Vercel project only for a UI that Vercel serves.
  const uiOnVercel = vercelProjects.length > 0;
  const lines = ["flowchart LR", '  internet(("Internet"))'];
  const nodeOf = (service: string, region: string) => id("svc", service, region);

  for (const region of regions) {
    lines.push(`  subgraph ${id("fly", region)}["Fly.io ${region}${region === primary ? " (primary)" : ""}"]`);
    for (const s of input.services.filter((svc) => placed(svc).includes(region))) {
      const count = s.machines[region] ?? 0;
      const machines = count === 0 ? "no machines" : `${count} × ${s.machineSize ?? "?"}${region === homeRegion(s) ? `, min ${s.minMachines} running` : ", min 0 running"}`;
      const volumes = s.volumes.count > 0 && region === homeRegion(s) ? `<br/>${s.volumes.count} × ${s.volumes.sizeGb / s.volumes.count} GB volume` : "";
      const reach = s.reach === "private" ? "private: Flycast only" : "public: shared IPv4 + IPv6";
      lines.push(`    ${nodeOf(s.name, region)}["<b>${text(s.name)}</b><br/>${text(s.app ?? "no app")}<br/>${text(machines)}${volumes}<br/>${reach}"]`);
    }
    lines.push("  end");
  }

  const gpuInstances = input.resources.filter((r) => r.type === TYPES.gpuInstance);
  const hasPool = gpuInstances.length > 0 || input.resources.some((r) => r.type === TYPES.gpuPool);
  if (hasPool) {
    const lambdaRegion = input.resources.find((r) => r.type.includes("/lambda:") && typeof r.inputs.region === "string")?.inputs.region;
    const types = [...new Set(gpuInstances.map((g) => String(g.inputs.instanceType)))];
    const standing = gpuInstances.length === 0 ? "no standing nodes, on demand only" : `${gpuInstances.length} standing × ${types.join(", ")}`;
    lines.push(`  subgraph lambda["Lambda Cloud${typeof lambdaRegion === "string" ? ` ${lambdaRegion}` : ""}"]`);
    lines.push(`    gpu_pool[["<b>GPU pool</b><br/>${text(standing)}"]]`);
    lines.push("  end");
  }

  const dnsRecords = input.resources.filter((r) => r.type === TYPES.dnsRecord);
  if (vercelProjects.length > 0 || dnsRecords.length > 0) {
    lines.push('  subgraph vercel["Vercel"]');
    for (const p of vercelProjects) lines.push(`    ${id("vercel", p.name)}["<b>UI</b><br/>Vercel project ${text(String(p.inputs.name ?? p.name))}"]`);
    if (dnsRecords.length > 0) {
      const domains = [...new Set(dnsRecords.map((r) => String(r.inputs.domain ?? "")).filter(Boolean))];
      lines.push(`    vercel_dns[("DNS ${text(domains.join(", "))}<br/>${dnsRecords.length} records")]`);
    }
    lines.push("  end");
  }

  // Reach: the Internet gets to public apps (every region, over Anycast) and to the Vercel UI.
  for (const s of input.services.filter((svc) => svc.reach === "public")) {
    for (const region of placed(s)) lines.push(`  internet -->|public| ${nodeOf(s.name, region)}`);
  }
  for (const p of vercelProjects) lines.push(`  internet -->|public| ${id("vercel", p.name)}`);

  // Calls: a caller reaches the callee's machines in its own region when there are any (Flycast
  // and Anycast both route to the nearest machine), else in the callee's home region.
  const summary = new Map(input.services.map((s) => [s.name, s]));
  for (const call of serviceCalls(input, uiOnVercel)) {
    const callee = summary.get(call.to);
    if (!callee) continue;
    const link = call.reach === "Flycast" ? "-.->|Flycast|" : "-->|public|";
    const caller = summary.get(call.from);
    if (!caller) {
      if (call.from === VERCEL_UI) for (const p of vercelProjects) lines.push(`  ${id("vercel", p.name)} ${link} ${nodeOf(call.to, homeRegion(callee))}`);
      continue;
    }
    for (const region of placed(caller)) {
      const target = placed(callee).includes(region) ? region : homeRegion(callee);
      lines.push(`  ${nodeOf(call.from, region)} ${link} ${nodeOf(call.to, target)}`);
    }
  }
  if (hasPool) {
    const callers = gpuCallers(input);
    for (const s of input.services.filter((svc) => callers.includes(svc.name))) {
      for (const region of placed(s)) lines.push(`  ${nodeOf(s.name, region)} -->|public| gpu_pool`);
    }
  }

  const privateNodes = input.services.filter((s) => s.reach === "private").flatMap((s) => placed(s).map((r) => nodeOf(s.name, r)));
  const publicNodes = input.services.filter((s) => s.reach === "public").flatMap((s) => placed(s).map((r) => nodeOf(s.name, r)));
  lines.push("  classDef private fill:#eef2ff,stroke:#4f46e5", "  classDef public fill:#ecfdf5,stroke:#059669");
  if (privateNodes.length > 0) lines.push(`  class ${privateNodes.join(",")} private`);
  if (publicNodes.length > 0) lines.push(`  class ${publicNodes.join(",")} public`);
  return lines.join("\n") + "\n";
}
