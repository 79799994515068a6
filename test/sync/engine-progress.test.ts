/**
 * Progress of a sync, on the real control plane: the engine reports each wave from its own plan
 * as it starts (so the operator plans once, not once for progress and again to apply), and stops
 * reporting once the sync stops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KubeClient } from '../../src/kube/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import { SYNC_WAVE_ANNOTATION, SyncEngine } from '../../src/sync/index.js';
import type { WaveProgress } from '../../src/sync/index.js';
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
