/** A secret key given as plain config (not a Pulumi secret) is refused before any resource (dev, under mocks). */
import { beforeAll, describe, expect, it } from "vitest";
import type { PlanError } from "../../src/planner/engine";
import { planFailure } from "../helpers/plan";

const PLAIN_VALUE = "plain-vercel-token-3e9f1c";
let failure: PlanError;
beforeAll(async () => {
  failure = await planFailure("dev", { configOverrides: { "vercel:apiToken": PLAIN_VALUE } });
}, 60_000);

describe("a secret key set in plain text", () => {
  it("stops the program before any resource is registered, even for a key this stack does not need", () => {
    expect(failure.registered).toEqual([]);
  });

  it("says to move it to ESC or pulumi config set --secret", () => {
    const message = failure.message;
    expect(message).toMatch(/^Secrets in plain text \(nothing was created\):/);
    expect(message).toContain('vercel:apiToken (Vercel API token, read by @pulumiverse/vercel) is set in plain text, in Pulumi.dev.yaml or in ESC without fn::secret.');
    expect(message).toContain('set it in the ESC environment sophia/dev under values.pulumiConfig."vercel:apiToken" with fn::secret');
    expect(message).toContain("pulumi config set --secret vercel:apiToken <value> --stack dev");
  });

  it("never shows the value", () => {
    expect(failure.message).not.toContain(PLAIN_VALUE);
  });
});
