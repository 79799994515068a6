/**
 * Client-side limits on what we send to an API server: at most N requests in flight, and a
 * token bucket of queries per second with a burst, as client-go does, so one big sync cannot
 * flood a shared control plane.
 */
import { abortedError, sleep, throwIfAborted } from '../runtime/index.js';

export interface ThrottleOptions {
  /** Requests in flight at once; default 16. */
  maxConcurrency?: number;
  /** Sustained requests per second; default 200. 0 or Infinity: no rate limit. */
  qps?: number;
  /** Requests that may start at once after a quiet time; default 400. */
  burst?: number;
}

export class Throttle {
  readonly maxConcurrency: number;
  readonly qps: number;
  readonly burst: number;
  #inFlight = 0;
  readonly #waiting: Array<() => void> = [];
  #tokens: number;
  #refilledAt = Date.now();

  constructor(options: ThrottleOptions = {}) {
    this.maxConcurrency = Math.max(1, options.maxConcurrency ?? 16);
    this.qps = options.qps ?? 200;
    this.burst = Math.max(1, options.burst ?? 400);
    this.#tokens = this.burst;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Runs `fn` once a slot and a token are free. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.#acquireSlot(signal);
    try {
      await this.#takeToken(signal);
      return await fn();
    } finally {
      this.#release();
    }
  }

  async #acquireSlot(signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    if (this.#inFlight < this.maxConcurrency) {
      this.#inFlight++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.#inFlight++;
        resolve();
      };
      const onAbort = (): void => {
        const i = this.#waiting.indexOf(wake);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(abortedError(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(wake);
    });
  }

  #release(): void {
    this.#inFlight--;
    this.#waiting.shift()?.();
  }

  /**
   * Takes a token at once, ahead of time when none is left (the bucket then goes below zero), and
   * waits once, until it is due: callers start in the order they asked, at the same rate, and no
   * caller wakes only to find its token taken (a sync of 10,000 objects made tens of thousands of
   * such wake-ups). A caller that gives up while waiting gives its token back.
   */
  async #takeToken(signal?: AbortSignal): Promise<void> {
    if (!(this.qps > 0) || this.qps === Infinity) return;
    const now = Date.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#refilledAt) * this.qps) / 1000);
    this.#refilledAt = now;
    this.#tokens -= 1;
    if (this.#tokens >= 0) return;
    try {
      await sleep(Math.ceil((-this.#tokens * 1000) / this.qps), signal);
    } catch (err) {
      this.#tokens += 1;
      throw err;
    }
  }
}
