// Lives in .config/ because the design card fixes the top level of the repository.
import { fileURLToPath } from "node:url";
import { configDefaults, defineConfig } from "vitest/config";

/** Set when the provider suites run against endpoints started outside the test process. */
const sharedApis = Boolean(process.env.FLY_API_URL || process.env.LAMBDA_API_URL);

export default defineConfig({
  test: {
    root: fileURLToPath(new URL("..", import.meta.url)),
    globalSetup: ["test/helpers/global-setup.ts"],
    // Test files steer a shared emulator's faults and timings: one file at a time there.
    fileParallelism: !sharedApis,
    projects: [
      { extends: true, test: { name: "fast", exclude: [...configDefaults.exclude, "**/*.slow.test.ts"] } },
      // Real rehearsals, the deploy path, external tools: `npm run test:slow`.
      { extends: true, test: { name: "slow", include: ["**/*.slow.test.ts"] } },
    ],
  },
});
