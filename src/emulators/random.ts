/** Seeded randomness for the emulators, so that a fault run (and every id) can be repeated. */

/** Default seed in tests; `--seed` on the standalone emulators. */
export const DEFAULT_SEED = 42;

/** mulberry32: a small seeded PRNG giving numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` characters drawn from `alphabet`. */
export function randomString(random: () => number, length: number, alphabet = "0123456789abcdef"): string {
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(random() * alphabet.length)];
  return out;
}

/** Which requests lose their answer: the API acts, then the connection drops before the reply. */
export interface LostAnswerRule {
  method: string;
  path: RegExp;
  /** How many matching requests lose their answer. @default 1 */
  count?: number;
}

/** Targeted and random lost answers, shared by both emulators. */
export class AnswerLoser {
  private readonly rules: { method: string; path: RegExp; left: number }[];

  // Its own dice, drawn only for writes, so reads (polls, whose number varies) don't shift them.
  constructor(private random: () => number) {
    this.rules = [];
  }

  /** Restarts the dice, e.g. when a test turns faults on. */
  reseed(random: () => number): void {
    this.random = random;
  }

  /** The next `count` requests matching `method` and `path` are processed, then their answer is lost. */
  add(rule: LostAnswerRule): void {
    this.rules.push({ method: rule.method, path: rule.path, left: rule.count ?? 1 });
  }

  /** Forgets the targeted rules (the random share is the caller's setting). */
  clear(): void {
    this.rules.length = 0;
  }

  /**
   * Whether this request's answer is lost. Every write (POST, PUT, PATCH, DELETE) can lose its
   * answer at random, with the share `rate`; reads never do, as with a proxy that drops a
   * connection once the API has acted. Rules name any request.
   */
  loses(method: string, path: string, rate: number): boolean {
    const rule = this.rules.find((r) => r.left > 0 && r.method === method && r.path.test(path));
    if (rule) {
      rule.left -= 1;
      return true;
    }
    return WRITES.includes(method) && rate > 0 && this.random() < rate;
  }
}

/** Methods that change something, and so can lose an answer that hides a success. */
const WRITES: readonly string[] = ["POST", "PUT", "PATCH", "DELETE"];
