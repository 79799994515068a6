import { readFileSync } from 'node:fs';
import jsYaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { isGitOpsError } from '../../../../src/runtime/errors.js';
import { editYamlDocument } from '../../../../src/serializer/edit/yaml/editor.js';
import type { YamlEditOptions, YamlEditResult } from '../../../../src/serializer/edit/yaml/editor.js';
import { KUBE_YAML_SCHEMA } from '../../../../src/serializer/shared/yaml11.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- tests mutate decoded manifests freely */

function load(text: string): any {
  return jsYaml.load(text, { schema: KUBE_YAML_SCHEMA }) ?? null;
}

/**
 * Edits `source` from its decoded value to what `change` makes of a copy of it (or returns),
 * checks the result decodes to that value, and that both node locators give the same text.
 */
function edit(
  source: string,
  change: (value: any) => unknown,
  options: YamlEditOptions = {},
): YamlEditResult {
  const before = load(source);
  const copy = structuredClone(before);
  const returned = change(copy);
  const after = returned === undefined ? copy : returned;
  const result = editYamlDocument(source, before, after, options);
  expect(load(result.text)).toEqual(after);
  const parsed = editYamlDocument(source, before, after, { ...options, locator: 'parser' });
  expect(parsed.text).toBe(result.text);
  return result;
}

function editText(source: string, change: (value: any) => unknown, options?: YamlEditOptions): string {
  return edit(source, change, options).text;
}

/** The changed lines as a unified diff without context: `-old` and `+new`, in text order. */
function changedLines(before: string, after: string): string[] {
  const a = before.split('\n');
  const b = after.split('\n');
  // lengths[i][j]: longest common subsequence of a[i..] and b[j..].
  const lengths = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i]![j] =
        a[i] === b[j] ? lengths[i + 1]![j + 1]! + 1 : Math.max(lengths[i + 1]![j]!, lengths[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (j >= b.length || (i < a.length && lengths[i + 1]![j]! >= lengths[i]![j + 1]!))
      out.push(`-${a[i++]}`);
    else out.push(`+${b[j++]}`);
  }
  return out;
}

const CAR = readFileSync(new URL('../../../../examples/cars/foo.yaml', import.meta.url), 'utf8');

describe('editYamlDocument: the Car example', () => {
  it('changing .status.speed changes exactly that line', () => {
    const result = edit(CAR, (car) => {
      car.status.speed = 24.7;
    });
    expect(changedLines(CAR, result.text)).toEqual(['-  speed: 53.37474583162469', '+  speed: 24.7']);
    expect(result.removedComments).toEqual([]);
  });

  it('keeps a big integer byte-identical when another field changes', () => {
    const text = editText(CAR, (car) => {
      car.status.persons = 2;
    });
    expect(text).toContain('  distance: 12176941420362965433\n');
    expect(changedLines(CAR, text)).toEqual(['-  persons: 0', '+  persons: 2']);
  });

  it('returns the very same string when nothing changed', () => {
    const before = load(CAR);
    const result = editYamlDocument(CAR, before, structuredClone(before));
    expect(result.text).toBe(CAR);
    expect(result.removedComments).toEqual([]);
  });

  it('keeps the inline comment of a changed value and the quotes of a quoted one', () => {
    const text = editText(CAR, (car) => {
      car.metadata.labels.owner = 'friends';
      car.spec.yearModel = '2009';
    });
    expect(changedLines(CAR, text)).toEqual([
      '-    owner: family # who drives it most',
      '+    owner: friends # who drives it most',
      '-  yearModel: "2008" # quoted: a year model is a string, not a number',
      '+  yearModel: "2009" # quoted: a year model is a string, not a number',
    ]);
  });

  it('removes a key with the comment above it and reports that comment', () => {
    const result = edit(CAR, (car) => {
      delete car.status;
    });
    expect(result.text).toBe(CAR.slice(0, CAR.indexOf('\n# Written by')));
    expect(result.removedComments).toEqual([
      { text: "# Written by the car's controller; people leave it alone.", line: 14, path: '.status' },
    ]);
  });
});

describe('editYamlDocument: scalars', () => {
  it('replaces only the scalar and keeps its style', () => {
    const source = `a: 1\nb: "x" # c\nc: 'y'\nd: plain\n`;
    expect(
      editText(source, (v) => {
        v.a = 3;
        v.b = 'z';
        v.c = "it's";
        v.d = 'other';
      }),
    ).toBe(`a: 3\nb: "z" # c\nc: 'it''s'\nd: other\n`);
  });

  it('quotes new strings that YAML 1.1 or 1.2 would read as something else', () => {
    const source = 'a: x\nb: x\nc: x\nd: x\ne: x\nf: x\ng: x\nh: x\ni: x\n';
    const text = editText(source, (v) =>
      Object.assign(v, {
        a: 'on',
        b: '0755',
        c: '1.0',
        d: 'yes',
        e: 'null',
        f: '2024-01-01',
        g: '',
        h: 'a: b',
        i: 'y',
      }),
    );
    expect(text).toBe(
      'a: "on"\nb: "0755"\nc: "1.0"\nd: "yes"\ne: "null"\nf: "2024-01-01"\ng: ""\nh: "a: b"\ni: "y"\n',
    );
  });

  it("uses the document's single quotes when it prefers them", () => {
    expect(editText(`a: 'q'\nb: 'r'\nc: x\n`, (v) => void (v.c = 'yes'))).toBe(`a: 'q'\nb: 'r'\nc: 'yes'\n`);
  });

  it('writes numbers, booleans and null plainly, and keeps an octal or hex base', () => {
    const source = 'mode: 0644\nhex: 0x1F\nflag: true\nport: "80"\nnothing: x\n';
    const text = editText(source, (v) =>
      Object.assign(v, { mode: 0o600, hex: 255, flag: false, port: 8080, nothing: null }),
    );
    expect(text).toBe('mode: 0600\nhex: 0xff\nflag: false\nport: 8080\nnothing: null\n');
  });

  it('fills an empty value and replaces ~', () => {
    expect(editText('a:\nb: ~ # none\n', (v) => Object.assign(v, { a: 'v', b: 'w' }))).toBe(
      'a: v\nb: w # none\n',
    );
  });

  it('writes a string with line breaks as a block literal with the right chomping', () => {
    const source = 'key: value # c\nkeep: x\nitems:\n- one\n';
    const text = editText(source, (v) => {
      v.key = 'l1\nl2';
      v.keep = 'a\nb\n';
      v.items[0] = 'x\ny\n';
    });
    expect(text).toBe('key: |- # c\n  l1\n  l2\nkeep: |\n  a\n  b\nitems:\n- |\n  x\n  y\n');
  });

  it('uses double quotes where a block scalar cannot hold the string exactly', () => {
    expect(editText('a: x\nb: x\n', (v) => Object.assign(v, { a: 'a\n\n', b: '  lead\nx' }))).toBe(
      'a: "a\\n\\n"\nb: "  lead\\nx"\n',
    );
  });

  it('keeps a block scalar a block scalar, at its own indentation', () => {
    const source = 'script: |\n    echo one\n    echo two\nnote: >\n  some long\n  text\nnext: 1\n';
    const text = editText(source, (v) => {
      v.script = 'single';
      v.note = 'other text\n';
    });
    expect(text).toBe('script: |-\n    single\nnote: >\n  other text\nnext: 1\n');
  });

  it('quotes for flow context inside flow collections', () => {
    expect(editText('args: [a, b, "c"]\n', (v) => void v.args.splice(1, 2, 'x, y', 'd'))).toBe(
      'args: [a, "x, y", "d"]\n',
    );
  });

  it('drops a tag that no longer fits when a tagged scalar changes', () => {
    expect(editText('a: !!str 5\nb: 1\n', (v) => void (v.a = 6))).toBe('a: 6\nb: 1\n');
    expect(editText('a: !!str 5\nb: 1\n', (v) => void (v.a = { x: 1 }))).toBe('a:\n  x: 1\nb: 1\n');
  });

  it('keeps CRLF line endings, also on new lines', () => {
    const source = 'a: 1\r\nb:\r\n  c: 2\r\n';
    const text = editText(source, (v) => {
      v.a = 2;
      v.b.d = [1, 2];
      v.e = 'new';
    });
    expect(text).toBe('a: 2\r\nb:\r\n  c: 2\r\n  d:\r\n  - 1\r\n  - 2\r\ne: new\r\n');
  });
});

describe('editYamlDocument: maps', () => {
  const CONFIG = [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: demo',
    '  labels:',
    '    app: demo',
    '',
    '  # the comment about annotations',
    '  annotations:',
    '    a: b',
    '# trailing comment of metadata',
    'data:',
    '  key: value',
    '',
  ].join('\n');

  it('adds keys after the last pair, in the order of after, before comments that follow', () => {
    const text = editText(CONFIG, (v) => {
      v.metadata.labels.tier = 'web';
      v.metadata.labels.zone = { a: 1, b: [1, 2] };
      v.metadata.namespace = 'x';
      v.data.other = 'z';
    });
    expect(text).toBe(
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: demo',
        '  labels:',
        '    app: demo',
        '    tier: web',
        '    zone:',
        '      a: 1',
        '      b:',
        '      - 1',
        '      - 2',
        '',
        '  # the comment about annotations',
        '  annotations:',
        '    a: b',
        '  namespace: x',
        '# trailing comment of metadata',
        'data:',
        '  key: value',
        '  other: z',
        '',
      ].join('\n'),
    );
  });

  it('removes a key with its attached comment and the blank line that separated it', () => {
    const result = edit(CONFIG, (v) => void delete v.metadata.annotations);
    expect(changedLines(CONFIG, result.text)).toEqual([
      '-',
      '-  # the comment about annotations',
      '-  annotations:',
      '-    a: b',
    ]);
    expect(result.removedComments).toEqual([
      { text: '# the comment about annotations', line: 8, path: '.metadata.annotations' },
    ]);
  });

  it('keeps a comment separated from the removed key by a blank line', () => {
    const result = edit(CONFIG, (v) => void delete v.metadata.labels);
    expect(changedLines(CONFIG, result.text)).toEqual(['-  labels:', '-    app: demo']);
    expect(result.removedComments).toEqual([]);
  });

  it('writes an emptied map as {} and reports its comments under their fields', () => {
    const result = edit(CAR, (car) => {
      car.metadata.labels = {};
    });
    expect(changedLines(CAR, result.text)).toEqual([
      '-  labels:',
      '-    owner: family # who drives it most',
      '+  labels: {}',
    ]);
    expect(result.removedComments).toEqual([
      { text: '# who drives it most', line: 8, path: '.metadata.labels.owner' },
    ]);
  });

  it('keeps flow maps flow', () => {
    expect(
      editText('a: {}\nb: {x: 1}\n', (v) => Object.assign(v, { a: { k: 'v' }, b: { x: 1, z: [1, 2] } })),
    ).toBe('a: {k: v}\nb: {x: 1, z: [1, 2]}\n');
  });

  it("follows the document's indentation and list style", () => {
    expect(editText('spec:\n  ports:\n    - 80\n  other: 1\n', (v) => void (v.spec.hosts = ['a', 'b']))).toBe(
      'spec:\n  ports:\n    - 80\n  other: 1\n  hosts:\n    - a\n    - b\n',
    );
    expect(editText('spec:\n    a:\n        b: 1\n', (v) => void (v.spec.c = { d: { e: [1] } }))).toBe(
      'spec:\n    a:\n        b: 1\n    c:\n        d:\n            e:\n            - 1\n',
    );
  });

  it('follows options over the detected style', () => {
    expect(
      editText('a: 1\n', (v) => void (v.b = { c: ['x'] }), {
        indent: 4,
        sequenceStyle: 'indented',
        quote: 'single',
      }),
    ).toBe('a: 1\nb:\n    c:\n        - x\n');
  });

  it('handles a last line without a line break', () => {
    expect(editText('a: 1\nb: 2', (v) => void delete v.b)).toBe('a: 1');
    expect(editText('a: 1\nb: 2', (v) => void (v.c = 3))).toBe('a: 1\nb: 2\nc: 3');
  });

  it('removes the first pair of a list item', () => {
    const source = 'items:\n- name: a\n  image: x\n- name: b\n  image: y\n';
    expect(editText(source, (v) => void delete v.items[0].name)).toBe(
      'items:\n- image: x\n- name: b\n  image: y\n',
    );
  });

  it('quotes keys that need it', () => {
    expect(
      editText('a: 1\n', (v) =>
        Object.assign(v, { on: 1, 'with space': 2, 'x: y': 3, 'app.kubernetes.io/name': 'n' }),
      ),
    ).toBe('a: 1\n"on": 1\nwith space: 2\n"x: y": 3\napp.kubernetes.io/name: "n"\n');
  });

  it('fills a document that holds only comments', () => {
    expect(editText('# only a comment\n', () => ({ apiVersion: 'v1', kind: 'List', items: [] }))).toBe(
      '# only a comment\napiVersion: v1\nkind: List\nitems: []\n',
    );
  });

  it('inserts after a kept block scalar, its trailing blank lines included', () => {
    expect(editText('b: 1\na: |+\n  text\n\n', (v) => void (v.c = 2))).toBe('b: 1\na: |+\n  text\n\nc: 2\n');
  });

  it('does not mistake comment-like lines of a block scalar for comments', () => {
    const result = edit('a:\n  s: |\n    x\n    # not a comment\nb: 1\n', (v) => void delete v.a);
    expect(result.text).toBe('b: 1\n');
    expect(result.removedComments).toEqual([]);
  });
});

describe('editYamlDocument: lists', () => {
  const POD = [
    'spec:',
    '  containers:',
    '  # the main container',
    '  - name: app',
    '    image: app:1',
    '    env:',
    '    - name: A',
    '      value: "1"',
    '    - name: B',
    '      value: "2"',
    '  - name: sidecar # helper',
    '    image: side:1',
    '  volumes: []',
    '',
  ].join('\n');

  it('edits list items in place, found by name', () => {
    const text = editText(POD, (v) => {
      v.spec.containers[1].image = 'side:2';
      v.spec.containers[0].env[1].value = '3';
    });
    expect(changedLines(POD, text)).toEqual([
      '-      value: "2"',
      '+      value: "3"',
      '-    image: side:1',
      '+    image: side:2',
    ]);
  });

  it('appends a new item in block style', () => {
    const text = editText(
      POD,
      (v) => void v.spec.containers.push({ name: 'extra', image: 'e:1', ports: [{ containerPort: 80 }] }),
    );
    expect(changedLines(POD, text)).toEqual([
      '+  - name: extra',
      '+    image: e:1',
      '+    ports:',
      '+    - containerPort: 80',
    ]);
  });

  it('removes an item with the comment above it', () => {
    const result = edit(POD, (v) => void v.spec.containers.splice(0, 1));
    expect(result.text).toBe(
      'spec:\n  containers:\n  - name: sidecar # helper\n    image: side:1\n  volumes: []\n',
    );
    expect(result.removedComments).toEqual([
      { text: '# the main container', line: 3, path: '.spec.containers[0]' },
    ]);
  });

  it('inserts a first item above the comments of the item that was first', () => {
    const text = editText(POD, (v) => void v.spec.containers.unshift({ name: 'init', image: 'i:1' }));
    expect(changedLines(POD, text)).toEqual(['+  - name: init', '+    image: i:1']);
    expect(text.indexOf('- name: init')).toBeLessThan(text.indexOf('# the main container'));
  });

  it('writes an emptied list as [] and keeps a flow list flow', () => {
    const text = editText(POD, (v) => {
      v.spec.containers[0].env = [];
      v.spec.volumes.push({ name: 'v', emptyDir: {} });
    });
    expect(changedLines(POD, text)).toEqual([
      '-    env:',
      '-    - name: A',
      '-      value: "1"',
      '-    - name: B',
      '-      value: "2"',
      '+    env: []',
      '-  volumes: []',
      '+  volumes: [{name: v, emptyDir: {}}]',
    ]);
  });

  it('matches plain lists by content: insert, change and remove touch one line each', () => {
    const source = 'args:\n- --a\n- --b\n- --c\nflow: [1, 2, 3]\n';
    expect(
      changedLines(
        source,
        editText(source, (v) => void v.args.splice(1, 0, '--x')),
      ),
    ).toEqual(['+- --x']);
    expect(
      changedLines(
        source,
        editText(source, (v) => void (v.args[1] = '--y')),
      ),
    ).toEqual(['-- --b', '+- --y']);
    expect(
      changedLines(
        source,
        editText(source, (v) => void v.args.pop()),
      ),
    ).toEqual(['-- --c']);
    expect(editText(source, (v) => void (v.flow = [0, 1, 3, 4]))).toBe(
      'args:\n- --a\n- --b\n- --c\nflow: [0, 1, 3, 4]\n',
    );
  });

  it('edits a root list and nested lists', () => {
    expect(editText('- a\n- b\n', (v) => [...(v as string[]).map((x) => (x === 'a' ? 'z' : x)), 'c'])).toBe(
      '- z\n- b\n- c\n',
    );
    expect(editText('m:\n- - a\n  - b\n- - c\n', (v) => void v.m[0].push('x'))).toBe(
      'm:\n- - a\n  - b\n  - x\n- - c\n',
    );
  });
});

describe('editYamlDocument: type changes', () => {
  it('writes the node afresh in block style at the right indentation', () => {
    const source = 'a: 1 # c\nb:\n  x: 1\nc:\n- 1\nd: null\ne: [1]\nf:\n  z: 2\n';
    const text = editText(source, (v) =>
      Object.assign(v, {
        a: { k: 'v' },
        b: 'scalar',
        c: { m: 1 },
        d: ['x'],
        e: { z: 1 },
        f: [{ n: 1, o: 2 }],
      }),
    );
    expect(text).toBe('a: # c\n  k: v\nb: scalar\nc:\n  m: 1\nd:\n- x\ne: {z: 1}\nf:\n- "n": 1\n  o: 2\n');
  });

  it('changes the type of list items', () => {
    const text = editText(
      'l:\n- 1 # c\n- x: 1\n  z: 2\n- [a]\n',
      (v) => void (v.l = [{ a: 1, b: 2 }, 'flat', ['b', 'c']]),
    );
    expect(text).toBe('l:\n- a: 1 # c\n  b: 2\n- flat\n- [b, c]\n');
  });
});

describe('editYamlDocument: anchors and aliases', () => {
  it('writes out an alias whose value changed, and keeps the anchor', () => {
    const source = 'base: &b\n  x: 1\nuse: *b\nother: 1\n';
    const result = editYamlDocument(source, load(source), { base: { x: 1 }, use: { x: 2 }, other: 1 });
    expect(result.text).toBe('base: &b\n  x: 1\nuse:\n  x: 2\nother: 1\n');
  });

  it('edits a shared value in place when every copy changed alike', () => {
    const source = 'base: &b\n  x: 1 # one\nuse: *b\n';
    const shared = { x: 2 };
    const result = editYamlDocument(source, load(source), { base: shared, use: shared });
    expect(result.text).toBe('base: &b\n  x: 2 # one\nuse: *b\n');
  });

  it('writes out the aliases that keep the old value when the anchored node changes', () => {
    const source = '# top\nitems:\n  base: &b\n    x: 1 # one\n  use: *b\nother: 1 # keep\n';
    const after = { items: { base: { x: 2 }, use: { x: 1 } }, other: 1 };
    const result = editYamlDocument(source, load(source), after);
    expect(result.text).toBe(
      '# top\nitems:\n  base: &b\n    x: 2 # one\n  use:\n    x: 1\nother: 1 # keep\n',
    );
    expect(load(result.text)).toEqual(after);
  });

  it('writes out the aliases of an anchor that is removed', () => {
    const source = 'base: &v hello\nb: *v\nc: 1\n';
    const result = editYamlDocument(source, load(source), { b: 'hello', c: 2 });
    expect(result.text).toBe('b: hello\nc: 2\n');
  });

  it('writes out a map that merges a changed anchor', () => {
    const source = 'base: &b\n  x: 1\nderived:\n  <<: *b\n  z: 2\nplain: 1\n';
    const after = { base: { x: 1 }, derived: { x: 1, z: 3 }, plain: 1 };
    const result = editYamlDocument(source, load(source), after);
    expect(result.text).toBe('base: &b\n  x: 1\nderived:\n  x: 1\n  z: 3\nplain: 1\n');
  });

  it('leaves untouched aliases alone', () => {
    const source = 'base: &b\n  x: 1\nuse: *b\nother: 1\n';
    const before = load(source);
    const result = editYamlDocument(source, before, { ...before, other: 2 });
    expect(result.text).toBe('base: &b\n  x: 1\nuse: *b\nother: 2\n');
  });
});

describe('editYamlDocument: failures', () => {
  function failure(run: () => unknown): unknown {
    try {
      run();
    } catch (err) {
      return err;
    }
    throw new Error('expected the edit to fail');
  }

  it('refuses a value YAML cannot hold, naming the field', () => {
    const err = failure(() => editYamlDocument('a: 1\n', { a: 1 }, { a: new Date(0) }));
    expect(isGitOpsError(err, 'EditFailed')).toBe(true);
    expect((err as { details: { field: string } }).details.field).toBe('.a');
  });

  it('refuses a source that does not parse', () => {
    const err = failure(() => editYamlDocument('a: [1\n', { a: [1] }, { a: [2] }));
    expect(isGitOpsError(err, 'EditFailed')).toBe(true);
  });

  it('never lets an alias follow an anchor it should not: the scanner alone refuses, auto parses', () => {
    const source = 'a: &x 1\nb: *x\n';
    const err = failure(() =>
      editYamlDocument(source, { a: 1, b: 1 }, { a: 2, b: 1 }, { locator: 'scanner' }),
    );
    expect(isGitOpsError(err, 'EditFailed')).toBe(true);
    expect(editYamlDocument(source, { a: 1, b: 1 }, { a: 2, b: 1 }).text).toBe('a: &x 2\nb: 1\n');
  });
});
