/**
 * Whatever a provider throws reaches the user as an Error that says what it is.
 *
 * Two things defeat that unless handled here:
 * - Pulumi's closure serializer rebuilds a class's prototype chain only when the prototype has a
 *   member besides its constructor. An `Error` subclass without one comes back, in a deployed
 *   provider, as a plain object: not `instanceof Error`, and "[object Object]" when printed. So
 *   every error class the providers throw declares `toString` (test/providers/serialized.test.ts
 *   checks each one, as a deployed provider holds it).
 * - Something may throw a value that is not an Error at all (a string, an object, an Error whose
 *   message is an object). `asError` turns it into one carrying its content.
 */

/** Longest rendering of a thrown non-Error kept in a message. */
const MAX_CONTENT = 2_000;

/** The text of anything thrown: an Error's message, a string as is, an object as JSON. */
export function messageOf(thrown: unknown): string {
  if (typeof thrown === "string") return thrown;
  if (thrown !== null && typeof thrown === "object") {
    const { message, name } = thrown as { message?: unknown; name?: unknown };
    if (typeof message === "string" && message !== "") return message;
    if (message !== undefined && message !== null && message !== "") return render(message);
    if (thrown instanceof Error) return typeof name === "string" && name !== "Error" ? `${name} (no message)` : "an error with no message";
    return render(thrown);
  }
  return String(thrown);
}

/** `thrown` itself when it is an Error with a text message; otherwise an Error carrying its content and fields. */
export function asError(thrown: unknown): Error {
  if (thrown instanceof Error && typeof thrown.message === "string" && thrown.message !== "") return thrown;
  const error = new Error(messageOf(thrown));
  if (thrown !== null && typeof thrown === "object") {
    // Keep what callers branch on (status, code, operation, …), but not a message that was no text.
    for (const [key, value] of Object.entries(thrown)) if (key !== "message" && key !== "stack") (error as unknown as Record<string, unknown>)[key] = value;
    const { name } = thrown as { name?: unknown };
    if (typeof name === "string") error.name = name;
  }
  return error;
}

/**
 * The provider with every method's failure passed through `asError`, so the engine (which reads
 * only `message`) and the rehearsal always get words, whatever was thrown.
 */
export function explainingFailures<P extends object>(provider: P): P {
  const wrapped: Record<string, unknown> = {};
  for (const [name, member] of Object.entries(provider)) {
    if (typeof member !== "function") {
      wrapped[name] = member;
      continue;
    }
    const method = member as (...args: unknown[]) => unknown;
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await method.apply(provider, args);
      } catch (err) {
        throw asError(err);
      }
    };
  }
  return wrapped as P;
}

function render(value: unknown): string {
  let text: string;
  try {
    const seen = new WeakSet<object>();
    text = JSON.stringify(value, (_key, v: unknown) => {
      if (v !== null && typeof v === "object") {
        if (seen.has(v)) return "[circular]";
        seen.add(v);
      }
      return typeof v === "bigint" ? v.toString() : v;
    }) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > MAX_CONTENT ? `${text.slice(0, MAX_CONTENT)}…` : text;
}
