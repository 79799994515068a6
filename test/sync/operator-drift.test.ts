/**
 * Drift without self-heal: the watch reports it at once as OutOfSync (confirmed by a server
 * dry-run), leaves the objects alone, tells it once as an Event, and clears it when the cluster
 * matches Git again; a restarted operator finds drift that happened while it was away.
 */
import { describe, expect, it } from 'vitest';

import { operatorMetrics } from '../../src/server/index.js';
import { KubeClient, kubeconfigFromText } from '../../src/kube/index.js';
import { applicationFor } from '../../src/sync/application.js';
import { EngineTarget } from '../../src/sync/engine-target.js';
import { Operator } from '../../src/sync/operator.js';
import type { OperatorEvent } from '../../src/sync/operator.js';
import { SyncEventRecorder } from '../../src/sync/sync-events.js';
import { waitFor } from '../support/cache.js';
import { serviceAccountToken, testNamespace } from '../support/cluster/index.js';
import { operatorHarness } from './operator-harness.js';

const h = operatorHarness(['git']);

function newOperator(): { operator: Operator; events: OperatorEvent[] } {
  const target = new EngineTarget({ kubeconfig: h.cluster.kubeconfigPath });
  h.targets.push(target);
  const operator = new Operator({ target, follow: true, events: new SyncEventRecorder(target.client) });
  h.operators.push(operator);
  const events: OperatorEvent[] = [];
  operator.on((e) => events.push(e));
  return { operator, events };
}

function configMap(namespace: string, name: string): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\ndata:\n  mode: fast\n`;
}

const patch = (ns: string, mode: string) =>
  h.kubectl([
    'patch',
    'configmap',
    'settings',
    '-n',
    ns,
    '--type=merge',
    '-p',
    JSON.stringify({ data: { mode } }),
  ]);

const modeOf = async (ns: string) =>
  h.kubectl(['get', 'configmap', 'settings', '-n', ns, '-o', 'jsonpath={.data.mode}']);

describe('drift without self-heal', () => {
  it('turns OutOfSync as soon as an object is edited, leaves it, tells it once, and clears when it matches again', async () => {
    const home = await testNamespace(h.cluster, 'op-drift');
    const repo = await h.server.createRepo(`drift-${home.name}`, {
      files: { 'app/cm.yaml': configMap(home.name, 'settings') },
    });
    const { operator, events } = newOperator();
    const key = `${home.name}/drift`;
    // An hour between checks: only the watch can notice the edit within this test.
    operator.upsert(
      applicationFor({
        name: 'drift',
        namespace: home.name,
        repoURL: repo.urls.git!,
        paths: ['app'],
        interval: '1h',
      }),
    );
    const metrics = operatorMetrics(operator, { processMetrics: false });
    operator.start();
    await waitFor('the first sync', async () => operator.get(key)?.status.phase === 'Synced', 30_000);

    await patch(home.name, 'edited');
    await waitFor('OutOfSync', async () => operator.get(key)?.status.phase === 'OutOfSync', 30_000);
    const status = operator.get(key)!.status;
    const synced = status.conditions!.find((c) => c.type === 'Synced')!;
    expect(synced).toMatchObject({ status: 'False', reason: 'Drifted' });
    expect(synced.message).toContain(`/ConfigMap/${home.name}/settings (modified)`);
    expect(events).toContainEqual({
      type: 'drift',
      app: key,
      object: `/ConfigMap/${home.name}/settings`,
      reason: 'modified',
    });
    // Reported, not restored.
    expect(await modeOf(home.name)).toBe('edited');
    const text = await metrics.registry.metrics();
    expect(text).toContain(`gitops_application_phase{app="${key}",phase="OutOfSync"} 1`);
    expect(text).toContain(`gitops_application_phase{app="${key}",phase="Synced"} 0`);
    expect(text).toMatch(new RegExp(`gitops_drift_total\\{app="${key}",reason="modified"\\} [1-9]`));

    // A second edit is drift again, but not a second Event for the same revision.
    await patch(home.name, 'edited-again');
    await waitFor(
      'the second drift to be looked at',
      async () => events.filter((e) => e.type === 'sync' && e.record.result === 'drifted').length >= 2,
      30_000,
    );
    const outOfSyncEvents = await h.kubectl([
      'get',
      'events',
      '-n',
      home.name,
      '--field-selector',
      'reason=OutOfSync',
      '-o',
      'name',
    ]);
    expect(
      outOfSyncEvents
        .trim()
        .split('\n')
        .filter((l) => l !== ''),
    ).toHaveLength(1);

    // Someone puts it back: the next check finds the cluster matching Git again.
    await patch(home.name, 'fast');
    const after = await operator.trigger(key, 'timer');
    expect(after.phase).toBe('Synced');
    expect(after.conditions!.find((c) => c.type === 'Synced')).toMatchObject({ status: 'True' });
    expect(await metrics.registry.metrics()).toContain(
      `gitops_application_phase{app="${key}",phase="Synced"} 1`,
    );
    metrics.close();
  }, 120_000);

  it('finds drift that happened while no operator was running', async () => {
    const home = await testNamespace(h.cluster, 'op-drift-restart');
    const repo = await h.server.createRepo(`drift-restart-${home.name}`, {
      files: { 'app/cm.yaml': configMap(home.name, 'settings') },
    });
    const app = applicationFor({
      name: 'away',
      namespace: home.name,
      repoURL: repo.urls.git!,
      paths: ['app'],
      interval: '1h',
    });
    const first = newOperator().operator;
    first.upsert(app);
    expect((await first.syncAll())[0]!.status.phase).toBe('Synced');
    await first.stop();

    await patch(home.name, 'edited-while-away');
    const { operator } = newOperator();
    operator.upsert(app);
    const [view] = await operator.syncAll('start');
    expect(view!.status.phase).toBe('OutOfSync');
    expect(await modeOf(home.name)).toBe('edited-while-away');
  }, 120_000);

  it('says so when it cannot watch (no RBAC for watch), and keeps syncing', async () => {
    const home = await testNamespace(h.cluster, 'op-drift-nowatch');
    const token = await serviceAccountToken(h.cluster, {
      namespace: home.name,
      name: 'applier',
      rights: {
        rules: [
          {
            apiGroups: [''],
            resources: ['configmaps'],
            verbs: ['get', 'list', 'create', 'patch', 'update', 'delete'],
          },
        ],
      },
    });
    const kubeconfig = JSON.stringify({
      apiVersion: 'v1',
      clusters: [
        {
          name: 'c',
          cluster: {
            server: h.cluster.server,
            'certificate-authority-data': Buffer.from(h.cluster.caPem!).toString('base64'),
          },
        },
      ],
      users: [{ name: 'u', user: { token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u', namespace: home.name } }],
      'current-context': 'c',
    });
    const target = new EngineTarget({ client: new KubeClient(kubeconfigFromText(kubeconfig)) });
    h.targets.push(target);
    const operator = new Operator({ target, follow: true });
    h.operators.push(operator);
    const events: OperatorEvent[] = [];
    operator.on((e) => events.push(e));
    const repo = await h.server.createRepo(`drift-nowatch-${home.name}`, {
      files: { 'app/cm.yaml': configMap(home.name, 'settings') },
    });
    const key = `${home.name}/nowatch`;
    operator.upsert(
      applicationFor({
        name: 'nowatch',
        namespace: home.name,
        repoURL: repo.urls.git!,
        paths: ['app'],
        interval: '1h',
      }),
    );
    operator.start();
    await waitFor(
      'the drift watch to fail',
      async () => events.some((e) => e.type === 'drift-watch-failed'),
      30_000,
    );
    const failure = events.find((e) => e.type === 'drift-watch-failed') as Extract<
      OperatorEvent,
      { type: 'drift-watch-failed' }
    >;
    expect(failure.app).toBe(key);
    expect(failure.error.code).toBe('Forbidden');
    expect(operator.get(key)!.status.phase).toBe('Synced');
    target.client.close();
  }, 120_000);
});
