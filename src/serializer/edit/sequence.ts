/**
 * Which items of an edited list are "the same item" before and after, so that an edit touches
 * only the items that changed. Lists whose items all carry a Kubernetes merge key (`name`,
 * `containerPort`, ...) are matched by that key, as strategic merge patch does; other lists
 * by content, with the changed items in between paired by position.
 */
import { definedKeys, isPlainObject } from './values.js';

/** Merge keys of the built-in Kubernetes lists, most common first. */
export const MERGE_KEYS = ['name', 'containerPort', 'port', 'mountPath', 'devicePath', 'ip', 'type'] as const;

export interface SequenceMatch {
  /** Pairs [beforeIndex, afterIndex], increasing in both; unpaired indices were removed or added. */
  pairs: Array<[number, number]>;
  /** The merge key items were matched by, when there was one. */
  mergeKey?: string;
}

// Beyond this many cells the quadratic longest-common-subsequence is not worth it.
const MAX_LCS_CELLS = 4_000_000;

/** The merge key every item of both lists has, with unique scalar values on each side. */
export function detectMergeKey(before: readonly unknown[], after: readonly unknown[]): string | undefined {
  if (before.length === 0 || after.length === 0) return undefined;
  for (const key of MERGE_KEYS) {
    if (uniqueScalarValues(before, key) && uniqueScalarValues(after, key)) return key;
  }
  return undefined;
}

function uniqueScalarValues(items: readonly unknown[], key: string): boolean {
  const seen = new Set<string>();
  for (const item of items) {
    if (!isPlainObject(item)) return false;
    const value = item[key];
    if (typeof value !== 'string' && typeof value !== 'number') return false;
    const id = `${typeof value}:${value}`;
    if (seen.has(id)) return false;
    seen.add(id);
  }
  return true;
}

/** A string that is equal for two items exactly when they are deeply equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isPlainObject(value)) {
    const keys = definedKeys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(',')}}`;
  }
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : `n${value}`;
  if (typeof value === 'bigint') return `n${value}`;
  if (value instanceof Uint8Array) return `b${Array.from(value).join(',')}`;
  return value === undefined ? 'null' : JSON.stringify(value);
}

export function matchSequence(before: readonly unknown[], after: readonly unknown[]): SequenceMatch {
  const mergeKey = detectMergeKey(before, after);
  const identity = mergeKey
    ? (item: unknown) => {
        const value = (item as Record<string, unknown>)[mergeKey];
        return `${typeof value}:${String(value)}`;
      }
    : canonical;
  const a = before.map(identity);
  const b = after.map(identity);
  const common = commonSubsequence(a, b);

  const pairs: Array<[number, number]> = [];
  let i = 0;
  let j = 0;
  for (const [ci, cj] of [...common, [a.length, b.length] as [number, number]]) {
    // Items between two anchors changed. Without a merge key they are the same items edited
    // in place, paired by position; with one, a different key means a different item.
    if (!mergeKey) {
      const gap = Math.min(ci - i, cj - j);
      for (let k = 0; k < gap; k++) pairs.push([i + k, j + k]);
    }
    if (ci < a.length) pairs.push([ci, cj]);
    i = ci + 1;
    j = cj + 1;
  }
  return mergeKey ? { pairs, mergeKey } : { pairs };
}

/** Index pairs of a longest common subsequence, after trimming the common prefix and suffix. */
function commonSubsequence(a: readonly string[], b: readonly string[]): Array<[number, number]> {
  const result: Array<[number, number]> = [];
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) {
    result.push([start, start]);
    start++;
  }
  let endA = a.length;
  let endB = b.length;
  const suffix: Array<[number, number]> = [];
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
    suffix.unshift([endA, endB]);
  }
  const n = endA - start;
  const m = endB - start;
  if (n > 0 && m > 0 && n * m <= MAX_LCS_CELLS) {
    // lengths[x][y] = LCS length of a[start+x..endA) and b[start+y..endB).
    const width = m + 1;
    const lengths = new Uint32Array((n + 1) * width);
    for (let x = n - 1; x >= 0; x--) {
      for (let y = m - 1; y >= 0; y--) {
        lengths[x * width + y] =
          a[start + x] === b[start + y]
            ? lengths[(x + 1) * width + y + 1]! + 1
            : Math.max(lengths[(x + 1) * width + y]!, lengths[x * width + y + 1]!);
      }
    }
    let x = 0;
    let y = 0;
    while (x < n && y < m) {
      if (a[start + x] === b[start + y]) {
        result.push([start + x, start + y]);
        x++;
        y++;
      } else if (lengths[(x + 1) * width + y]! >= lengths[x * width + y + 1]!) x++;
      else y++;
    }
  }
  return [...result, ...suffix];
}
