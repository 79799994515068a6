/**
 * When to try a forge request again, and how long to wait first. Rate limits say how long
 * (Retry-After, or a reset time when no requests remain); other transient failures back off
 * exponentially with jitter, so many clients that failed together do not retry together.
 */
import { backoffDelay } from '../runtime/index.js';

export interface RetryOptions {
  /** Further attempts after the first; default 4. */
  retries?: number;
  /** First backoff delay; default 500 ms. Doubles on each attempt. */
  minDelayMs?: number;
  /** Longest backoff delay; default 30 s. */
  maxDelayMs?: number;
  /** A server asking to wait longer than this is not retried: the error says when to try; default 60 s. */
  maxRetryAfterMs?: number;
  /** Random source in [0, 1) for jitter; tests pin it. */
  random?: () => number;
}

export const DEFAULT_RETRY: Required<Omit<RetryOptions, 'random'>> = {
  retries: 4,
  minDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 60_000,
};

const TRANSIENT_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** Delay the server asked for, in ms: Retry-After (seconds or a date), else a rate-limit reset time. */
export function serverRequestedDelayMs(headers: Headers, now = Date.now()): number | undefined {
  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+$/.test(retryAfter)) return Number(retryAfter) * 1000;
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  // GitHub sends x-ratelimit-*, GitLab RateLimit-*; the reset is in epoch seconds.
  const remaining = headers.get('x-ratelimit-remaining') ?? headers.get('ratelimit-remaining');
  const reset = headers.get('x-ratelimit-reset') ?? headers.get('ratelimit-reset');
  if (remaining?.trim() === '0' && reset && /^\d+$/.test(reset.trim())) {
    return Math.max(0, Number(reset.trim()) * 1000 - now);
  }
  return undefined;
}

/** A rate limit that answers 403 (GitHub's primary and secondary limits do). */
export function isRateLimited(status: number, headers: Headers): boolean {
  if (status === 429) return true;
  if (status !== 403) return false;
  return (
    headers.has('retry-after') ||
    (headers.get('x-ratelimit-remaining') ?? headers.get('ratelimit-remaining'))?.trim() === '0'
  );
}

export function isTransientStatus(status: number, headers: Headers): boolean {
  return TRANSIENT_STATUSES.has(status) || isRateLimited(status, headers);
}

/** Exponential backoff with "equal jitter": half fixed, half random, capped. */
export function backoffDelayMs(attempt: number, options: RetryOptions = {}): number {
  return backoffDelay(attempt, {
    initialMs: options.minDelayMs ?? DEFAULT_RETRY.minDelayMs,
    maxMs: options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs,
    jitter: 'equal',
    ...(options.random === undefined ? {} : { random: options.random }),
  });
}
