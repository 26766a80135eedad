// `npm run test:slow` (also run by .ci/run): the tests that take minutes, real rehearsals and
// external tools, named *.slow.test.ts and kept out of `npm test`.
import * as path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: path.resolve(__dirname, ".."),
    include: ["test/**/*.slow.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
