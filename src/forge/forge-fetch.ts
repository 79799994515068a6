/**
 * The `fetch` every provider talks through: a time limit per attempt, and retries with backoff
 * for rate limits, 5xx answers and lost connections. It never sees a token outside the headers
 * it forwards, so nothing it reports can leak one.
 */
import { ErrorCodes, GitOpsError, abortedError, sleep } from '../runtime/index.js';
import type { RetryOptions } from './retry-policy.js';
import { backoffDelayMs, DEFAULT_RETRY, isTransientStatus, serverRequestedDelayMs } from './retry-policy.js';

export interface RetryEvent {
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
  method: string;
  /** Without query string. */
  url: string;
  /** The answer that is retried; undefined when there was none (network error or timeout). */
  status?: number;
  /** True when the server said how long to wait. */
  serverRequested: boolean;
}

export interface ForgeFetchOptions {
  retry?: RetryOptions;
  /** Time limit of one attempt; default 30 s. */
  timeoutMs?: number;
  /** Told before each wait, e.g. to log it (the event holds no credentials). */
  onRetry?: (event: RetryEvent) => void;
  /** The fetch underneath; default the global one. */
  fetch?: typeof globalThis.fetch;
}

export type ForgeFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** A body that can be sent again unchanged. */
function replayable(body: RequestInit['body']): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof Uint8Array ||
    body instanceof ArrayBuffer ||
    body instanceof URLSearchParams
  );
}

function withoutQuery(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** Methods that may be sent again whatever happened to the first attempt. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
/** Answers that mean the server did not carry the request out (403 here is a rate limit). */
const NOT_ACTED_STATUSES = new Set([408, 429, 503]);

// A refused or unresolved connection carried no request: sending it again cannot double anything.
function neverReachedServer(err: unknown): boolean {
  const code = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

export function createForgeFetch(options: ForgeFetchOptions = {}): ForgeFetch {
  const retries = options.retry?.retries ?? DEFAULT_RETRY.retries;
  const maxRetryAfterMs = options.retry?.maxRetryAfterMs ?? DEFAULT_RETRY.maxRetryAfterMs;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const underlying = options.fetch ?? globalThis.fetch;

  return async (input, init = {}) => {
    const method = (init.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const url = input instanceof Request ? input.url : String(input);
    const callerSignal = init.signal ?? (input instanceof Request ? input.signal : undefined) ?? undefined;
    const canRetry = replayable(init.body) && !(input instanceof Request && input.body !== null);

    for (let attempt = 0; ; attempt++) {
      if (callerSignal?.aborted) throw abortedError(callerSignal, 'the forge request');
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = callerSignal ? AbortSignal.any([callerSignal, timeout]) : timeout;
      const last = !canRetry || attempt >= retries;
      let response: Response;
      try {
        response = await underlying(input instanceof Request ? input.clone() : input, { ...init, signal });
      } catch (err) {
        if (callerSignal?.aborted) throw abortedError(callerSignal, 'the forge request');
        // A create that timed out or lost its connection may have been done: never send it twice.
        const mayHaveActed = !IDEMPOTENT.has(method) && !neverReachedServer(err);
        if (last || mayHaveActed) {
          const timedOut = timeout.aborted;
          throw new GitOpsError(
            ErrorCodes.Unreachable,
            timedOut
              ? `no answer from ${new URL(url).origin} within ${timeoutMs} ms`
              : `cannot connect to ${new URL(url).origin}`,
            { cause: err, details: { method, attempts: attempt + 1 } },
          );
        }
        const delayMs = backoffDelayMs(attempt, options.retry);
        options.onRetry?.({
          attempt: attempt + 1,
          delayMs,
          method,
          url: withoutQuery(url),
          serverRequested: false,
        });
        await sleep(delayMs, callerSignal, 'the forge request');
        continue;
      }
      if (response.ok || last || !isTransientStatus(response.status, response.headers)) return response;
      // 500/502/504 to a create may come after the create was done; 408, 429 and 503 say it was not.
      if (!IDEMPOTENT.has(method) && !NOT_ACTED_STATUSES.has(response.status) && response.status !== 403)
        return response;

      const requested = serverRequestedDelayMs(response.headers);
      // Waiting longer than the caller allows would only hide the limit: report it instead.
      if (requested !== undefined && requested > maxRetryAfterMs) return response;
      const delayMs = requested ?? backoffDelayMs(attempt, options.retry);
      await response.body?.cancel().catch(() => undefined);
      options.onRetry?.({
        attempt: attempt + 1,
        delayMs,
        method,
        url: withoutQuery(url),
        status: response.status,
        serverRequested: requested !== undefined,
      });
      await sleep(delayMs, callerSignal, 'the forge request');
    }
  };
}
