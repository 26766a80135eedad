/** The one strict-object helper of the config schema files: an unknown key fails, naming the keys allowed there. */
import { z } from "zod";
import { nearestName } from "./nearest";

/** A strict object whose unknown-key error suggests the nearest key and lists the keys allowed there. */
export function strictObject<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== "unrecognized_keys") return undefined;
      const guesses = issue.keys.map((k) => nearestName(k, known)).filter((k): k is string => k !== undefined);
      const guess = guesses.length > 0 ? ` Did you mean ${guesses.map((k) => `"${k}"`).join(", ")}?` : "";
      return `unknown key ${issue.keys.map((k) => `"${k}"`).join(", ")}; allowed keys here: ${known.join(", ")}.${guess}`;
    },
  });
}
