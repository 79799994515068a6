import { describe, expect, it } from 'vitest';

import type { KubeObject } from '../../src/runtime/index.js';
import { DESIRED_HASH_ANNOTATION, diffObjects, sameObject } from '../../src/sync/index.js';

const base = (replicas: number, extra: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    resourceVersion: String(replicas),
    generation: replicas,
    managedFields: [{ manager: 'x', time: String(replicas) }],
    annotations: { [DESIRED_HASH_ANNOTATION]: `h${replicas}`, ...extra },
  },
  spec: { replicas, template: { spec: { containers: [{ name: 'app', image: 'nginx' }] } } },
  status: { replicas },
});

describe('diffObjects', () => {
  it('ignores server-set fields, status and our hash', () => {
    expect(
      sameObject(base(1), {
        ...base(1),
        metadata: { ...base(1).metadata, resourceVersion: '99' },
        status: {},
      }),
    ).toBe(true);
    expect(
      diffObjects(base(1), {
        ...base(1),
        metadata: { ...base(1).metadata, annotations: { [DESIRED_HASH_ANNOTATION]: 'other' } },
      }),
    ).toEqual([]);
  });

  it('names each changed field by path', () => {
    const after = base(3, { note: 'hi' });
    (
      after.spec as { template: { spec: { containers: Array<{ image: string }> } } }
    ).template.spec.containers[0]!.image = 'nginx:2';
    expect(diffObjects(base(1), after)).toEqual([
      { path: '.metadata.annotations.note', change: 'added', desired: 'hi' },
      { path: '.spec.replicas', change: 'changed', live: 1, desired: 3 },
      {
        path: '.spec.template.spec.containers[0].image',
        change: 'changed',
        live: 'nginx',
        desired: 'nginx:2',
      },
    ]);
  });

  it('never shows Secret values', () => {
    const secret = (value: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { password: value },
    });
    const changes = diffObjects(secret('b2xk'), secret('bmV3'));
    expect(changes).toEqual([
      { path: '.data.password', change: 'changed', live: '(secret)', desired: '(secret)' },
    ]);
    expect(JSON.stringify(diffObjects(undefined, secret('bmV3')))).not.toContain('bmV3');
  });
});
