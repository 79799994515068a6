/**
 * Progress and options of a sync, on the real control plane: the engine reports each wave from
 * its own plan as it starts (so the operator plans once, not once for progress and again to
 * apply), stops reporting once the sync stops, and the operator's target hands the Application's
 * policy to the engine whole as `SyncOptions`.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { KubeClient } from '../../src/kube/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import { SYNC_WAVE_ANNOTATION, SyncEngine, applicationFor, syncOptionsOf } from '../../src/sync/index.js';
import type { SyncRequest, WaveProgress } from '../../src/sync/index.js';
import { EngineTarget } from '../../src/sync/engine-target.js';
import { clusterSetupTimeoutMs, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';

let cluster: TestCluster;
let client: KubeClient;

beforeAll(async () => {
  cluster = await useCluster();
  client = KubeClient.fromKubeconfig({ kubeconfigPath: cluster.kubeconfigPath });
}, clusterSetupTimeoutMs);

afterAll(() => client?.close());

const cm = (name: string, namespace: string, wave: number, data: Record<string, unknown> = { v: '1' }) =>
  ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, annotations: { [SYNC_WAVE_ANNOTATION]: String(wave) } },
    data,
  }) as KubeObject;

describe('progress from the sync’s own plan', () => {
  it('reports each wave with objects as it starts, with its own object count', async () => {
    const ns = await testNamespace(cluster, 'progress');
    const engine = new SyncEngine(client, { inventoryNamespace: ns.name });
    const seen: WaveProgress[] = [];
    const result = await engine.sync({
      application: 'progress',
      objects: [cm('b', ns.name, 1), cm('a', ns.name, 0), cm('c', ns.name, 1), cm('d', ns.name, 3)],
      onWave: (w) => seen.push(w),
    });
    expect(result.ok).toBe(true);
    expect(seen).toEqual([
      { index: 0, total: 3, objects: 1 },
      { index: 1, total: 3, objects: 2 },
      { index: 2, total: 3, objects: 1 },
    ]);
  });

  it('reports no wave after the sync stopped', async () => {
    const ns = await testNamespace(cluster, 'progress-stop');
    const engine = new SyncEngine(client, { inventoryNamespace: ns.name });
    const seen: WaveProgress[] = [];
    const result = await engine.sync({
      application: 'progress-stop',
      // The API server refuses a number as a ConfigMap value: wave 0 fails, so wave 1 never starts.
      objects: [cm('bad', ns.name, 0, { v: 1 }), cm('later', ns.name, 1)],
      waitForHealth: true,
      onWave: (w) => seen.push(w),
    });
    expect(result.ok).toBe(false);
    expect(result.objects.find((o) => o.key?.name === 'later')?.message).toBe('not attempted');
    expect(seen).toEqual([{ index: 0, total: 2, objects: 1 }]);
  });
});

describe('the operator’s target', () => {
  it('plans once when progress is asked for, and passes the policy’s sync options whole', async () => {
    const ns = await testNamespace(cluster, 'target-options');
    const target = new EngineTarget({ client });
    const plan = vi.spyOn(target.engine, 'plan');
    const sync = vi.spyOn(target.engine, 'sync');
    const app = applicationFor({
      name: 'opts',
      namespace: ns.name,
      repoURL: 'https://git.example/opts.git',
      destinationNamespace: ns.name,
      prune: true,
      waitForHealth: true,
    });
    const seen: Array<{ index: number; total: number; objects: number }> = [];
    const outcome = await target.sync({
      app,
      revision: 'r1',
      objects: [cm('one', ns.name, 0), cm('two', ns.name, 1)],
      dryRun: false,
      onWave: (w) => seen.push(w),
    });
    expect(outcome.error).toBeUndefined();
    expect(plan).toHaveBeenCalledTimes(1);
    expect(seen).toEqual([
      { index: 0, total: 2, objects: 1 },
      { index: 1, total: 2, objects: 1 },
    ]);
    const request = sync.mock.calls[0]![0] as SyncRequest;
    expect(request).toMatchObject({ prune: true, waitForHealth: true, dryRun: false });

    await target.drifted(app, [cm('one', ns.name, 0)]);
    expect(sync.mock.calls[1]![0]).toMatchObject({ prune: true, waitForHealth: true, dryRun: true });
  });

  it('takes the sync options, and only them, from an Application’s policy', () => {
    const app = applicationFor({
      name: 'a',
      repoURL: 'https://git.example/a.git',
      prune: true,
      selfHeal: true,
    });
    expect(syncOptionsOf(app.spec.policy)).toEqual({ prune: true, waitForHealth: false });
  });
});
