import { describe, expect, it } from 'vitest';
import { detectMergeKey, insertedRuns, matchSequence } from '../../../src/serializer/edit/sequence.js';

describe('matchSequence', () => {
  it('matches items by the merge key when every item has a unique one', () => {
    const before = [{ name: 'a', image: 'x' }, { name: 'b' }, { name: 'c' }];
    const after = [{ name: 'a', image: 'y' }, { name: 'c' }, { name: 'd' }];
    expect(matchSequence(before, after)).toEqual({
      pairs: [
        [0, 0],
        [2, 1],
      ],
      mergeKey: 'name',
    });
  });

  it('pairs a renamed item with the one it replaced when the rest of it stays', () => {
    expect(matchSequence([{ name: 'a' }], [{ name: 'b' }]).pairs).toEqual([[0, 0]]);
    const before = [{ name: 'a' }, { name: 'b', image: 'x', args: ['1'] }, { name: 'c' }];
    // Half the other fields equal is enough; the item keeps its place between two kept ones.
    const after = [{ name: 'a' }, { name: 'z', image: 'x', args: ['2'] }, { name: 'c' }];
    expect(matchSequence(before, after)).toEqual({
      pairs: [
        [0, 0],
        [1, 1],
        [2, 2],
      ],
      mergeKey: 'name',
    });
    // An item inserted before the renamed one is not paired with it.
    const inserted = [{ name: 'a' }, { name: 'new', image: 'y' }, { name: 'z', image: 'x', args: ['1'] }];
    expect(matchSequence(before.slice(0, 2), inserted).pairs).toEqual([
      [0, 0],
      [1, 2],
    ]);
  });

  it('pairs items renamed side by side with each other, not with a look-alike further on (found by the fuzzer)', () => {
    // The first renamed item lost its only other field; a greedy search paired it with the
    // second renamed item, which then lost its lines and comments to the first one's.
    const before = [
      { type: 'Healthy' },
      { type: 'Synced', status: 'False' },
      { type: 'Ready', status: 'False' },
    ];
    const after = [{ type: 'Healthy' }, { type: 'Synced-r1' }, { type: 'Ready-r1', status: 'False' }];
    expect(matchSequence(before, after).pairs).toEqual([
      [0, 0],
      [2, 2],
    ]);
  });

  it('treats a new merge key value with mostly new content as a new item', () => {
    expect(matchSequence([{ name: 'a', image: 'x' }], [{ name: 'b', image: 'y' }]).pairs).toEqual([]);
    const before = [{ port: 80, protocol: 'TCP', targetPort: 1, name: 'a' }];
    const after = [{ port: 81, protocol: 'TCP', targetPort: 2, name: 'b' }];
    expect(matchSequence(before, after).pairs).toEqual([]);
    // Moved as well as renamed: a different place means a different item.
    expect(matchSequence([{ name: 'a' }, { name: 'b' }], [{ name: 'b' }, { name: 'c' }]).pairs).toEqual([
      [1, 0],
    ]);
  });

  it('picks other Kubernetes merge keys, and none when values repeat or are missing', () => {
    expect(detectMergeKey([{ containerPort: 80 }], [{ containerPort: 81 }])).toBe('containerPort');
    expect(detectMergeKey([{ mountPath: '/a', name: 'v' }], [{ mountPath: '/b', name: 'v' }])).toBe('name');
    expect(detectMergeKey([{ name: 'a' }, { name: 'a' }], [{ name: 'a' }])).toBeUndefined();
    expect(detectMergeKey([{ name: 'a' }, { other: 1 }], [{ name: 'a' }])).toBeUndefined();
    expect(detectMergeKey(['a'], ['b'])).toBeUndefined();
  });

  it('matches plain lists by content and pairs changed items in between by position', () => {
    expect(matchSequence(['a', 'b', 'c'], ['a', 'x', 'b', 'c']).pairs).toEqual([
      [0, 0],
      [1, 2],
      [2, 3],
    ]);
    expect(matchSequence(['a', 'b', 'c'], ['a', 'y', 'c']).pairs).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
    expect(matchSequence(['a', 'b', 'c'], ['a', 'c']).pairs).toEqual([
      [0, 0],
      [2, 1],
    ]);
  });

  it('compares maps without merge keys by their content, in any key order', () => {
    const before = [{ verbs: ['get'], resources: ['pods'] }, { verbs: ['list'] }];
    const after = [{ resources: ['pods'], verbs: ['get'] }, { verbs: ['watch'] }];
    expect(matchSequence(before, after).pairs).toEqual([
      [0, 0],
      [1, 1],
    ]);
  });
});

describe('insertedRuns', () => {
  it('gives each run of unmatched new items with the old item it follows', () => {
    // after: [new, kept(0), new, new, kept(2), new]
    const pairs: Array<[number, number]> = [
      [0, 1],
      [2, 4],
    ];
    expect(insertedRuns(pairs, 6)).toEqual([
      { start: 0, end: 0, previous: undefined },
      { start: 2, end: 3, previous: 0 },
      { start: 5, end: 5, previous: 2 },
    ]);
  });

  it('gives none when every new item is matched, and one run when none is', () => {
    expect(
      insertedRuns(
        [
          [0, 0],
          [1, 1],
        ],
        2,
      ),
    ).toEqual([]);
    expect(insertedRuns([], 3)).toEqual([{ start: 0, end: 2, previous: undefined }]);
  });
});
