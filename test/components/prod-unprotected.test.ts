import { beforeAll, describe, expect, it } from "vitest";
import { planStack, type PlannedStack } from "../helpers/plan";

describe("prod stack with protection switched off", () => {
  let unprotected: PlannedStack;
  beforeAll(async () => {
    unprotected = await planStack("prod", { configOverrides: { "sophia:volumes": JSON.stringify({ protect: false }) } });
  }, 60_000);

  it("still keeps every data store on delete: un-protecting cannot delete data in the same update", () => {
    const stores = [...unprotected.ofKind("fly:Volume"), ...unprotected.ofKind("lambda:Filesystem")];
    expect(stores.length).toBeGreaterThan(0);
    for (const r of stores) expect([r.name, r.protect, r.retainOnDelete]).toEqual([r.name, false, true]);
  });
});
