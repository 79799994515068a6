import { describe, expect, it } from 'vitest';

import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';
import { applyFields, applyJsonPatch, applyMergePatch, applyPatch } from '../../src/patch/index.js';
import type { JsonPatchOperation } from '../../src/patch/index.js';

function codeOfCall(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GitOpsError);
    return (err as GitOpsError).code;
  }
  throw new Error('expected a GitOpsError');
}

describe('JSON Patch (RFC 6902)', () => {
  const doc = { metadata: { name: 'foo', labels: { a: 'b' } }, spec: { list: [1, 2, 3] } };

  it('adds, removes, replaces, moves, copies and tests', () => {
    const ops: JsonPatchOperation[] = [
      { op: 'test', path: '/metadata/name', value: 'foo' },
      { op: 'add', path: '/metadata/labels/c~1d', value: 'e' },
      { op: 'add', path: '/spec/list/1', value: 9 },
      { op: 'add', path: '/spec/list/-', value: 4 },
      { op: 'remove', path: '/spec/list/0' },
      { op: 'replace', path: '/metadata/name', value: 'bar' },
      { op: 'copy', from: '/metadata/labels', path: '/spec/labels' },
      { op: 'move', from: '/metadata/labels/a', path: '/spec/a' },
    ];
    expect(applyJsonPatch(doc, ops)).toEqual({
      metadata: { name: 'bar', labels: { 'c/d': 'e' } },
      spec: { list: [9, 2, 3, 4], labels: { a: 'b', 'c/d': 'e' }, a: 'b' },
    });
    // The input is never changed.
    expect(doc).toEqual({ metadata: { name: 'foo', labels: { a: 'b' } }, spec: { list: [1, 2, 3] } });
  });

  it('fails as a whole: a failed test or a missing path changes nothing', () => {
    expect(codeOfCall(() => applyJsonPatch(doc, [{ op: 'test', path: '/metadata/name', value: 'x' }]))).toBe(
      ErrorCodes.Invalid,
    );
    expect(
      codeOfCall(() => applyJsonPatch(doc, [{ op: 'replace', path: '/metadata/missing', value: 1 }])),
    ).toBe(ErrorCodes.Invalid);
    expect(codeOfCall(() => applyJsonPatch(doc, [{ op: 'remove', path: '/spec/list/7' }]))).toBe(
      ErrorCodes.Invalid,
    );
    expect(codeOfCall(() => applyJsonPatch(doc, [{ op: 'add', path: '/a/b/c', value: 1 }]))).toBe(
      ErrorCodes.Invalid,
    );
    expect(codeOfCall(() => applyJsonPatch(doc, [{ op: 'move', from: '/spec', path: '/spec/x' }]))).toBe(
      ErrorCodes.Invalid,
    );
  });

  it('refuses malformed patches as BadRequest', () => {
    expect(codeOfCall(() => applyJsonPatch(doc, [{ op: 'jump', path: '/a' } as never]))).toBe(
      ErrorCodes.BadRequest,
    );
    expect(codeOfCall(() => applyJsonPatch(doc, [{ op: 'add', path: 'no-slash', value: 1 }]))).toBe(
      ErrorCodes.BadRequest,
    );
    expect(codeOfCall(() => applyJsonPatch(doc, [{ op: 'add', path: '/x' } as never]))).toBe(
      ErrorCodes.BadRequest,
    );
    expect(codeOfCall(() => applyPatch(doc, { type: 'strategic' } as never))).toBe(ErrorCodes.BadRequest);
  });
});

describe('JSON Merge Patch (RFC 7386)', () => {
  it('passes the examples of the RFC', () => {
    const cases: [unknown, unknown, unknown][] = [
      [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
      [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
      [{ a: 'b' }, { a: null }, {}],
      [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
      [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
      [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
      [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
      [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
      [
        ['a', 'b'],
        ['c', 'd'],
        ['c', 'd'],
      ],
      [{ a: 'b' }, ['c'], ['c']],
      [{ a: 'foo' }, null, null],
      [{ a: 'foo' }, 'bar', 'bar'],
      [{ e: null }, { a: 1 }, { e: null, a: 1 }],
      [[1, 2], { a: 'b', c: null }, { a: 'b' }],
      [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    ];
    for (const [target, patch, result] of cases) expect(applyMergePatch(target, patch)).toEqual(result);
  });
});

describe('field-level apply', () => {
  it('sets the fields it names, keeps the rest, merges named lists by name', () => {
    const deployment = {
      spec: {
        replicas: 1,
        template: {
          spec: {
            containers: [
              { name: 'web', image: 'nginx:1', ports: [{ containerPort: 80 }] },
              { name: 'sidecar', image: 'envoy:1' },
            ],
          },
        },
      },
    };
    const applied = applyFields(deployment, {
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'web', image: 'nginx:2' },
              { name: 'new', image: 'x' },
            ],
          },
        },
      },
    });
    expect(applied).toEqual({
      spec: {
        replicas: 1,
        template: {
          spec: {
            containers: [
              { name: 'web', image: 'nginx:2', ports: [{ containerPort: 80 }] },
              { name: 'sidecar', image: 'envoy:1' },
              { name: 'new', image: 'x' },
            ],
          },
        },
      },
    });
    // Unnamed lists are replaced; nothing is removed by leaving it out.
    expect(applyFields({ a: [1, 2], b: 1 }, { a: [3] })).toEqual({ a: [3], b: 1 });
  });
});
