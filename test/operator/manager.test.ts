/**
 * The operator manager follows the cluster's Applications by watching them, on the real control
 * plane: a created Application is synced, an edit is applied, a deletion stops it, with no
 * polling at all (no resync, hour-long intervals), so only the watch can have told it; a watch
 * broken by the network recovers and catches up with what changed meanwhile.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { OperatorManager } from '../../src/operator/index.js';
import type { OperatorEvent } from '../../src/operator/index.js';
import {
  clusterSetupTimeoutMs,
  startHoldingProxy,
  testNamespace,
  useCluster,
} from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';
import { startGitServer } from '../support/git-server/index.js';
import type { GitServer } from '../support/git-server/index.js';

let cluster: TestCluster;
let git: GitServer;
const managers: OperatorManager[] = [];
const aborts: AbortController[] = [];

beforeAll(async () => {
  cluster = await useCluster();
  git = await startGitServer({ transports: ['git'] });
  await kubectl(['apply', '--server-side', '--field-manager=manager-test', '-f', 'deploy/crd.yaml']);
  await kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/applications.gitops.libgitops.dev',
  ]);
}, clusterSetupTimeoutMs);

afterAll(async () => {
  for (const a of aborts) a.abort();
  await Promise.all(managers.map((m) => m.close()));
  await git?.close();
});

function kubectl(args: string[], input?: string, kubeconfig = cluster.kubeconfigPath): Promise<string> {
  return new Promise((done, fail) => {
    const child = execFile('kubectl', [`--kubeconfig=${kubeconfig}`, ...args], (error, stdout, stderr) =>
      error ? fail(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : done(stdout),
    );
    child.stdin!.end(input ?? '');
  });
}

async function until<T>(check: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const value = await Promise.resolve()
      .then(check)
      .catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function application(name: string, namespace: string, repoURL: string, path: string): string {
  return JSON.stringify({
    apiVersion: 'gitops.libgitops.dev/v1alpha1',
    kind: 'Application',
    metadata: { name, namespace },
    spec: {
      source: { repoURL, paths: [path] },
      destination: { namespace },
      // Nothing but the watch may start a sync: an hour between timer syncs.
      policy: { interval: '1h' },
    },
  });
}

function configMap(name: string): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  from: watch-test\n`;
}

function watching(manager: OperatorManager, namespace: string): { events: OperatorEvent[] } {
  const events: OperatorEvent[] = [];
  manager.operator.on((e) => events.push(e));
  manager.operator.start();
  const abort = new AbortController();
  aborts.push(abort);
  void manager.watchApplications({ namespace, signal: abort.signal });
  return { events };
}

describe('OperatorManager.watchApplications', () => {
  it('syncs a created Application, applies an edit and forgets a deleted one, as the watch reports them', async () => {
    const ns = await testNamespace(cluster, 'op-watch');
    const repo = await git.createRepo(`watch-${ns.name}`, {
      files: { 'a/cm.yaml': configMap('from-a'), 'b/cm.yaml': configMap('from-b') },
    });
    const manager = new OperatorManager({ kubeconfig: cluster.kubeconfigPath, reportToCluster: true });
    managers.push(manager);
    const { events } = watching(manager, ns.name);
    const key = `${ns.name}/watched`;
    const synced = (path: string) =>
      events.some(
        (e) =>
          e.type === 'sync' &&
          e.record.app === key &&
          e.record.result === 'synced' &&
          manager.operator.get(key)?.app.spec.source.paths[0] === path,
      );

    await kubectl(['create', '-f', '-'], application('watched', ns.name, repo.urls.git!, 'a'));
    await until(() => (synced('a') ? true : undefined), 'the created Application to sync');
    expect(await kubectl(['get', 'configmap', 'from-a', '-n', ns.name, '-o', 'name'])).toContain('from-a');
    // Its status reached the object on the cluster.
    await until(async () => {
      const phase = await kubectl([
        'get',
        'application',
        'watched',
        '-n',
        ns.name,
        '-o',
        'jsonpath={.status.phase}',
      ]);
      return phase === 'Synced' ? phase : undefined;
    }, 'the status on the Application');

    await kubectl([
      'patch',
      'application',
      'watched',
      '-n',
      ns.name,
      '--type=merge',
      '-p',
      '{"spec":{"source":{"paths":["b"]}}}',
    ]);
    await until(() => (synced('b') ? true : undefined), 'the edited Application to sync');
    expect(await kubectl(['get', 'configmap', 'from-b', '-n', ns.name, '-o', 'name'])).toContain('from-b');

    await kubectl(['delete', 'application', 'watched', '-n', ns.name, '--wait=true']);
    await until(() => (manager.operator.get(key) === undefined ? true : undefined), 'the deletion');
    expect(manager.operator.list().map((v) => v.key)).not.toContain(key);
  });

  it('catches up after the watch is broken: what was created and deleted meanwhile is added and removed', async () => {
    const ns = await testNamespace(cluster, 'op-watch-cut');
    const repo = await git.createRepo(`watch-cut-${ns.name}`, { files: { 'a/cm.yaml': configMap('cut-a') } });
    let down = false;
    const proxy = await startHoldingProxy(
      cluster,
      (req) => down && (req.url ?? '').includes('/applications'),
    );
    const dir = mkdtempSync(join(tmpdir(), 'libgitops-watch-cut-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(kubeconfig, proxy.kubeconfig);
      const manager = new OperatorManager({ kubeconfig });
      managers.push(manager);
      watching(manager, ns.name);
      await kubectl(['create', '-f', '-'], application('before', ns.name, repo.urls.git!, 'a'));
      await until(() => manager.operator.get(`${ns.name}/before`), 'the first Application');

      // The network fails: the watch breaks, and its retries hang until the network is back.
      down = true;
      proxy.cut();
      await until(() => (proxy.held() > 0 ? true : undefined), 'a retry to reach the broken network');
      await kubectl(['delete', 'application', 'before', '-n', ns.name, '--wait=true']);
      await kubectl(['create', '-f', '-'], application('during', ns.name, repo.urls.git!, 'a'));
      expect(manager.operator.get(`${ns.name}/before`)).toBeDefined();
      expect(manager.operator.get(`${ns.name}/during`)).toBeUndefined();

      down = false;
      proxy.cut();
      await until(() => manager.operator.get(`${ns.name}/during`), 'the Application created meanwhile');
      await until(
        () => (manager.operator.get(`${ns.name}/before`) === undefined ? true : undefined),
        'the Application deleted meanwhile to go',
      );
    } finally {
      await proxy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
