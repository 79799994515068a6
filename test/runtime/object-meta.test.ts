import { describe, expect, it } from 'vitest';
import {
  formatFieldPath,
  isKubeObject,
  isList,
  parseFieldPath,
  validateObjectMeta,
  validateUnstructured,
} from '../../src/runtime/index.js';
import type { GitOpsError } from '../../src/runtime/index.js';

const brief = (problems: GitOpsError[]): string[] =>
  problems.map((p) => `${p.code} ${p.details.field ?? ''}`);

describe('validateUnstructured', () => {
  it('accepts a plain object of any kind', () => {
    expect(
      validateUnstructured({
        apiVersion: 'example.com/v1',
        kind: 'Anything',
        metadata: { name: 'x', namespace: 'ns', labels: { app: 'web' }, annotations: { 'a.io/b': 'on' } },
        spec: { whatever: [1, 2] },
      }),
    ).toEqual([]);
  });

  it('reports every missing part at once', () => {
    expect(brief(validateUnstructured({ metadata: {} }))).toEqual([
      'MissingApiVersion .apiVersion',
      'MissingKind .kind',
      'MissingName .metadata.name',
    ]);
  });

  it('reports a malformed apiVersion and a non-map metadata', () => {
    expect(brief(validateUnstructured({ apiVersion: 'a/b/c', kind: 'X', metadata: ['x'] }))).toEqual([
      'InvalidApiVersion .apiVersion',
      'TypeMismatch .metadata',
    ]);
    expect(brief(validateUnstructured({ apiVersion: 2, kind: 3, metadata: { name: 'a' } }))).toEqual([
      'InvalidApiVersion .apiVersion',
      'TypeMismatch .kind',
    ]);
  });

  it('needs metadata with a name, or generateName', () => {
    expect(brief(validateUnstructured({ apiVersion: 'v1', kind: 'Pod' }))).toEqual([
      'MissingName .metadata.name',
    ]);
    expect(
      validateUnstructured({ apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'job-' } }),
    ).toEqual([]);
  });

  it('refuses what is not a map', () => {
    expect(brief(validateUnstructured('key: value'))).toEqual(['NotAnObject ']);
    expect(brief(validateUnstructured([1]))).toEqual(['NotAnObject ']);
  });

  it('accepts a List without a name', () => {
    expect(validateUnstructured({ apiVersion: 'v1', kind: 'List', items: [] })).toEqual([]);
    expect(
      brief(validateUnstructured({ apiVersion: 'v1', kind: 'ConfigMapList', metadata: 'x', items: [] })),
    ).toEqual(['TypeMismatch .metadata']);
  });
});

describe('ObjectMeta rules', () => {
  it('wants labels and annotations as maps of strings', () => {
    const problems = validateObjectMeta({
      name: 'a',
      labels: { enabled: true, port: 8080, ok: 'yes' },
      annotations: { 'example.com/replicas': 3 },
    });
    expect(brief(problems)).toEqual([
      'TypeMismatch .metadata.labels.enabled',
      'TypeMismatch .metadata.labels.port',
      'TypeMismatch .metadata.annotations["example.com/replicas"]',
    ]);
    expect(problems[0]!.message).toMatch(/quote it in YAML/);
  });

  it('checks label syntax', () => {
    expect(
      brief(
        validateObjectMeta({
          name: 'a',
          labels: { 'bad key!': 'x', good: 'has space', 'Example.com/x': 'v' },
        }),
      ),
    ).toEqual([
      'Invalid .metadata.labels["bad key!"]',
      'Invalid .metadata.labels.good',
      'Invalid .metadata.labels["Example.com/x"]',
    ]);
    expect(
      validateObjectMeta({ name: 'a', labels: { 'app.kubernetes.io/name': 'grafana', empty: '' } }),
    ).toEqual([]);
  });

  it('checks names and namespaces', () => {
    expect(brief(validateObjectMeta({ name: 'a/b' }))).toEqual(['Invalid .metadata.name']);
    expect(brief(validateObjectMeta({ name: '..' }))).toEqual(['Invalid .metadata.name']);
    expect(brief(validateObjectMeta({ name: 'ok', namespace: 'Not_OK' }))).toEqual([
      'Invalid .metadata.namespace',
    ]);
    expect(brief(validateObjectMeta({ name: 5 }))).toEqual(['TypeMismatch .metadata.name']);
    expect(validateObjectMeta({ name: 'system:controller:x' })).toEqual([]);
  });

  it('checks the types of the other fields', () => {
    expect(
      brief(
        validateObjectMeta({
          name: 'a',
          generation: 'one',
          creationTimestamp: 5,
          finalizers: ['x', 1],
          ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p' }],
        }),
      ),
    ).toEqual([
      'TypeMismatch .metadata.generation',
      'TypeMismatch .metadata.creationTimestamp',
      'TypeMismatch .metadata.finalizers[1]',
      'Invalid .metadata.ownerReferences[0].uid',
    ]);
    expect(validateObjectMeta({ name: 'a', creationTimestamp: null })).toEqual([]);
  });

  it('reports unknown metadata fields only when strict', () => {
    const meta = { name: 'a', label: { app: 'web' } };
    expect(validateObjectMeta(meta)).toEqual([]);
    const problems = validateObjectMeta(meta, { strict: true });
    expect(brief(problems)).toEqual(['UnknownField .metadata.label']);
    expect(
      brief(validateUnstructured({ apiVersion: 'v1', kind: 'Pod', metadata: meta }, { strict: true })),
    ).toEqual(['UnknownField .metadata.label']);
  });

  it('does not need a name for embedded metadata', () => {
    expect(validateObjectMeta({ labels: { app: 'x' } }, { requireName: false })).toEqual([]);
    expect(brief(validateObjectMeta(undefined))).toEqual(['MissingName .metadata.name']);
  });
});

describe('object shapes', () => {
  it('tells objects and lists apart', () => {
    expect(isKubeObject({ apiVersion: 'v1', kind: 'Pod', metadata: {} })).toBe(true);
    expect(isKubeObject({ apiVersion: 'v1', kind: 'Pod' })).toBe(false);
    expect(isList({ apiVersion: 'v1', kind: 'List', items: [] })).toBe(true);
    expect(isList({ apiVersion: 'v1', kind: 'RoleBindingList', items: [{}] })).toBe(true);
    expect(isList({ apiVersion: 'v1', kind: 'RoleBindingList' })).toBe(false);
    expect(isList({ apiVersion: 'v1', kind: 'Playlist', items: 'x' })).toBe(false);
    expect(isList({ apiVersion: 'v1', kind: 'List' })).toBe(false);
  });
});

describe('field paths', () => {
  it('round-trip through their string form', () => {
    const cases: [(string | number)[], string][] = [
      [['spec', 'template', 'spec', 'containers', 0, 'image'], '.spec.template.spec.containers[0].image'],
      [['metadata', 'labels', 'app.kubernetes.io/name'], '.metadata.labels["app.kubernetes.io/name"]'],
      [['data', 'a"]b\\'], '.data["a\\"]b\\\\"]'],
      [['x-kubernetes', '0', 1], '.x-kubernetes["0"][1]'],
      [[], ''],
    ];
    for (const [segments, text] of cases) {
      expect(formatFieldPath(segments)).toBe(text);
      expect(parseFieldPath(text)).toEqual(segments);
    }
  });

  it('refuses malformed paths', () => {
    expect(() => parseFieldPath('spec')).toThrow(/not a field path/);
    expect(() => parseFieldPath('.spec[x]')).toThrow(/not a field path/);
    expect(() => parseFieldPath('.a["b"')).toThrow(/not a field path/);
    expect(() => parseFieldPath('.a["\\q"]')).toThrow(expect.objectContaining({ code: 'BadRequest' }));
  });
});
