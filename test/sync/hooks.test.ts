import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KubeClient } from '../../src/kube/index.js';
import { ErrorCodes } from '../../src/runtime/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import { Inventory, SyncEngine, formatResult } from '../../src/sync/index.js';
import type { SyncResult } from '../../src/sync/index.js';
import { clusterSetupTimeoutMs, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';

const SLOW = 180_000;
let cluster: TestCluster;
let client: KubeClient;
let engine: SyncEngine;

beforeAll(async () => {
  cluster = await useCluster();
  client = KubeClient.fromKubeconfig({ kubeconfigPath: cluster.kubeconfigPath });
  engine = new SyncEngine(client, { healthPollIntervalMs: 200, hookTimeoutMs: 120_000 });
}, clusterSetupTimeoutMs);

afterAll(() => client?.close());

function job(
  name: { name?: string; generateName?: string },
  namespace: string,
  annotations: Record<string, string>,
  pod: Record<string, string> = {},
): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { ...name, namespace, annotations },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { annotations: pod },
        spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] },
      },
    },
  } as KubeObject;
}

const cm = (name: string, namespace: string, annotations: Record<string, string> = {}, v = '1') =>
  ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, annotations },
    data: { v },
  }) as KubeObject;

const deployment = (name: string, namespace: string): KubeObject =>
  ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image: 'nginx' }] },
      },
    },
  }) as KubeObject;

const get = (apiVersion: string, kind: string, namespace: string, name: string) =>
  client.get({ apiVersion, kind, namespace, name });
const hookOf = (result: SyncResult, prefix: string) =>
  result.objects.find((o) => o.hook !== undefined && (o.hook.name ?? o.key?.name ?? '').startsWith(prefix));
const time = (s: unknown) => Date.parse(String(s));

describe('hooks on a cluster where Jobs run', () => {
  it(
    'runs a PreSync migration before the Deployment, a Sync hook in its wave, PostSync with HookSucceeded; reruns only on a change, with BeforeHookCreation',
    async () => {
      const ns = (await testNamespace(cluster, 'hooks')).name;
      const app = `hooks-${ns.slice(-8)}`;
      const objects = (v: string) => [
        job(
          { generateName: 'migrate-' },
          ns,
          { 'argocd.argoproj.io/hook': 'PreSync' },
          { 'test.libgitops.dev/succeed-after': '1s' },
        ),
        cm('first', ns, { 'argocd.argoproj.io/sync-wave': '0' }, v),
        job({ name: 'seed' }, ns, {
          'argocd.argoproj.io/hook': 'Sync',
          'argocd.argoproj.io/sync-wave': '1',
          'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
        }),
        cm('last', ns, { 'argocd.argoproj.io/sync-wave': '2' }),
        deployment('web', ns),
        job({ name: 'smoke' }, ns, {
          'argocd.argoproj.io/hook': 'PostSync',
          'argocd.argoproj.io/hook-delete-policy': 'HookSucceeded',
        }),
      ];
      const first = await engine.sync({
        application: app,
        objects: objects('1'),
        inventoryNamespace: ns,
        prune: true,
      });
      expect(first.ok, formatResult(first)).toBe(true);
      const migrate = hookOf(first, 'migrate-');
      expect(migrate?.hook).toMatchObject({ phase: 'PreSync', outcome: 'Succeeded' });
      expect(migrate?.hook?.name).toMatch(/^migrate-[a-z0-9]{5}$/);
      const migrateJob = await get('batch/v1', 'Job', ns, migrate!.hook!.name!);
      const web = await get('apps/v1', 'Deployment', ns, 'web');
      // The Deployment was created only after the migration finished.
      expect(time(web?.metadata?.creationTimestamp)).toBeGreaterThanOrEqual(
        time((migrateJob?.status as { completionTime?: string }).completionTime),
      );
      const seed = await get('batch/v1', 'Job', ns, 'seed');
      const last = await get('v1', 'ConfigMap', ns, 'last');
      const firstCm = await get('v1', 'ConfigMap', ns, 'first');
      const seedDone = time((seed?.status as { completionTime?: string }).completionTime);
      expect(time(seed?.metadata?.creationTimestamp)).toBeGreaterThanOrEqual(
        time(firstCm?.metadata?.creationTimestamp),
      );
      expect(time(last?.metadata?.creationTimestamp)).toBeGreaterThanOrEqual(seedDone);
      expect(hookOf(first, 'smoke')?.hook).toMatchObject({
        phase: 'PostSync',
        outcome: 'Succeeded',
        deleted: true,
      });
      expect(await get('batch/v1', 'Job', ns, 'smoke')).toBeUndefined();
      // Hooks are not in the inventory, so they are never pruned.
      const inventory = new Inventory(client, app, ns);
      const ids = [...(await inventory.read()).keys()];
      expect(ids.some((id) => id.includes('/Job/'))).toBe(false);
      expect(ids).toContain(`apps/Deployment/${ns}/web`);

      // Same desired state: no hook runs again.
      const same = await engine.sync({
        application: app,
        objects: objects('1'),
        inventoryNamespace: ns,
        prune: true,
      });
      expect(same.ok, formatResult(same)).toBe(true);
      expect(same.objects.filter((o) => o.hook !== undefined).map((o) => o.action)).toEqual([
        'skipped',
        'skipped',
        'skipped',
      ]);
      expect(same.requests.writes).toBe(0);

      // A change: hooks run again; BeforeHookCreation replaces the old seed Job.
      const changed = await engine.sync({
        application: app,
        objects: objects('2'),
        inventoryNamespace: ns,
        prune: true,
      });
      expect(changed.ok, formatResult(changed)).toBe(true);
      const seedAgain = await get('batch/v1', 'Job', ns, 'seed');
      expect(seedAgain?.metadata?.uid).not.toBe(seed?.metadata?.uid);
      expect(hookOf(changed, 'seed')?.hook?.outcome).toBe('Succeeded');
      // generateName: a new migration Job each run, the old one kept (no delete policy asks otherwise).
      expect(hookOf(changed, 'migrate-')?.hook?.name).not.toBe(migrate!.hook!.name);
      expect(formatResult(changed)).toMatch(/hook PreSync Succeeded/);
    },
    SLOW,
  );

  it(
    'a failing hook fails the sync, stops later phases and runs the SyncFail hooks',
    async () => {
      const ns = (await testNamespace(cluster, 'hooks-fail')).name;
      const app = `hookfail-${ns.slice(-8)}`;
      const result = await engine.sync({
        application: app,
        inventoryNamespace: ns,
        objects: [
          job(
            { name: 'migrate' },
            ns,
            { 'argocd.argoproj.io/hook': 'PreSync' },
            { 'test.libgitops.dev/fail': 'true' },
          ),
          deployment('web', ns),
          cm('after', ns, { 'argocd.argoproj.io/hook': 'PostSync' }),
          cm('cleanup', ns, { 'argocd.argoproj.io/hook': 'SyncFail' }),
        ],
      });
      expect(result.ok).toBe(false);
      expect(result.errors[0]?.code).toBe(ErrorCodes.HookFailed);
      expect(result.errors[0]?.message).toMatch(/PreSync hook .*migrate failed/);
      const migrate = hookOf(result, 'migrate');
      expect(migrate?.action).toBe('failed');
      expect(migrate?.hook?.outcome).toBe('Failed');
      expect(result.objects.find((o) => o.key?.name === 'web')?.action).toBe('skipped');
      expect(await get('apps/v1', 'Deployment', ns, 'web')).toBeUndefined();
      expect(hookOf(result, 'after')?.action).toBe('skipped');
      expect(await get('v1', 'ConfigMap', ns, 'after')).toBeUndefined();
      expect(hookOf(result, 'cleanup')?.hook?.outcome).toBe('Succeeded');
      expect(await get('v1', 'ConfigMap', ns, 'cleanup')).toBeDefined();
    },
    SLOW,
  );

  it(
    'generateName is refused on an object that is not a hook',
    async () => {
      const ns = (await testNamespace(cluster, 'hooks-gen')).name;
      const result = await engine.sync({
        application: `gen-${ns.slice(-8)}`,
        inventoryNamespace: ns,
        objects: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { generateName: 'x-', namespace: ns },
          } as KubeObject,
        ],
      });
      expect(result.ok).toBe(false);
      expect(result.objects[0]?.error?.code).toBe(ErrorCodes.MissingName);
      expect(result.objects[0]?.error?.message).toMatch(/generateName is allowed on hooks only/);
    },
    SLOW,
  );
});
