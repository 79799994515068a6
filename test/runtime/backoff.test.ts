import { describe, expect, it } from 'vitest';

import { Backoff, KeyedBackoff, backoffDelay } from '../../src/runtime/index.js';
import { selfHealBackoff } from '../../src/operator/self-heal.js';

describe('backoffDelay', () => {
  it('doubles from the first wait up to the cap, exactly without jitter', () => {
    const policy = { initialMs: 100, maxMs: 1_000 };
    expect([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, policy))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect(backoffDelay(2, { ...policy, factor: 3 })).toBe(900);
  });

  it('spreads the wait with equal or fractional jitter within its bounds', () => {
    const at = (random: number, jitter: 'equal' | number) =>
      backoffDelay(3, { initialMs: 100, maxMs: 10_000, jitter, random: () => random });
    // Equal jitter: half of 800 fixed, half random.
    expect([at(0, 'equal'), at(0.5, 'equal'), at(0.999, 'equal')]).toEqual([400, 600, 800]);
    // A fraction f: the wait times [1 - f, 1 + f].
    expect([at(0, 0.2), at(0.5, 0.2), at(1, 0.2)]).toEqual([640, 800, 960]);
  });
});

describe('Backoff', () => {
  it('counts failures until reset', () => {
    const backoff = new Backoff({ initialMs: 10, maxMs: 100 });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([10, 20, 40]);
    expect(backoff.attempts).toBe(3);
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(10);
  });
});

describe('KeyedBackoff', () => {
  it('lets the first call through, backs off per key, and forgets after a quiet period', () => {
    let now = 0;
    const heals = new KeyedBackoff({ initialMs: 2_000, maxMs: 8_000 }, 60_000, () => now);
    expect([heals.next('a'), heals.next('a'), heals.next('a'), heals.next('a'), heals.next('a')]).toEqual([
      0, 2_000, 4_000, 8_000, 8_000,
    ]);
    // Another key has a count of its own.
    expect(heals.next('b')).toBe(0);
    // The quiet period counts from the end of the last wait (8 s): 60 s after the call is not enough.
    now = 60_000 + 1;
    expect(heals.next('a')).toBe(8_000);
    now += 8_000 + 60_000 + 1;
    expect(heals.next('a')).toBe(0);
    heals.forget('b');
    expect(heals.next('b')).toBe(0);
  });

  it('is the self-heal policy of the drift watcher and the reconciler: 2 s doubling to 5 min', () => {
    const heals = selfHealBackoff();
    const waits = Array.from({ length: 11 }, () => heals.next('x'));
    expect(waits).toEqual([
      0, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000,
    ]);
  });
});
