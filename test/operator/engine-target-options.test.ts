/**
 * The operator's target and the engine's options, on the real control plane: with progress
 * asked for, the input is planned once (the engine reports waves from its own plan), and the
 * Application's policy reaches the engine whole as `SyncOptions`, for syncs and drift dry-runs.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { KubeClient } from '../../src/kube/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import { EngineTarget, applicationFor } from '../../src/operator/index.js';
import { SYNC_WAVE_ANNOTATION, syncOptionsOf } from '../../src/sync/index.js';
import type { SyncRequest } from '../../src/sync/index.js';
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
