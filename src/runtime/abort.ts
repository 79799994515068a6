/**
 * Cancellation, the same way in every layer: an aborted signal becomes a GitOpsError with code
 * Aborted (the signal's reason kept as the cause), and waits end at once when their caller gives up.
 */
import { ErrorCodes, GitOpsError } from './errors.js';

/** The error for work stopped by `signal`; `what` says which work, for the message. */
export function abortedError(signal?: AbortSignal, what = 'the operation'): GitOpsError {
  return new GitOpsError(ErrorCodes.Aborted, `${what} was cancelled`, { cause: signal?.reason });
}

export function throwIfAborted(signal?: AbortSignal, what?: string): void {
  if (signal?.aborted === true) throw abortedError(signal, what);
}

export function isAborted(err: unknown): boolean {
  return err instanceof GitOpsError && err.code === ErrorCodes.Aborted;
}

/**
 * Waits `ms`; rejects with Aborted as soon as `signal` fires. The wait's listener leaves the
 * signal when the time is up: a long-lived signal (an operator's lifetime) that many waits share
 * (the client's rate limiter sleeps tens of thousands of times in one large sync) keeps none of them.
 */
export function sleep(ms: number, signal?: AbortSignal, what?: string): Promise<void> {
  if (signal === undefined) return new Promise<void>((resolve) => setTimeout(resolve, ms));
  if (signal.aborted) return Promise.reject(abortedError(signal, what));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(signal, what));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Waits `ms`, but resolves (never rejects) at once when `signal` fires: for loops that check it after. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return sleep(ms, signal).catch(() => undefined);
}

/** `promise`, or Aborted as soon as `signal` fires (the work itself is not stopped by this). */
export function abortable<T>(promise: Promise<T>, signal?: AbortSignal, what?: string): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(abortedError(signal, what));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortedError(signal, what));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * A controller that aborts when any of `parents` does (and can be aborted on its own). Once it
 * has aborted, either way, it leaves nothing on its parents; abort it when its work is done, so
 * a long-lived parent does not keep it.
 */
export function linkedController(...parents: (AbortSignal | undefined)[]): AbortController {
  const controller = new AbortController();
  const linked = parents.filter((parent): parent is AbortSignal => parent !== undefined);
  const fired = linked.find((parent) => parent.aborted);
  if (fired !== undefined) {
    controller.abort(fired.reason);
    return controller;
  }
  const onAbort = (event: Event): void => controller.abort((event.target as AbortSignal).reason);
  for (const parent of linked) parent.addEventListener('abort', onAbort, { once: true });
  controller.signal.addEventListener(
    'abort',
    () => {
      for (const parent of linked) parent.removeEventListener('abort', onAbort);
    },
    { once: true },
  );
  return controller;
}
