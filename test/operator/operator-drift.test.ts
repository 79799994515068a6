/**
 * Drift without self-heal: the watch reports it at once as OutOfSync (confirmed by a server
 * dry-run), leaves the objects alone, tells it once as an Event, and clears it when the cluster
 * matches Git again; a restarted operator finds drift that happened while it was away.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';

import { operatorMetrics } from '../../src/server/index.js';
import { KubeClient, kubeconfigFromText } from '../../src/kube/index.js';
import { applicationFor } from '../../src/operator/application.js';
import { EngineTarget } from '../../src/operator/engine-target.js';
import { Operator } from '../../src/operator/operator.js';
import type { OperatorEvent } from '../../src/operator/operator.js';
import { SyncEventRecorder } from '../../src/operator/sync-events.js';
import { waitFor } from '../support/cache.js';
import { kubeRequest, serviceAccountToken, testNamespace } from '../support/cluster/index.js';
import { operatorHarness } from './operator-harness.js';

const h = operatorHarness(['git']);

function newOperator(): { operator: Operator; events: OperatorEvent[] } {
  const target = new EngineTarget({ kubeconfig: h.cluster.kubeconfigPath });
  h.targets.push(target);
  const operator = new Operator({
    destinations: target,
    follow: true,
    events: new SyncEventRecorder(target.client),
  });
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

  it('finds drift that happened while no operator was running, and keeps it until the cluster matches', async () => {
    const home = await testNamespace(h.cluster, 'op-drift-restart');
    const repo = await h.server.createRepo(`drift-restart-${home.name}`, {
      files: {
        'app/cm.yaml': configMap(home.name, 'settings'),
        'app/gone.yaml': configMap(home.name, 'gone'),
      },
    });
    const app = applicationFor({
      name: 'away',
      namespace: home.name,
      repoURL: repo.urls.git!,
      paths: ['app'],
      interval: '1h',
    });
    const key = `${home.name}/away`;
    const first = newOperator().operator;
    first.upsert(app);
    expect((await first.syncAll())[0]!.status.phase).toBe('Synced');
    await first.stop();

    await patch(home.name, 'edited-while-away');
    await h.kubectl(['delete', 'configmap', 'gone', '-n', home.name]);
    const { operator, events } = newOperator();
    operator.upsert(app);
    const [view] = await operator.syncAll('start');
    expect(view!.status.phase).toBe('OutOfSync');
    expect(await modeOf(home.name)).toBe('edited-while-away');
    // The new watch's first list lacks the deleted object: that is drift too.
    await waitFor(
      'the deletion reported by the watch',
      async () => events.some((e) => e.type === 'drift' && e.object === `/ConfigMap/${home.name}/gone`),
      30_000,
    );
    // A later check must not take the still-drifted application for synced.
    expect((await operator.trigger(key, 'timer')).phase).toBe('OutOfSync');
    await patch(home.name, 'fast');
    expect((await operator.trigger(key, 'timer')).phase).toBe('OutOfSync');
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
    const operator = new Operator({ destinations: target, follow: true });
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

  it('stops at once even while its drift watch cannot start (every list of the watched kind fails)', async () => {
    const home = await testNamespace(h.cluster, 'op-drift-stop');
    // A proxy in front of the real API server that, once the sync has applied its object, answers
    // 503 to every cluster-wide list (the drift watch's first request), as an API whose backend is
    // down does; everything else goes through.
    let refused = 0;
    let applied = false;
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        if (req.method === 'PATCH' && path.includes('/configmaps/settings')) applied = true;
        if (applied && req.method === 'GET' && path.startsWith('/api/v1/configmaps')) {
          refused++;
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"kind":"Status","code":503}');
          return;
        }
        const body = chunks.length === 0 ? undefined : Buffer.concat(chunks).toString('utf8');
        kubeRequest(h.cluster, req.method ?? 'GET', path, {
          ...(body === undefined ? {} : { body }),
          ...(req.headers['content-type'] === undefined ? {} : { contentType: req.headers['content-type'] }),
        }).then(
          (answer) =>
            res
              .writeHead(answer.status, { 'content-type': 'application/json' })
              .end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body)),
          () => res.writeHead(502).end(),
        );
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (proxy.address() as AddressInfo).port;
      const kubeconfig = JSON.stringify({
        apiVersion: 'v1',
        clusters: [
          { name: 'p', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } },
        ],
        users: [{ name: 'u', user: {} }],
        contexts: [{ name: 'p', context: { cluster: 'p', user: 'u', namespace: home.name } }],
        'current-context': 'p',
      });
      const client = new KubeClient(kubeconfigFromText(kubeconfig));
      const target = new EngineTarget({ client });
      const operator = new Operator({ destinations: target, follow: true });
      const events: OperatorEvent[] = [];
      operator.on((e) => events.push(e));
      const repo = await h.server.createRepo(`drift-stop-${home.name}`, {
        files: { 'app/cm.yaml': configMap(home.name, 'settings') },
      });
      const key = `${home.name}/stuck`;
      operator.upsert(
        applicationFor({
          name: 'stuck',
          namespace: home.name,
          repoURL: repo.urls.git!,
          paths: ['app'],
          interval: '1h',
        }),
      );
      operator.start();
      await waitFor('the sync', async () => operator.get(key)?.status.phase === 'Synced', 30_000);
      await waitFor('the watch to be refused', async () => refused > 0, 30_000);
      // Only a hang fails this; how long stop() takes on a loaded machine is not asserted.
      await Promise.race([
        operator.stop(),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('stop() did not return within 60 s')), 60_000),
        ),
      ]);
      // A watch that never started is no failure to report: it was stopped.
      expect(events.filter((e) => e.type === 'drift-watch-failed')).toEqual([]);
      client.close();
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  }, 120_000);
});
