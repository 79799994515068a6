import { describe, expect, it } from 'vitest';

import {
  LabelSelector,
  labelSelectorFromSpec,
  parseLabelSelector,
  toLabelSelector,
} from '../../src/filter/index.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';

function parseError(text: string): GitOpsError {
  try {
    parseLabelSelector(text);
  } catch (err) {
    expect(err).toBeInstanceOf(GitOpsError);
    return err as GitOpsError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

const family = { owner: 'family', tier: 'gold', seats: '5' };

describe('parseLabelSelector', () => {
  it('reads every operator of the Kubernetes syntax', () => {
    const selector = parseLabelSelector('a=b,c!=d,e in (x,y),!f,g,h==i,j notin (k),n>3,m<10');
    expect(selector.requirements.map((r) => [r.key, r.operator, r.values])).toEqual([
      ['a', 'Equals', ['b']],
      ['c', 'NotEquals', ['d']],
      ['e', 'In', ['x', 'y']],
      ['f', 'DoesNotExist', []],
      ['g', 'Exists', []],
      ['h', 'Equals', ['i']],
      ['j', 'NotIn', ['k']],
      ['m', 'Lt', ['10']],
      ['n', 'Gt', ['3']],
    ]);
  });

  it('matches like apimachinery does', () => {
    const cases: [string, boolean][] = [
      ['owner=family', true],
      ['owner==family', true],
      ['owner=work', false],
      ['owner!=work', true],
      ['missing!=x', true],
      ['tier in (gold,silver)', true],
      ['tier in (silver)', false],
      ['missing in (x)', false],
      ['tier notin (silver)', true],
      ['missing notin (x)', true],
      ['tier notin (gold)', false],
      ['owner', true],
      ['missing', false],
      ['!missing', true],
      ['!owner', false],
      ['seats>4', true],
      ['seats>5', false],
      ['seats<6', true],
      ['owner>1', false],
      ['owner=family,tier=gold', true],
      ['owner=family,tier=silver', false],
      ['', true],
    ];
    for (const [text, expected] of cases) {
      expect([text, parseLabelSelector(text).matches(family)]).toEqual([text, expected]);
    }
    expect(parseLabelSelector('owner').matches(undefined)).toBe(false);
    expect(parseLabelSelector('!owner').matches(undefined)).toBe(true);
  });

  it('accepts spaces, prefixed keys and empty values', () => {
    const selector = parseLabelSelector('  app.kubernetes.io/name = web ,  env in ( prod , staging ) , x= ');
    expect(selector.matches({ 'app.kubernetes.io/name': 'web', env: 'prod', x: '' })).toBe(true);
    expect(selector.matches({ 'app.kubernetes.io/name': 'web', env: 'prod', x: 'y' })).toBe(false);
    expect(parseLabelSelector('a in (x,)').requirements[0]!.values).toEqual(['', 'x']);
  });

  it('prints a canonical form that reads back to an equal selector', () => {
    const selector = parseLabelSelector('z=1, a in (y,x), !b, c, d notin (q), e!=f, n>2');
    const text = selector.toString();
    expect(text).toBe('a in (x,y),!b,c,d notin (q),e!=f,n>2,z=1');
    expect(parseLabelSelector(text).toString()).toBe(text);
  });

  it('refuses what Kubernetes refuses, with the column of the problem', () => {
    const cases: [string, string][] = [
      ['a in ()', "can't be empty"],
      ['a in (x', 'expected ")"'],
      ['a in x', 'expected "("'],
      ['a b', 'expected an operator'],
      ['a=b c', 'expected ","'],
      ['a=b,', 'expected a requirement'],
      ['=b', 'expected a label key'],
      ['a>x', 'needs one integer value'],
      ['a>', 'expected a value'],
      ['-bad=1', 'invalid label key'],
      ['a=b/c', 'invalid value'],
      ['a=' + 'x'.repeat(64), 'invalid value'],
      ['!', 'expected a label key after "!"'],
    ];
    for (const [text, message] of cases) {
      const err = parseError(text);
      expect(err.code).toBe(ErrorCodes.BadRequest);
      expect(err.message).toContain(message);
      expect(err.details.field).toBe('labelSelector');
    }
    expect(parseError('a=b c').details.column).toBe(5);
  });
});

describe('structured selectors', () => {
  it('compiles matchLabels and matchExpressions', () => {
    const selector = labelSelectorFromSpec({
      matchLabels: { owner: 'family' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['gold', 'silver'] },
        { key: 'banned', operator: 'DoesNotExist' },
        { key: 'seats', operator: 'Exists' },
      ],
    });
    expect(selector.matches(family)).toBe(true);
    expect(selector.matches({ ...family, banned: 'yes' })).toBe(false);
    expect(selector.toString()).toBe('!banned,owner=family,seats,tier in (gold,silver)');
  });

  it('refuses an unknown operator, an empty In and values on Exists', () => {
    const bad = [
      { matchExpressions: [{ key: 'a', operator: 'Equals' as 'In' }] },
      { matchExpressions: [{ key: 'a', operator: 'In' as const, values: [] }] },
      { matchExpressions: [{ key: 'a', operator: 'Exists' as const, values: ['x'] }] },
    ];
    for (const spec of bad) {
      expect(() => labelSelectorFromSpec(spec)).toThrowError(GitOpsError);
    }
  });

  it('takes any form through toLabelSelector', () => {
    const compiled = new LabelSelector([{ key: 'a', operator: 'Exists', values: [] }]);
    expect(toLabelSelector(compiled)).toBe(compiled);
    expect(toLabelSelector('a').toString()).toBe('a');
    expect(toLabelSelector({ matchLabels: { a: 'b' } }).toString()).toBe('a=b');
  });
});
