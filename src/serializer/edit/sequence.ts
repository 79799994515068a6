/**
 * Which items of an edited list are "the same item" before and after, so that an edit touches
 * only the items that changed. Lists whose items all carry a Kubernetes merge key (`name`,
 * `containerPort`, ...) are matched by that key, as strategic merge patch does; other lists
 * by content, with the changed items in between paired by position.
 *
 * A renamed item (its merge key changed) is still the same item when it stays where it was and
 * the rest of it mostly stays too: between two items matched by key, a removed item and an
 * added one are paired, in order, when every field but the key is the same, or when at least
 * half of the fields either of them has (the key left out) are equal on both; as many pairs
 * as can be, and among those the ones that keep the items' places. The editor then
 * changes the key's line only, and the item keeps its comments and quoting. An item whose key
 * and most of its content changed is a replacement: it is written afresh and the old one's
 * comments are reported as removed. Pairing only decides which text is kept; the edited
 * document decodes to the wanted value either way.
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
    // in place, paired by position; with one, only renamed items are (see the header).
    if (!mergeKey) {
      const gap = Math.min(ci - i, cj - j);
      for (let k = 0; k < gap; k++) pairs.push([i + k, j + k]);
    } else {
      pairs.push(...renamedPairs(before, after, mergeKey, i, ci, j, cj));
    }
    if (ci < a.length) pairs.push([ci, cj]);
    i = ci + 1;
    j = cj + 1;
  }
  return mergeKey ? { pairs, mergeKey } : { pairs };
}

// Beyond this many comparisons in one gap, removed and added items are only tried at the same
// offset in it (a long list replaced wholesale is not worth a quadratic search).
const MAX_RENAME_COMPARISONS = 10_000;

/**
 * Pairs, in order, the removed items before[i..ci) with the added items after[j..cj) that are
 * the same item with a new merge key value: as many pairs as can be, and among those the
 * ones that keep the items' places (two items renamed side by side pair with each other).
 */
function renamedPairs(
  before: readonly unknown[],
  after: readonly unknown[],
  mergeKey: string,
  i: number,
  ci: number,
  j: number,
  cj: number,
): Array<[number, number]> {
  const n = ci - i;
  const m = cj - j;
  const pairs: Array<[number, number]> = [];
  if (n === 0 || m === 0) return pairs;
  if (n * m > MAX_RENAME_COMPARISONS) {
    for (let k = 0; k < Math.min(n, m); k++) {
      if (sameItemRenamed(before[i + k], after[j + k], mergeKey)) pairs.push([i + k, j + k]);
    }
    return pairs;
  }
  // score[x][y]: the best pairing of the gap's items from x and y on; a pair counts PAIR, and
  // one more when both items have the same place in the gap.
  const PAIR = 2 * (n + m + 1);
  const width = m + 1;
  const score = new Float64Array((n + 1) * width);
  const similar = new Uint8Array(n * m);
  for (let x = n - 1; x >= 0; x--) {
    for (let y = m - 1; y >= 0; y--) {
      let best = Math.max(score[(x + 1) * width + y]!, score[x * width + y + 1]!);
      if (sameItemRenamed(before[i + x], after[j + y], mergeKey)) {
        similar[x * m + y] = 1;
        best = Math.max(best, score[(x + 1) * width + y + 1]! + PAIR + (x === y ? 1 : 0));
      }
      score[x * width + y] = best;
    }
  }
  let x = 0;
  let y = 0;
  while (x < n && y < m) {
    const here = score[x * width + y]!;
    if (similar[x * m + y] === 1 && here === score[(x + 1) * width + y + 1]! + PAIR + (x === y ? 1 : 0)) {
      pairs.push([i + x, j + y]);
      x++;
      y++;
    } else if (here === score[(x + 1) * width + y]!) x++;
    else y++;
  }
  return pairs;
}

/** Whether two items (maps with a merge key) agree on all, or on at least half, of the rest. */
function sameItemRenamed(a: unknown, b: unknown, mergeKey: string): boolean {
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const fields = new Set([...definedKeys(a), ...definedKeys(b)]);
  fields.delete(mergeKey);
  let equal = 0;
  for (const field of fields) {
    const left = a[field];
    const right = b[field];
    if (left !== undefined && right !== undefined && canonical(left) === canonical(right)) equal++;
  }
  return equal === fields.size || (equal > 0 && equal * 2 >= fields.size);
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

/** A run of new items in the list after an edit: `after[start..end]`, none matched to an old item. */
export interface InsertedRun {
  start: number;
  end: number;
  /** The old item the run follows (the matched item just before it), if any. */
  previous: number | undefined;
}

/** The runs of `after`'s items that no pair of `pairs` (old index, new index) matched, in order. */
export function insertedRuns(
  pairs: ReadonlyArray<readonly [number, number]>,
  afterLength: number,
): InsertedRun[] {
  const matchedAfter = new Map(pairs.map(([i, j]) => [j, i]));
  const runs: InsertedRun[] = [];
  for (let j = 0; j < afterLength;) {
    if (matchedAfter.has(j)) {
      j++;
      continue;
    }
    let k = j;
    while (k + 1 < afterLength && !matchedAfter.has(k + 1)) k++;
    runs.push({ start: j, end: k, previous: j > 0 ? matchedAfter.get(j - 1) : undefined });
    j = k + 1;
  }
  return runs;
}
