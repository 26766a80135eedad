// `npm run test:alerts`: the generated rule file and routing through Prometheus's own tools
// (promtool, amtool from Debian's prometheus and prometheus-alertmanager); not part of `npm test`.
import * as path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: path.resolve(__dirname, ".."),
    include: ["test/alerts/**/*.alerts.ts"],
    testTimeout: 120_000,
    hookTimeout: 240_000,
  },
});
