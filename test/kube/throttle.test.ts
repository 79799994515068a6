import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { Throttle } from '../../src/kube/index.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';

// Fake timers: the token bucket is checked by the clock it reads, never by how long a loaded
// machine took to run it.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Runs `count` tasks at once through `throttle`; gives the (fake) time each one started. */
async function startTimes(throttle: Throttle, count: number, runFor: number): Promise<number[]> {
  const origin = Date.now();
  const started: number[] = [];
  const all = Promise.all(
    Array.from({ length: count }, () =>
      throttle.run(async () => {
        started.push(Date.now() - origin);
      }),
    ),
  );
  await vi.advanceTimersByTimeAsync(runFor);
  await all;
  return started;
}

describe('Throttle', () => {
  it('lets the burst through at once, then one request per 1/qps seconds', async () => {
    const started = await startTimes(new Throttle({ qps: 20, burst: 1 }), 5, 1_000);
    expect(started).toEqual([0, 50, 100, 150, 200]);
  });

  it('starts a whole burst at once and refills at the sustained rate', async () => {
    const started = await startTimes(new Throttle({ qps: 10, burst: 3 }), 5, 1_000);
    expect(started).toEqual([0, 0, 0, 100, 200]);
  });

  it('does not wait at all without a rate limit', async () => {
    const started = await startTimes(new Throttle({ qps: 0 }), 10, 0);
    expect(started).toEqual(Array.from({ length: 10 }, () => 0));
  });

  it('stops a waiting request with Aborted when its caller gives up, and keeps the others', async () => {
    const throttle = new Throttle({ qps: 1, burst: 1 });
    const controller = new AbortController();
    const ran: string[] = [];
    const first = throttle.run(async () => ran.push('first'));
    const second = throttle.run(async () => ran.push('second'), controller.signal).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    controller.abort();
    const err = await second;
    expect(err).toBeInstanceOf(GitOpsError);
    expect((err as GitOpsError).code).toBe(ErrorCodes.Aborted);
    await first;
    expect(ran).toEqual(['first']);
  });
});
