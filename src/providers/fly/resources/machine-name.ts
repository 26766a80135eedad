/**
 * The name the stack knows a machine by. An adopted machine keeps its own name on Fly, so the name
 * the stack gave it rides in its metadata; release ordering and the release gate both find a
 * fleet's machines by this name.
 */
import type { FlyMachineInfo } from "../api/schemas";

/** Metadata key holding the name the stack gave an adopted machine, which kept its own; kept out of the compared config. */
export const DECLARED_NAME_KEY = "sophia_name";

/** The stack's name for a machine: its declared name where it was adopted, else its own. */
export function declaredNameOf(machine: FlyMachineInfo): string | undefined {
  const metadata = machine.config?.metadata;
  const value = metadata && typeof metadata === "object" ? (metadata as Record<string, unknown>)[DECLARED_NAME_KEY] : undefined;
  return typeof value === "string" ? value : (machine.name ?? undefined);
}
