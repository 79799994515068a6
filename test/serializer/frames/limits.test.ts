import { describe, expect, it } from 'vitest';
import { load } from 'js-yaml';
import { ErrorCodes } from '../../../src/runtime/index.js';
import { Decoder } from '../../../src/serializer/decode/decode.js';
import {
  countAliases,
  DEFAULT_LIMITS,
  mayHaveAliases,
  resolveLimits,
} from '../../../src/serializer/frames/limits.js';

const header = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\n';

/** The classic "billion laughs": nine levels, each nine aliases of the level below. */
function billionLaughs(levels = 9): string {
  let text = header + 'data:\n  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  let prev = 'a';
  for (let i = 1; i < levels; i++) {
    const name = String.fromCharCode(97 + i);
    text += `  ${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]\n`;
    prev = name;
  }
  return text;
}

describe('limits', () => {
  it('has the documented defaults and lets a caller override them', () => {
    expect(DEFAULT_LIMITS).toEqual({ maxFrameBytes: 16 * 1024 * 1024, maxFrames: 10_000, maxAliases: 100 });
    expect(resolveLimits({ maxAliases: 5 })).toEqual({ ...DEFAULT_LIMITS, maxAliases: 5 });
    expect(() => resolveLimits({ maxFrames: 1.5 })).toThrow(/maxFrames/);
  });
});

describe('aliases', () => {
  it('refuses a billion laughs document quickly, with AliasLimit, without expanding it', () => {
    const decoder = new Decoder({ file: 'lol.yaml' });
    // 9^20 strings if expanded: a decoder that expands it never returns (the test times out).
    const { objects, errors } = decoder.decodeText(billionLaughs(20));
    expect(objects).toEqual([]);
    expect(errors.map((e) => e.code)).toEqual([ErrorCodes.AliasLimit]);
    expect(errors[0]?.message).toMatch(/billion laughs/);
    expect(errors[0]?.details).toMatchObject({ file: 'lol.yaml', document: 0 });
    // The walk stops just past the limit: the count it reports is work done, not time taken.
    const report = countAliases(load(billionLaughs(20)), 100);
    expect(report.aliases).toBeGreaterThan(100);
    expect(report.aliases).toBeLessThan(1_000);
  });

  it('accepts ordinary anchors, aliases and merge keys', () => {
    const text =
      header + 'data:\n  base: &base {a: "1", b: "2"}\n  copy: *base\n  merged:\n    <<: *base\n    c: "3"\n';
    const { objects, errors } = new Decoder({ strict: false }).decodeText(text);
    expect(errors).toEqual([]);
    expect(objects[0]?.data).toEqual({
      base: { a: '1', b: '2' },
      copy: { a: '1', b: '2' },
      merged: { a: '1', b: '2', c: '3' },
    });
  });

  it('counts aliases as expanded, up to the limit', () => {
    const shared = { x: 1 };
    const nested = { inner: [shared, shared] };
    // Three uses of `nested` (two of them aliases, each holding one alias of `shared`).
    const value = { a: nested, b: nested, c: nested };
    expect(countAliases(value, 100)).toEqual({ aliases: 5, recursive: false });
    expect(countAliases(value, 3).aliases).toBeGreaterThan(3);
    const low = new Decoder({ limits: { maxAliases: 2 } }).decodeText(
      header + 'data:\n  a: &x {k: v}\n  b: *x\n  c: *x\n  d: *x\n',
    );
    expect(low.errors.map((e) => e.code)).toEqual([ErrorCodes.AliasLimit]);
    // The third alias (line 9) is the one past the limit.
    expect(low.errors[0]?.details.line).toBe(9);
  });

  it('refuses a node that contains itself', () => {
    const { errors } = new Decoder().decodeText(header + 'data: &d\n  self: *d\n');
    expect(errors.map((e) => e.code)).toEqual([ErrorCodes.AliasLimit]);
    expect(errors[0]?.message).toMatch(/alias to itself/);
  });

  it('only walks a value when the text has both an anchor and an alias token', () => {
    expect(mayHaveAliases('command: ["sh", "-c", "a && b"]\nglob: "*.yaml"\n')).toBe(false);
    expect(mayHaveAliases('a: &x 1\nb: *x\n')).toBe(true);
    expect(mayHaveAliases('a: [&x 1, *x]\n')).toBe(true);
  });
});
