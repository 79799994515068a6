import { describe, expect, it } from 'vitest';

import {
  applyFields,
  applyPatch,
  applyStrategicMergePatch,
  createPatch,
  createStrategicMergePatch,
} from '../../src/patch/index.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', labels: { a: '1' }, finalizers: ['x/a', 'x/b'] },
  spec: {
    containers: [
      {
        name: 'app',
        image: 'app:1',
        ports: [{ containerPort: 80 }, { containerPort: 81, name: 'b' }],
        volumeMounts: [{ name: 'v', mountPath: '/v' }],
      },
    ],
    volumes: [{ name: 'v', emptyDir: {} }],
  },
};

describe('strategic merge patch', () => {
  it('merges lists by their real merge keys (containerPort, mountPath), not only by name', () => {
    const out = applyStrategicMergePatch(pod, {
      spec: {
        containers: [
          {
            name: 'app',
            ports: [{ containerPort: 81, name: 'renamed' }],
            volumeMounts: [{ mountPath: '/v', readOnly: true }],
          },
        ],
      },
    });
    expect(out.spec.containers[0]).toEqual({
      name: 'app',
      image: 'app:1',
      ports: [{ containerPort: 80 }, { containerPort: 81, name: 'renamed' }],
      volumeMounts: [{ name: 'v', mountPath: '/v', readOnly: true }],
    });
    expect(pod.spec.containers[0]!.ports).toHaveLength(2);
  });

  it('knows $deleteFromPrimitiveList, $setElementOrder, $patch: replace and $retainKeys', () => {
    const out = applyStrategicMergePatch(pod, {
      metadata: { '$deleteFromPrimitiveList/finalizers': ['x/a'], finalizers: ['x/c'] },
      spec: {
        containers: [{ name: 'side', image: 's' }],
        '$setElementOrder/containers': [{ name: 'app' }, { name: 'side' }],
        volumes: [{ name: 'w', emptyDir: {} }, { $patch: 'replace' }],
      },
    });
    expect(out.metadata.finalizers).toEqual(['x/c', 'x/b']);
    expect(out.spec.containers.map((c) => c.name)).toEqual(['app', 'side']);
    expect(out.spec.volumes).toEqual([{ name: 'w', emptyDir: {} }]);
    const deploy = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } },
    };
    expect(
      applyStrategicMergePatch(deploy, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } })
        .spec,
    ).toEqual({ strategy: { type: 'Recreate' } });
  });

  it('merges a custom resource as a JSON merge patch does: lists are replaced', () => {
    const car = {
      apiVersion: 'sample-app.weave.works/v1alpha1',
      kind: 'Car',
      spec: { parts: [{ name: 'a', n: 1 }] },
    };
    expect(applyStrategicMergePatch(car, { spec: { parts: [{ name: 'b' }] } }).spec).toEqual({
      parts: [{ name: 'b' }],
    });
  });

  it('refuses a malformed patch with BadRequest and changes nothing', () => {
    const before = structuredClone(pod);
    for (const bad of [
      { spec: { containers: [{ image: 'no-name' }] } },
      { spec: { containers: [{ $patch: 'delete' }] } },
      { metadata: { $patch: 'sideways' } },
    ]) {
      const error = (() => {
        try {
          applyStrategicMergePatch(pod, bad);
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(GitOpsError);
      expect((error as GitOpsError).code).toBe(ErrorCodes.BadRequest);
    }
    expect(pod).toEqual(before);
  });
});

describe('createPatch', () => {
  const target = structuredClone(pod) as typeof pod & { spec: { nodeName?: string } };
  target.metadata.labels = { b: '2' } as never;
  target.metadata.finalizers = ['x/b', 'x/c'];
  target.spec.containers[0]!.ports = [{ containerPort: 81, name: 'b2' }];
  target.spec.containers.unshift({ name: 'init', image: 'i', ports: [], volumeMounts: [] });
  target.spec.volumes = [];
  target.spec.nodeName = 'n1';

  it.each(['json', 'merge', 'strategic'] as const)('makes a %s patch that turns from into to', (type) => {
    const patch = createPatch(pod, target, type);
    expect(patch.type).toBe(type);
    expect(applyPatch(pod, patch)).toEqual(target);
    expect(createPatch(pod, structuredClone(pod), type)).toEqual(
      type === 'json' ? { type, operations: [] } : { type, patch: {} },
    );
  });

  it('writes a strategic patch with only the changed items, by merge key', () => {
    const patch = createStrategicMergePatch(pod, target);
    expect(patch.spec).toMatchObject({
      '$setElementOrder/containers': [{ name: 'init' }, { name: 'app' }],
      containers: [
        { name: 'init', image: 'i', ports: [], volumeMounts: [] },
        {
          name: 'app',
          ports: [
            { containerPort: 81, name: 'b2' },
            { $patch: 'delete', containerPort: 80 },
          ],
        },
      ],
    });
    expect(patch.metadata).toEqual({
      labels: { a: null, b: '2' },
      finalizers: ['x/c'],
      '$deleteFromPrimitiveList/finalizers': ['x/a'],
      '$setElementOrder/finalizers': ['x/b', 'x/c'],
    });
  });

  it('field-level apply merges ports by containerPort', () => {
    const out = applyFields(pod, {
      spec: { containers: [{ name: 'app', ports: [{ containerPort: 80, name: 'a' }] }] },
    }) as typeof pod;
    expect(out.spec.containers[0]!.ports).toEqual([
      { containerPort: 80, name: 'a' },
      { containerPort: 81, name: 'b' },
    ]);
  });
});
