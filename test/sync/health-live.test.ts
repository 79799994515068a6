/**
 * Health of workloads on status written by the real controllers: the test cluster runs
 * kube-controller-manager, kube-scheduler and KWOK's simulated nodes, so Deployments roll out,
 * Jobs complete and Pods turn Ready. A Pod is steered by annotations on its template (see
 * test/support/cluster/kwok-stages.yaml): `test.libgitops.dev/fail` makes it fail,
 * `ready-after: 1h` keeps it starting for as long as a test runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KubeClient, type ObjectRef } from '../../src/kube/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import { assessHealth, type Health } from '../../src/sync/index.js';
import { clusterSetupTimeoutMs, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster, TestNamespace } from '../support/cluster/index.js';

const SLOW = 120_000;
const POLL = { timeout: 60_000, interval: 200 };

let cluster: TestCluster;
let client: KubeClient;
let ns: TestNamespace;

beforeAll(async () => {
  cluster = await useCluster();
  client = KubeClient.fromKubeconfig({ kubeconfigPath: cluster.kubeconfigPath });
  ns = await testNamespace(cluster, 'health-live');
}, clusterSetupTimeoutMs);

afterAll(() => client?.close());

type Steer = { fail?: boolean; readyAfter?: string; succeedAfter?: string };

function podTemplate(app: string, steer: Steer = {}, restartPolicy = 'Always'): Record<string, unknown> {
  const annotations: Record<string, string> = {};
  if (steer.fail) annotations['test.libgitops.dev/fail'] = 'true';
  if (steer.readyAfter) annotations['test.libgitops.dev/ready-after'] = steer.readyAfter;
  if (steer.succeedAfter) annotations['test.libgitops.dev/succeed-after'] = steer.succeedAfter;
  return {
    metadata: { labels: { app }, annotations },
    spec: { restartPolicy, containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }] },
  };
}

type Workload = KubeObject & { spec: Record<string, unknown> };

function workload(kind: string, name: string, spec: Record<string, unknown>): Workload {
  const apiVersion = kind === 'Job' ? 'batch/v1' : kind === 'Pod' ? 'v1' : 'apps/v1';
  return { apiVersion, kind, metadata: { name, namespace: ns.name }, spec } as Workload;
}

function ref(object: KubeObject): ObjectRef {
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    namespace: object.metadata.namespace,
    name: object.metadata.name,
  } as ObjectRef;
}

async function health(object: KubeObject): Promise<Health> {
  return assessHealth(await client.get(ref(object)));
}

/** The health once it reaches `status`, with the live object's status for a failure message. */
async function eventually(object: KubeObject, status: Health['status']): Promise<Health> {
  await expect.poll(async () => (await health(object)).status, POLL).toBe(status);
  return health(object);
}

/** Applies, then waits until its controller has looked at this generation. */
async function applyObserved(object: KubeObject, observed: (status: Record<string, unknown>) => boolean) {
  await client.apply(object, { fieldManager: 'health-live-test', force: true });
  await expect
    .poll(async () => {
      const live = await client.get(ref(object));
      const status = (live?.status ?? {}) as Record<string, unknown>;
      return status.observedGeneration === live?.metadata.generation && observed(status);
    }, POLL)
    .toBe(true);
}

describe('health on status written by the real controllers', () => {
  it(
    'follows a Deployment: Progressing while its Pods start, Healthy when available, Degraded past its deadline',
    async () => {
      const slow = workload('Deployment', 'slow', {
        replicas: 2,
        selector: { matchLabels: { app: 'slow' } },
        template: podTemplate('slow', { readyAfter: '1h' }),
      });
      await applyObserved(slow, (s) => s.replicas === 2);
      const starting = await health(slow);
      expect(starting).toMatchObject({ status: 'Progressing', reason: 'RolloutInProgress' });
      expect(starting.message).toBe('0 of 2 updated replicas available');

      const web = workload('Deployment', 'web', {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: podTemplate('web'),
      });
      await client.apply(web, { fieldManager: 'health-live-test' });
      expect(await eventually(web, 'Healthy')).toMatchObject({
        reason: 'RolloutComplete',
        message: '3 of 3 replicas available',
      });

      // A new template whose Pods never become ready: the rollout stalls, then times out.
      const stalled = {
        ...web,
        spec: { ...web.spec, progressDeadlineSeconds: 2, template: podTemplate('web', { fail: true }) },
      } as Workload;
      await client.apply(stalled, { fieldManager: 'health-live-test', force: true });
      const degraded = await eventually(web, 'Degraded');
      expect(degraded.reason).toBe('ProgressDeadlineExceeded');
      expect(degraded.message).toContain('has timed out progressing');

      // Paused: the controller reports it and nothing is waited for.
      await client.apply({ ...stalled, spec: { ...stalled.spec, paused: true } } as KubeObject, {
        fieldManager: 'health-live-test',
        force: true,
      });
      expect(await eventually(web, 'Healthy')).toMatchObject({ reason: 'Paused' });
    },
    SLOW,
  );

  it(
    'follows a StatefulSet and a DaemonSet to Healthy; a failing Pod keeps them Progressing',
    async () => {
      const db = workload('StatefulSet', 'db', {
        replicas: 2,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: podTemplate('db'),
      });
      await client.apply(db, { fieldManager: 'health-live-test' });
      expect(await eventually(db, 'Healthy')).toMatchObject({ reason: 'RolloutComplete' });

      const agent = workload('DaemonSet', 'agent', {
        selector: { matchLabels: { app: 'agent' } },
        template: podTemplate('agent'),
      });
      await client.apply(agent, { fieldManager: 'health-live-test' });
      const ready = await eventually(agent, 'Healthy');
      // One Pod on each simulated node.
      expect(ready.message).toMatch(/^(\d+) of \1 pods available$/);
      const live = await client.get(ref(agent));
      expect((live?.status as { desiredNumberScheduled: number }).desiredNumberScheduled).toBeGreaterThan(0);

      const crashing = workload('StatefulSet', 'crashing', {
        replicas: 1,
        serviceName: 'crashing',
        selector: { matchLabels: { app: 'crashing' } },
        template: podTemplate('crashing', { fail: true }),
      });
      await applyObserved(crashing, (s) => s.replicas === 1);
      // Wait for the Pod to be in its crash loop: the controller has seen it and still not ready.
      await expect
        .poll(async () => {
          const pod = await client.get({
            apiVersion: 'v1',
            kind: 'Pod',
            namespace: ns.name,
            name: 'crashing-0',
          });
          return assessHealth(pod).reason;
        }, POLL)
        .toBe('CrashLoopBackOff');
      expect(await health(crashing)).toMatchObject({
        status: 'Progressing',
        message: '0 of 1 replicas ready',
      });
      const failingAgent = workload('DaemonSet', 'failing-agent', {
        selector: { matchLabels: { app: 'failing-agent' } },
        template: podTemplate('failing-agent', { fail: true }),
      });
      await applyObserved(
        failingAgent,
        (s) => typeof s.desiredNumberScheduled === 'number' && s.desiredNumberScheduled > 0,
      );
      expect(await health(failingAgent)).toMatchObject({ status: 'Progressing' });
    },
    SLOW,
  );

  it(
    'follows a ReplicaSet to Healthy, and to Degraded when its Pods cannot be created',
    async () => {
      const rs = workload('ReplicaSet', 'plain', {
        replicas: 2,
        selector: { matchLabels: { app: 'plain' } },
        template: podTemplate('plain'),
      });
      await client.apply(rs, { fieldManager: 'health-live-test' });
      expect(await eventually(rs, 'Healthy')).toMatchObject({ message: '2 of 2 replicas available' });

      // A quota of no Pods in a namespace of its own: the controller reports ReplicaFailure.
      const quotaNs = await testNamespace(cluster, 'health-quota');
      await client.apply(
        {
          apiVersion: 'v1',
          kind: 'ResourceQuota',
          metadata: { name: 'no-pods', namespace: quotaNs.name },
          spec: { hard: { pods: '0' } },
        } as KubeObject,
        { fieldManager: 'health-live-test' },
      );
      // The quota admission plugin needs the quota controller to have counted usage first.
      await expect
        .poll(async () => {
          const q = await client.get({
            apiVersion: 'v1',
            kind: 'ResourceQuota',
            namespace: quotaNs.name,
            name: 'no-pods',
          });
          return (q?.status as { used?: Record<string, string> } | undefined)?.used?.pods;
        }, POLL)
        .toBe('0');
      const refused = {
        ...rs,
        metadata: { name: 'refused', namespace: quotaNs.name },
        spec: { ...rs.spec, selector: { matchLabels: { app: 'refused' } }, template: podTemplate('refused') },
      } as KubeObject;
      await client.apply(refused, { fieldManager: 'health-live-test' });
      const degraded = await eventually(refused, 'Degraded');
      expect(degraded.reason).toBe('FailedCreate');
      expect(degraded.message).toContain('exceeded quota');
    },
    SLOW,
  );

  it(
    'follows Jobs: Progressing while running, Healthy when complete, Degraded when its Pod fails',
    async () => {
      const done = workload('Job', 'done', {
        backoffLimit: 0,
        template: podTemplate('done', {}, 'Never'),
      });
      await client.apply(done, { fieldManager: 'health-live-test' });
      expect(await eventually(done, 'Healthy')).toMatchObject({ reason: 'Complete' });

      const running = workload('Job', 'running', {
        backoffLimit: 0,
        template: podTemplate('running', { succeedAfter: '1h' }, 'Never'),
      });
      await client.apply(running, { fieldManager: 'health-live-test' });
      await expect.poll(async () => (await health(running)).message, POLL).toBe('1 active, 0 succeeded');
      expect(await health(running)).toMatchObject({ status: 'Progressing', reason: 'Running' });

      const failing = workload('Job', 'failing', {
        backoffLimit: 0,
        template: podTemplate('failing', { fail: true }, 'Never'),
      });
      await client.apply(failing, { fieldManager: 'health-live-test' });
      expect(await eventually(failing, 'Degraded')).toMatchObject({ reason: 'BackoffLimitExceeded' });

      const suspended = workload('Job', 'suspended', {
        suspend: true,
        template: podTemplate('suspended', {}, 'Never'),
      });
      await client.apply(suspended, { fieldManager: 'health-live-test' });
      expect(await eventually(suspended, 'Healthy')).toMatchObject({ reason: 'Suspended' });
    },
    SLOW,
  );

  it(
    'follows Pods: Running, crash-looping, failed, succeeded and unschedulable',
    async () => {
      const pod = (
        name: string,
        steer: Steer,
        restartPolicy: string,
        extra: Record<string, unknown> = {},
      ) => {
        const template = podTemplate(name, steer, restartPolicy) as {
          metadata: Record<string, unknown>;
          spec: Record<string, unknown>;
        };
        return {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { ...template.metadata, name, namespace: ns.name },
          spec: { ...template.spec, ...extra },
        } as KubeObject;
      };
      const up = pod('up', {}, 'Always');
      const crash = pod('crash', { fail: true }, 'Always');
      const failed = pod('failed', { fail: true }, 'Never');
      const nowhere = pod('nowhere', {}, 'Always', { nodeSelector: { 'libgitops.dev/no-such-node': 'x' } });
      for (const p of [up, crash, failed, nowhere])
        await client.apply(p, { fieldManager: 'health-live-test' });

      expect(await eventually(up, 'Healthy')).toMatchObject({ reason: 'Running' });
      expect(await eventually(crash, 'Degraded')).toMatchObject({ reason: 'CrashLoopBackOff' });
      expect(await eventually(failed, 'Degraded')).toMatchObject({ reason: 'Failed' });
      // The scheduler says why it cannot place the Pod.
      await expect.poll(async () => (await health(nowhere)).message ?? '', POLL).toContain("didn't match");
      expect(await health(nowhere)).toMatchObject({ status: 'Progressing', reason: 'Pending' });

      // A Job's Pod runs to completion.
      const batch = workload('Job', 'batch', {
        backoffLimit: 0,
        template: podTemplate('batch', {}, 'Never'),
      });
      await client.apply(batch, { fieldManager: 'health-live-test' });
      await eventually(batch, 'Healthy');
      const pods = await client.list(
        { group: '', version: 'v1', kind: 'Pod' },
        { namespace: ns.name, labelSelector: 'job-name=batch' },
      );
      expect(pods.items.map((p) => assessHealth(p))).toEqual([
        expect.objectContaining({ status: 'Healthy', reason: 'Succeeded' }),
      ]);
    },
    SLOW,
  );
});
