import { describe, expect, it } from 'vitest';

import { builtinIsNamespaced } from '../../src/runtime/index.js';
import type { GroupKind, KubeObject } from '../../src/runtime/index.js';
import {
  APPLICATION_LABEL,
  DESIRED_HASH_ANNOTATION,
  SYNC_WAVE_ANNOTATION,
  TRACKING_ID_ANNOTATION,
  planSync,
} from '../../src/sync/index.js';

const scope = (gk: GroupKind) => builtinIsNamespaced(gk);

function obj(apiVersion: string, kind: string, name: string, extra: Partial<KubeObject> = {}): KubeObject {
  return { apiVersion, kind, metadata: { name, ...(extra.metadata ?? {}) }, ...extra } as KubeObject;
}

const crd = (group: string, kind: string, plural: string, scopeName = 'Namespaced'): KubeObject =>
  obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', `${plural}.${group}`, {
    spec: {
      group,
      scope: scopeName,
      names: { kind, plural },
      versions: [{ name: 'v1', served: true, storage: true }],
    },
  });

describe('planSync', () => {
  it('puts the Namespace before the Deployment whatever the input order (the seed operator case)', () => {
    const plan = planSync({
      application: 'seed',
      defaultNamespace: 'default',
      isNamespaced: scope,
      objects: [
        obj('apps/v1', 'Deployment', 'nginx', { metadata: { name: 'nginx', namespace: 'nginx' } }),
        obj('v1', 'Namespace', 'nginx'),
      ],
    });
    expect(plan.objects.map((p) => p.id)).toEqual(['/Namespace//nginx', 'apps/Deployment/nginx/nginx']);
    expect(plan.steps.map((s) => s.stage)).toEqual([0, 2]);
  });

  it('orders by phase, wave, stage, kind and name, with admission configuration last', () => {
    const plan = planSync({
      application: 'app',
      defaultNamespace: 'ns',
      isNamespaced: scope,
      objects: [
        obj('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', 'hook'),
        obj('v1', 'Service', 'b'),
        obj('v1', 'ConfigMap', 'z'),
        obj('v1', 'ConfigMap', 'a'),
        obj('apps/v1', 'Deployment', 'late', {
          metadata: { name: 'late', annotations: { [SYNC_WAVE_ANNOTATION]: '2' } },
        }),
        obj('batch/v1', 'Job', 'first', {
          metadata: { name: 'first', annotations: { 'gitops.libgitops.dev/sync-phase': 'PreSync' } },
        }),
        obj('example.com/v1', 'Widget', 'w'),
        obj('v1', 'ServiceAccount', 'sa', {
          metadata: { name: 'sa', annotations: { [SYNC_WAVE_ANNOTATION]: '-1' } },
        }),
      ],
    });
    expect(plan.rejected).toEqual([]);
    expect(plan.objects.map((p) => `${p.phase}:${p.wave}:${p.key.kind}/${p.key.name}`)).toEqual([
      'PreSync:0:Job/first',
      'Sync:-1:ServiceAccount/sa',
      'Sync:0:ConfigMap/a',
      'Sync:0:ConfigMap/z',
      'Sync:0:Service/b',
      'Sync:0:Widget/w',
      'Sync:0:ValidatingWebhookConfiguration/hook',
      'Sync:2:Deployment/late',
    ]);
  });

  it('moves a Namespace and a CRD to the earliest wave of what needs them', () => {
    const plan = planSync({
      application: 'app',
      defaultNamespace: 'default',
      isNamespaced: scope,
      objects: [
        obj('example.com/v1', 'Widget', 'early', {
          metadata: { name: 'early', namespace: 'team', annotations: { [SYNC_WAVE_ANNOTATION]: '-5' } },
        }),
        {
          ...crd('example.com', 'Widget', 'widgets'),
          metadata: { name: 'widgets.example.com', annotations: { [SYNC_WAVE_ANNOTATION]: '3' } },
        },
        obj('v1', 'Namespace', 'team', {
          metadata: { name: 'team', annotations: { [SYNC_WAVE_ANNOTATION]: '9' } },
        }),
      ],
    });
    expect(plan.objects.map((p) => `${p.wave}:${p.stage}:${p.key.kind}`)).toEqual([
      '-5:0:Namespace',
      '-5:0:CustomResourceDefinition',
      '-5:2:Widget',
    ]);
  });

  it('learns the scope of custom kinds from CRDs in the input and fills in the default namespace', () => {
    const plan = planSync({
      application: 'app',
      defaultNamespace: 'apps',
      isNamespaced: scope,
      objects: [
        crd('example.com', 'Widget', 'widgets'),
        crd('example.com', 'Cluster', 'clusters', 'Cluster'),
        obj('example.com/v1', 'Widget', 'w'),
        obj('example.com/v1', 'Cluster', 'c', { metadata: { name: 'c', namespace: 'ignored' } }),
        obj('v1', 'Namespace', 'n', { metadata: { name: 'n', namespace: 'ignored' } }),
      ],
    });
    const ids = plan.objects.map((p) => p.id);
    expect(ids).toContain('example.com/Widget/apps/w');
    expect(ids).toContain('example.com/Cluster//c');
    expect(ids).toContain('/Namespace//n');
  });

  it('marks each object as ours and hashes it; the hash follows the content only', () => {
    const make = (value: string) =>
      planSync({
        application: 'shop',
        defaultNamespace: 'web',
        isNamespaced: scope,
        objects: [obj('v1', 'ConfigMap', 'settings', { data: { mode: value } })],
      }).objects[0]!;
    const a = make('fast');
    expect(a.object.metadata.labels?.[APPLICATION_LABEL]).toBe('shop');
    expect(a.object.metadata.annotations?.[TRACKING_ID_ANNOTATION]).toBe('shop:/ConfigMap/web/settings');
    expect(a.object.metadata.annotations?.[DESIRED_HASH_ANNOTATION]).toBe(a.desiredHash);
    expect(a.desiredHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(make('fast').desiredHash).toBe(a.desiredHash);
    expect(make('slow').desiredHash).not.toBe(a.desiredHash);
  });

  it('rejects bad objects alone: duplicates, bad waves, missing names', () => {
    const plan = planSync({
      application: 'app',
      defaultNamespace: 'default',
      isNamespaced: scope,
      objects: [
        obj('v1', 'ConfigMap', 'twice'),
        obj('v1', 'ConfigMap', 'twice'),
        obj('v1', 'ConfigMap', 'bad-wave', {
          metadata: { name: 'bad-wave', annotations: { [SYNC_WAVE_ANNOTATION]: 'soon' } },
        }),
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} },
        'not an object',
        obj('v1', 'ConfigMap', 'fine'),
      ],
    });
    expect(plan.objects.map((p) => p.key.name)).toEqual(['fine']);
    expect(plan.rejected.map((r) => r.error.code).sort()).toEqual([
      'Ambiguous',
      'Ambiguous',
      'Invalid',
      'MissingName',
      'NotAnObject',
    ]);
    expect(plan.rejected.find((r) => r.error.code === 'Invalid')?.error.message).toContain(
      'must be an integer',
    );
  });

  it('expands Lists, as kube-prometheus writes some of its RBAC', () => {
    const plan = planSync({
      application: 'app',
      defaultNamespace: 'default',
      isNamespaced: scope,
      objects: [
        {
          apiVersion: 'v1',
          kind: 'ConfigMapList',
          items: [obj('v1', 'ConfigMap', 'a'), obj('v1', 'ConfigMap', 'b')],
        },
      ],
    });
    expect(plan.objects.map((p) => p.key.name)).toEqual(['a', 'b']);
  });

  it('refuses an application name that cannot be a label value', () => {
    expect(() =>
      planSync({ application: 'Bad Name', defaultNamespace: 'd', isNamespaced: scope, objects: [] }),
    ).toThrow(/application name/);
  });
});
