/** Turns a plan document into text for people: the terminal and `plans/<stack>.md`. */
import { KIND_ORDER, usd, type CostEstimate } from "../estimate/cost";
import type { AdoptionSummary, GpuSummary, PlanDocument, PlanResource, ServiceSummary } from "./document";
import { renderPolicies, renderPoliciesMarkdown } from "./render-policies";
import { renderMonitoring, renderMonitoringMarkdown } from "./render-monitoring";
import { renderReleases, renderReleasesMarkdown } from "./render-releases";
import { DEFAULT_WIDTH, fitTable, wrap, wrapAll } from "./text-layout";
import { renderRecovery, renderRecoveryMarkdown } from "./render-recovery";

/** The resource tree, children under their component; with a `width`, a label too long for it wraps under itself. */
export function renderTree(doc: PlanDocument, width = Infinity): string {
  const children = new Map<string | null, PlanResource[]>();
  for (const r of doc.resources) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
  const lines: string[] = [];
  const walk = (parent: string | null, indent: string) => {
    const list = children.get(parent) ?? [];
    list.forEach((r, i) => {
      const last = i === list.length - 1;
      const adopts = r.inputs.adopt === undefined ? "" : typeof r.inputs.adopt === "string" ? `adopts ${r.inputs.adopt}` : "adopts the existing app";
      const flags = [r.protect ? "protected" : "", r.retainOnDelete ? "retained" : "", adopts].filter(Boolean).join(", ");
      const label = `${r.name} (${r.kind})${flags ? ` [${flags}]` : ""}`;
      const below = parent === null ? "" : `${indent}${last ? "   " : "│  "}`;
      // A wrapped label's later lines keep the tree's lines, and its own to its children.
      const more = `${below}${children.has(r.urn) ? "│" : " "}    `;
      lines.push(...wrap(label, width, parent === null ? "" : `${indent}${last ? "└─ " : "├─ "}`, more));
      walk(r.urn, below);
    });
  };
  walk(null, "");
  return lines.join("\n");
}

function serviceRow(s: ServiceSummary): string[] {
  const machines = Object.entries(s.machines).map(([region, n]) => `${region}×${n}`).join(" ");
  const volumes = s.volumes.count === 0 ? "—" : `${s.volumes.count} × ${s.volumes.sizeGb / s.volumes.count} GB`;
  return [s.name, s.regions.join(",") || "—", s.machineSize ?? "—", machines || "—", String(s.minMachines), s.autostop, volumes, s.reach, s.image ?? "—"];
}

const SERVICE_HEADERS = ["service", "regions", "size", "machines", "min", "autostop", "volumes", "reach", "image"];

/** The services for a terminal: their shape in one table, their images (long references) in a second. */
export function renderSummary(doc: PlanDocument, width = DEFAULT_WIDTH): string {
  if (doc.services.length === 0) return "No services in this plan yet.";
  const shape = doc.services.map((s) => serviceRow(s).slice(0, -1));
  const images = doc.services.map((s) => [s.name, s.image ?? "—"]);
  return [...fitTable(SERVICE_HEADERS.slice(0, -1), shape, width), "", ...fitTable(["service", "image"], images, width)].join("\n");
}


function range(r: { low: number; high: number }): string {
  if (r.low === r.high) return usd(r.low);
  return r.low === 0 ? `≤ ${usd(r.high)}` : `${usd(r.low)}–${usd(r.high)}`;
}

function seedRange(cost: CostEstimate): string {
  return cost.seedReference ? range(cost.seedReference) : "—";
}

/**
 * The project's target for the profile against the estimate. "GPU instances" is instance time
 * (standing, on demand, sessions' overhead); the gpu-pool's filesystem is storage, so the
 * gpu-pool subtotal is larger by its cost.
 */
function targetText(cost: CostEstimate): string | undefined {
  const seed = cost.seedReference;
  if (!seed) return undefined;
  const kind = seed.low === 0 ? "a ceiling" : "a range";
  const storage = cost.byKind["gpu-filesystem"];
  const gpu = seed.gpu
    ? ` GPU instances ${usd(cost.gpuTotal)} against ${range(seed.gpu)}: ${difference(cost.gpuTotal, seed.gpu)}` +
      `${storage ? ` (the gpu-pool subtotal adds ${usd(storage)} of filesystem storage)` : ""}.`
    : "";
  return `Target: ${seedRange(cost)}/month, ${kind} from ${seed.source}. This estimate, ${usd(cost.total)}, is ${seedDifference(cost)}.${gpu}`;
}

/** Why the profile is sized as it is, from the profile's data; reasons this stack's settings set aside say so. */
function choicesText(cost: CostEstimate): string[] {
  return [
    ...(cost.seedReference?.choices ?? []).map((c) => `Profile choice: ${c}.`),
    ...(cost.seedReference?.choicesOverridden ?? []).map((c) => `Profile choice set aside: ${c}.`),
  ];
}

function assumptionsText(cost: CostEstimate): string {
  const a = cost.assumptions;
  return [
    `${a.hoursPerMonth} h/month; machines kept by min_machines_running (in ${a.primaryRegion}) run all month;`,
    `machines above the minimum run ${a.extraMachineHours} h (${a.extraMachineShare * 100}% of ${a.activeHoursPerWeek} active h/week) and are stopped otherwise (rootfs ${a.rootfsGb} GB each);`,
    `on-demand GPU: ${a.onDemandGpuHours} h of ${a.gpuInstanceType} in ${a.gpuSessionsPerMonth} sessions, each also billed ${a.gpuBootMinutes} min of boot and ${a.gpuIdleMinutes} min idle;`,
    `${a.gpuFilesystemGb} GiB on the GPU filesystem; ${a.egressGbPerMonth} GB egress; volumes ${a.volumeUsedShare * 100}% full, ${a.snapshotDailyChangeShare * 100}% changing a day;`,
    `Vercel Pro seats: ${a.vercelSeats} (billed only when the plan has a Vercel project).`,
  ].join(" ");
}

function pricesText(cost: CostEstimate): string[] {
  return [
    ...cost.sources.map((s) => `${s.name}: ${s.url} (as of ${s.asOf})${s.note ? `; note: ${s.note}` : ""}`),
    ...(cost.priceOverrides.length > 0 ? [`Overridden in sophia:cost.prices: ${cost.priceOverrides.join(", ")}`] : []),
  ];
}

/** Each line's assumption, numbered so the table can point at it. */
function assumptionNotes(cost: CostEstimate): { ref: Map<number, string>; notes: string[] } {
  const ref = new Map<number, string>();
  const notes: string[] = [];
  cost.lines.forEach((l, i) => {
    if (!l.assumption) return;
    let at = notes.indexOf(l.assumption);
    if (at === -1) at = notes.push(l.assumption) - 1;
    ref.set(i, `[${at + 1}]`);
  });
  return { ref, notes: notes.map((n, i) => `[${i + 1}] ${n}`) };
}

const COST_HEADERS = ["service", "kind", "monthly", "formula", "prices as of"];
const costRows = (cost: CostEstimate) => {
  const { ref } = assumptionNotes(cost);
  return cost.lines.map((l, i) => [l.service, l.kind, usd(l.monthly), `${l.formula}${ref.has(i) ? ` ${ref.get(i)}` : ""}`, l.asOf]);
};
const totals = (record: Record<string, number>) => Object.entries(record).map(([k, v]) => [k, usd(v)]);

/** The cost estimate for the terminal: every line with its formula, then subtotals and the total. */
export function renderCost(cost: CostEstimate, width = DEFAULT_WIDTH): string {
  return [
    `Monthly cost estimate (USD): ${usd(cost.total)}`,
    ...(cost.lines.length === 0 ? ["No billable resources in this plan yet."] : fitTable(COST_HEADERS, costRows(cost), width)),
    "",
    ...fitTable(["per service", "monthly"], [...totals(cost.byService), ["total", usd(cost.total)]], width),
    "",
    ...fitTable(["per kind", "monthly"], [...totals(cost.byKind), ["total", usd(cost.total)]], width),
    "",
    ...assumptionNotes(cost).notes.flatMap((n) => wrap(n, width, "", "    ")),
    ...wrap(`Assumptions: ${assumptionsText(cost)}`, width, "", "  "),
    ...pricesText(cost).flatMap((p) => wrap(`Prices: ${p}`, width, "", "  ")),
    ...[targetText(cost)].flatMap((line) => (line === undefined ? [] : wrap(line, width, "", "  "))),
    ...wrapAll(choicesText(cost), width, "", "  "),
  ].join("\n");
}

const READINESS_TEXT: Record<string, string> = {
  "dial-out": "dial-out: nodes report to unified-api with the pool token; no inbound SSH, pulumi up does not wait for them",
  ssh: "ssh: pulumi up checks each node over SSH from the fixed deploy address in sophia:gpu.sshAllowedCidrs",
};

const GPU_HEADERS = ["node", "type", "region", "arch"];
const gpuRows = (gpu: GpuSummary) => gpu.nodes.map((n) => [n.name, n.instanceType, n.region, n.architecture]);

/** How readiness is known and which architecture the workers have. */
function gpuPoolLines(gpu: GpuSummary): string[] {
  const readiness = gpu.readiness === null ? "—" : (READINESS_TEXT[gpu.readiness] ?? gpu.readiness);
  return [
    `Readiness: ${readiness}`,
    ...(gpu.pool ? [`Workers: ${gpu.pool.instanceType} (${gpu.pool.architecture}); the worker image must run on ${gpu.pool.architecture}`] : []),
  ];
}

const NO_STANDING_NODES = "No standing nodes (on demand only).";

/** The pool's lines, then one row per standing node with its architecture. */
export function renderGpu(gpu: GpuSummary, width = DEFAULT_WIDTH): string {
  return [...wrapAll(gpuPoolLines(gpu), width, "", "  "), ...(gpu.nodes.length === 0 ? [NO_STANDING_NODES] : fitTable(GPU_HEADERS, gpuRows(gpu), width))].join("\n");
}

/** The plan for a terminal `width` columns wide. */
export function renderTerminal(doc: PlanDocument, width = DEFAULT_WIDTH): string {
  return [
    `Plan for stack "${doc.stack}" (profile ${doc.profile}), ${doc.resources.length} resources`,
    ...wrap(flyOrgText(doc), width, "", "  "),
    "",
    renderTree(doc, width),
    "",
    "Services",
    renderSummary(doc, width),
    "",
    "GPU pool",
    renderGpu(doc.gpu, width),
    ...renderAdoptions(doc.adoptions, width),
    "",
    renderRecovery(doc, width),
    "",
    renderMonitoring(doc.monitoring, width),
    "",
    renderReleases(doc.releases, width),
    "",
    renderCost(doc.cost, width),
    "",
    renderPolicies(doc.policies, width),
    ...renderNotes(doc.notes, width),
  ].join("\n");
}

/** The adoption dry run: what each service takes over, and what a real run checks before it changes anything. */
function adoptionLines(adoptions: AdoptionSummary[]): string[] {
  return adoptions.flatMap((a) => [
    `${a.service}: app ${a.app} (org ${a.org}), which keeps its name; every machine and volume in it must be listed below.`,
    ...a.volumes.map((v) => `${a.service}: volume ${v.adopts} as ${v.resource}: must be in ${v.region} and at most ${v.sizeGb} GB; it keeps its data and is never recreated.`),
    ...a.machines.map((m) => `${a.service}: machine ${m.adopts} as ${m.resource}: must be in ${m.region} and mount the volume listed with it; it takes the stack's config.`),
  ]);
}

function renderAdoptions(adoptions: AdoptionSummary[], width: number): string[] {
  if (adoptions.length === 0) return [];
  return [
    "",
    ...wrap("Adopted, not created (sophia:adopt; a real run checks each first and changes nothing if one does not match)", width, "", "  "),
    ...wrapAll(adoptionLines(adoptions), width, "  ", "    "),
  ];
}

/** Where the apps go; the profile's default organization is said loudly, since it is rarely the one meant. */
function flyOrgText(doc: PlanDocument): string {
  const org = `Fly organization: ${doc.flyOrg.slug}`;
  if (doc.flyOrg.from === "stack file") return `${org} (sophia:flyOrg in Pulumi.${doc.stack}.yaml).`;
  return `${org}, the profile's default, as Pulumi.${doc.stack}.yaml sets no sophia:flyOrg. To deploy into another organization: pulumi config set sophia:flyOrg <slug> --stack ${doc.stack} (fly orgs list shows the slugs).`;
}

/** The plan's differences from a real run, under a heading; nothing when there are none. */
function renderNotes(notes: string[], width: number): string[] {
  return notes.length === 0 ? [] : ["", `${NOTES_HEADING}:`, ...wrapAll(notes, width, "  - ", "    ")];
}

const NOTES_HEADING = "Where this offline plan differs from a real run";

function mdTableOf(headers: string[], rows: string[][]): string {
  const cell = (c: string) => c.replace(/\|/g, "\\|");
  return [`| ${headers.join(" | ")} |`, `|${headers.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

function renderCostMarkdown(cost: CostEstimate): string[] {
  return [
    `## Monthly cost estimate: ${usd(cost.total)}`,
    "",
    cost.lines.length === 0 ? "No billable resources in this plan yet." : mdTableOf(COST_HEADERS, costRows(cost)),
    "",
    mdTableOf(["per service", "monthly"], [...totals(cost.byService), ["**total**", `**${usd(cost.total)}**`]]),
    "",
    mdTableOf(["per kind", "monthly"], [...totals(cost.byKind), ["**total**", `**${usd(cost.total)}**`]]),
    "",
    ...assumptionNotes(cost).notes.map((n) => `- ${n}`),
    "",
    `Assumptions: ${assumptionsText(cost)}`,
    "",
    ...pricesText(cost).map((p) => `- Prices: ${p}`),
    ...[targetText(cost)].flatMap((line) => (line === undefined ? [] : ["", line])),
    ...choicesText(cost).flatMap((line) => ["", line]),
    "",
  ];
}

export function renderMarkdown(doc: PlanDocument): string {
  const rows = doc.services.map(serviceRow);
  const mdTable = rows.length === 0
    ? "No services in this plan yet."
    : [`| ${SERVICE_HEADERS.join(" | ")} |`, `|${SERVICE_HEADERS.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
  return [
    `# Plan: ${doc.stack} (${doc.profile})`,
    "",
    "Generated by `npm run plan` under Pulumi's mock engine; no cloud account was used. Secrets show as `[secret]`.",
    "",
    "## Services",
    "",
    mdTable,
    "",
    "## GPU pool",
    "",
    gpuPoolLines(doc.gpu).join("  \n"),
    "",
    doc.gpu.nodes.length === 0 ? NO_STANDING_NODES : mdTableOf(GPU_HEADERS, gpuRows(doc.gpu)),
    "",
    ...renderMonitoringMarkdown(doc.monitoring),
    ...renderReleasesMarkdown(doc.releases),
    ...renderRecoveryMarkdown(doc),
    "## Architecture",
    "",
    "```mermaid",
    doc.diagram.trimEnd(),
    "```",
    "",
    ...renderCostMarkdown(doc.cost),
    ...(doc.adoptions.length === 0 ? [] : ["## Adopted, not created", "", ...adoptionLines(doc.adoptions).map((l) => `- ${l}`), ""]),
    ...renderPoliciesMarkdown(doc.policies),
    ...(doc.notes.length === 0 ? [] : [`## ${NOTES_HEADING}`, "", ...doc.notes.map((n) => `- ${n}`), ""]),
    `## Resources (${doc.resources.length})`,
    "",
    "```",
    renderTree(doc),
    "```",
    "",
  ].join("\n");
}

/** Where an amount sits against a figure or a range: signed against a single figure. */
function difference(amount: number, seed: { low: number; high: number }): string {
  const signed = (n: number) => `${n < 0 ? "−" : "+"}${usd(Math.abs(n))}`;
  if (seed.low === seed.high) {
    const percent = Math.round(((amount - seed.low) / seed.low) * 100);
    return `${signed(amount - seed.low)} (${percent < 0 ? "−" : "+"}${Math.abs(percent)}%)`;
  }
  if (amount < seed.low) return `${signed(amount - seed.low)} below the range`;
  if (amount > seed.high) return `${signed(amount - seed.high)} ${seed.low === 0 ? "over the ceiling" : "above the range"}`;
  return seed.low === 0 ? `within the ceiling (${usd(seed.high - amount)} to spare)` : "inside the range";
}

/** Difference from the seed's figure: signed against a single figure, or where a range sits. */
export function seedDifference(cost: CostEstimate): string {
  return cost.seedReference ? difference(cost.total, cost.seedReference) : "—";
}

/** `--compare`: the stacks side by side, per kind and per service, with the project's targets, then each stack's guardrails. */
export function renderCompare(docs: PlanDocument[], width = DEFAULT_WIDTH): string {
  const heads = ["", ...docs.map((d) => `${d.stack} (${d.profile})`)];
  const order = (k: string) => (KIND_ORDER as readonly string[]).indexOf(k);
  const keys = (pick: (c: CostEstimate) => Record<string, number>) =>
    [...new Set(docs.flatMap((d) => Object.keys(pick(d.cost))))].sort((a, b) => order(a) - order(b));
  const rowsOf = (pick: (c: CostEstimate) => Record<string, number>) =>
    keys(pick).map((k) => [k, ...docs.map((d) => usd(pick(d.cost)[k] ?? 0))]);
  return [
    "Monthly cost estimate (USD), per kind",
    ...fitTable(heads, [
      ...rowsOf((c) => c.byKind),
      ["total", ...docs.map((d) => usd(d.cost.total))],
      ["target", ...docs.map((d) => seedRange(d.cost))],
      ["against target", ...docs.map((d) => seedDifference(d.cost))],
      ["GPU instances", ...docs.map((d) => usd(d.cost.gpuTotal))],
      ["GPU target", ...docs.map((d) => (d.cost.seedReference?.gpu ? range(d.cost.seedReference.gpu) : "—"))],
      ["against GPU target", ...docs.map((d) => (d.cost.seedReference?.gpu ? difference(d.cost.gpuTotal, d.cost.seedReference.gpu) : "—"))],
    ], width),
    ...wrap(
      "Targets come from the project's requirements (the seed); GPU instances is instance time only, while the gpu-pool row below also holds its filesystem.",
      width,
    ),
    "",
    "Per service",
    ...fitTable(heads, rowsOf((c) => c.byService), width),
    "",
    ...docs.flatMap((d) => [
      `${d.stack} lines (formula, prices as of):`,
      ...d.cost.lines.flatMap((l) => wrap(`${l.service} ${l.kind}: ${l.formula} (as of ${l.asOf})`, width, "  ", "      ")),
    ]),
    "",
    ...docs.flatMap((d) => wrap(`${d.stack}: ${assumptionsText(d.cost)}`, width, "", "  ")),
    ...docs.flatMap((d) => wrapAll(choicesText(d.cost).map((c) => `${d.stack}: ${c}`), width, "", "  ")),
    "",
    ...pricesText(docs[0].cost).flatMap((p) => wrap(`Prices: ${p}`, width, "", "  ")),
    ...docs.flatMap((d) => ["", `${d.stack} guardrails`, renderPolicies(d.policies, width)]),
  ].join("\n");
}
