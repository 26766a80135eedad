// Lives in .config/ because the design card fixes the top level of the repository.
import { fileURLToPath } from "node:url";
import { configDefaults, defineConfig } from "vitest/config";

const SLOW = "**/*.slow.test.ts";
/** Set when the provider suites run against endpoints started outside the test process. */
const sharedApis = Boolean(process.env.FLY_API_URL || process.env.LAMBDA_API_URL);

export default defineConfig({
  test: {
    root: fileURLToPath(new URL("..", import.meta.url)),
    globalSetup: ["test/helpers/global-setup.ts"],
    // Test files steer a shared emulator's faults and timings: one file at a time there.
    fileParallelism: !sharedApis,
    // Most tests wait on emulators and child processes rather than compute, so two files run beside
    // each other even on two cores (vitest's default there is one: the cores less one).
    maxWorkers: 2,
    projects: [
      // The test files of a worker share one module graph, so Pulumi, zod and the providers load
      // once per worker rather than once per file. Each file sets and restores what it changes,
      // and a test that runs the program loads a fresh copy of it (test/helpers/plan.ts).
      { extends: true, test: { name: "fast", exclude: [...configDefaults.exclude, SLOW], isolate: false } },
      // Real rehearsals, the program run as `pulumi up` runs it: `npm run test:slow` (minutes).
      { extends: true, test: { name: "slow", include: [SLOW], testTimeout: 600_000, hookTimeout: 600_000 } },
      // The rule file and routing through Prometheus's own tools (promtool, amtool from Debian's
      // prometheus and prometheus-alertmanager): `npm run test:alerts`.
      { extends: true, test: { name: "alerts", include: ["test/alerts/**/*.alerts.ts"], testTimeout: 120_000, hookTimeout: 240_000 } },
    ],
  },
});
