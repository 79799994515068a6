import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  formatApiVersion,
  groupKindToString,
  gvkEquals,
  gvkOf,
  gvkToString,
  isGitOpsError,
  parseApiVersion,
  sortByVersionPriority,
} from '../../src/runtime/index.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isGitOpsError(err) ? err.code : `not a GitOpsError: ${String(err)}`;
  }
  return undefined;
}

describe('parseApiVersion', () => {
  it.each([
    ['v1', '', 'v1'],
    ['apps/v1', 'apps', 'v1'],
    ['sample-app.weave.works/v1alpha1', 'sample-app.weave.works', 'v1alpha1'],
    ['rbac.authorization.k8s.io/v1beta1', 'rbac.authorization.k8s.io', 'v1beta1'],
  ])('%s', (apiVersion, group, version) => {
    expect(parseApiVersion(apiVersion)).toEqual({ group, version });
    expect(formatApiVersion({ group, version })).toBe(apiVersion);
  });

  it.each(['', 'apps/', '/v1', 'a/b/c', 'Apps/v1', 'apps/V1', 'apps/v 1', 'apps_x/v1', '-apps/v1'])(
    'refuses %j with InvalidApiVersion',
    (bad) => {
      expect(codeOf(() => parseApiVersion(bad))).toBe('InvalidApiVersion');
    },
  );

  it('says what the expected form is', () => {
    expect(() => parseApiVersion('a/b/c')).toThrow(/"<group>\/<version>"/);
  });
});

describe('gvkOf', () => {
  it('reads group, version and kind', () => {
    expect(gvkOf({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: {} })).toEqual({
      group: 'apps',
      version: 'v1',
      kind: 'Deployment',
    });
  });

  it('names what is missing', () => {
    expect(codeOf(() => gvkOf({ kind: 'Pod' }))).toBe('MissingApiVersion');
    expect(codeOf(() => gvkOf({ apiVersion: 'v1' }))).toBe('MissingKind');
    expect(codeOf(() => gvkOf({ apiVersion: 'v1', kind: '' }))).toBe('MissingKind');
    expect(codeOf(() => gvkOf({ apiVersion: 1, kind: 'Pod' }))).toBe('InvalidApiVersion');
    expect(codeOf(() => gvkOf({ apiVersion: 'x/y/z', kind: 'Pod' }))).toBe('InvalidApiVersion');
    expect(codeOf(() => gvkOf('text'))).toBe('MissingApiVersion');
  });
});

describe('string forms', () => {
  it('prints GVKs like apimachinery', () => {
    expect(gvkToString({ group: 'apps', version: 'v1', kind: 'Deployment' })).toBe(
      'apps/v1, Kind=Deployment',
    );
    expect(gvkToString({ group: '', version: 'v1', kind: 'Pod' })).toBe('/v1, Kind=Pod');
  });

  it('prints GroupKinds like kubectl', () => {
    expect(groupKindToString({ group: 'apps', kind: 'Deployment' })).toBe('Deployment.apps');
    expect(groupKindToString({ group: '', kind: 'Pod' })).toBe('Pod');
  });

  it('compares GVKs field by field', () => {
    const a = { group: 'apps', version: 'v1', kind: 'Deployment' };
    expect(gvkEquals(a, { ...a })).toBe(true);
    expect(gvkEquals(a, { ...a, version: 'v1beta1' })).toBe(false);
    expect(gvkEquals(a, { ...a, group: 'extensions' })).toBe(false);
    expect(gvkEquals(a, { ...a, kind: 'DaemonSet' })).toBe(false);
  });
});

describe('compareVersions', () => {
  it('orders by Kubernetes version priority', () => {
    const ordered = [
      'v10',
      'v2',
      'v1',
      'v11beta2',
      'v10beta3',
      'v3beta1',
      'v12alpha1',
      'v11alpha2',
      'foo1',
      'foo10',
    ];
    const shuffled = [...ordered].reverse();
    expect(sortByVersionPriority(shuffled)).toEqual(ordered);
  });

  it('says which of two has the higher priority', () => {
    expect(compareVersions('v1', 'v1beta2')).toBeGreaterThan(0);
    expect(compareVersions('v1beta2', 'v1beta1')).toBeGreaterThan(0);
    expect(compareVersions('v1beta1', 'v1alpha1')).toBeGreaterThan(0);
    expect(compareVersions('v1alpha1', 'other')).toBeGreaterThan(0);
    expect(compareVersions('v1alpha1', 'v2')).toBeLessThan(0);
    expect(compareVersions('v1', 'v1')).toBe(0);
  });
});
