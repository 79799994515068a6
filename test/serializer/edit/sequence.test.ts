import { describe, expect, it } from 'vitest';
import { detectMergeKey, matchSequence } from '../../../src/serializer/edit/sequence.js';

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

  it('treats a new merge key value as a new item, not a renamed one', () => {
    expect(matchSequence([{ name: 'a' }], [{ name: 'b' }]).pairs).toEqual([]);
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
