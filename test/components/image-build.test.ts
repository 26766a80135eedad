import { FLY_SERVICE_TYPE } from "../../components/fly-service";
import { beforeAll, describe, expect, it } from "vitest";
import { machineInputs, planStack, stackValueWith, type PlannedStack } from "../helpers/plan";

let plan: PlannedStack;
beforeAll(async () => {
  plan = await planStack("dev", {
    configOverrides: {
      "sophia:services": stackValueWith("dev", "sophia:services", {
        "mcp-memory": { image: null, build: { context: "../mcp-memory" } },
        "agent-ui": { image: null, build: { context: "../agent-ui" } },
      }),
    },
  });
}, 60_000);

const inService = (kind: string) => plan.inside(FLY_SERVICE_TYPE, "mcp-memory").filter((r) => r.kind === kind);

describe("a service built from source", () => {
  it("builds and pushes its image to registry.fly.io/<app>", () => {
    const [image] = inService("docker:Image");
    expect(image.inputs).toMatchObject({ imageName: "registry.fly.io/sophia-dev-mcp-memory:deployment", build: { context: "../mcp-memory", platform: "linux/amd64" } });
  });

  it("authenticates to the Fly registry with the Fly token, kept secret", () => {
    const [image] = inService("docker:Image");
    expect(image.inputs.registry).toMatchObject({ server: "registry.fly.io", password: "[secret]" });
  });

  it("runs the machine from the image's digest, so a rebuild rolls out", () => {
    expect(machineInputs(inService("fly:Machine")[0]).config.image).toMatch(/^registry\.fly\.io\/sophia-dev-mcp-memory@sha256:[0-9a-f]{64}$/);
  });

  it("hands the Next.js UI its NEXT_PUBLIC_ URLs as build args, since Next.js inlines them at build time", () => {
    const [image] = plan.inside(FLY_SERVICE_TYPE, "agent-ui").filter((r) => r.kind === "docker:Image");
    expect((image.inputs.build as { args: Record<string, string> }).args).toEqual({
      NEXT_PUBLIC_AGNO_BRIDGE_URL: "https://sophia-dev-agno-bridge.fly.dev",
      NEXT_PUBLIC_API_URL: "https://sophia-dev-unified-api.fly.dev",
    });
  });

  it("pushes only after the app (and so its registry) exists", () => {
    const [image] = inService("docker:Image");
    expect(image.dependencies).toContain(inService("fly:App")[0].urn);
  });
});
