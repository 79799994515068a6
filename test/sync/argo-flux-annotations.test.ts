import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KubeClient } from '../../src/kube/index.js';
import { ErrorCodes } from '../../src/runtime/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import { SyncEngine, formatResult } from '../../src/sync/index.js';
import { clusterSetupTimeoutMs, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';

const SLOW = 120_000;
let cluster: TestCluster;
let client: KubeClient;
let engine: SyncEngine;

beforeAll(async () => {
  cluster = await useCluster();
  client = KubeClient.fromKubeconfig({ kubeconfigPath: cluster.kubeconfigPath });
  engine = new SyncEngine(client);
}, clusterSetupTimeoutMs);

afterAll(() => client?.close());

const cm = (
  name: string,
  namespace: string,
  data: Record<string, string>,
  annotations: Record<string, string> = {},
) =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, annotations }, data }) as KubeObject;
const get = (namespace: string, name: string) =>
  client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name });

describe('a repository written for Argo CD or Flux', () => {
  it(
    'follows Argo CD waves, keeps Prune=false and Flux prune: disabled objects',
    async () => {
      const ns = (await testNamespace(cluster, 'argo-waves')).name;
      const app = `waves-${ns.slice(-8)}`;
      const objects = [
        cm('late', ns, { v: '1' }, { 'argocd.argoproj.io/sync-wave': '5' }),
        cm('early', ns, { v: '1' }, { 'argocd.argoproj.io/sync-wave': '-1' }),
        cm('kept-argo', ns, { v: '1' }, { 'argocd.argoproj.io/sync-options': 'Prune=false' }),
        cm('kept-flux', ns, { v: '1' }, { 'kustomize.toolkit.fluxcd.io/prune': 'disabled' }),
        cm('gone', ns, { v: '1' }),
      ];
      const first = await engine.sync({
        application: app,
        objects,
        inventoryNamespace: ns,
        waitForHealth: true,
      });
      expect(first.ok, formatResult(first)).toBe(true);
      expect(first.objects.map((o) => [o.key?.name, o.wave])).toEqual([
        ['early', -1],
        ['gone', 0],
        ['kept-argo', 0],
        ['kept-flux', 0],
        ['late', 5],
      ]);
      const second = await engine.sync({
        application: app,
        objects: objects.slice(0, 2),
        inventoryNamespace: ns,
        prune: true,
      });
      expect(second.ok, formatResult(second)).toBe(true);
      const byName = new Map(second.objects.map((o) => [o.key?.name, o]));
      expect(byName.get('gone')?.action).toBe('pruned');
      expect(byName.get('kept-argo')?.action).toBe('skipped');
      expect(byName.get('kept-flux')?.action).toBe('skipped');
      expect(await get(ns, 'gone')).toBeUndefined();
      expect(await get(ns, 'kept-argo')).toBeDefined();
      expect(await get(ns, 'kept-flux')).toBeDefined();
    },
    SLOW,
  );

  it(
    'Flux ssa: IfNotPresent creates once and never updates; Ignore never applies',
    async () => {
      const ns = (await testNamespace(cluster, 'flux-ssa')).name;
      const app = `ssa-${ns.slice(-8)}`;
      await client.apply(cm('ignored', ns, { v: 'by-hand' }));
      const objects = (v: string) => [
        cm('once', ns, { v }, { 'kustomize.toolkit.fluxcd.io/ssa': 'IfNotPresent' }),
        cm('ignored', ns, { v }, { 'kustomize.toolkit.fluxcd.io/ssa': 'Ignore' }),
        cm('never', ns, { v }, { 'kustomize.toolkit.fluxcd.io/reconcile': 'disabled' }),
        cm('normal', ns, { v }),
      ];
      const first = await engine.sync({ application: app, objects: objects('1'), inventoryNamespace: ns });
      expect(first.ok, formatResult(first)).toBe(true);
      expect((await get(ns, 'once'))?.data).toEqual({ v: '1' });
      expect((await get(ns, 'ignored'))?.data).toEqual({ v: 'by-hand' });
      expect(await get(ns, 'never')).toBeUndefined();

      const second = await engine.sync({
        application: app,
        objects: objects('2'),
        inventoryNamespace: ns,
        prune: true,
      });
      expect(second.ok, formatResult(second)).toBe(true);
      const byName = new Map(second.objects.map((o) => [o.key?.name, o.action]));
      expect(byName.get('once')).toBe('unchanged');
      expect(byName.get('ignored')).toBe('skipped');
      expect(byName.get('normal')).toBe('configured');
      expect((await get(ns, 'once'))?.data).toEqual({ v: '1' });
      expect((await get(ns, 'normal'))?.data).toEqual({ v: '2' });
      expect((await get(ns, 'ignored'))?.data).toEqual({ v: 'by-hand' });
    },
    SLOW,
  );

  it(
    'a conflict fails that object only; an unsupported annotation is a warning',
    async () => {
      const ns = (await testNamespace(cluster, 'argo-conflict')).name;
      const app = `conflict-${ns.slice(-8)}`;
      const result = await engine.sync({
        application: app,
        inventoryNamespace: ns,
        objects: [
          cm(
            'torn',
            ns,
            { v: '1' },
            { 'gitops.libgitops.dev/prune': 'false', 'kustomize.toolkit.fluxcd.io/prune': 'enabled' },
          ),
          cm('warned', ns, { v: '1' }, { 'argocd.argoproj.io/sync-options': 'PruneLast=true' }),
        ],
      });
      expect(result.ok).toBe(false);
      const torn = result.objects.find((o) => o.key?.name === 'torn');
      expect(torn?.action).toBe('failed');
      expect(torn?.error?.code).toBe(ErrorCodes.AnnotationConflict);
      expect(await get(ns, 'torn')).toBeUndefined();
      const warned = result.objects.find((o) => o.key?.name === 'warned');
      expect(warned?.action).toBe('created');
      expect(warned?.warnings?.join('\n')).toMatch(/PruneLast=true/);
      expect(formatResult(result)).toMatch(/warning: .*PruneLast=true/);
    },
    SLOW,
  );
});
