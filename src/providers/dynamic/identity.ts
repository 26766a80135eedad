/**
 * Deterministic identity for every created resource (safe to repeat a create): a marker naming the
 * stack and the resource, set where the API allows (machine metadata, instance tags, lease
 * descriptions), and the one message for a same-named resource we cannot adopt.
 */

/** Where a found resource came from, judged by its marker. */
export type Ownership = "ours" | "foreign" | "unmarked";

/** Judges a found resource's marker against ours. */
export function ownership(found: string | undefined, ours: string): Ownership {
  if (found === undefined || found === "") return "unmarked";
  return found === ours ? "ours" : "foreign";
}

/**
 * The error for a resource that has our resource's name but is not provably ours: says which, why,
 * and the ways out. Pulumi cannot import dynamic-provider resources (pulumi/pulumi#16175), so
 * taking it over means listing it for adoption in the stack's config (`adopt`).
 */
export function notOursError(what: string, why: string, remedies: { adopt?: string; rename: string; remove?: string }): Error {
  const ways = [
    remedies.adopt ? `take it over by listing it for adoption (${remedies.adopt})` : undefined,
    // Without a way to remove it (it may hold data that must be kept), renaming is the way on.
    remedies.remove ? `rename yours (${remedies.rename})` : `rename yours (${remedies.rename}) and run the command again`,
    remedies.remove ? `or delete it (${remedies.remove}) and run the command again` : undefined,
  ].filter((way): way is string => way !== undefined);
  return new Error(`${what} already exists but ${why}, so it was not adopted. Nothing was changed. To go on, ${ways.join(", ")}.`);
}

/** A resource's marker when the program gave none (providers driven directly, e.g. in tests). */
export function markerOr(marker: string | undefined, fallback: string): string {
  return marker || fallback;
}

/** The input every resource carries for its marker; the resource classes set it (see resource.ts). */
export interface Marked {
  /** Names the stack and the resource; never part of a diff. @default a name derived from the resource's own identity */
  marker?: string;
}
