/**
 * The one JSON tokenizer: tokens and their ranges, problems with both offsets, resumed strings,
 * values followed through pieces, keys read back.
 */
import { describe, expect, it } from 'vitest';
import {
  countJsonKeys,
  jsonKeyAt,
  JsonProblem,
  JsonTokenizer,
  JsonTokenType,
  JsonValueScanner,
  skipJsonSpace,
} from '../../../src/serializer/shared/json-tokens.js';
import { jsonErrorOffset, readJsonTree } from '../../../src/serializer/shared/json-tree.js';

function tokensOf(text: string): Array<[JsonTokenType, string]> {
  const tokens = new JsonTokenizer(text);
  const out: Array<[JsonTokenType, string]> = [];
  while (tokens.next() !== JsonTokenType.End) out.push([tokens.type, text.slice(tokens.start, tokens.end)]);
  return out;
}

describe('JsonTokenizer', () => {
  it('reads every kind of token with its exact text, skipping whitespace', () => {
    expect(tokensOf(' {"a\\"}": [1.5e3, -0, true, null],\n"b":false}')).toEqual([
      [JsonTokenType.BeginObject, '{'],
      [JsonTokenType.String, '"a\\"}"'],
      [JsonTokenType.Colon, ':'],
      [JsonTokenType.BeginArray, '['],
      [JsonTokenType.Number, '1.5e3'],
      [JsonTokenType.Comma, ','],
      [JsonTokenType.Number, '-0'],
      [JsonTokenType.Comma, ','],
      [JsonTokenType.Literal, 'true'],
      [JsonTokenType.Comma, ','],
      [JsonTokenType.Literal, 'null'],
      [JsonTokenType.EndArray, ']'],
      [JsonTokenType.Comma, ','],
      [JsonTokenType.String, '"b"'],
      [JsonTokenType.Colon, ':'],
      [JsonTokenType.Literal, 'false'],
      [JsonTokenType.EndObject, '}'],
    ]);
  });

  it('reads a string with a bad escape to its closing quote and says where the escape is', () => {
    const tokens = new JsonTokenizer('"a\\x{b" 1');
    expect(tokens.next()).toBe(JsonTokenType.String);
    expect([tokens.start, tokens.end, tokens.problem, tokens.problemAt, tokens.stop]).toEqual([
      0,
      7,
      JsonProblem.Escape,
      2,
      3,
    ]);
    expect(tokens.next()).toBe(JsonTokenType.Number);
  });

  it('gives a broken literal as Invalid, stopping at the first letter that leaves it', () => {
    const tokens = new JsonTokenizer('tru}');
    expect(tokens.next()).toBe(JsonTokenType.Invalid);
    expect([tokens.start, tokens.end, tokens.problem, tokens.stop]).toEqual([
      0,
      3,
      JsonProblem.Unexpected,
      3,
    ]);
    expect(tokens.next()).toBe(JsonTokenType.EndObject);
  });

  it('resumes an unclosed string where the shorter text ended, even after a lone backslash', () => {
    const first = new JsonTokenizer('"ab\\');
    first.next();
    expect(first.unclosed).toBe(true);
    expect(first.resume).toBe(3);
    const longer = new JsonTokenizer('"ab\\"c" x');
    expect(longer.continueString(0, first.resume)).toBe(JsonTokenType.String);
    expect([longer.unclosed, longer.end, longer.problem]).toEqual([false, 7, JsonProblem.None]);
  });

  it('counts keys, not strings that are values', () => {
    expect(countJsonKeys('{"a": "b:", "c": {"d": ["e", "f"]}, "g" : 1}')).toBe(4);
  });
});

/** The end of the value opening `pieces[0]`, as [piece index, offset in it], or undefined. */
function valueEnd(pieces: string[]): [number, number] | undefined {
  const scanner = new JsonValueScanner();
  for (const [n, piece] of pieces.entries()) {
    const end = scanner.scan(piece, 0);
    if (end !== -1) return [n, end];
  }
  return undefined;
}

describe('JsonValueScanner', () => {
  it('ends an object or array where its brackets balance, not at brackets inside strings', () => {
    expect(valueEnd(['{"a": ["}", "]"], "b": {"c": "\\\\"}} []'])).toEqual([0, 35]);
    expect(valueEnd(['[[], [[]]]]'])).toEqual([0, 10]);
  });

  it('ends a string at its closing quote and anything else at a blank or opening bracket', () => {
    const scanner = new JsonValueScanner();
    expect(scanner.scan('"a \\\\" {}', 0)).toBe(6);
    expect(scanner.closesItself).toBe(true);
    const bare = new JsonValueScanner();
    expect(bare.scan('tru"e }]{}', 0)).toBe(5);
    expect(bare.closesItself).toBe(false);
    expect(valueEnd(['12', '34[]'])).toEqual([1, 2]);
  });

  it('carries an open string and an escape cut in two from one piece to the next', () => {
    expect(valueEnd(['{"a": "x\\', '"}"', '}'])).toEqual([2, 1]);
    expect(valueEnd(['{"a": "x\\', '\\', '"}'])).toEqual([2, 2]);
    expect(valueEnd(['["', 'a', '\\', 'u', '0022"', ']'])).toEqual([5, 1]);
    expect(valueEnd(['{"a": "unclosed }', ' ]'])).toBeUndefined();
  });
});

describe('small readers on the tokenizer', () => {
  it('skips JSON whitespace only', () => {
    expect(skipJsonSpace(' \t\r\n x', 0)).toBe(5);
    expect(skipJsonSpace('\u00a0x', 0)).toBe(0);
  });

  it('reads back the key at an offset, unescaped, or nothing when no key is there', () => {
    const text = '{"a": 1, "b\\"c" : 2}';
    expect(jsonKeyAt(text, 1)).toBe('a');
    expect(jsonKeyAt(text, 8)).toBe('b"c');
    expect(jsonKeyAt(text, 5)).toBeUndefined();
    const long = 'k'.repeat(5000);
    expect(jsonKeyAt(`{"${long}": 1}`, 1)).toBe(long);
  });
});

describe('reading a JSON tree', () => {
  it('tells where a text stops being JSON, and where the problem is', () => {
    expect(readJsonTree('{"a": tru}').failure).toEqual({ message: 'unexpected "t"', at: 6, stop: 9 });
    expect(jsonErrorOffset('{"a": tru}')).toBe(9);
    expect(readJsonTree('{"a": "x').failure).toEqual({ message: 'a string is not closed', at: 6, stop: 8 });
    expect(jsonErrorOffset('{"a": 1}')).toBe(8);
  });

  it('follows a nesting far deeper than the call stack without failing', () => {
    const depth = 50_000;
    const text = '['.repeat(depth) + ']'.repeat(depth);
    const { root } = readJsonTree(text);
    expect(root?.kind).toBe('array');
    expect(jsonErrorOffset(`${text}]`)).toBe(2 * depth);
  });
});
