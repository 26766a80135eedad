import { beforeAll, describe, expect, it } from "vitest";
import { planStack, stackValueWith, type PlannedStack } from "../helpers/plan";

let plan: PlannedStack;
beforeAll(async () => {
  const edge = { vercelProject: { publicEnvSensitive: false } };
  plan = await planStack("prod", { configOverrides: { "sophia:edge": stackValueWith("prod", "sophia:edge", edge) } });
}, 60_000);

describe("prod with publicEnvSensitive false", () => {
  it("creates the UI's public URLs as plain variables", () => {
    const vars = plan.ofKind("vercel:ProjectEnvironmentVariable").filter((v) => String(v.inputs.key).startsWith("NEXT_PUBLIC_"));
    expect(vars.map((v) => [v.inputs.key, v.inputs.sensitive]).sort()).toEqual([
      ["NEXT_PUBLIC_AGNO_BRIDGE_URL", false],
      ["NEXT_PUBLIC_API_URL", false],
    ]);
  });

  it("keeps the session secret sensitive", () => {
    const session = plan.ofKind("vercel:ProjectEnvironmentVariable").filter((v) => v.inputs.key === "SESSION_SECRET");
    expect(session.length).toBeGreaterThan(0);
    for (const v of session) expect(v.inputs.sensitive).toBe(true);
  });
});
