import { describe, expect, it } from 'vitest';
import {
  containsBigInt,
  parseJsonExact,
  stringifyJson,
  withApproximateNumbers,
} from '../../src/runtime/index.js';

describe('parseJsonExact', () => {
  it('reads integers beyond 2^53 as bigints and everything else as JSON.parse does', () => {
    const text =
      '{"distance": 12176941420362965433, "negative": -9007199254740993, "safe": 9007199254740991,' +
      ' "float": 12176941420362965433.5, "exp": 1e30, "text": "12176941420362965433",' +
      ' "escaped": "a\\"12176941420362965433", "list": [18446744073709551615, 1, 2.5]}';
    expect(parseJsonExact(text)).toEqual({
      distance: 12176941420362965433n,
      negative: -9007199254740993n,
      safe: 9007199254740991,
      float: Number('12176941420362965433.5'),
      exp: 1e30,
      text: '12176941420362965433',
      escaped: 'a"12176941420362965433',
      list: [18446744073709551615n, 1, 2.5],
    });
    // A long digit run inside a string alone leaves numbers alone.
    expect(parseJsonExact('{"uid": "1234567890123456789", "n": 3}')).toEqual({
      uid: '1234567890123456789',
      n: 3,
    });
  });

  it('keeps a string that looks like its own marker a string', () => {
    const tricky = '{"a": "\\u0000deadbeef:1", "b": 12176941420362965433}';
    expect(parseJsonExact(tricky)).toEqual({ a: '\u0000deadbeef:1', b: 12176941420362965433n });
  });

  it('refuses what JSON.parse refuses', () => {
    expect(() => parseJsonExact('{"a": 12176941420362965433,}')).toThrow(SyntaxError);
    expect(() => parseJsonExact('{"a": 1')).toThrow(SyntaxError);
  });
});

describe('stringifyJson', () => {
  it('writes bigints as their digits and the rest as JSON.stringify does', () => {
    const value = { a: 12176941420362965433n, b: [-9007199254740993n, 1.5, 'x'], c: { d: null } };
    expect(stringifyJson(value)).toBe(
      '{"a":12176941420362965433,"b":[-9007199254740993,1.5,"x"],"c":{"d":null}}',
    );
    expect(stringifyJson(value, 2)).toBe(
      JSON.stringify({ a: 'A', b: ['B', 1.5, 'x'], c: { d: null } }, null, 2)
        .replace('"A"', '12176941420362965433')
        .replace('"B"', '-9007199254740993'),
    );
    expect(parseJsonExact(stringifyJson(value))).toEqual(value);
    expect(stringifyJson({ plain: 1 })).toBe('{"plain":1}');
  });

  it('tells bigints apart and approximates them for checks', () => {
    expect(containsBigInt({ a: [{ b: 1n }] })).toBe(true);
    expect(containsBigInt({ a: [{ b: 1 }], c: 'x' })).toBe(false);
    expect(withApproximateNumbers({ a: [12176941420362965433n], b: 'x' })).toEqual({
      a: [Number('12176941420362965433')],
      b: 'x',
    });
  });
});
