import { describe, expect, it } from 'vitest';
import { isGitOpsError } from '../../../../src/runtime/errors.js';
import { parseJsonExact } from '../../../../src/runtime/index.js';
import { editJsonDocument } from '../../../../src/serializer/edit/json/editor.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- tests mutate decoded documents freely */

function edit(source: string, change: (value: any) => unknown): string {
  const before = parseJsonExact(source.replace(/^\ufeff/, ''));
  const copy = structuredClone(before);
  const returned = change(copy);
  const after = returned === undefined ? copy : returned;
  const { text } = editJsonDocument(source, before, after);
  expect(parseJsonExact(text.replace(/^\ufeff/, ''))).toEqual(after);
  return text;
}

const PRETTY = [
  '{',
  '  "apiVersion": "v1",',
  '  "kind": "ConfigMap",',
  '  "metadata": {',
  '    "name": "demo",',
  '    "labels": {}',
  '  },',
  '  "data": {',
  '    "a": "1",',
  '    "b": "2"',
  '  },',
  '  "list": [1, 2, 3],',
  '  "big": 12176941420362965433',
  '}',
  '',
].join('\n');

describe('editJsonDocument', () => {
  it('returns the same string when nothing changed', () => {
    const before = JSON.parse(PRETTY);
    expect(editJsonDocument(PRETTY, before, structuredClone(before)).text).toBe(PRETTY);
  });

  it('changes only the changed members and keeps an untouched big integer as written', () => {
    const text = edit(PRETTY, (v) => {
      v.metadata.name = 'renamed';
    });
    expect(text).toBe(PRETTY.replace('"name": "demo"', '"name": "renamed"'));
    expect(text).toContain('"big": 12176941420362965433');
  });

  it('adds members at the end of objects in the detected indentation, keeps one-line arrays on one line', () => {
    const text = edit(PRETTY, (v) => {
      v.metadata.labels.app = 'y';
      delete v.data.a;
      v.data.c = { d: [1] };
      v.list.push(4);
      v.kind = 'Secret';
    });
    expect(text).toBe(
      [
        '{',
        '  "apiVersion": "v1",',
        '  "kind": "Secret",',
        '  "metadata": {',
        '    "name": "demo",',
        '    "labels": {',
        '      "app": "y"',
        '    }',
        '  },',
        '  "data": {',
        '    "b": "2",',
        '    "c": {',
        '      "d": [',
        '        1',
        '      ]',
        '    }',
        '  },',
        '  "list": [1, 2, 3, 4],',
        '  "big": 12176941420362965433',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('removes the last member with the comma before it', () => {
    const text = edit(PRETTY, (v) => {
      delete v.big;
      delete v.data.b;
    });
    expect(text).toBe(
      PRETTY.replace(',\n  "big": 12176941420362965433', '').replace('"a": "1",\n    "b": "2"', '"a": "1"'),
    );
  });

  it('follows four-space and tab indentation', () => {
    expect(edit('{\n    "a": {\n        "b": 1\n    }\n}', (v) => void (v.a.c = [1, { d: 2 }]))).toBe(
      '{\n    "a": {\n        "b": 1,\n        "c": [\n            1,\n            {\n                "d": 2\n            }\n        ]\n    }\n}',
    );
    expect(edit('{\n\t"a": [\n\t\t1\n\t]\n}\n', (v) => Object.assign(v, { a: [0, 1], b: {} }))).toBe(
      '{\n\t"a": [\n\t\t0,\n\t\t1\n\t],\n\t"b": {}\n}\n',
    );
  });

  it('keeps minified documents on one line, with their separators', () => {
    expect(
      edit('{"a":1,"b":[1,2],"c":{"d":"e"}}', (v) => {
        v.a = 2;
        v.b.splice(0, 1);
        v.c.f = { g: [1] };
        v.h = null;
      }),
    ).toBe('{"a":2,"b":[2],"c":{"d":"e","f":{"g":[1]}},"h":null}');
    expect(edit('{"a": 1, "b": 2}', (v) => Object.assign(v, { a: undefined, c: 3 }))).toBe(
      '{"b": 2, "c": 3}',
    );
  });

  it('matches containers by name and keeps CRLF line endings', () => {
    const source =
      '{\r\n  "containers": [\r\n    {\r\n      "name": "a",\r\n      "image": "x"\r\n    }\r\n  ]\r\n}\r\n';
    const text = edit(source, (v) => {
      v.containers[0].image = 'y';
      v.containers.push({ name: 'b', image: 'z' });
    });
    expect(text).toBe(
      '{\r\n  "containers": [\r\n    {\r\n      "name": "a",\r\n      "image": "y"\r\n    },\r\n    {\r\n      "name": "b",\r\n      "image": "z"\r\n    }\r\n  ]\r\n}\r\n',
    );
  });

  it('inserts before the first item and rewrites a container whose members all changed', () => {
    expect(edit('[\n  "b",\n  "c"\n]', (v) => void v.unshift('a'))).toBe('[\n  "a",\n  "b",\n  "c"\n]');
    expect(edit('{"m": {"a": 1}}', (v) => void (v.m = { b: 2 }))).toBe('{"m": {"b": 2}}');
  });

  it('refuses values JSON cannot hold and sources that are not JSON, naming the field', () => {
    for (const [source, after] of [
      ['{"a": 1}', { a: Number.NaN }],
      ['{"a": 1', { a: 2 }],
    ] as const) {
      try {
        editJsonDocument(source, { a: 1 }, after);
        expect.unreachable('the edit must fail');
      } catch (err) {
        expect(isGitOpsError(err, 'EditFailed')).toBe(true);
        expect((err as { details: { field?: string } }).details.field).toBe(
          source === '{"a": 1}' ? '.a' : '.',
        );
      }
    }
  });
});
