import { describe, expect, it } from 'vitest';

import {
  allOf,
  anyOf,
  applyListOptions,
  byFields,
  byKind,
  byLabels,
  byName,
  byNamespace,
  byUid,
  compileListOptions,
  not,
  pipe,
  toListFilter,
  where,
} from '../../src/filter/index.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';
import type { KubeObject } from '../../src/runtime/index.js';

function car(
  name: string,
  namespace: string | undefined,
  labels: Record<string, string> = {},
  uid = '',
): KubeObject {
  const metadata: KubeObject['metadata'] = { name, labels, uid: uid || `uid-${name}` };
  if (namespace !== undefined) metadata.namespace = namespace;
  return {
    apiVersion: 'sample-app.weave.works/v1alpha1',
    kind: 'Car',
    metadata,
    spec: { brand: name.toUpperCase() },
  };
}

const cars = [
  car('foo', 'default', { owner: 'family' }, '1234-aaaa'),
  car('foobar', 'fleet', { owner: 'work' }),
  car('bar', 'fleet', { owner: 'work', tier: 'gold' }),
];
const namespace: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'fleet' } };
const names = (objs: readonly KubeObject[]): string[] => objs.map((o) => o.metadata.name!);

describe('object filters', () => {
  it('filters by exact name and by prefix', () => {
    expect(names(cars.filter((c) => byName('foo').matches(c)))).toEqual(['foo']);
    expect(names(cars.filter((c) => byName('foo', { prefix: true }).matches(c)))).toEqual(['foo', 'foobar']);
  });

  it('filters by namespace, with "" for cluster-scoped objects', () => {
    expect(names([...cars, namespace].filter((c) => byNamespace('fleet').matches(c)))).toEqual([
      'foobar',
      'bar',
    ]);
    expect(names([...cars, namespace].filter((c) => byNamespace('').matches(c)))).toEqual(['fleet']);
  });

  it('filters by uid, exact or prefix', () => {
    expect(names(cars.filter((c) => byUid('1234', { prefix: true }).matches(c)))).toEqual(['foo']);
    expect(names(cars.filter((c) => byUid('1234').matches(c)))).toEqual([]);
  });

  it('filters by kind, in a group or any group', () => {
    const all = [...cars, namespace];
    expect(names(all.filter((c) => byKind('Namespace', '').matches(c)))).toEqual(['fleet']);
    expect(names(all.filter((c) => byKind('Car', 'sample-app.weave.works').matches(c)))).toHaveLength(3);
    expect(names(all.filter((c) => byKind('Car', 'other.example.com').matches(c)))).toEqual([]);
    expect(names(all.filter((c) => byKind('Car').matches(c)))).toHaveLength(3);
  });

  it('refuses empty names and uids like the Go library (ErrInvalidFilterParams)', () => {
    expect(() => byName('')).toThrowError(GitOpsError);
    expect(() => byUid('')).toThrowError(/non-empty uid/);
  });

  it('composes with allOf, anyOf, not, where and list pipes', () => {
    const work = byLabels('owner=work');
    const gold = byLabels({ matchLabels: { tier: 'gold' } });
    expect(names(cars.filter((c) => allOf(work, not(gold)).matches(c)))).toEqual(['foobar']);
    expect(names(cars.filter((c) => anyOf(byName('foo'), gold).matches(c)))).toEqual(['foo', 'bar']);
    expect(cars.filter((c) => anyOf().matches(c))).toEqual([]);
    expect(cars.filter((c) => allOf().matches(c))).toHaveLength(3);
    const long = where((c) => c.metadata.name!.length > 3, 'long names');
    expect(names(pipe(toListFilter(work), toListFilter(long))(cars))).toEqual(['foobar']);
    expect(allOf(work, long).description).toBe('labels owner=work, long names');
    expect(names(cars.filter((c) => byFields('spec.brand=BAR').matches(c)))).toEqual(['bar']);
  });
});

describe('list options', () => {
  it('combine every condition and expose the exact values for an index', () => {
    const compiled = compileListOptions({
      kind: 'Car',
      group: 'sample-app.weave.works',
      labelSelector: 'owner=work',
      fieldSelector: 'metadata.namespace=fleet,metadata.name=bar',
    });
    expect(compiled).toMatchObject({
      kind: 'Car',
      group: 'sample-app.weave.works',
      namespace: 'fleet',
      name: 'bar',
      everything: false,
    });
    expect(names(cars.filter((c) => compiled.filter.matches(c)))).toEqual(['bar']);
    expect(compileListOptions({}).everything).toBe(true);
  });

  it('applies name prefixes, uids and extra filters', () => {
    expect(names(applyListOptions(cars, { namePrefix: 'foo', namespace: 'fleet' }))).toEqual(['foobar']);
    expect(names(applyListOptions(cars, { uid: '1234-aaaa' }))).toEqual(['foo']);
    expect(names(applyListOptions(cars, { filter: [byName('bar')] }))).toEqual(['bar']);
    expect(names(applyListOptions(cars, { filter: byNamespace('default') }))).toEqual(['foo']);
    expect(names(applyListOptions(cars, {}))).toEqual(['foo', 'foobar', 'bar']);
  });

  it('reports a bad selector as BadRequest', () => {
    try {
      compileListOptions({ labelSelector: 'a in (' });
      expect.unreachable();
    } catch (err) {
      expect((err as GitOpsError).code).toBe(ErrorCodes.BadRequest);
    }
  });
});
