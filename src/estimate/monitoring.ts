/**
 * What a set of resources says about the monitoring: the rule file vmalert's machines carry
 * (machine `files`, base64 as Fly takes it) and the alerts in it. The plan writes and lists
 * them, and the guardrails check them, from exactly what would be deployed.
 */
import { parse } from "yaml";
import { RULES_PATH } from "../../components/observability/services";
import { TYPES } from "./resources";

interface Placed {
  type: string;
  inputs: Record<string, unknown>;
}

interface MachineFile {
  guest_path?: string;
  raw_value?: string;
}

/** The rule file in the machines' config, or undefined when no machine carries one. */
export function deployedRuleFile(resources: readonly Placed[]): string | undefined {
  for (const r of resources) {
    if (r.type !== TYPES.machine) continue;
    const files = (r.inputs.config as { files?: MachineFile[] } | undefined)?.files;
    const file = Array.isArray(files) ? files.find((f) => f.guest_path === RULES_PATH) : undefined;
    if (typeof file?.raw_value === "string") return Buffer.from(file.raw_value, "base64").toString("utf8");
  }
  return undefined;
}

/** One alerting rule as the plan and the guardrails read it. */
export interface DeployedAlert {
  group: string;
  name: string;
  severity: string;
  service: string;
  expr: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** The alerting rules of a rule file, in file order. */
export function alertsOf(ruleFile: string): DeployedAlert[] {
  const doc = parse(ruleFile) as { groups?: { name: string; rules?: { alert?: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[] };
  return (doc.groups ?? []).flatMap((group) =>
    (group.rules ?? []).flatMap((rule) =>
      rule.alert === undefined
        ? []
        : [
            {
              group: group.name,
              name: rule.alert,
              severity: rule.labels?.severity ?? "",
              service: rule.labels?.service ?? "",
              expr: rule.expr,
              labels: rule.labels ?? {},
              annotations: rule.annotations ?? {},
            },
          ],
    ),
  );
}
