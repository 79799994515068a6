/**
 * Leader election against the real test cluster when the replicas' clocks disagree: another
 * "replica" (this file, writing the Lease through the API server) stamps renewTime with a clock
 * an hour behind or ahead. Expiry must follow whether the lease keeps changing, never its
 * renewTime read against our clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KubeClient } from '../../src/kube/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import { LeaderElector } from '../../src/operator/leader-election.js';
import { clusterSetupTimeoutMs, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';

let cluster: TestCluster;
let client: KubeClient;

beforeAll(async () => {
  cluster = await useCluster();
  client = KubeClient.fromKubeconfig({ kubeconfigPath: cluster.kubeconfigPath });
}, clusterSetupTimeoutMs);

afterAll(() => client?.close());

const LEASE = 'libgitops-operator';
const DURATION_SECONDS = 3;
const HOUR_MS = 3_600_000;

function leasePath(namespace: string, name?: string): string {
  const base = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
  return name === undefined ? base : `${base}/${name}`;
}

function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

async function readLease(namespace: string): Promise<KubeObject & { spec: Record<string, unknown> }> {
  const lease = await client.get({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    namespace,
    name: LEASE,
  });
  if (lease === undefined) throw new Error(`the Lease ${namespace}/${LEASE} is missing`);
  return lease as KubeObject & { spec: Record<string, unknown> };
}

/** A replica whose clock is `skewMs` off ours, holding the lease by writing it every `periodMs`. */
class SkewedReplica {
  /** performance.now() when the latest renewal was sent. */
  lastRenewalSent = 0;
  renewals = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(
    private readonly namespace: string,
    private readonly skewMs: number,
  ) {}

  async renew(): Promise<void> {
    const sent = performance.now();
    const spec = {
      holderIdentity: 'skewed-replica',
      leaseDurationSeconds: DURATION_SECONDS,
      renewTime: microTime(Date.now() + this.skewMs),
    };
    const existing = await client.get({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      namespace: this.namespace,
      name: LEASE,
    });
    if (existing === undefined) {
      await client.rest.request({
        method: 'POST',
        path: leasePath(this.namespace),
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: LEASE, namespace: this.namespace },
          spec: { ...spec, acquireTime: spec.renewTime, leaseTransitions: 0 },
        },
      });
    } else {
      // A replace naming the resourceVersion read: it fails if anyone else wrote in between.
      await client.rest.request({
        method: 'PUT',
        path: leasePath(this.namespace, LEASE),
        body: { ...existing, spec: { ...(existing as { spec: object }).spec, ...spec } },
        retry: false,
      });
    }
    this.lastRenewalSent = sent;
    this.renewals++;
  }

  keepRenewing(periodMs: number): void {
    const loop = (): void => {
      this.running = this.renew().then(
        () => {
          if (this.timer !== undefined) this.timer = setTimeout(loop, periodMs);
        },
        (error: unknown) => {
          this.failure = error;
        },
      );
    };
    this.timer = setTimeout(loop, periodMs);
  }

  /** Stops renewing; throws if any renewal failed (e.g. because the lease was taken from it). */
  async stop(): Promise<void> {
    const timer = this.timer;
    this.timer = undefined;
    clearTimeout(timer);
    await this.running;
    if (this.failure !== undefined) throw this.failure;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function holdWhileElectorTries(skewMs: number, label: string): Promise<void> {
  const ns = await testNamespace(cluster, label);
  const replica = new SkewedReplica(ns.name, skewMs);
  await replica.renew();
  replica.keepRenewing(250);
  const started: number[] = [];
  const elector = new LeaderElector({
    client,
    namespace: ns.name,
    identity: 'us',
    retryPeriodMs: 100,
    onStartedLeading: () => started.push(performance.now()),
  });
  elector.start();
  try {
    // More than two lease durations of renewals: long enough for a wrongly judged lease to be taken.
    await sleep(DURATION_SECONDS * 1000 * 2 + 1000);
    expect(started).toEqual([]);
    expect(elector.isLeader).toBe(false);
    await replica.stop();
    expect(replica.renewals).toBeGreaterThan(10);
    expect((await readLease(ns.name)).spec.holderIdentity).toBe('skewed-replica');

    // The replica stops renewing: the lease is taken once a full duration has passed on our
    // clock since its last change, and not before.
    const deadline = performance.now() + DURATION_SECONDS * 1000 + 15_000;
    while (started.length === 0 && performance.now() < deadline) await sleep(50);
    expect(started, 'the lease that stopped being renewed was never taken').toHaveLength(1);
    expect(started[0]! - replica.lastRenewalSent).toBeGreaterThanOrEqual(DURATION_SECONDS * 1000);
    const lease = await readLease(ns.name);
    expect(lease.spec.holderIdentity).toBe('us');
    expect(lease.spec.leaseTransitions).toBe(1);
  } finally {
    await replica.stop().catch(() => undefined);
    await elector.stop();
  }
  // Stopping hands the lease back: no holder, free at once for the next replica.
  expect((await readLease(ns.name)).spec.holderIdentity).toBe('');
  const next = new LeaderElector({ client, namespace: ns.name, identity: 'next' });
  expect(await next.tryAcquireOrRenew()).toBe(true);
  await next.stop();
}

describe('leader election with skewed clocks', () => {
  it('never takes a lease renewed with a clock an hour behind, and takes it a duration after renewals stop', async () => {
    await holdWhileElectorTries(-HOUR_MS, 'lease-behind');
  }, 60_000);

  it('never takes a lease renewed with a clock an hour ahead, and takes it a duration after renewals stop', async () => {
    await holdWhileElectorTries(HOUR_MS, 'lease-ahead');
  }, 60_000);

  it('waits a full duration for a lease it has never seen change, even one renewed "just now"', async () => {
    const ns = await testNamespace(cluster, 'lease-first-sight');
    const replica = new SkewedReplica(ns.name, 0);
    await replica.renew();
    const elector = new LeaderElector({ client, namespace: ns.name, identity: 'us' });
    try {
      const seen = performance.now();
      expect(await elector.tryAcquireOrRenew()).toBe(false);
      // Unchanged but for less than a duration on our clock: still held. A loaded machine may
      // stall past the full duration before the call returns; then taking it is right, so only
      // a take within the duration (measured after the call, an upper bound) is a failure.
      await sleep(DURATION_SECONDS * 500);
      const taken = await elector.tryAcquireOrRenew();
      const tookTooEarly = taken && performance.now() - seen < DURATION_SECONDS * 1000;
      expect(tookTooEarly).toBe(false);
      if (taken) return;
      await sleep(Math.max(0, DURATION_SECONDS * 1000 - (performance.now() - seen)) + 500);
      expect(await elector.tryAcquireOrRenew()).toBe(true);
    } finally {
      await elector.stop();
    }
  }, 30_000);
});
