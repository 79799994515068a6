import { beforeAll, describe, expect, it } from 'vitest';

import { KubeClient } from '../../src/kube/index.js';
import { LeaderElector } from '../../src/operator/leader-election.js';
import { clusterSetupTimeoutMs, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await useCluster();
}, clusterSetupTimeoutMs);

describe('leader election through a Lease', () => {
  it('lets exactly one of two replicas lead, and hands over on stop', async () => {
    const ns = await testNamespace(cluster, 'op-lease');
    const client = KubeClient.fromKubeconfig({ kubeconfigPath: cluster.kubeconfigPath });
    const a = new LeaderElector({ client, namespace: ns.name, identity: 'replica-a', retryPeriodMs: 200 });
    const b = new LeaderElector({ client, namespace: ns.name, identity: 'replica-b', retryPeriodMs: 200 });
    // Racing for a lease nobody holds yet: the API server lets one create (or replace) win.
    const [wonA, wonB] = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    expect([wonA, wonB].filter(Boolean)).toHaveLength(1);
    // Renewals do not change who leads.
    for (let i = 0; i < 3; i++) {
      const [again, other] = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
      expect([again, other]).toEqual([wonA, wonB]);
    }
    const [leader, standby] = wonA ? [a, b] : [b, a];
    leader.start();
    standby.start();
    await leader.stop();
    expect(leader.isLeader).toBe(false);
    const deadline = Date.now() + 10_000;
    while (!standby.isLeader && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(standby.isLeader).toBe(true);
    await standby.stop();
    client.close();
  }, 60_000);
});
