import { describe, expect, it } from 'vitest';
import {
  ObjectKeyMap,
  isGitOpsError,
  keyOf,
  objectKeyToString,
  objectKeysEqual,
  parseObjectKey,
} from '../../src/runtime/index.js';
import type { ObjectKey } from '../../src/runtime/index.js';

describe('keyOf', () => {
  it('keys a namespaced object without its version', () => {
    const v1 = keyOf({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
    });
    const beta = keyOf({
      apiVersion: 'apps/v1beta2',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop' },
    });
    expect(v1).toEqual({ group: 'apps', kind: 'Deployment', namespace: 'shop', name: 'web' });
    expect(objectKeysEqual(v1, beta)).toBe(true);
  });

  it('leaves the namespace out for cluster-scoped objects', () => {
    expect(keyOf({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'monitoring' } })).toEqual({
      group: '',
      kind: 'Namespace',
      name: 'monitoring',
    });
  });

  it('refuses an object without a name', () => {
    let error: unknown;
    try {
      keyOf({ apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'x-' } });
    } catch (err) {
      error = err;
    }
    expect(isGitOpsError(error, 'MissingName')).toBe(true);
  });
});

describe('string form', () => {
  const cases: [ObjectKey, string][] = [
    [{ group: 'apps', kind: 'Deployment', namespace: 'default', name: 'web' }, 'apps/Deployment/default/web'],
    [{ group: '', kind: 'ConfigMap', namespace: 'default', name: 'settings' }, '/ConfigMap/default/settings'],
    [{ group: '', kind: 'Namespace', name: 'monitoring' }, '/Namespace//monitoring'],
    [
      { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      'rbac.authorization.k8s.io/ClusterRole//system:auth-delegator',
    ],
    [{ group: 'x.io', kind: 'Odd', namespace: 'n', name: 'a/b%2Fc' }, 'x.io/Odd/n/a%2Fb%252Fc'],
  ];

  it.each(cases)('%j <-> %s', (key, text) => {
    expect(objectKeyToString(key)).toBe(text);
    expect(parseObjectKey(text)).toEqual(key);
  });

  it('round-trips awkward names', () => {
    for (const name of ['%', '%25', '/', '//', 'a%2F', '%2f', 'ü/ñ']) {
      const key = { group: 'g.io', kind: 'K', namespace: 'ns', name };
      expect(parseObjectKey(objectKeyToString(key))).toEqual(key);
    }
  });

  it.each(['', 'apps/Deployment/web', 'a/b/c/d/e', 'apps//default/web', 'apps/Deployment/default/'])(
    'refuses %j',
    (text) => {
      expect(() => parseObjectKey(text)).toThrow(/object key of the form/);
    },
  );
});

describe('objectKeysEqual', () => {
  it('treats an empty namespace like none', () => {
    expect(
      objectKeysEqual(
        { group: '', kind: 'Node', name: 'n1' },
        { group: '', kind: 'Node', namespace: '', name: 'n1' },
      ),
    ).toBe(true);
    expect(
      objectKeysEqual(
        { group: '', kind: 'Pod', namespace: 'a', name: 'p' },
        { group: '', kind: 'Pod', namespace: 'b', name: 'p' },
      ),
    ).toBe(false);
  });
});

describe('ObjectKeyMap', () => {
  it('finds values by equal keys, not by identity', () => {
    const map = new ObjectKeyMap<number>();
    map.set({ group: 'apps', kind: 'Deployment', namespace: 'a', name: 'web' }, 1);
    map.set({ group: '', kind: 'Node', namespace: '', name: 'n1' }, 2);
    expect(map.get({ group: 'apps', kind: 'Deployment', namespace: 'a', name: 'web' })).toBe(1);
    expect(map.has({ group: '', kind: 'Node', name: 'n1' })).toBe(true);
    expect(map.get({ group: 'apps', kind: 'Deployment', namespace: 'b', name: 'web' })).toBeUndefined();
    map.set({ group: 'apps', kind: 'Deployment', namespace: 'a', name: 'web' }, 3);
    expect(map.size).toBe(2);
    expect([...map.values()]).toEqual([3, 2]);
    expect([...map.keys()][1]).toEqual({ group: '', kind: 'Node', name: 'n1' });
    expect(map.delete({ group: '', kind: 'Node', name: 'n1' })).toBe(true);
    expect([...map].map(([key, value]) => `${objectKeyToString(key)}=${value}`)).toEqual([
      'apps/Deployment/a/web=3',
    ]);
  });
});
