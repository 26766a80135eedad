/** A secret still holding its ESC template placeholder stops the program before any resource (prod, under mocks). */
import { beforeAll, describe, expect, it } from "vitest";
import type { PlanError } from "../../src/planner/engine";
import { planFailure } from "../helpers/plan";

let failure: PlanError;
beforeAll(async () => {
  failure = await planFailure("prod", {
    secretOverrides: {
      "sophia:lambdaApiKey": "REPLACE_ME_lambda_cloud_api_key_for_prod",
      "sophia:openaiApiKey": "REPLACE_ME_openai_api_key",
      "vercel:apiToken": "REPLACE_ME_vercel_api_token_for_prod",
    },
  });
}, 60_000);

describe("ESC placeholders left in a secret", () => {
  it("stop the program before any resource is registered", () => {
    expect(failure.registered).toEqual([]);
  });

  it("name the key and the stack's ESC environment with the command that fills it in", () => {
    expect(failure.message).toContain(
      `sophia:lambdaApiKey (Lambda Cloud API key) still holds the ESC template placeholder REPLACE_ME_…. Set the real value in the ESC environment sophia/prod: esc env set <your-org>/sophia/prod 'pulumiConfig["sophia:lambdaApiKey"]' <value> --secret`,
    );
  });

  it("name sophia/common for a key every stack shares", () => {
    expect(failure.message).toMatch(/sophia:openaiApiKey \(OpenAI API key\) still holds the ESC template placeholder .* ESC environment sophia\/common:/);
  });

  it("cover the token the Vercel provider reads itself", () => {
    expect(failure.message).toMatch(/vercel:apiToken \(.*\) still holds the ESC template placeholder .* sophia\/prod/);
  });

  it("list every unfilled key at once, and no filled one", () => {
    const listed = [...failure.message.matchAll(/^ {2}- (\S+) /gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual(["sophia:lambdaApiKey", "sophia:openaiApiKey", "vercel:apiToken"]);
  });
});
