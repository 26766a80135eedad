/**
 * A stack file without an ESC environment gets its secrets from its own `secure:` values alone, so
 * the plan stands in a placeholder only for those: a secret neither supplies is missing in a real
 * run, and the plan says so as `pulumi up` would, instead of passing. Its messages name the ESC
 * environments the stack file imports, none for this one. The README's loops of
 * `pulumi config set --secret` for such a stack set exactly the secrets each stack needs.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { PLAN_PROCESS_TIMEOUT_MS, projectDir, runPlanCliAsync } from "../helpers/cli";

/** Pulumi.<stack>.yaml without its `environment:` block and with `secure` as encrypted values (what `pulumi config set --secret` writes). */
function withoutEsc(secure: string[], stack = "dev"): string {
  const doc = parseDocument(fs.readFileSync(path.join(projectDir, `Pulumi.${stack}.yaml`), "utf8"));
  doc.delete("environment");
  for (const key of secure) doc.setIn(["config", key], { secure: "v1:c2FsdA==:ZW5jcnlwdGVk" });
  return doc.toString();
}

/** A folder holding `text` as Pulumi.<stack>.yaml. */
function stackDirWith(stack: string, text: string): string {
  const stackDir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-"));
  fs.writeFileSync(path.join(stackDir, `Pulumi.${stack}.yaml`), text);
  return stackDir;
}

function plan(text: string, stack = "dev") {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
  return runPlanCliAsync(["--stack", stack, "--stack-dir", stackDirWith(stack, text), "--out", out]);
}

/** The README's "Without ESC" section: per stack, the keys its `for k in …` loop sets. */
function readmeLoops(): Record<string, string[]> {
  const readme = fs.readFileSync(path.join(projectDir, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### Without ESC"), readme.indexOf("\n### ", readme.indexOf("### Without ESC") + 1));
  const loops = [...section.matchAll(/for k in ([^;]+); do\n\s+pulumi config set --secret "\$k" --stack (\w+)/g)];
  return Object.fromEntries(loops.map((m) => [m[2]!, m[1]!.split(/[\s\\]+/).filter(Boolean)]));
}

describe("a stack without ESC", { timeout: PLAN_PROCESS_TIMEOUT_MS }, () => {
  it("is refused, like pulumi up, when a secret is neither in ESC nor encrypted in the file", async () => {
    const result = await plan(withoutEsc(["sophia:flyApiToken"]));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/sophia:lambdaApiKey \(Lambda Cloud API key\) is not set; needed by the GPU pool/);
    expect(result.stderr).not.toMatch(/sophia:flyApiToken \(.*\) is not set/);
  });

  it("plans when the file holds every secret encrypted, and says the plan used placeholders for them", async () => {
    const result = await plan(withoutEsc(["sophia:flyApiToken", "sophia:lambdaApiKey", "sophia:openaiApiKey", "sophia:anthropicApiKey", "sophia:databaseUrl", "sophia:redisUrl", "sophia:uiSessionSecret"]));
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/sophia:flyApiToken, sophia:lambdaApiKey, .* are encrypted \(secure:\) in Pulumi\.dev\.yaml; a real run decrypts them, the plan uses placeholders\./);
  });
});

describe("where a message says to set a secret", { timeout: PLAN_PROCESS_TIMEOUT_MS }, () => {
  it("for a stack file that imports no ESC environment, only pulumi config set, no ESC environment", async () => {
    const result = await plan(withoutEsc(["sophia:flyApiToken"]));
    expect(result.stderr).toContain(
      "sophia:lambdaApiKey (Lambda Cloud API key) is not set; needed by the GPU pool, unified-api. Set it with: pulumi config set --secret sophia:lambdaApiKey <value> --stack dev",
    );
    expect(result.stderr).not.toMatch(/ESC environment/);
  });

  it("for a stack file that imports sophia/dev under another stack's name, sophia/dev", async () => {
    const result = await runPlanCliAsync(["--stack", "staging", "--stack-dir", stackDirWith("staging", fs.readFileSync(path.join(projectDir, "Pulumi.dev.yaml"), "utf8")), "--out", fs.mkdtempSync(path.join(os.tmpdir(), "plan-")), "--omit-secret", "sophia:databaseUrl"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      'Set it in the ESC environment sophia/dev under values.pulumiConfig."sophia:databaseUrl" with fn::secret, or run: pulumi config set --secret sophia:databaseUrl <value> --stack staging',
    );
    expect(result.stderr).not.toContain("sophia/staging");
  });

  it("for a blank line in a stack file without ESC, to delete it and set the secret, not that it hides an ESC value", async () => {
    const doc = parseDocument(withoutEsc([]));
    doc.setIn(["config", "sophia:databaseUrl"], null);
    const result = await plan(doc.toString());
    expect(result.stderr).toContain(
      "sophia:databaseUrl (Neon Postgres connection string) is blank in Pulumi.dev.yaml; delete that line and set it with: pulumi config set --secret sophia:databaseUrl <value> --stack dev",
    );
  });

  it("for a secret in plain text in a stack file without ESC, no ESC environment", async () => {
    const doc = parseDocument(withoutEsc([]));
    doc.setIn(["config", "sophia:redisUrl"], "redis://plain-text-value-example:6379");
    const result = await plan(doc.toString());
    expect(result.stderr).toContain(
      "sophia:redisUrl (Redis connection string) is set in plain text, in Pulumi.dev.yaml. Remove it from Pulumi.dev.yaml and set it with: pulumi config set --secret sophia:redisUrl <value> --stack dev.",
    );
    expect(result.stderr).not.toContain("plain-text-value-example");
  });
});

describe("the README's Without ESC section", { timeout: PLAN_PROCESS_TIMEOUT_MS }, () => {
  const loops = readmeLoops();

  it.each(["dev", "prod"])("sets exactly the secrets that %s refuses to plan without", async (stack) => {
    const result = await plan(withoutEsc([], stack), stack);
    expect(result.status).toBe(1);
    const missing = [...result.stderr.matchAll(/^ {2}- ([\w]+:\w+) \(.*\) is not set/gm)].map((m) => m[1]);
    expect(loops[stack]?.sort()).toEqual(missing.sort());
  });
});
