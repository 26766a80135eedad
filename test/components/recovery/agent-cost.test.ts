/** The README's monthly cost of the backup agent in dev is the cost model's, not a figure of its own. */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, it } from "vitest";
import { AGENT_MACHINE } from "../../../components/recovery/recovery";
import { profiles } from "../../../environments/profiles";
import { DEFAULT_PRICES, HOURS_PER_MONTH } from "../../../src/config/prices";
import { flyMachineHourly, usd } from "../../../src/estimate/cost";
import { projectDir } from "../../helpers/cli";

it("the README prices dev's missing backup agent as the cost model does", () => {
  const readme = fs.readFileSync(path.join(projectDir, "README.md"), "utf8");
  const stated = /the agent\s+\(≈ (\$\d+\.\d\d) a month/.exec(readme)?.[1];
  const guest = { cpu_kind: AGENT_MACHINE.cpuKind, cpus: AGENT_MACHINE.cpus, memory_mb: AGENT_MACHINE.memoryMb };
  expect(stated).toBe(usd(flyMachineHourly(guest, profiles["single-user-lax"].primaryRegion, DEFAULT_PRICES) * HOURS_PER_MONTH));
});
