import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, GitOpsError } from '../../../src/runtime/index.js';
import type { KubeObject } from '../../../src/runtime/index.js';
import { Decoder } from '../../../src/serializer/decode/decode.js';
import {
  encodeJson,
  encodeJsonDocument,
  encodeYaml,
  encodeYamlDocument,
  withConventionalKeyOrder,
} from '../../../src/serializer/encode/encode.js';
import { splitFrames } from '../../../src/serializer/frames/frames.js';
import { join } from 'node:path';
import { CORPUS } from '../../support/corpus.js';

const scrambled: KubeObject = {
  data: { b: '2', a: '1' },
  status: { phase: 'x' },
  spec: { replicas: 1 },
  metadata: { annotations: { n: 'v' }, uid: 'u', labels: { l: 'v' }, namespace: 'ns', name: 'cm' },
  kind: 'ConfigMap',
  apiVersion: 'v1',
};

describe('key order', () => {
  it('puts apiVersion, kind, metadata (name first), spec and status first, the rest after in their order', () => {
    const ordered = withConventionalKeyOrder(scrambled);
    expect(Object.keys(ordered)).toEqual(['apiVersion', 'kind', 'metadata', 'spec', 'status', 'data']);
    expect(Object.keys(ordered.metadata)).toEqual(['name', 'namespace', 'labels', 'annotations', 'uid']);
    expect(Object.keys(ordered.data as object)).toEqual(['b', 'a']);
    // The input is left as it was.
    expect(Object.keys(scrambled)[0]).toBe('data');
  });

  it('orders the items of a List too', () => {
    const list = withConventionalKeyOrder({ items: [scrambled], kind: 'List', apiVersion: 'v1' });
    expect(Object.keys(list)).toEqual(['apiVersion', 'kind', 'items']);
    expect(Object.keys((list.items as KubeObject[])[0] as object)[0]).toBe('apiVersion');
  });
});

describe('YAML', () => {
  it('writes a new document in the conventional order', () => {
    expect(encodeYamlDocument(scrambled)).toBe(
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: cm',
        '  namespace: ns',
        '  labels:',
        '    l: v',
        '  annotations:',
        '    "n": v',
        '  uid: u',
        'spec:',
        '  replicas: 1',
        'status:',
        '  phase: x',
        'data:',
        '  b: "2"',
        '  a: "1"',
        '',
      ].join('\n'),
    );
  });

  it('quotes every string YAML 1.1 would read as something else, keys included', () => {
    const strings = [
      'on',
      'Off',
      'yes',
      'n',
      'Y',
      '0755',
      '1_000',
      '0x1F',
      '1e3',
      '.inf',
      '~',
      'null',
      '12:30',
      '2024-01-02',
      '',
    ];
    const obj = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'q' },
      data: Object.fromEntries(strings.map((s) => [s || 'empty', s])),
    };
    const text = encodeYaml(obj);
    for (const s of strings) expect(text).toContain(`: "${s}"`);
    expect(text).toContain('"on": "on"');
    expect(text).toContain('"yes": "yes"');
    // And the API server's reading of it gives back exactly the strings.
    const [decoded] = new Decoder().decodeText(text).objects;
    expect(decoded?.data).toEqual(obj.data);
  });

  it('leaves plain what needs no quotes, and writes numbers, booleans and null as such', () => {
    const text = encodeYamlDocument({
      apiVersion: 'v1',
      kind: 'X',
      metadata: { name: 'a' },
      spec: { s: 'hello world', num: 493, f: 1.5, t: true, z: null },
    });
    expect(text).toContain('  s: hello world\n  num: 493\n  f: 1.5\n  t: true\n  z: null\n');
  });

  it('writes multi-line strings as literal blocks and never folds long lines', () => {
    const long = 'word '.repeat(60).trim();
    const text = encodeYamlDocument({
      apiVersion: 'v1',
      kind: 'X',
      metadata: { name: 'a' },
      data: { script: 'echo a\necho b\n', long },
    });
    expect(text).toContain('  script: |\n    echo a\n    echo b\n');
    expect(text).toContain(`  long: ${long}\n`);
  });

  it('joins documents with ---, and indents lists as asked', () => {
    const a = { apiVersion: 'v1', kind: 'X', metadata: { name: 'a' }, list: ['x'] };
    expect(encodeYaml([a, a])).toBe(
      'apiVersion: v1\nkind: X\nmetadata:\n  name: a\nlist:\n  - x\n---\napiVersion: v1\nkind: X\nmetadata:\n  name: a\nlist:\n  - x\n',
    );
    expect(encodeYamlDocument(a, { indentSequences: false })).toContain('list:\n- x\n');
    expect(encodeYamlDocument(a, { lineEnding: '\r\n' })).toBe(
      'apiVersion: v1\r\nkind: X\r\nmetadata:\r\n  name: a\r\nlist:\r\n  - x\r\n',
    );
  });

  it("starts lists at their key's column with indentSequences: false, whatever the indent", () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        containers: [{ name: 'app', args: ['a', 'b'], env: [{ name: 'X', value: 'one\ntwo\n' }] }],
        matrix: [[1, 2], [3]],
        none: [],
        flowless: 'x',
      },
    };
    const four = encodeYamlDocument(pod, { indent: 4, indentSequences: false });
    expect(four).toBe(
      [
        'apiVersion: v1',
        'kind: Pod',
        'metadata:',
        '    name: p',
        'spec:',
        '    containers:',
        '    - name: app',
        '      args:',
        '      - a',
        '      - b',
        '      env:',
        '      - name: X',
        '        value: |',
        '            one',
        '            two',
        '    matrix:',
        '    - - 1',
        '      - 2',
        '    - - 3',
        '    none: []',
        '    flowless: x',
        '',
      ].join('\n'),
    );
    expect(new Decoder().decodeText(four).objects).toEqual([pod]);
    const indented = encodeYamlDocument(pod, { indent: 4 });
    expect(indented).toContain('    containers:\n        - name: app\n');
    expect(new Decoder().decodeText(indented).objects).toEqual([pod]);
    expect(encodeYamlDocument(pod, { indent: 3, indentSequences: false })).toContain(
      '   containers:\n   - name: app\n     args:\n     - a\n',
    );
  });

  it('is deterministic and keeps every value through a decode', () => {
    const text = readFileSync(join(CORPUS, 'argo-cd/install.yaml'), 'utf8');
    const { objects } = new Decoder().decodeText(text);
    const once = encodeYaml(objects);
    expect(encodeYaml(objects)).toBe(once);
    const again = new Decoder().decodeText(once);
    expect(again.errors).toEqual([]);
    expect(again.objects).toEqual(objects);
    expect(splitFrames(once)).toHaveLength(objects.length);
  });

  it('refuses what is not an object', () => {
    expect(() => encodeYaml(['a'])).toThrow(GitOpsError);
    try {
      encodeJson([{ apiVersion: 'v1' }, 3]);
      expect.unreachable('a number is not an object and must be refused');
    } catch (err) {
      expect((err as GitOpsError).code).toBe(ErrorCodes.BadRequest);
      expect((err as GitOpsError).details.document).toBe(1);
    }
  });
});

describe('JSON', () => {
  it('writes indented JSON in the conventional order, one value after another', () => {
    const text = encodeJson([scrambled, { apiVersion: 'v1', kind: 'X', metadata: { name: 'b' } }]);
    expect(
      text.startsWith('{\n  "apiVersion": "v1",\n  "kind": "ConfigMap",\n  "metadata": {\n    "name": "cm",'),
    ).toBe(true);
    const frames = splitFrames(text, { contentType: 'json' });
    expect(frames.map((f) => (JSON.parse(f.text) as KubeObject).metadata.name)).toEqual(['cm', 'b']);
  });

  it('writes NDJSON with indent 0, and keeps the key order when asked', () => {
    const text = encodeJson([scrambled, scrambled], { indent: 0, keyOrder: 'preserve' });
    const lines = text.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]?.startsWith('{"data":')).toBe(true);
    expect(encodeJsonDocument(scrambled, { lineEnding: '\r\n' }).endsWith('}\r\n')).toBe(true);
  });
});

describe('integers beyond 2^53', () => {
  const car = {
    apiVersion: 'sample-app.weave.works/v1alpha1',
    kind: 'Car',
    metadata: { name: 'copy' },
    status: { distance: 12176941420362965433n, debt: -9007199254740993n, persons: 2 },
  };

  it('writes them exactly in YAML and JSON, and reads back the same values', () => {
    const yaml = encodeYaml(car);
    expect(yaml).toContain('  distance: 12176941420362965433\n  debt: -9007199254740993\n');
    expect(new Decoder().decodeText(yaml).objects).toEqual([car]);
    const json = encodeJson(car);
    expect(json).toContain('"distance": 12176941420362965433,');
    expect(encodeJson(car, { indent: 0 })).toContain('"debt":-9007199254740993,');
    expect(new Decoder().decodeText(json, { contentType: 'json' }).objects).toEqual([car]);
  });
});
