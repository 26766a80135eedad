import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { PLAN_PROCESS_TIMEOUT_MS, projectDir, runPlanCliAsync } from "../helpers/cli";

const root = projectDir;

/** Plans the dev stack file with `edit` applied to its config (or unchanged), and returns the outcome. */
async function planWith(edit: ((config: Record<string, Record<string, Record<string, unknown>>>) => void) | undefined, extraArgs: string[] = []) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
  let stackArgs: string[] = [];
  if (edit !== undefined) {
    const stackDir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-"));
    const doc = parse(fs.readFileSync(path.join(root, "Pulumi.dev.yaml"), "utf8"));
    edit(doc.config);
    fs.writeFileSync(path.join(stackDir, "Pulumi.dev.yaml"), stringify(doc));
    stackArgs = ["--stack-dir", stackDir];
  }
  const result = await runPlanCliAsync(["--stack", "dev", "--out", out, ...stackArgs, ...extraArgs]);
  return { status: result.status, stderr: result.stderr, wrote: fs.readdirSync(out) };
}

describe("bad input fails with its message, registers nothing and writes no plan", { timeout: PLAN_PROCESS_TIMEOUT_MS }, () => {
  it("a canary service with a volume", async () => {
    const result = await planWith((c) => (c["sophia:services"].weaviate = { strategy: "canary" }));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/sophia:services\.weaviate\.strategy: "canary" is not possible with a volume/);
    expect(result.wrote).toEqual([]);
  });

  it("an unknown region", async () => {
    const result = await planWith((c) => (c["sophia:regions"] = ["lax", "mars"] as unknown as Record<string, Record<string, unknown>>));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/sophia:regions\[1\]: must be one of .*"lax".*\(got "mars"\)/);
    expect(result.wrote).toEqual([]);
  });

  it("min above max", async () => {
    const result = await planWith((c) => (c["sophia:services"]["unified-api"].minMachines = 2));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/sophia:services\.unified-api\.minMachines: 2 is more than maxMachines 1/);
    expect(result.wrote).toEqual([]);
  });

  it("a missing Lambda API key says where to set it", async () => {
    const result = await planWith(undefined, ["--omit-secret", "sophia:lambdaApiKey"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/sophia:lambdaApiKey \(Lambda Cloud API key\) is not set; needed by the GPU pool, unified-api\./);
    expect(result.stderr).toMatch(/pulumi config set --secret sophia:lambdaApiKey <value> --stack dev/);
    expect(result.wrote).toEqual([]);
  });

  it("a missing Vercel token stops a stack that uses Vercel before anything is created", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
    const result = await runPlanCliAsync(["--stack", "prod", "--out", out, "--omit-secret", "vercel:apiToken"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/vercel:apiToken \(Vercel API token, read by @pulumiverse\/vercel\) is not set; needed by the Vercel project and DNS records\./);
    expect(result.stderr).toMatch(/or export VERCEL_API_TOKEN/);
    expect(result.stderr).toMatch(/No resource was registered\./);
  });

  it("dev without a custom domain needs no Vercel token at all", async () => {
    expect((await planWith(undefined, ["--omit-secret", "vercel:apiToken"])).status).toBe(0);
  });

  it("a secret in plain text in the stack file is refused, says to move it to ESC, and never shows the value", async () => {
    const value = "secret_plain_lambda_key_8c1d";
    const result = await planWith((c) => (c["sophia:lambdaApiKey"] = value as unknown as Record<string, Record<string, unknown>>));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/sophia:lambdaApiKey \(Lambda Cloud API key\) is set in plain text, in Pulumi\.dev\.yaml or in ESC without fn::secret\./);
    expect(result.stderr).toMatch(/ESC environment sophia\/dev under values\.pulumiConfig\."sophia:lambdaApiKey" with fn::secret, or run: pulumi config set --secret sophia:lambdaApiKey <value> --stack dev/);
    expect(result.stderr).toMatch(/No resource was registered\./);
    expect(result.stderr).not.toContain(value);
    expect(result.wrote).toEqual([]);
  });

  it("a secret set with pulumi config set --secret (secure: in the stack file) is accepted", async () => {
    const result = await planWith((c) => (c["sophia:lambdaApiKey"] = { secure: "v1:AAAAAAAAAAAAAAAA:ciphertext" } as unknown as Record<string, Record<string, unknown>>));
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it("a missing LLM key names the shared environment sophia/common, where the README keeps it", async () => {
    const result = await planWith(undefined, ["--omit-secret", "sophia:anthropicApiKey"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/sophia:anthropicApiKey \(Anthropic API key\) is not set; needed by unified-api\. Set it in the ESC environment sophia\/common \(shared by every stack; sophia\/dev imports it\)/);
    expect(result.wrote).toEqual([]);
  });

  it("a declared secret missing from ESC names the path to set and never a value", async () => {
    const result = await planWith(undefined, ["--omit-secret", "sophia:databaseUrl"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/sophia:databaseUrl \(Neon Postgres connection string\) is not set; needed by unified-api\./);
    expect(result.stderr).toMatch(/ESC environment sophia\/dev under values\.pulumiConfig\."sophia:databaseUrl"/);
    expect(result.stderr).toMatch(/No resource was registered\./);
    expect(result.stderr).not.toMatch(/plan-placeholder/);
    expect(result.wrote).toEqual([]);
  });
});
