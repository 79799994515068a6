/** Events aggregated as client-go's recorder does, on the real API server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KubeClient } from '../../src/kube/index.js';
import { applicationFor } from '../../src/operator/application.js';
import type { SyncRecord } from '../../src/operator/reconciler.js';
import { SyncEventRecorder } from '../../src/operator/sync-events.js';
import { clusterSetupTimeoutMs, kubeRequestOk, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';

let cluster: TestCluster;
let client: KubeClient;

beforeAll(async () => {
  cluster = await useCluster();
  client = KubeClient.fromKubeconfig({ kubeconfigPath: cluster.kubeconfigPath });
}, clusterSetupTimeoutMs);
afterAll(() => client?.close());

interface Event {
  metadata: { name: string };
  reason: string;
  message: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
}

async function events(ns: string): Promise<Event[]> {
  const list = (await kubeRequestOk(cluster, 'GET', `/api/v1/namespaces/${ns}/events`)) as { items: Event[] };
  return list.items.sort((a, b) => (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : b.count - a.count));
}

const synced = (revision: string): SyncRecord => ({
  app: 'x',
  reason: 'timer',
  result: 'synced',
  revision,
  durationMs: Math.random() * 1000,
  objects: 3,
});

describe('SyncEventRecorder', () => {
  it('counts a repeated Event instead of creating another, and starts again when it is gone', async () => {
    const ns = await testNamespace(cluster, 'events-agg');
    const app = applicationFor({ name: 'agg', namespace: ns.name, repoURL: 'https://example.com/r.git' });
    const errors: unknown[] = [];
    const recorder = new SyncEventRecorder(client, { onError: (e) => errors.push(e) });
    const revision = 'a'.repeat(40);

    await recorder.record(app, synced(revision));
    await recorder.record(app, { ...synced(revision), reason: 'webhook' });
    await recorder.record(app, synced(revision));
    let listed = await events(ns.name);
    expect(errors).toEqual([]);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      reason: 'Synced',
      count: 3,
      message: 'applied revision aaaaaaaaaaaa (3 objects)',
    });
    expect(Date.parse(listed[0]!.lastTimestamp)).toBeGreaterThanOrEqual(
      Date.parse(listed[0]!.firstTimestamp),
    );

    // Another message (another revision, a failure) is another Event.
    await recorder.record(app, synced('b'.repeat(40)));
    await recorder.record(app, { ...synced(revision), result: 'failed' });
    listed = await events(ns.name);
    expect(listed.map((e) => [e.reason, e.count])).toEqual([
      ['SyncFailed', 1],
      ['Synced', 3],
      ['Synced', 1],
    ]);

    // The counted Event expired (deleted here): the next repeat creates a new one.
    const counted = listed.find((e) => e.count === 3)!;
    await kubeRequestOk(cluster, 'DELETE', `/api/v1/namespaces/${ns.name}/events/${counted.metadata.name}`);
    await recorder.record(app, synced(revision));
    listed = await events(ns.name);
    expect(errors).toEqual([]);
    expect(listed.filter((e) => e.message.startsWith('applied revision aaaa')).map((e) => e.count)).toEqual([
      1,
    ]);
  }, 60_000);
});
