/**
 * Applications deployed to another cluster: a second, real control plane (etcd + kube-apiserver)
 * started for this file, its kubeconfig in a Secret of the operator's cluster.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { main } from '../../src/cli/main.js';
import { KubeClient, loadKubeconfig } from '../../src/kube/index.js';
import { toApplication } from '../../src/operator/application.js';
import type { Application } from '../../src/operator/application.js';
import { DestinationTargets } from '../../src/operator/destinations.js';
import type { DestinationTargetsOptions } from '../../src/operator/destinations.js';
import { EngineTarget } from '../../src/operator/engine-target.js';
import { Operator } from '../../src/operator/operator.js';
import type { OperatorEvent } from '../../src/operator/operator.js';
import { waitFor } from '../support/cache.js';
import { startControlPlane, testNamespace } from '../support/cluster/index.js';
import type { ControlPlane } from '../support/cluster/index.js';
import { pushCommit } from '../support/git-server/index.js';
import { operatorHarness } from './operator-harness.js';

const run = promisify(execFile);
const h = operatorHarness(['git']);
let remote: ControlPlane | undefined;
let remoteKubeconfig = '';
const destinations: DestinationTargets[] = [];

beforeAll(async () => {
  // No controller manager: this cluster only has to store what is applied to it.
  remote = await startControlPlane({ controllerManager: false });
  remoteKubeconfig = await readFile(remote.kubeconfigPath, 'utf8');
}, 600_000);

afterAll(async () => {
  await Promise.all(h.operators.map((o) => o.stop()));
  for (const d of destinations) d.close();
  await remote?.stop();
});

function remoteCluster(): ControlPlane {
  if (remote === undefined) throw new Error('the second control plane is only there from beforeAll on');
  return remote;
}

async function kubectlRemote(args: string[]): Promise<string> {
  const { stdout } = await run('kubectl', [`--kubeconfig=${remoteCluster().kubeconfigPath}`, ...args]);
  return stdout;
}

async function existsOn(where: 'remote' | 'local', args: string[]): Promise<boolean> {
  const out =
    where === 'remote'
      ? await kubectlRemote(['get', ...args, '--ignore-not-found', '-o', 'name'])
      : await h.kubectl(['get', ...args, '--ignore-not-found', '-o', 'name']);
  return out.trim() !== '';
}

function newOperator(
  follow = false,
  options: DestinationTargetsOptions = {},
): { operator: Operator; targets: DestinationTargets } {
  const local = new EngineTarget({ kubeconfig: h.cluster.kubeconfigPath });
  h.targets.push(local);
  const targets = new DestinationTargets(local, options);
  destinations.push(targets);
  const operator = new Operator({ destinations: targets, follow });
  h.operators.push(operator);
  return { operator, targets };
}

async function putSecret(namespace: string, name: string, data: Record<string, string>): Promise<void> {
  const encoded = Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  );
  const client = new KubeClient(loadKubeconfig({ kubeconfigPath: h.cluster.kubeconfigPath }));
  try {
    await client.apply(
      { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, data: encoded },
      { force: true },
    );
  } finally {
    client.close();
  }
}

function configMap(namespace: string, name: string, mode = 'fast'): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\ndata:\n  mode: ${mode}\n`;
}

function remoteApp(options: {
  name: string;
  namespace: string;
  repoURL: string;
  target: string;
  secret: string;
  key?: string;
  server?: string;
  prune?: boolean;
  selfHeal?: boolean;
}): Application {
  return toApplication({
    apiVersion: 'gitops.libgitops.dev/v1alpha1',
    kind: 'Application',
    metadata: { name: options.name, namespace: options.namespace },
    spec: {
      source: { repoURL: options.repoURL, paths: ['app'] },
      destination: {
        namespace: options.target,
        kubeconfigSecretRef: {
          name: options.secret,
          ...(options.key === undefined ? {} : { key: options.key }),
        },
        ...(options.server === undefined ? {} : { server: options.server }),
      },
      policy: {
        prune: options.prune ?? false,
        selfHeal: options.selfHeal ?? false,
        interval: '1h',
        retry: { limit: 1, backoffSeconds: 60 },
      },
    },
  });
}

function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  return waitFor(what, async () => check(), 30_000);
}

describe('applications deployed to another cluster (kubeconfig in a Secret)', () => {
  it('applies to the Secret’s cluster only, keeps the inventory there, and prunes there', async () => {
    const home = await testNamespace(h.cluster, 'op-dest');
    const target = `${home.name}-remote`;
    const repo = await h.server.createRepo(`dest-${home.name}`, {
      files: {
        'app/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${target}\n`,
        'app/a.yaml': configMap(target, 'a'),
        'app/b.yaml': configMap(target, 'b'),
      },
    });
    await putSecret(home.name, 'prod-cluster', { value: remoteKubeconfig });
    const { operator, targets } = newOperator();
    const app = remoteApp({
      name: 'remote',
      namespace: home.name,
      repoURL: repo.urls.git!,
      target,
      secret: 'prod-cluster',
      server: remoteCluster().server,
      prune: true,
    });
    operator.upsert(app);
    const [first] = await operator.syncAll();
    expect(first!.status.lastError).toBeUndefined();
    expect(first!.status.phase).toBe('Synced');
    expect(first!.status.health).toBe('Healthy');
    expect(await existsOn('remote', ['configmap', 'a', '-n', target])).toBe(true);
    expect(await existsOn('remote', ['configmap', 'b', '-n', target])).toBe(true);
    // Nothing of it on the operator's own cluster.
    expect(await existsOn('local', ['namespace', target])).toBe(false);
    // The inventory lives beside the objects, in the destination namespace of that cluster.
    const inventories = await kubectlRemote([
      'get',
      'configmaps',
      '-n',
      target,
      '-l',
      'gitops.libgitops.dev/inventory',
      '-o',
      'name',
    ]);
    expect(inventories.trim().split('\n')).toHaveLength(1);
    expect(targets.remoteCount).toBe(1);

    const pushed = await pushCommit(repo.over('git'), { delete: ['app/b.yaml'] });
    expect(await operator.notifyPush(repo.urls.git!)).toBe(1);
    await until(
      () => operator.get(`${home.name}/remote`)?.status.lastSyncedRevision === pushed,
      'the pushed revision to be synced',
    );
    const second = operator.get(`${home.name}/remote`);
    expect(second!.status.phase).toBe('Synced');
    expect(await existsOn('remote', ['configmap', 'b', '-n', target])).toBe(false);
    expect(await existsOn('remote', ['configmap', 'a', '-n', target])).toBe(true);
    expect(second!.status.objects).toContainEqual({ object: `/ConfigMap/${target}/b`, action: 'pruned' });
    // One client for the destination however many syncs.
    expect(targets.remoteCount).toBe(1);
    await kubectlRemote(['delete', 'namespace', target, '--wait=false']);
  }, 180_000);

  it('uses a rotated Secret at once and closes the replaced client', async () => {
    const home = await testNamespace(h.cluster, 'op-dest-rot');
    const target = `${home.name}-remote`;
    const repo = await h.server.createRepo(`dest-rot-${home.name}`, {
      files: {
        'app/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${target}\n`,
        'app/a.yaml': configMap(target, 'a'),
      },
    });
    // A kubeconfig for the same server with a token the cluster does not know.
    const bogus = [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: remote\n  cluster:\n    server: ${remoteCluster().server}`,
      `    certificate-authority-data: ${Buffer.from(remoteCluster().caPem).toString('base64')}`,
      'users:',
      '- name: nobody\n  user:\n    token: not-a-real-token-7f3a',
      'contexts:',
      '- name: remote\n  context:\n    cluster: remote\n    user: nobody',
      'current-context: remote',
      '',
    ].join('\n');
    await putSecret(home.name, 'rotating', { value: bogus });
    const { operator, targets } = newOperator();
    operator.upsert(
      remoteApp({ name: 'rot', namespace: home.name, repoURL: repo.urls.git!, target, secret: 'rotating' }),
    );
    const [denied] = await operator.syncAll();
    expect(denied!.status.phase).toBe('Failed');
    expect(denied!.status.lastError!.code).toBe('Unauthorized');
    expect(denied!.status.lastError!.message).not.toContain('not-a-real-token-7f3a');
    expect(await existsOn('remote', ['namespace', target])).toBe(false);

    await putSecret(home.name, 'rotating', { value: remoteKubeconfig });
    const [fixed] = await operator.syncAll();
    expect(fixed!.status.lastError).toBeUndefined();
    expect(fixed!.status.phase).toBe('Synced');
    expect(await existsOn('remote', ['configmap', 'a', '-n', target])).toBe(true);
    // The client of the bogus kubeconfig was closed, not kept beside the new one.
    expect(targets.remoteCount).toBe(1);
    await kubectlRemote(['delete', 'namespace', target, '--wait=false']);
  }, 180_000);

  it('closes the client of a destination no application has used for a while', async () => {
    const home = await testNamespace(h.cluster, 'op-dest-idle');
    const target = `${home.name}-remote`;
    const repo = await h.server.createRepo(`dest-idle-${home.name}`, {
      files: {
        'app/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${target}\n`,
        'app/a.yaml': configMap(target, 'a'),
      },
    });
    await putSecret(home.name, 'first', { value: remoteKubeconfig });
    // The same cluster under another Secret (another key): another destination.
    await putSecret(home.name, 'second', { other: remoteKubeconfig });
    const { operator, targets } = newOperator(false, { idleCloseMs: 200 });
    operator.upsert(
      remoteApp({ name: 'one', namespace: home.name, repoURL: repo.urls.git!, target, secret: 'first' }),
    );
    expect((await operator.trigger(`${home.name}/one`)).phase).toBe('Synced');
    expect(targets.remoteCount).toBe(1);
    await operator.remove(`${home.name}/one`);
    await new Promise((resolve) => setTimeout(resolve, 400));
    operator.upsert(
      remoteApp({
        name: 'two',
        namespace: home.name,
        repoURL: repo.urls.git!,
        target,
        secret: 'second',
        key: 'other',
      }),
    );
    expect((await operator.trigger(`${home.name}/two`)).phase).toBe('Synced');
    // The first destination's client went with its last application; only the second is open.
    expect(targets.remoteCount).toBe(1);
    await kubectlRemote(['delete', 'namespace', target, '--wait=false']);
  }, 120_000);

  it('refuses unusable destinations with a clear error, applies nothing, and never shows the Secret', async () => {
    const home = await testNamespace(h.cluster, 'op-dest-bad');
    const target = `${home.name}-remote`;
    const repo = await h.server.createRepo(`dest-bad-${home.name}`, {
      files: { 'app/a.yaml': configMap(home.name, 'a') },
    });
    const secretText = 'super-secret-value-93b1';
    await putSecret(home.name, 'exec', {
      value: [
        'apiVersion: v1',
        'clusters:',
        `- name: c\n  cluster:\n    server: ${remoteCluster().server}`,
        'users:',
        `- name: u\n  user:\n    exec:\n      command: /bin/sh\n      args: ["-c", "echo ${secretText}"]`,
        'contexts:',
        '- name: c\n  context: {cluster: c, user: u}',
        'current-context: c',
      ].join('\n'),
    });
    await putSecret(home.name, 'token-file', {
      value: [
        'apiVersion: v1',
        'clusters:',
        `- name: c\n  cluster:\n    server: ${remoteCluster().server}`,
        'users:',
        '- name: u\n  user:\n    token-file: /var/run/secrets/kubernetes.io/serviceaccount/token',
        'contexts:',
        '- name: c\n  context: {cluster: c, user: u}',
        'current-context: c',
      ].join('\n'),
    });
    await putSecret(home.name, 'garbage', { value: `clusters: [\n  token: ${secretText}\n  - {` });
    await putSecret(home.name, 'wrong-key', { kubeconfig: remoteKubeconfig });
    await putSecret(home.name, 'good', { value: remoteKubeconfig });

    const { operator } = newOperator();
    const cases: Array<{ name: string; secret: string; server?: string; code: string; says: RegExp }> = [
      { name: 'missing', secret: 'nope', code: 'NotFound', says: /Secret .*\/nope does not exist/ },
      { name: 'exec', secret: 'exec', code: 'Invalid', says: /user "u" has "exec", which runs a program/ },
      { name: 'token-file', secret: 'token-file', code: 'Invalid', says: /"token-file", which reads a file/ },
      { name: 'garbage', secret: 'garbage', code: 'Invalid', says: /is not valid YAML at line \d+/ },
      {
        name: 'wrong-key',
        secret: 'wrong-key',
        code: 'Invalid',
        says: /no kubeconfig under that key \(its keys: kubeconfig\)/,
      },
      {
        name: 'other-server',
        secret: 'good',
        server: 'https://127.0.0.1:1',
        code: 'Invalid',
        says: /destination server https:\/\/127\.0\.0\.1:1 is not the cluster/,
      },
    ];
    for (const c of cases) {
      operator.upsert(
        remoteApp({
          name: c.name,
          namespace: home.name,
          repoURL: repo.urls.git!,
          target,
          secret: c.secret,
          ...(c.server === undefined ? {} : { server: c.server }),
        }),
      );
    }
    const views = await operator.syncAll();
    for (const c of cases) {
      const view = views.find((v) => v.key === `${home.name}/${c.name}`)!;
      expect(view.status.phase, c.name).toBe('Failed');
      expect(view.status.lastError?.code, c.name).toBe(c.code);
      expect(view.status.lastError?.message, c.name).toMatch(c.says);
      expect(view.status.lastError?.message, c.name).not.toContain(secretText);
    }
    // Nothing reached either cluster: no object, no inventory.
    expect(await existsOn('local', ['configmap', 'a', '-n', home.name])).toBe(false);
    const labelled = await kubectlRemote(['get', 'configmaps', '-A', '-o', 'json']);
    expect(labelled).not.toContain(home.name);
  }, 180_000);

  it('heals drift on the remote cluster from the watch, without waiting for the interval', async () => {
    const home = await testNamespace(h.cluster, 'op-dest-heal');
    const target = `${home.name}-remote`;
    const repo = await h.server.createRepo(`dest-heal-${home.name}`, {
      files: {
        'app/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${target}\n`,
        'app/a.yaml': configMap(target, 'a'),
      },
    });
    await putSecret(home.name, 'cluster', { value: remoteKubeconfig });
    const { operator } = newOperator(true);
    const events: OperatorEvent[] = [];
    operator.on((e) => events.push(e));
    operator.upsert(
      remoteApp({
        name: 'heal',
        namespace: home.name,
        repoURL: repo.urls.git!,
        target,
        secret: 'cluster',
        selfHeal: true,
      }),
    );
    operator.start();
    await until(() => operator.get(`${home.name}/heal`)?.status.phase === 'Synced', 'the first sync');
    await until(
      () => events.some((e) => e.type === 'sync' && e.record.result === 'synced'),
      'the first sync record',
    );
    // The interval is an hour: only the watch can bring the next sync.
    await kubectlRemote([
      'patch',
      'configmap',
      'a',
      '-n',
      target,
      '--type=merge',
      '-p',
      '{"data":{"mode":"edited"}}',
    ]);
    await until(
      () =>
        events.some((e) => e.type === 'sync' && e.record.reason === 'drift' && e.record.result === 'healed'),
      'a sync healing the drift',
    );
    expect(events).toContainEqual({
      type: 'drift',
      app: `${home.name}/heal`,
      object: `/ConfigMap/${target}/a`,
      reason: 'modified',
    });
    expect(await kubectlRemote(['get', 'configmap', 'a', '-n', target, '-o', 'jsonpath={.data.mode}'])).toBe(
      'fast',
    );
    await kubectlRemote(['delete', 'configmap', 'a', '-n', target]);
    await until(
      async () => existsOn('remote', ['configmap', 'a', '-n', target]),
      'the deleted ConfigMap back',
    );
    expect(events).toContainEqual({
      type: 'drift',
      app: `${home.name}/heal`,
      object: `/ConfigMap/${target}/a`,
      reason: 'deleted',
    });
    await operator.stop();
    await kubectlRemote(['delete', 'namespace', target, '--wait=false']);
  }, 180_000);
});

describe('gitops sync APP with another cluster as destination', () => {
  it('applies an Application read from the cluster to its destination, not to the operator cluster', async () => {
    await h.kubectl(['apply', '--server-side', '--field-manager=destinations-test', '-f', 'deploy/crd.yaml']);
    await h.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=30s',
      'crd/applications.gitops.libgitops.dev',
    ]);
    const home = await testNamespace(h.cluster, 'op-dest-cli');
    const target = `${home.name}-remote`;
    const repo = await h.server.createRepo(`dest-cli-${home.name}`, {
      files: {
        'app/namespace.yaml': `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${target}\n`,
        'app/a.yaml': configMap(target, 'a'),
      },
    });
    await putSecret(home.name, 'remote', { value: remoteKubeconfig });
    const manifest = remoteApp({
      name: 'cli',
      namespace: home.name,
      repoURL: repo.urls.git!,
      target,
      secret: 'remote',
    });
    const client = new KubeClient(loadKubeconfig({ kubeconfigPath: h.cluster.kubeconfigPath }));
    try {
      await client.apply(manifest, { force: true });
    } finally {
      client.close();
    }
    const out: string[] = [];
    const code = await main(
      ['node', 'gitops', 'sync', 'cli', '-n', home.name, '--once', '--kubeconfig', h.cluster.kubeconfigPath],
      { out: (l) => out.push(l), err: (l) => out.push(l) },
    );
    expect(out.join('\n')).not.toContain('Failed');
    expect(code).toBe(0);
    expect(await existsOn('remote', ['configmap', 'a', '-n', target])).toBe(true);
    expect(await existsOn('local', ['namespace', target])).toBe(false);
    await kubectlRemote(['delete', 'namespace', target, '--wait=false']);
  }, 120_000);
});

describe('destination in the Application spec', () => {
  const base = {
    apiVersion: 'gitops.libgitops.dev/v1alpha1',
    kind: 'Application',
    metadata: { name: 'a', namespace: 'team' },
  };
  const spec = (destination: Record<string, unknown>) => ({
    ...base,
    spec: { source: { repoURL: 'https://git.example/r.git' }, destination },
  });
  const problem = (destination: Record<string, unknown>): string => {
    try {
      toApplication(spec(destination));
    } catch (err) {
      return `${(err as { code: string }).code}: ${(err as Error).message}`;
    }
    return 'accepted';
  };

  it('defaults to the operator’s cluster and the Secret key `value`', () => {
    expect(toApplication(spec({})).spec.destination).toEqual({ namespace: 'default' });
    expect(toApplication(spec({ server: 'in-cluster' })).spec.destination.server).toBe('in-cluster');
    expect(toApplication(spec({ kubeconfigSecretRef: { name: 'prod' } })).spec.destination).toEqual({
      namespace: 'default',
      kubeconfigSecretRef: { name: 'prod', key: 'value' },
    });
  });

  it('refuses a server it cannot reach or guard, without echoing credentials', () => {
    expect(problem({ server: 'https://10.0.0.1:6443' })).toMatch(
      /^Invalid: destination server "https:\/\/10.0.0.1:6443" needs .spec.destination.kubeconfigSecretRef/,
    );
    expect(problem({ server: 'prod', kubeconfigSecretRef: { name: 'p' } })).toMatch(
      /^Invalid: destination server must be the API server's URL/,
    );
    const withPassword = problem({
      server: 'https://admin:pa55word@10.0.0.1',
      kubeconfigSecretRef: { name: 'p' },
    });
    expect(withPassword).toMatch(/^Invalid: destination server must not carry credentials/);
    expect(withPassword).not.toContain('pa55word');
    expect(problem({ kubeconfigSecretRef: { key: 'value' } })).toMatch(/^Invalid/);
  });
});
