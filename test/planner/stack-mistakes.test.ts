/**
 * Realistic mistakes in a stack file, each planned through the same command line as `npm run plan`
 * (test/helpers/cli.ts). Every one must be refused before any resource, with a line that names the
 * config path and the fix, and must leave no plan behind: a stale plan from an earlier run is put in
 * the output folder first and must be gone. Variations that are valid must plan.
 *
 * Each case is its own CLI process (the Pulumi runtime is global: one plan per process, and the CLI
 * plans one stack file per run). Most cases fail while the program reads its config, so a process
 * costs little more than loading Pulumi; they run concurrently, one per core (test/helpers/cli.ts).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { projectDir, runPlanCliAsync } from "../helpers/cli";

const DEV_FILE = fs.readFileSync(path.join(projectDir, "Pulumi.dev.yaml"), "utf8");
/** A cold CLI process takes seconds on a busy machine; several run at once here. */
const TIMEOUT_MS = 120_000;

/** The dev stack file with `lines` added at the end of its config section (it ends the file). */
function devWith(...lines: string[]): string {
  return `${DEV_FILE.trimEnd()}\n${lines.map((l) => `  ${l}`).join("\n")}\n`;
}

/** The dev stack file with one value set at a path under config, as an editor would write it. */
function devSetting(keyPath: (string | number)[], value: unknown, base = DEV_FILE): string {
  const doc = parseDocument(base);
  doc.setIn(["config", ...keyPath], value);
  return doc.toString();
}

/** Plans `text` as Pulumi.<stack>.yaml into a folder that holds a stale plan of that stack. */
async function planText(text: string, stack = "dev") {
  const stackDir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-"));
  fs.writeFileSync(path.join(stackDir, `Pulumi.${stack}.yaml`), text);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
  fs.writeFileSync(path.join(out, `${stack}.json`), "{}\n");
  fs.writeFileSync(path.join(out, `${stack}.md`), "# stale\n");
  const result = await runPlanCliAsync(["--stack", stack, "--stack-dir", stackDir, "--out", out]);
  return { ...result, out, wrote: fs.readdirSync(out) };
}

interface Mistake {
  mistake: string;
  text: string;
  /** The config path (or file location) the message must name. */
  path: string;
  /** What the same line must say to do. */
  fix: RegExp;
  stack?: string;
}

const MISTAKES: Mistake[] = [
  {
    mistake: "a blank appPrefix",
    text: devWith("sophia:appPrefix:"),
    path: "sophia:appPrefix:",
    fix: /is blank in Pulumi\.dev\.yaml; give it a value, or delete the line to use the default "sophia-dev"/,
  },
  {
    mistake: "a blank flyOrg written as empty quotes",
    text: devWith('sophia:flyOrg: ""'),
    path: "sophia:flyOrg:",
    fix: /is blank in Pulumi\.dev\.yaml; give it a value, or delete the line to use the default "personal"/,
  },
  {
    mistake: "a blank secret line that would hide the ESC value",
    text: devWith("sophia:databaseUrl:"),
    path: "sophia:databaseUrl",
    fix: /is blank in Pulumi\.dev\.yaml, which would hide its value from the ESC environment sophia\/dev; delete that line/,
  },
  {
    mistake: "a misspelled secret key",
    text: devWith("sophia:databaseURL: postgres://db.example.com/app"),
    path: "sophia:databaseURL:",
    fix: /Did you mean sophia:databaseUrl\? That is a secret: remove it from the stack file and set it in the ESC environment sophia\/dev under values\.pulumiConfig/,
  },
  {
    mistake: "a misspelled namespace",
    text: devWith("sopiha:appPrefix: acme-dev"),
    path: "sopiha:appPrefix:",
    fix: /nothing reads the config namespace "sopiha".*Did you mean sophia:appPrefix\?/,
  },
  {
    mistake: "a namespace no part of the program reads",
    text: devWith("aws:region: us-west-2"),
    path: "aws:region:",
    fix: /Rename it to sophia:region if it is this program's setting, or remove it\. Namespaces read here: sophia, vercel, docker, pulumi/,
  },
  {
    mistake: "a misspelled provider setting",
    text: devWith("vercel:apiTokne: abc"),
    path: "vercel:apiTokne:",
    fix: /has no setting "apiTokne".*Did you mean vercel:apiToken\?/,
  },
  {
    mistake: "a dotted key typed literally",
    text: devWith('sophia:gpu.sshAllowedCidrs: ["203.0.113.7/32"]'),
    path: "sophia:gpu.sshAllowedCidrs:",
    fix: /Nest it under sophia:gpu instead, or let Pulumi write it: pulumi config set --path 'sophia:gpu\.sshAllowedCidrs\[0\]' 203\.0\.113\.7\/32/,
  },
  {
    mistake: "a misspelled top-level setting",
    text: devWith("sophia:regoins: [lax]"),
    path: "sophia:",
    fix: /unknown key "regoins"; allowed keys here: .*\. Did you mean "regions"\?/,
  },
  {
    mistake: "a misspelled service setting",
    text: devSetting(["sophia:services", "weaviate", "maxMachine"], 2),
    path: "sophia:services.weaviate:",
    fix: /unknown key "maxMachine"; allowed keys here: .*\. Did you mean "maxMachines"\?/,
  },
  {
    mistake: "a misspelled service name",
    text: devSetting(["sophia:services", "weaviat", "maxMachines"], 2),
    path: "sophia:services:",
    fix: /unknown key "weaviat"; allowed keys here: .*\. Did you mean "weaviate"\?/,
  },
  {
    mistake: "an address octet above 255",
    text: devWith("sophia:gpu:", "  sshAllowedCidrs: [203.0.113.300/32]"),
    path: "sophia:gpu.sshAllowedCidrs[0]:",
    fix: /300 is above 255 \(each of the four numbers is 0–255\)/,
  },
  {
    mistake: "a prefix above 32",
    text: devWith("sophia:gpu:", "  workerSources: [203.0.113.7/40]"),
    path: "sophia:gpu.workerSources[0]:",
    fix: /the prefix \/40, above 32; use \/32 for one address/,
  },
  {
    mistake: "an address with bits past its prefix",
    text: devWith("sophia:gpu:", "  sshAllowedCidrs: [203.0.113.7/24]"),
    path: "sophia:gpu.sshAllowedCidrs[0]:",
    fix: /use 203\.0\.113\.7\/32 for this one address, or 203\.0\.113\.0\/24 for its network/,
  },
  {
    mistake: "a host name where an address belongs",
    text: devWith("sophia:gpu:", "  sshAllowedCidrs: [my-laptop.example.com]"),
    path: "sophia:gpu.sshAllowedCidrs[0]:",
    fix: /is not an IPv4 CIDR; write one address as 203\.0\.113\.7\/32/,
  },
  {
    mistake: "a number in quotes",
    text: devSetting(["sophia:services", "weaviate", "maxMachines"], "2"),
    path: "sophia:services.weaviate.maxMachines:",
    fix: /must be a number; write it without quotes \(got "2"\)/,
  },
  {
    mistake: "a null that removes a value nothing else supplies",
    text: devSetting(["sophia:services", "weaviate", "cpus"], null),
    path: "sophia:services.weaviate.cpus:",
    fix: /a null \(or blank\) value in Pulumi\.dev\.yaml removed the profile's value; give it a value there, or delete that line/,
  },
  {
    mistake: "a misspelled choice",
    text: devSetting(["sophia:services", "agent-ui", "autostop"], "stopp"),
    path: "sophia:services.agent-ui.autostop:",
    fix: /must be one of "off", "stop", "suspend"; did you mean "stop"\?/,
  },
  {
    mistake: "a misspelled region",
    text: devWith("sophia:regions: [lxa]", "sophia:primaryRegion: lax"),
    path: "sophia:regions[0]:",
    fix: /did you mean "lax"\?/,
  },
  {
    mistake: "a single region where a list belongs",
    text: devWith("sophia:regions: lax"),
    path: "sophia:regions:",
    fix: /must be a list; write it as a list: \[lax\]/,
  },
  {
    mistake: "a primary region outside the stack's regions",
    text: devWith("sophia:primaryRegion: sjc"),
    path: "sophia:primaryRegion:",
    fix: /is not in regions \[lax\]; add it to sophia:regions or pick one of them/,
  },
  {
    mistake: "memory that is not a multiple of 256 MB",
    text: devSetting(["sophia:services", "agent-ui", "memoryMb"], 500),
    path: "sophia:services.agent-ui.memoryMb:",
    fix: /must be a multiple of 256 MB \(got 500\)/,
  },
  {
    mistake: "a health check path without its slash",
    text: devSetting(["sophia:services", "agno-bridge", "healthCheck", "path"], "health"),
    path: "sophia:services.agno-bridge.healthCheck.path:",
    fix: /must start with "\/" \(got "health"\)/,
  },
  {
    mistake: "a port above 65535",
    text: devSetting(["sophia:services", "mcp-memory", "port"], 80010),
    path: "sophia:services.mcp-memory.port:",
    fix: /must be at most 65535 \(got 80010\)/,
  },
  {
    mistake: "an API endpoint without its scheme",
    text: devWith("sophia:flyApiUrl: 127.0.0.1:4280/v1"),
    path: "sophia:flyApiUrl:",
    fix: /must be an http\(s\) URL such as http:\/\/127\.0\.0\.1:4280\/v1/,
  },
  {
    mistake: "an environment value that YAML reads as a boolean",
    text: devSetting(["sophia:services", "unified-api", "env", "DEBUG"], true),
    path: "sophia:services.unified-api.env.DEBUG:",
    fix: /must be text; put it in quotes: "true"/,
  },
  {
    mistake: "a yes/no setting written as a word",
    text: devWith("sophia:edge:", "  customDomain: yes"),
    path: "sophia:edge.customDomain:",
    fix: /must be true or false \(got "yes"\)/,
  },
  {
    mistake: "a domain in capitals",
    text: devWith("sophia:edge:", "  domain: Sophia-Intel.AI"),
    path: "sophia:edge.domain:",
    fix: /must be a lower-case DNS hostname/,
  },
  {
    mistake: "a Vercel repository given as a URL",
    text: devWith("sophia:edge:", "  vercelProject:", "    repo: https://github.com/acme/agent-ui"),
    path: "sophia:edge.vercelProject.repo:",
    fix: /must be "owner\/name"/,
  },
  {
    mistake: "a misspelled top-level key of the stack file",
    text: DEV_FILE.replace(/^environment:/m, "enviroment:"),
    path: "Pulumi.dev.yaml:",
    fix: /unknown top-level key "enviroment", which Pulumi would silently ignore; did you mean "environment"\?/,
  },
  {
    mistake: "a config key outside config:",
    text: `${DEV_FILE.trimEnd()}\nsophia:appPrefix: acme-dev\n`,
    path: "Pulumi.dev.yaml:",
    fix: /"sophia:appPrefix" is at the top level, where Pulumi ignores it; indent it under config:/,
  },
  {
    mistake: "a config key without its namespace",
    text: devWith("appPrefix: acme-dev"),
    path: "Pulumi.dev.yaml:",
    fix: /config key "appPrefix" needs a namespace, e.g\. "sophia:appPrefix"/,
  },
  {
    mistake: "an image pinned to :latest",
    text: devSetting(["sophia:services", "unified-api", "image"], "ghcr.io/sophia-intel/unified-api:latest"),
    path: "sophia:services.unified-api.image:",
    fix: /is :latest, which moves under the stack; pin a release tag \(e\.g\. ghcr\.io\/sophia-intel\/unified-api:1\.2\.3\) or a digest/,
  },
  {
    mistake: "an image without a tag",
    text: devSetting(["sophia:services", "unified-api", "image"], "ghcr.io/sophia-intel/unified-api"),
    path: "sophia:services.unified-api.image:",
    fix: /has no tag, which means :latest; pin a release tag/,
  },
  {
    mistake: "a GPU worker image pinned to :latest",
    text: devWith("sophia:gpu:", "  workerImage: ghcr.io/sophia-intel/gpu-worker:latest"),
    path: "sophia:gpu.workerImage:",
    fix: /is :latest, which moves under the stack/,
  },
  {
    mistake: "a Lambda region as the Fly primary region",
    text: devWith("sophia:primaryRegion: us-west-1"),
    path: "sophia:primaryRegion:",
    fix: /"us-west-1" is a Lambda region \(it belongs in sophia:gpu\.region\), not a Fly one; the Fly regions near it: "sjc", "lax"/,
  },
  {
    mistake: "two Weaviate nodes that Fly Proxy may stop",
    text: devSetting(["sophia:services", "weaviate", "maxMachines"], 2),
    path: "sophia:services.weaviate.autostop:",
    fix: /"stop" lets Fly Proxy stop idle machines, but the 2 Weaviate nodes are Raft voters and the cluster needs 2 of them running: one stopped node costs it its quorum\. Set autostop to "off"/,
  },
  {
    mistake: "an even number of Weaviate nodes",
    text: devSetting(["sophia:services", "weaviate"], { maxMachines: 4, autostop: "off" }),
    path: "sophia:services.weaviate.maxMachines:",
    fix: /4 Weaviate nodes are 4 Raft voters, which need 3 for a quorum and so survive 1 lost node, no more than 3 would\. Use an odd number of nodes: 3 or 5/,
  },
  {
    mistake: "an adoption for a service the stack does not have",
    text: devWith("sophia:adopt:", "  weaviat:", "    app: acme-weaviate"),
    path: "sophia:adopt.weaviat:",
    fix: /is not a service of this stack; services: weaviate, /,
  },
  {
    mistake: "an adoption for Grafana while monitoring is off",
    text: devWith("sophia:adopt:", "  grafana:", "    app: acme-grafana"),
    path: "sophia:adopt.grafana:",
    fix: /grafana runs only with sophia:monitoring\.enabled: true, which this stack does not set, so there is no app to adopt; remove the entry or turn monitoring on/,
  },
  {
    mistake: "more adopted volumes than the service has machines",
    text: devWith("sophia:adopt:", "  weaviate:", "    app: acme-weaviate", "    volumes: [vol_aaaa, vol_bbbb]"),
    path: "sophia:adopt.weaviate.volumes:",
    fix: /lists 2 volumes, but weaviate has 1 machine\(s\), each with one volume; raise sophia:services\.weaviate\.maxMachines, or list fewer/,
  },
  {
    mistake: "an adopted app another service already uses",
    text: devWith("sophia:adopt:", "  weaviate:", "    app: sophia-dev-mcp-memory"),
    path: "sophia:adopt.weaviate.app:",
    fix: /"sophia-dev-mcp-memory" is already the app of mcp-memory; each service has an app of its own/,
  },
  {
    mistake: "standing GPU nodes above the pool's maximum",
    text: devWith("sophia:gpu:", "  standing: 2", "  sshAllowedCidrs: [203.0.113.7/32]"),
    path: "sophia:gpu.standing:",
    fix: /raise sophia:gpu\.maxInstances or lower standing/,
  },
];

describe("every problem of every service at once", () => {
  it("a service missing its port and its image hears of both in one run, with the other services' problems", { timeout: TIMEOUT_MS }, async () => {
    const doc = parseDocument(DEV_FILE);
    doc.deleteIn(["config", "sophia:services", "mcp-memory"]);
    doc.setIn(["config", "sophia:services", "agent-ui", "image"], "ghcr.io/sophia-intel/agent-ui:latest");
    const result = await planText(doc.toString());
    expect(result.status).toBe(1);
    const problems = result.stderr.split("\n").filter((l) => l.startsWith("  - sophia:services."));
    expect(problems.map((l) => /^ {2}- (sophia:services\.[\w-]+\.[\w.]+)/.exec(l)?.[1])).toEqual([
      "sophia:services.mcp-memory.port",
      "sophia:services.mcp-memory.image",
      "sophia:services.agent-ui.image",
    ]);
  });
});

describe.concurrent("a stack file mistake is refused with its path and fix, and leaves no plan", () => {
  it("covers at least 25 distinct mistakes", () => {
    expect(MISTAKES.length).toBeGreaterThanOrEqual(25);
    expect(new Set(MISTAKES.map((m) => m.mistake)).size).toBe(MISTAKES.length);
  });

  it.each(MISTAKES)("$mistake", { timeout: TIMEOUT_MS }, async ({ text, path: configPath, fix, stack }) => {
    const result = await planText(text, stack);
    expect(result.status, result.stdout).toBe(1);
    const line = result.stderr.split("\n").find((l) => l.includes(configPath) && fix.test(l));
    expect(line, `no line naming ${configPath} and matching ${String(fix)} in:\n${result.stderr}`).toBeDefined();
    expect(result.stderr).not.toMatch(/Invalid input|Too small|Too big|Unrecognized key|Invalid option|\(D\d+\)/);
    expect(result.wrote).toEqual([]);
  });
});

interface Variation {
  variation: string;
  text: string;
  stack?: string;
  /** Checked on the plan's JSON document. */
  check: (doc: PlanJson) => void;
}

interface PlanJson {
  resources: { kind: string; name: string; inputs: Record<string, unknown> }[];
  services: { name: string; regions: string[]; volumes: { count: number } }[];
  environments: string[];
  notes: string[];
  adoptions: unknown[];
}

const service = (doc: PlanJson, name: string) => {
  const found = doc.services.find((s) => s.name === name);
  if (found === undefined) throw new Error(`no service ${name} in the plan`);
  return found;
};

const VARIATIONS: Variation[] = [
  {
    variation: "services sharing settings through a YAML merge key",
    text: DEV_FILE.replace(
      "config:\n",
      "x-health: &health\n  healthCheck:\n    path: /health\n    intervalSeconds: 30\n    gracePeriodSeconds: 10\n    timeoutSeconds: 5\nconfig:\n",
    ).replace("    agno-bridge:\n      image:", "    agno-bridge:\n      <<: *health\n      image:").replace("\n      healthCheck:\n        path: /health\n", "\n"),
    check: (doc) => {
      const bridge = doc.resources.find((r) => r.kind === "fly:Machine" && r.name.startsWith("agno-bridge"));
      const checks = (bridge?.inputs.config as { checks: Record<string, { path: string; interval: string }> }).checks;
      expect(Object.values(checks)[0]).toMatchObject({ path: "/health", interval: "30s" });
    },
  },
  {
    variation: "a null that removes a profile value (a stateless vector store)",
    text: devSetting(["sophia:services", "vector-store", "volumeGb"], null),
    check: (doc) => expect(service(doc, "vector-store").volumes.count).toBe(0),
  },
  {
    variation: "a second region for the stateless services",
    text: devWith("sophia:regions: [lax, sjc]"),
    check: (doc) => {
      expect(service(doc, "unified-api").regions).toEqual(["lax", "sjc"]);
      expect(service(doc, "weaviate").regions).toEqual(["lax"]);
    },
  },
  {
    variation: "a custom domain on dev",
    text: devWith("sophia:edge:", "  customDomain: true"),
    check: (doc) => expect(doc.resources.some((r) => r.kind.includes("DnsRecord"))).toBe(true),
  },
  {
    variation: "an inline environment definition with a pinned import",
    text: DEV_FILE.replace("environment:\n  - sophia/dev\n", "environment:\n  imports:\n    - sophia/dev@stable\n  values:\n    pulumiConfig:\n      sophia:flyOrg: acme\n"),
    check: (doc) => {
      expect(doc.environments).toEqual(["sophia/dev@stable"]);
      expect(doc.notes.join("\n")).toMatch(/defines environment values inline; the plan does not evaluate ESC/);
    },
  },
  {
    variation: "an existing Weaviate app adopted with its volume and machine (the dry run)",
    text: devWith("sophia:adopt:", "  weaviate:", "    app: acme-weaviate", "    volumes: [vol_6vjq3ynm18p1wz2]", "    machines: [3d8d9015f95228]"),
    check: (doc) => {
      expect(doc.adoptions).toEqual([
        {
          service: "weaviate",
          app: "acme-weaviate",
          org: "personal",
          volumes: [{ resource: "weaviate-vol-lax-0", adopts: "vol_6vjq3ynm18p1wz2", region: "lax", sizeGb: 3 }],
          machines: [{ resource: "weaviate-machine-lax-0", adopts: "3d8d9015f95228", region: "lax" }],
        },
      ]);
      // Callers reach the adopted app by its own name.
      const api = doc.resources.find((r) => r.kind === "fly:Machine" && r.name.startsWith("unified-api"));
      expect((api?.inputs.config as { env: Record<string, string> }).env.WEAVIATE_URL).toBe("http://acme-weaviate.flycast:8080");
    },
  },
  {
    variation: "an image pinned by digest",
    text: devSetting(["sophia:services", "unified-api", "image"], `ghcr.io/sophia-intel/unified-api@sha256:${"ab".repeat(32)}`),
    check: (doc) => {
      const api = doc.resources.find((r) => r.kind === "fly:Machine" && r.name.startsWith("unified-api"));
      expect((api?.inputs.config as { image: string }).image).toMatch(/@sha256:(ab){32}$/);
    },
  },
  {
    variation: "three Weaviate nodes kept running",
    text: devSetting(["sophia:services", "weaviate"], { maxMachines: 3, autostop: "off" }),
    check: (doc) => expect(doc.resources.filter((r) => r.kind === "fly:Machine" && r.name.startsWith("weaviate"))).toHaveLength(3),
  },
  {
    variation: "an encrypted value for a setting the plan cannot decrypt",
    text: devWith("sophia:flyOrg:", "  secure: v1:AAAA:BBBB"),
    check: (doc) => expect(doc.notes.join("\n")).toMatch(/sophia:flyOrg is encrypted \(secure:\) in Pulumi\.dev\.yaml; the plan cannot decrypt it/),
  },
];

describe.concurrent("valid variations plan", () => {
  it.each(VARIATIONS)("$variation", { timeout: TIMEOUT_MS }, async ({ text, stack, check }) => {
    const stackName = stack ?? "dev";
    const result = await planText(text, stackName);
    expect(result.status, result.stderr).toBe(0);
    expect(result.wrote.sort()).toEqual([`${stackName}.json`, `${stackName}.md`]);
    check(JSON.parse(fs.readFileSync(path.join(result.out, `${stackName}.json`), "utf8")) as PlanJson);
  });
});

describe("a plain-text secret in the stack file", () => {
  it("is never hidden behind a placeholder: the plan refuses it, naming the key as plain text", { timeout: TIMEOUT_MS }, async () => {
    const result = await planText(devWith("sophia:databaseUrl: postgres://app:hunter2@db.example.com/app"));
    const output = result.stdout + result.stderr;
    expect(result.status).toBe(1);
    expect(output).toMatch(/sophia:databaseUrl \(Neon Postgres connection string\) is set in plain text, in Pulumi\.dev\.yaml/);
    expect(output).not.toMatch(/plan-placeholder-sophia-databaseUrl/);
    expect(output).not.toMatch(/hunter2/);
  });
});
