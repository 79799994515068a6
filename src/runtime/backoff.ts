/**
 * One backoff policy for every retry in the project (forge requests, sync retries, self-heal,
 * health re-checks, watches): exponential from `initialMs`, capped at `maxMs`, with optional
 * jitter so that many clients that failed together do not come back together.
 */

export interface BackoffPolicy {
  /** The first wait. */
  initialMs: number;
  /** The longest wait. */
  maxMs: number;
  /** Growth per attempt; default 2. */
  factor?: number;
  /**
   * How the wait is spread: `none` (exact), `equal` (half fixed, half random, as AWS describes
   * it) or a fraction f (the wait times a random factor in [1 - f, 1 + f]). Default `none`.
   */
  jitter?: 'none' | 'equal' | number;
  /** Random source in [0, 1); tests pin it. */
  random?: () => number;
}

/** The wait before retry number `attempt` (0 = the first retry). */
export function backoffDelay(attempt: number, policy: BackoffPolicy): number {
  const factor = policy.factor ?? 2;
  const ceiling = Math.min(policy.maxMs, policy.initialMs * factor ** Math.max(0, attempt));
  const jitter = policy.jitter ?? 'none';
  const random = policy.random ?? Math.random;
  if (jitter === 'none') return ceiling;
  if (jitter === 'equal') return Math.round(ceiling / 2 + random() * (ceiling / 2));
  return Math.round(ceiling * (1 - jitter + 2 * jitter * random()));
}

/** A backoff that counts its own attempts: `next()` for each failure, `reset()` after a success. */
export class Backoff {
  #attempts = 0;

  constructor(readonly policy: BackoffPolicy) {}

  /** Failures since the last reset. */
  get attempts(): number {
    return this.#attempts;
  }

  /** The wait before the next retry; counts one more failure. */
  next(): number {
    return backoffDelay(this.#attempts++, this.policy);
  }

  reset(): void {
    this.#attempts = 0;
  }
}

/**
 * Backoff per key (e.g. per object), forgotten after `quietMs` without a failure: the first
 * call for a key waits 0 ms, later ones follow the policy. The quiet period counts from the end
 * of the last wait, so a wait as long as the quiet period does not reset the count by itself.
 */
export class KeyedBackoff {
  readonly #entries = new Map<string, { count: number; last: number }>();

  constructor(
    readonly policy: BackoffPolicy,
    private readonly quietMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The wait before acting on `key` again (0 the first time, or after a quiet period). */
  next(key: string): number {
    const now = this.now();
    const before = this.#entries.get(key);
    const count = before === undefined || now - before.last > this.quietMs ? 0 : before.count;
    const wait = count === 0 ? 0 : backoffDelay(count - 1, this.policy);
    this.#entries.set(key, { count: count + 1, last: now + wait });
    return wait;
  }

  forget(key: string): void {
    this.#entries.delete(key);
  }
}
