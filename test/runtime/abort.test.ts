/**
 * Waits and cancellation: `sleep` resolves after its time, rejects with Aborted when its signal
 * fires, and leaves nothing on a long-lived signal that many waits share.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';

import { ErrorCodes, GitOpsError, linkedController, pause, sleep } from '../../src/runtime/index.js';

describe('sleep', () => {
  it('resolves after its time, with or without a signal', async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
    await expect(sleep(1, new AbortController().signal)).resolves.toBeUndefined();
  });

  it('rejects with Aborted, naming the work, when the signal fires or has fired', async () => {
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal, 'the wait');
    controller.abort(new Error('stop'));
    const error = await waiting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitOpsError);
    expect((error as GitOpsError).code).toBe(ErrorCodes.Aborted);
    expect((error as GitOpsError).message).toBe('the wait was cancelled');
    expect(((error as GitOpsError).cause as Error).message).toBe('stop');
    const late = await sleep(1, controller.signal).catch((e: unknown) => e);
    expect((late as GitOpsError).code).toBe(ErrorCodes.Aborted);
    await expect(pause(60_000, controller.signal)).resolves.toBeUndefined();
  });

  it('leaves no listener on the signal once its time is up or it was cancelled', async () => {
    const lifetime = new AbortController();
    await Promise.all(Array.from({ length: 100 }, () => sleep(1, lifetime.signal)));
    await pause(1, lifetime.signal);
    expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(0);
    const other = new AbortController();
    const waiting = sleep(60_000, other.signal).catch(() => undefined);
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(1);
    other.abort();
    await waiting;
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(0);
  });
});

describe('linkedController', () => {
  it('aborts with the reason of the first parent that fires, and then leaves the others', () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkedController(a.signal, undefined, b.signal);
    expect(getEventListeners(a.signal, 'abort')).toHaveLength(1);
    b.abort(new Error('b stopped'));
    expect(linked.signal.aborted).toBe(true);
    expect((linked.signal.reason as Error).message).toBe('b stopped');
    expect(getEventListeners(a.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(b.signal, 'abort')).toHaveLength(0);
  });

  it('aborted on its own, leaves nothing on a long-lived parent', () => {
    const lifetime = new AbortController();
    for (let i = 0; i < 100; i++) linkedController(lifetime.signal).abort();
    expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(0);
    expect(lifetime.signal.aborted).toBe(false);
  });

  it('starts aborted when a parent already has', () => {
    const done = new AbortController();
    done.abort(new Error('over'));
    const linked = linkedController(new AbortController().signal, done.signal);
    expect(linked.signal.aborted).toBe(true);
    expect((linked.signal.reason as Error).message).toBe('over');
  });
});
