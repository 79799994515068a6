import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, GitOpsError, Scheme } from '../../../src/runtime/index.js';
import type { KindDefinition, KubeObject } from '../../../src/runtime/index.js';
import { Decoder } from '../../../src/serializer/decode/decode.js';
import { splitFrames } from '../../../src/serializer/frames/frames.js';
import { encodeJson } from '../../../src/serializer/encode/encode.js';
import { join } from 'node:path';
import { CORPUS } from '../../support/corpus.js';

const ARGO = join(CORPUS, 'argo-cd/install.yaml');

/** `code line:column` of each problem, the part of an error a person reads first. */
function where(errors: readonly GitOpsError[]): string[] {
  return errors.map((e) => `${e.code} ${e.details.line}:${e.details.column}`);
}

const configMap = (name: string, data: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n${data}`;

describe('YAML 1.1 meaning, as the API server reads it', () => {
  const decoder = new Decoder({ strict: false });
  const data = (yaml: string): Record<string, unknown> => {
    const { objects, errors } = decoder.decodeText(yaml);
    expect(errors).toEqual([]);
    return (objects[0] as KubeObject).data as Record<string, unknown>;
  };

  it('reads on/yes/off/no as booleans, 0755 as octal and 1_000 as an integer', () => {
    expect(
      data(configMap('c', '  a: on\n  b: yes\n  c: Off\n  d: n\n  e: 0755\n  f: 1_000\n  g: 0x1F\n')),
    ).toEqual({
      a: true,
      b: true,
      c: false,
      d: false,
      e: 493,
      f: 1000,
      g: 31,
    });
  });

  it('keeps quoted values, timestamps and a bare "=" as strings', () => {
    expect(
      data(configMap('c', '  a: "on"\n  b: "0755"\n  c: 2024-01-02T03:04:05Z\n  d: =\n  e: 1.5\n  f: ~\n')),
    ).toEqual({
      a: 'on',
      b: '0755',
      c: '2024-01-02T03:04:05Z',
      d: '=',
      e: 1.5,
      f: null,
    });
  });

  it('reads a plain key `on` the way the server does: as the key "true"', () => {
    expect(Object.keys(data(configMap('c', '  on: x\n')))).toEqual(['true']);
  });
});

describe('syntax problems, with file, document and line:column', () => {
  const decoder = new Decoder({ file: 'app.yaml' });

  it('reports a YAML syntax error in the third document at its line in the file', () => {
    const text = `${configMap('a', '  k: v\n')}---\n${configMap('b', '  k: v\n')}---\nkind: ConfigMap\ndata: a: b\n`;
    const { objects, errors } = decoder.decodeText(text);
    expect(objects.map((o) => o.metadata.name)).toEqual(['a', 'b']);
    expect(errors).toHaveLength(1);
    const [err] = errors as [GitOpsError];
    expect(err).toBeInstanceOf(GitOpsError);
    expect(err.code).toBe(ErrorCodes.YamlSyntax);
    expect(err.details).toMatchObject({ file: 'app.yaml', document: 2, line: 16, column: 8 });
    expect(err.format()).toMatch(/^app\.yaml:16:8: YamlSyntax: invalid YAML: bad indentation/);
    expect(err.cause).toBeDefined();
  });

  it('reports JSON syntax errors at their line and column, with or without a position from JSON.parse', () => {
    const json = new Decoder({ file: 'a.json' });
    const missingValue = json.decodeText('{"apiVersion": "v1",\n "kind": }\n', { contentType: 'json' });
    expect(where(missingValue.errors)).toEqual(['JsonSyntax 2:10']);
    const second = json.decodeText('[1]\n{"a": 1,, "b": 2}\n', { contentType: 'json' });
    expect(second.errors.map((e) => [e.code, e.details.document, e.details.line, e.details.column])).toEqual([
      ['NotAnObject', 0, 1, 1],
      ['JsonSyntax', 1, 2, 9],
    ]);
  });

  it('gives a JSON error a numeric position even when the nesting is deeper than the stack', () => {
    const text = `{"apiVersion": "v1", "kind": "ConfigMap", "data": ${'['.repeat(200_000)}`;
    const { errors } = new Decoder().decodeText(text, { contentType: 'json' });
    expect(errors.map((e) => e.code)).toEqual(['JsonSyntax']);
    expect(errors[0]?.details.line).toBe(1);
    expect(Number.isInteger(errors[0]?.details.column)).toBe(true);
  });

  it('refuses duplicate keys in YAML and JSON when strict, naming the key', () => {
    const yaml = decoder.decodeText(configMap('a', '  k: 1\n  j: 2\n  k: 3\n'));
    expect(where(yaml.errors)).toEqual(['DuplicateKey 8:3']);
    expect(yaml.errors[0]?.message).toContain('"k"');
    expect(yaml.objects).toEqual([]);
    const json = decoder.decodeText(
      '{"apiVersion": "v1", "kind": "ConfigMap",\n "metadata": {"name": "a", "name": "b"}}',
      {
        contentType: 'json',
      },
    );
    expect(where(json.errors)).toEqual(['DuplicateKey 2:28']);
    expect(json.errors[0]?.details.key).toBe('name');
    // A key of any length is named (a 300-character window once left a long one unnamed).
    const long = 'k'.repeat(400);
    const longJson = decoder.decodeText(
      `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"${long}": "1", "${long}": "2"}}`,
      { contentType: 'json' },
    );
    expect(longJson.errors[0]?.details.key).toBe(long);
    expect(longJson.errors[0]?.message).toContain(long);
  });

  it('keeps the last of duplicate keys when not strict, like the API server', () => {
    const loose = new Decoder({ strict: false });
    expect(loose.decodeText(configMap('a', '  k: 1\n  k: 3\n')).objects[0]?.data).toEqual({ k: 3 });
    const json = loose.decodeText(
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","name":"b"}}',
    );
    expect(json.objects[0]?.metadata.name).toBe('b');
  });

  it('does not take escaped quotes or colons inside JSON strings for keys', () => {
    const { objects, errors } = decoder.decodeText(
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"x":"\\"y\\": 1","z":"a\\\\"}}',
    );
    expect(errors).toEqual([]);
    expect(objects[0]?.data).toEqual({ x: '"y": 1', z: 'a\\' });
  });

  it('refuses a key that is a map: an unrendered {{placeholder}}', () => {
    const { errors } = decoder.decodeText(configMap('a', '  k: v\n  config: {{config_data}}\n'));
    expect(where(errors)).toEqual(['YamlSyntax 7:12']);
    expect(errors[0]?.message).toMatch(/template placeholder/);
  });

  it('refuses a key that is a list, and accepts an explicit plain key', () => {
    expect(where(decoder.decodeText(configMap('a', '  [x, y]: v\n')).errors)).toEqual(['YamlSyntax 6:3']);
    expect(where(decoder.decodeText(configMap('a', '  ? [x, y]\n  : v\n')).errors)).toEqual([
      'YamlSyntax 6:5',
    ]);
    // A `?` inside a value is no key: `a ? b : c` in a CEL rule.
    expect(decoder.decodeText(configMap('a', "  rule: '(has(self.x) ? self.x : 1) >= 0'\n")).errors).toEqual(
      [],
    );
    const explicit = decoder.decodeText(configMap('a', '  ? k\n  : v\n'));
    expect(explicit.errors).toEqual([]);
    expect(explicit.objects[0]?.data).toEqual({ k: 'v' });
  });
});

describe('documents that are not objects', () => {
  const decoder = new Decoder({ file: 'f.yaml' });

  it('yields nothing, and no problem, for comment-only and empty documents', () => {
    const result = decoder.decodeText(
      `# header\n---\n${configMap('a', '  k: v\n')}---\n# just a note\n---\n`,
    );
    expect(result.errors).toEqual([]);
    expect(result.objects).toHaveLength(1);
    expect(result.documents.map((d) => d.empty)).toEqual([true, false, true, true]);
  });

  it('refuses a scalar, a list and an explicit null with NotAnObject at their line', () => {
    const { errors } = decoder.decodeText('just text\n---\n# a list\n- a\n- b\n---\nnull\n');
    expect(errors.map((e) => [e.code, e.details.document, e.details.line])).toEqual([
      ['NotAnObject', 0, 1],
      ['NotAnObject', 1, 4],
      ['NotAnObject', 2, 7],
    ]);
    expect(errors[1]?.message).toMatch(/found a list/);
  });

  it('refuses a big integer document with NotAnObject, naming it (found by the fuzzer)', () => {
    // Describing the value threw "Do not know how to serialize a BigInt": an untyped TypeError
    // with throwOnError, and an error without the document's code and line without it.
    for (const [text, contentType] of [
      ['12176941420362965433\n', 'yaml'],
      ['12176941420362965433', 'json'],
    ] as const) {
      const { errors } = decoder.decodeText(text, { contentType });
      expect(errors.map((e) => [e.code, e.details.line])).toEqual([['NotAnObject', 1]]);
      expect(errors[0]?.message).toMatch(/found a bigint \(12176941420362965433\)/);
      const strict = new Decoder({ throwOnError: true });
      expect(() => strict.decodeText(text, { contentType })).toThrow(GitOpsError);
    }
  });

  it('reports a missing apiVersion, kind and name, pointing into the document', () => {
    const { errors } = decoder.decodeText('# settings\ncluster_name: test\nseeds: [a, b]\n');
    expect(errors.map((e) => e.code)).toEqual([
      ErrorCodes.MissingApiVersion,
      ErrorCodes.MissingKind,
      ErrorCodes.MissingName,
    ]);
    expect(errors.every((e) => e.details.line === 2 && e.details.file === 'f.yaml')).toBe(true);
    const noName = decoder.decodeText('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {a: b}\n');
    expect(where(noName.errors)).toEqual(['MissingName 4:3']);
  });
});

describe('lists', () => {
  const list = (kind: string): string =>
    `apiVersion: v1\nkind: ${kind}\nitems:\n` +
    '- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: one\n' +
    '- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: two\n    labels:\n      bad: [x]\n' +
    '- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: three\n';

  it('expands List and <Kind>List into their items, naming the item of each problem', () => {
    for (const kind of ['List', 'ConfigMapList']) {
      const { objects, errors, documents } = new Decoder({ file: 'l.yaml' }).decodeText(list(kind));
      expect(objects.map((o) => o.metadata.name)).toEqual(['one', 'three']);
      expect(documents[0]?.isList).toBe(true);
      expect(errors).toHaveLength(1);
      expect(errors[0]?.code).toBe(ErrorCodes.TypeMismatch);
      expect(errors[0]?.details).toMatchObject({
        item: 1,
        field: '.items[1].metadata.labels.bad',
        line: 13,
        column: 12,
        object: '/ConfigMap//two',
      });
    }
  });

  it('keeps a List whole when asked', () => {
    const { objects } = new Decoder({ expandLists: false, strict: false }).decodeText(list('List'));
    expect(objects).toHaveLength(1);
    expect(objects[0]?.kind).toBe('List');
  });
});

describe('with a scheme', () => {
  const argoDocs = splitFrames(readFileSync(ARGO, 'utf8'));
  const crds = new Decoder()
    .decodeText(readFileSync(ARGO, 'utf8'))
    .objects.filter((o) => o.kind === 'CustomResourceDefinition');

  function argoScheme(): Scheme {
    const scheme = new Scheme();
    for (const crd of crds) scheme.registerCRD(crd);
    return scheme;
  }

  const application = (extra: string): string =>
    'apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: guestbook\n  namespace: argocd\n' +
    'spec:\n  project: default\n  source:\n    repoURL: https://example.com/repo.git\n    path: guestbook\n' +
    `  destination:\n    server: https://kubernetes.default.svc\n${extra}`;

  it('decodes every argo-cd object with its own CRDs registered', () => {
    expect(argoDocs.length).toBeGreaterThan(50);
    const { objects, errors } = new Decoder({ scheme: argoScheme() }).decodeText(readFileSync(ARGO, 'utf8'));
    expect(errors).toEqual([]);
    expect(objects.length).toBeGreaterThan(50);
  });

  it('reports an unknown field of a CRD-defined kind at its line and column when strict', () => {
    const strict = new Decoder({ scheme: argoScheme(), file: 'app.yaml' });
    const { objects, errors } = strict.decodeText(application('  syncPolicyy:\n    automated: {}\n'));
    expect(objects).toEqual([]);
    expect(errors.map((e) => [e.code, e.details.field, e.details.line, e.details.column])).toEqual([
      ['UnknownField', '.spec.syncPolicyy', 13, 3],
    ]);
    expect(errors[0]?.details.object).toBe('argoproj.io/Application/argocd/guestbook');
    const loose = new Decoder({ scheme: argoScheme(), strict: false }).decodeText(
      application('  syncPolicyy: {}\n'),
    );
    expect(loose.errors).toEqual([]);
    expect(loose.objects).toHaveLength(1);
  });

  it('reports a wrong type at the value', () => {
    const { errors } = new Decoder({ scheme: argoScheme() }).decodeText(
      application('  revisionHistoryLimit: many\n'),
    );
    expect(where(errors)).toEqual(['TypeMismatch 13:25']);
  });

  it('refuses unknown kinds only when asked, telling a missing version from a missing kind', () => {
    const scheme = argoScheme();
    const text =
      application('') + '---\napiVersion: argoproj.io/v9\nkind: Application\nmetadata:\n  name: x\n';
    const other = '---\napiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n';
    expect(new Decoder({ scheme }).decodeText(text + other).objects).toHaveLength(3);
    const { objects, errors } = new Decoder({ scheme, unknownKinds: 'error' }).decodeText(text + other);
    expect(objects).toHaveLength(1);
    expect(errors.map((e) => [e.code, e.details.document, e.details.line])).toEqual([
      ['UnknownVersion', 1, 14],
      ['UnknownKind', 2, 20],
    ]);
  });

  it('applies defaults and converts, leaving the document value as the file says', () => {
    const scheme = new Scheme();
    const widget: KindDefinition = {
      group: 'example.com',
      version: 'v1',
      kind: 'Widget',
      scope: 'Namespaced',
      storage: true,
      schema: {
        type: 'object',
        properties: {
          spec: {
            type: 'object',
            properties: { size: { type: 'integer', default: 3 }, color: { type: 'string' } },
          },
        },
      },
    };
    scheme.register(widget);
    scheme.register({
      ...widget,
      version: 'v1alpha1',
      storage: false,
      schema: {
        type: 'object',
        properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    });
    scheme.addConversion(
      { group: 'example.com', version: 'v1alpha1', kind: 'Widget' },
      {
        toHub: (obj) => ({
          ...obj,
          apiVersion: 'example.com/v1',
          spec: { color: (obj.spec as { colour: string }).colour },
        }),
        fromHub: (obj) => ({
          ...obj,
          apiVersion: 'example.com/v1alpha1',
          spec: { colour: (obj.spec as { color: string }).color },
        }),
      },
    );
    const text =
      'apiVersion: example.com/v1alpha1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  colour: red\n';
    const decoder = new Decoder({ scheme, convertTo: 'hub', applyDefaults: false });
    const { objects, documents, errors } = decoder.decodeText(text);
    expect(errors).toEqual([]);
    expect(objects[0]).toMatchObject({ apiVersion: 'example.com/v1', spec: { color: 'red' } });
    expect(documents[0]?.value).toMatchObject({
      apiVersion: 'example.com/v1alpha1',
      spec: { colour: 'red' },
    });
    const defaulted = new Decoder({ scheme, applyDefaults: true }).decodeText(
      'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  color: red\n',
    );
    expect(defaulted.objects[0]?.spec).toEqual({ color: 'red', size: 3 });
    expect((defaulted.documents[0]?.value as KubeObject).spec).toEqual({ color: 'red' });
    const back = new Decoder({ scheme, convertTo: 'v1alpha1' }).decodeText(
      'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  color: blue\n',
    );
    expect(back.objects[0]).toMatchObject({ apiVersion: 'example.com/v1alpha1', spec: { colour: 'blue' } });
  });

  it('needs a scheme for defaults and conversion', () => {
    expect(() => new Decoder({ applyDefaults: true })).toThrow(GitOpsError);
  });
});

describe('collecting problems', () => {
  const text = 'a: [\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\n- 1\n';

  it('returns every problem of a stream and every good object', async () => {
    const decoder = new Decoder({ file: 's.yaml' });
    const result = await decoder.decodeAll(Readable.from([text.slice(0, 7), text.slice(7)]));
    expect(result.objects.map((o) => o.metadata.name)).toEqual(['ok']);
    expect(result.errors.map((e) => e.code)).toEqual([ErrorCodes.YamlSyntax, ErrorCodes.NotAnObject]);
    expect(result.errors.every((e) => e.details.file === 's.yaml')).toBe(true);
  });

  it('throws the first problem when asked to', async () => {
    const decoder = new Decoder({ throwOnError: true });
    expect(() => decoder.decodeText(text)).toThrow(GitOpsError);
    await expect(decoder.decodeAll(text)).rejects.toMatchObject({ code: ErrorCodes.YamlSyntax });
    const stream = decoder.decodeStream(text);
    await expect(stream.next()).rejects.toMatchObject({ code: ErrorCodes.YamlSyntax });
  });

  it('reports a limit passed in the middle of a stream after the documents before it', async () => {
    const big = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nx: ' + 'y'.repeat(5000) + '\n';
    const result = await new Decoder({ limits: { maxFrameBytes: 1000 } }).decodeAll(Readable.from([big]));
    expect(result.objects).toHaveLength(1);
    expect(result.errors.map((e) => e.code)).toEqual([ErrorCodes.FrameTooLarge]);
  });

  it('decodes a stream one document at a time', async () => {
    const names: string[] = [];
    for await (const doc of new Decoder().decodeStream(
      Readable.from([configMap('a', '  k: v\n'), '---\n', configMap('b', '  k: v\n')]),
    )) {
      names.push(...doc.objects.map((o) => o.metadata.name ?? ''));
    }
    expect(names).toEqual(['a', 'b']);
  });
});

describe('integers beyond 2^53', () => {
  const seedCar = readFileSync(join(import.meta.dirname, '../../../examples/cars/foo.yaml'), 'utf8');

  it('reads the seed Car distance exactly, as a bigint, from YAML and from JSON', () => {
    const yaml = new Decoder().decodeText(seedCar);
    expect(yaml.errors).toEqual([]);
    const status = yaml.objects[0]!.status as Record<string, unknown>;
    expect(status.distance).toBe(12176941420362965433n);
    // Safe integers and floats stay numbers.
    expect(status.persons).toBe(0);
    expect(status.speed).toBe(53.37474583162469);
    const json = new Decoder().decodeText(encodeJson(yaml.objects), { contentType: 'json' });
    expect(json.errors).toEqual([]);
    expect(json.objects).toEqual(yaml.objects);
  });

  it('reads every YAML 1.1 integer form exactly, and leaves quoted digits strings', () => {
    const text = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: big}',
      'big:',
      '  hex: 0xFFFFFFFFFFFFFFFF',
      '  octal: 01777777777777777777777',
      '  binary: 0b11111111111111111111111111111111111111111111111111111111',
      '  negative: -9223372036854775808',
      '  underscores: 12_176_941_420_362_965_433',
      '  safe: 9007199254740991',
      '  float: 12176941420362965433.0',
      '  quoted: "12176941420362965433"',
      '',
    ].join('\n');
    const { objects, errors } = new Decoder({ strict: false }).decodeText(text);
    expect(errors).toEqual([]);
    expect(objects[0]!.big).toEqual({
      hex: 0xffffffffffffffffn,
      octal: 0o1777777777777777777777n,
      binary: 2n ** 56n - 1n,
      negative: -9223372036854775808n,
      underscores: 12176941420362965433n,
      safe: 9007199254740991,
      float: Number('12176941420362965433'),
      quoted: '12176941420362965433',
    });
  });
});
