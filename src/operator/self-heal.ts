/**
 * The one self-heal policy of the operator: the reconciler restores a drifted object at once
 * the first time, then, when the same object drifts again, after 2 s doubling up to 5 min
 * (someone is fighting us); 5 quiet minutes after the last wait reset it.
 */
import { KeyedBackoff } from '../runtime/index.js';

export function selfHealBackoff(initialMs = 2_000): KeyedBackoff {
  return new KeyedBackoff({ initialMs, maxMs: 300_000 }, 300_000);
}
