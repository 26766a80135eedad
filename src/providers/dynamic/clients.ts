/**
 * API clients shared by every resource of a deployment, one per endpoint and credential, so that a
 * rate budget holds across them all; and the one token-rotation fallback.
 *
 * The cache lives on globalThis: Pulumi serializes a dynamic provider's closure, and module-level
 * state would be captured (and copied) into every provider instead of shared.
 */

function cache(): Map<string, unknown> {
  const store = globalThis as unknown as Record<string, Map<string, unknown> | undefined>;
  return (store.__sophiaProviderClients ??= new Map());
}

/** The client cached under `key` (endpoint, credential and settings), made on first use. */
export function sharedClient<T>(key: string, make: () => T): T {
  const clients = cache();
  if (!clients.has(key)) clients.set(key, make());
  return clients.get(key) as T;
}

/** Forgets every cached client, e.g. after test settings change. */
export function clearSharedClients(): void {
  cache().clear();
}

/** A credential to use, and the one to try once if it is rejected. */
export interface Credential {
  token: string;
  /** The current credential from config or the environment, when it differs from `token`. */
  fallback?: string;
}

/**
 * The explicit credential (e.g. from state) wins; the ambient one (config, environment) is its
 * fallback. After a rotation the credential stored in state is revoked, and a read or delete must
 * not be stranded by it.
 */
export function pickCredential(explicit: string | undefined, ambient: string | undefined): Credential | undefined {
  const token = explicit || ambient;
  if (!token) return undefined;
  return { token, fallback: explicit && ambient && ambient !== explicit ? ambient : undefined };
}

/** Runs `fn` with the credential, and once more with the fallback if the API rejects the first. */
export async function withCredentialFallback<T>(
  credential: Credential,
  rejected: (err: unknown) => boolean,
  fn: (token: string) => Promise<T>,
): Promise<T> {
  try {
    return await fn(credential.token);
  } catch (err) {
    if (credential.fallback && rejected(err)) return fn(credential.fallback);
    throw err;
  }
}
