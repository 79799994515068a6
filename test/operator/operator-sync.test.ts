import { describe, expect, it } from 'vitest';

import { applicationFor } from '../../src/operator/application.js';
import { EngineTarget } from '../../src/operator/engine-target.js';
import { Operator } from '../../src/operator/operator.js';
import type { OperatorEvent } from '../../src/operator/operator.js';
import { SyncEventRecorder } from '../../src/operator/sync-events.js';
import { testNamespace } from '../support/cluster/index.js';
import { pushCommit } from '../support/git-server/index.js';
import { operatorHarness } from './operator-harness.js';

const h = operatorHarness(['git']);
const { operators, targets, kubectl } = h;

async function exists(args: string[]): Promise<boolean> {
  return (await kubectl(['get', ...args, '--ignore-not-found', '-o', 'name'])).trim() !== '';
}

// The seed's config (a Namespace and a Deployment in it), with names of this test's own.
function seedConfig(namespace: string, image = 'nginx'): Record<string, string> {
  return {
    'config/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${namespace}\n`,
    // deployment.yaml sorts first: the seed failed its first run on exactly this order.
    'config/deployment.yaml': [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: nginx',
      `  namespace: ${namespace}`,
      'spec:',
      '  selector:',
      '    matchLabels: {app: nginx}',
      '  template:',
      '    metadata:',
      '      labels: {app: nginx}',
      '    spec:',
      '      containers:',
      `        - {name: nginx, image: ${image}}`,
      '',
    ].join('\n'),
  };
}

function newOperator(follow = false): Operator {
  // A short health timeout: this control plane runs no kubelet, so Deployments never roll out.
  const target = new EngineTarget({
    kubeconfig: h.cluster.kubeconfigPath,
    healthTimeoutMs: 1_500,
    healthPollIntervalMs: 250,
  });
  targets.push(target);
  const operator = new Operator({
    destinations: target,
    follow,
    events: new SyncEventRecorder(target.client),
  });
  operators.push(operator);
  return operator;
}

async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('operator sync on the real control plane', () => {
  it('syncs the seed config on the first run, applies a push, and prunes a deleted file', async () => {
    const home = await testNamespace(h.cluster, 'op-sync');
    const target = `${home.name}-nginx`;
    const repo = await h.server.createRepo(`seed-${home.name}`, {
      files: { ...seedConfig(target), 'config/extra.yaml': configMap(target, 'extra') },
    });
    const operator = newOperator();
    operator.upsert(
      applicationFor({
        name: 'seed',
        namespace: home.name,
        repoURL: repo.urls.git!,
        paths: ['config'],
        prune: true,
      }),
    );
    const [first] = await operator.syncAll();
    expect(first!.status.lastError).toBeUndefined();
    expect(first!.status.phase).toBe('Synced');
    expect(await exists(['deployment', 'nginx', '-n', target])).toBe(true);
    // Health is rollout health, read right after the apply: the Deployment has not rolled out yet.
    expect(first!.status.health).toBe('Progressing');
    expect(first!.status.objects).toContainEqual({
      object: `apps/Deployment/${target}/nginx`,
      action: 'applied',
      health: 'Progressing',
    });
    expect(first!.status.objects).toContainEqual({
      object: `/ConfigMap/${target}/extra`,
      action: 'applied',
      health: 'Healthy',
    });
    expect(first!.status.objects!.map((o) => o.object).sort()).toEqual([
      `/ConfigMap/${target}/extra`,
      `/Namespace//${target}`,
      `apps/Deployment/${target}/nginx`,
    ]);

    const second = await pushCommit(repo.over('git'), {
      files: seedConfig(target, 'nginx:1.27'),
      delete: ['config/extra.yaml'],
    });
    const statuses: string[] = [];
    operator.on((e: OperatorEvent) => {
      if (e.type === 'status' && e.status.lastSyncedRevision) statuses.push(e.status.lastSyncedRevision);
    });
    expect(await operator.notifyPush(repo.urls.git!)).toBe(1);
    await until(() => statuses.includes(second), 'the pushed revision to be synced');
    const image = await kubectl([
      'get',
      'deployment',
      'nginx',
      '-n',
      target,
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    ]);
    expect(image).toBe('nginx:1.27');
    expect(await exists(['configmap', 'extra', '-n', target])).toBe(false);
    expect(operator.get(`${home.name}/seed`)!.status.objects).toContainEqual({
      object: `/ConfigMap/${target}/extra`,
      action: 'pruned',
    });
    await kubectl(['delete', 'namespace', target, '--wait=false']);
  }, 120_000);

  it('restores kubectl-edit drift when self-heal is on, and a restarted operator does not re-apply', async () => {
    const home = await testNamespace(h.cluster, 'op-heal');
    const repo = await h.server.createRepo(`heal-${home.name}`, {
      files: { 'app/cm.yaml': configMap(home.name, 'settings') },
    });
    const app = applicationFor({
      name: 'heal',
      namespace: home.name,
      repoURL: repo.urls.git!,
      paths: ['app'],
      selfHeal: true,
    });
    const first = newOperator();
    first.upsert(app);
    expect((await first.syncAll())[0]!.status.phase).toBe('Synced');
    await first.stop();

    // A restart at the same revision finds a complete inventory and applies nothing.
    const second = newOperator();
    second.upsert(app);
    const records: string[] = [];
    second.on((e) => {
      if (e.type === 'sync') records.push(e.record.result);
    });
    await second.syncAll('start');
    expect(records).toEqual(['unchanged']);

    await kubectl([
      'patch',
      'configmap',
      'settings',
      '-n',
      home.name,
      '--type=merge',
      '-p',
      '{"data":{"mode":"edited"}}',
    ]);
    await second.syncAll('timer');
    expect(records).toEqual(['unchanged', 'healed']);
    expect(
      await kubectl(['get', 'configmap', 'settings', '-n', home.name, '-o', 'jsonpath={.data.mode}']),
    ).toBe('fast');
  }, 120_000);

  it('syncs an application only after the one it depends on', async () => {
    const home = await testNamespace(h.cluster, 'op-deps');
    const repo = await h.server.createRepo(`deps-${home.name}`, {
      files: { 'base/cm.yaml': configMap(home.name, 'base'), 'app/cm.yaml': configMap(home.name, 'app') },
    });
    const operator = newOperator();
    const order: string[] = [];
    operator.on((e) => {
      if (e.type === 'sync') order.push(`${e.record.app}:${e.record.result}`);
    });
    operator.upsert(
      applicationFor({
        name: 'app',
        namespace: home.name,
        repoURL: repo.urls.git!,
        paths: ['app'],
        dependsOn: ['base'],
      }),
    );
    operator.upsert(
      applicationFor({ name: 'base', namespace: home.name, repoURL: repo.urls.git!, paths: ['base'] }),
    );
    // Asked first, the dependent waits; the dependency's success wakes it.
    await operator.trigger(`${home.name}/app`);
    await operator.trigger(`${home.name}/base`);
    await until(() => operator.get(`${home.name}/app`)!.status.phase === 'Synced', 'the dependent to sync');
    expect(order).toEqual([
      `${home.name}/app:waiting`,
      `${home.name}/base:synced`,
      `${home.name}/app:synced`,
    ]);
  }, 120_000);

  it('keeps a dependent waiting while its dependency is still rolling out', async () => {
    const home = await testNamespace(h.cluster, 'op-gate');
    const repo = await h.server.createRepo(`gate-${home.name}`, {
      files: { 'web/deploy.yaml': deployment(home.name, 'web'), 'app/cm.yaml': configMap(home.name, 'app') },
    });
    const operator = newOperator();
    operator.upsert(
      applicationFor({ name: 'web', namespace: home.name, repoURL: repo.urls.git!, paths: ['web'] }),
    );
    operator.upsert(
      applicationFor({
        name: 'app',
        namespace: home.name,
        repoURL: repo.urls.git!,
        paths: ['app'],
        dependsOn: ['web'],
      }),
    );
    const views = await operator.syncAll();
    const web = views.find((v) => v.key === `${home.name}/web`)!;
    const app = views.find((v) => v.key === `${home.name}/app`)!;
    expect(web.status.phase).toBe('Synced');
    expect(web.status.health).toBe('Progressing');
    expect(app.status.phase).toBe('Waiting');
    expect(app.status.conditions).toContainEqual(
      expect.objectContaining({
        type: 'DependenciesReady',
        status: 'False',
        message: `waiting for ${home.name}/web`,
      }),
    );
    expect(await exists(['configmap', 'app', '-n', home.name])).toBe(false);
  }, 120_000);

  it('holds later waves back until earlier ones are healthy when the policy asks', async () => {
    const home = await testNamespace(h.cluster, 'op-waves');
    const later = configMap(home.name, 'later').replace(
      'metadata:\n',
      'metadata:\n  annotations: {gitops.libgitops.dev/sync-wave: "1"}\n',
    );
    const repo = await h.server.createRepo(`waves-${home.name}`, {
      files: { 'app/deploy.yaml': deployment(home.name, 'first'), 'app/later.yaml': later },
    });
    const operator = newOperator();
    operator.upsert(
      applicationFor({
        name: 'waves',
        namespace: home.name,
        repoURL: repo.urls.git!,
        paths: ['app'],
        waitForHealth: true,
      }),
    );
    const [view] = await operator.syncAll();
    expect(view!.status.phase).toBe('Failed');
    expect(view!.status.lastError!.code).toBe('Timeout');
    expect(view!.status.lastError!.message).toMatch(/later waves are not applied/);
    expect(await exists(['deployment', 'first', '-n', home.name])).toBe(true);
    expect(await exists(['configmap', 'later', '-n', home.name])).toBe(false);
    expect(view!.status.objects).toContainEqual(
      expect.objectContaining({ object: `/ConfigMap/${home.name}/later`, action: 'skipped' }),
    );
  }, 120_000);

  it('records a Kubernetes Event on the Application for each sync', async () => {
    const home = await testNamespace(h.cluster, 'op-events');
    const repo = await h.server.createRepo(`events-${home.name}`, {
      files: {
        'good/cm.yaml': configMap(home.name, 'good'),
        'bad/cm.yaml': configMap(home.name, 'Not_Valid'),
      },
    });
    const operator = newOperator();
    operator.upsert(
      applicationFor({ name: 'good', namespace: home.name, repoURL: repo.urls.git!, paths: ['good'] }),
    );
    operator.upsert(
      applicationFor({ name: 'bad', namespace: home.name, repoURL: repo.urls.git!, paths: ['bad'] }),
    );
    await operator.syncAll();
    const events = async (): Promise<
      Array<{ involvedObject: { name: string }; reason: string; type: string; message: string }>
    > =>
      (JSON.parse(await kubectl(['get', 'events', '-n', home.name, '-o', 'json'])) as { items: never[] })
        .items;
    await until(async () => (await events()).length >= 2, 'two Events');
    const byApp = new Map((await events()).map((e) => [e.involvedObject.name, e]));
    expect(byApp.get('good')).toMatchObject({ reason: 'Synced', type: 'Normal' });
    expect(byApp.get('good')!.message).toMatch(/^applied revision [0-9a-f]{12} \(1 objects/);
    expect(byApp.get('bad')).toMatchObject({ reason: 'SyncFailed', type: 'Warning' });
    expect(byApp.get('bad')!.message).toMatch(/Not_Valid/);
  }, 120_000);

  it('reports an unreachable remote as a failed sync with a retry, without throwing', async () => {
    const home = await testNamespace(h.cluster, 'op-fail');
    const operator = newOperator();
    operator.upsert(
      applicationFor({
        name: 'gone',
        namespace: home.name,
        repoURL: 'git://127.0.0.1:1/nothing.git',
        paths: ['.'],
      }),
    );
    const [view] = await operator.syncAll();
    expect(view!.status.phase).toBe('Failed');
    expect(view!.status.lastError!.code).toMatch(/Unreachable|GitError/);
  }, 60_000);
});

/** A Deployment whose Pods stay starting for an hour on the simulated nodes: it keeps rolling out. */
function deployment(namespace: string, name: string): string {
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    'spec:',
    '  selector:',
    `    matchLabels: {app: ${name}}`,
    '  template:',
    '    metadata:',
    `      labels: {app: ${name}}`,
    "      annotations: {test.libgitops.dev/ready-after: '1h'}",
    '    spec:',
    '      containers:',
    `        - {name: ${name}, image: nginx}`,
    '',
  ].join('\n');
}

function configMap(namespace: string, name: string): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\ndata:\n  mode: fast\n`;
}
