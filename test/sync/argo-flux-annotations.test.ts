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
  it(
    'Replace=true and Flux force: enabled re-create an object whose change is refused as immutable',
    async () => {
      const ns = (await testNamespace(cluster, 'argo-replace')).name;
      const app = `replace-${ns.slice(-8)}`;
      const frozen = (name: string, v: string, annotations: Record<string, string> = {}) =>
        ({ ...cm(name, ns, { v }, annotations), immutable: true }) as KubeObject;
      const objects = (v: string) => [
        frozen('plain', v),
        frozen('argo', v, { 'argocd.argoproj.io/sync-options': 'Replace=true' }),
        frozen('flux', v, { 'kustomize.toolkit.fluxcd.io/force': 'enabled' }),
      ];
      const first = await engine.sync({ application: app, objects: objects('1'), inventoryNamespace: ns });
      expect(first.ok, formatResult(first)).toBe(true);
      const uids = new Map<string, string | undefined>();
      for (const name of ['plain', 'argo', 'flux']) uids.set(name, (await get(ns, name))?.metadata.uid);

      const second = await engine.sync({ application: app, objects: objects('2'), inventoryNamespace: ns });
      const byName = new Map(second.objects.map((o) => [o.key?.name, o]));
      // Without the annotation the server's refusal stands and the object is left as it was.
      expect(byName.get('plain')?.action).toBe('failed');
      expect(byName.get('plain')?.error?.message).toMatch(/immutable/i);
      expect((await get(ns, 'plain'))?.data).toEqual({ v: '1' });
      expect((await get(ns, 'plain'))?.metadata.uid).toBe(uids.get('plain'));
      // With either annotation the object is deleted and made again with the new content.
      for (const name of ['argo', 'flux']) {
        expect(byName.get(name)?.action, name).toBe('configured');
        const live = await get(ns, name);
        expect(live?.data, name).toEqual({ v: '2' });
        expect(live?.metadata.uid, name).not.toBe(uids.get(name));
      }
    },
    SLOW,
  );

  it(
    'Validate=false leaves out fields the schema does not declare (custom and built-in kinds); SkipDryRunOnMissingResource passes a dry run of an unserved kind',
    async () => {
      const ns = (await testNamespace(cluster, 'argo-validate')).name;
      const app = `validate-${ns.slice(-8)}`;
      // A kind of this test's own, so that parallel runs do not share it.
      const plural = `gadgets${ns.slice(-8)}`;
      const group = 'test.libgitops.dev';
      const crd = {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `${plural}.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural, singular: plural.slice(0, -1), kind: `Gadget${ns.slice(-8)}` },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
                },
              },
            },
          ],
        },
      } as KubeObject;
      const gadget = (name: string, annotations: Record<string, string>) =>
        ({
          apiVersion: `${group}/v1`,
          kind: `Gadget${ns.slice(-8)}`,
          metadata: { name, namespace: ns, annotations },
          spec: { size: 1, colour: 'red' },
        }) as KubeObject;
      const result = await engine.sync({
        application: app,
        inventoryNamespace: ns,
        objects: [
          crd,
          gadget('strict', {}),
          gadget('lenient', { 'argocd.argoproj.io/sync-options': 'Validate=false' }),
        ],
      });
      const byName = new Map(result.objects.map((o) => [o.key?.name, o]));
      expect(byName.get('strict')?.action).toBe('failed');
      expect(byName.get('strict')?.error?.message).toMatch(/colour/);
      expect(byName.get('lenient')?.error?.message, 'lenient').toBeUndefined();
      expect(byName.get('lenient')?.action).toBe('created');
      const lenient = await client.get({
        apiVersion: `${group}/v1`,
        kind: `Gadget${ns.slice(-8)}`,
        namespace: ns,
        name: 'lenient',
      });
      // The field the schema does not declare is left out.
      expect(lenient?.spec).toEqual({ size: 1 });

      // The same on a built-in kind: a misspelt top-level field of a ConfigMap.
      const typo = (name: string, annotations: Record<string, string>) =>
        ({ ...cm(name, ns, { v: '1' }, annotations), dataa: { x: '1' } }) as KubeObject;
      const builtIn = await engine.sync({
        application: `${app}-cm`,
        inventoryNamespace: ns,
        objects: [
          typo('strict-cm', {}),
          typo('lenient-cm', { 'argocd.argoproj.io/sync-options': 'Validate=false' }),
        ],
      });
      const cmByName = new Map(builtIn.objects.map((o) => [o.key?.name, o]));
      expect(cmByName.get('strict-cm')?.action).toBe('failed');
      expect(cmByName.get('strict-cm')?.error?.message).toMatch(/dataa/);
      expect(cmByName.get('lenient-cm')?.action).toBe('created');
      expect(await get(ns, 'strict-cm')).toBeUndefined();
      expect((await get(ns, 'lenient-cm'))?.data).toEqual({ v: '1' });

      const widget = (name: string, annotations: Record<string, string>) =>
        ({
          apiVersion: 'example.libgitops.dev/v1',
          kind: 'Widget',
          metadata: { name, namespace: ns, annotations },
          spec: { size: 1 },
        }) as KubeObject;
      const dry = await engine.sync({
        application: `${app}-dry`,
        inventoryNamespace: ns,
        dryRun: true,
        objects: [
          widget('checked', {}),
          widget('skipped', { 'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true' }),
        ],
      });
      const dryByName = new Map(dry.objects.map((o) => [o.key?.name, o]));
      expect(dryByName.get('checked')?.action).toBe('failed');
      expect(dryByName.get('checked')?.error?.code).toBe(ErrorCodes.UnknownKind);
      expect(dryByName.get('skipped')?.action).toBe('created');
      expect(dryByName.get('skipped')?.message).toMatch(/SkipDryRunOnMissingResource/);
      await client.delete({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        name: `${plural}.${group}`,
      });
    },
    SLOW,
  );
});
