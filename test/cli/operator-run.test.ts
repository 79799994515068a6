import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

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

beforeAll(async () => {
  cluster = await useCluster();
  git = await startGitServer({ transports: ['http'] });
  // `gitops run` follows Applications: the cluster needs the kind the operator ships.
  await kubectl(['apply', '--server-side', '--field-manager=operator-run-test', '-f', 'deploy/crd.yaml']);
  await kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=30s',
    'crd/applications.gitops.libgitops.dev',
  ]);
}, clusterSetupTimeoutMs);

afterAll(async () => {
  await git?.close();
});

async function kubectl(args: string[], input?: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = execFile(
      'kubectl',
      [`--kubeconfig=${cluster.kubeconfigPath}`, ...args],
      (error, stdout, stderr) => (error ? fail(new Error(`kubectl ${args[0]}: ${stderr}`)) : done(stdout)),
    );
    child.stdin!.end(input ?? '');
  });
}

/** `gitops ...` as its own process, from the sources, so the test can signal it. */
function gitopsArgs(args: string[]): string[] {
  const main = resolve('src/cli/main.ts');
  const script = `import { main } from ${JSON.stringify(main)}; process.exitCode = await main(['node', 'gitops', ...process.argv.slice(1)]);`;
  return ['--import', 'tsx', '--input-type=module', '-e', script, ...args];
}

let exitedEarly = (): boolean => false;

async function until<T>(check: () => Promise<T | undefined>, what: string, log: () => string): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (exitedEarly())
      throw new Error(`the operator exited while waiting for ${what}:\n${log().slice(-3000)}`);
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; operator log:\n${log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function secret(namespace: string, password: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'repo-creds', namespace },
    stringData: { username: git.http.username, password },
  });
}

describe('gitops run as a process', () => {
  it('syncs an Application of the cluster with its Secret, serves /healthz and /metrics, and on SIGTERM exits 0 and hands back its Lease', async () => {
    const ns = await testNamespace(cluster, 'op-run');
    const repo = await git.createRepo(`run-${ns.name}`, {
      files: {
        'app/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-run\ndata:\n  by: gitops-run\n`,
      },
    });
    const wrongPassword = 'not-the-password-91c2';
    await kubectl(['apply', '-f', '-'], secret(ns.name, wrongPassword));
    await kubectl(
      ['create', '-f', '-'],
      JSON.stringify({
        apiVersion: 'gitops.libgitops.dev/v1alpha1',
        kind: 'Application',
        metadata: { name: 'runner', namespace: ns.name },
        spec: {
          source: { repoURL: repo.urls.http, paths: ['app'], credentialsSecretRef: { name: 'repo-creds' } },
          destination: { namespace: ns.name },
          policy: { retry: { backoffSeconds: 1, maxBackoffSeconds: 2 } },
        },
      }),
    );

    const child = spawn(
      process.execPath,
      gitopsArgs([
        'run',
        `--kubeconfig=${cluster.kubeconfigPath}`,
        '-n',
        ns.name,
        '--lease-namespace',
        ns.name,
        '--listen',
        '127.0.0.1:0',
        '--resync',
        '1',
      ]),
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GITOPS_API_TOKEN: 'run-test-api-token' } },
    );
    let log = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    exitedEarly = () => child.exitCode !== null || child.signalCode !== null;
    try {
      const url = await until(
        async () => /"url":"(http:\/\/[^"]+)"/.exec(log)?.[1],
        'the operator to listen',
        () => log,
      );
      const appStatus = (): Promise<string> =>
        kubectl(['get', 'application', 'runner', '-n', ns.name, '-o', 'jsonpath={.status}']);

      // A wrong password: the Application says AuthFailed, and the password shows nowhere.
      const failed = await until(
        async () => {
          const status = JSON.parse((await appStatus()) || '{}') as { lastError?: { code: string } };
          return status.lastError?.code === 'AuthFailed' ? status : undefined;
        },
        'AuthFailed in the Application status',
        () => log,
      );
      expect(JSON.stringify(failed)).not.toContain(wrongPassword);

      // The Secret fixed in the cluster: the next retry reads it again and syncs.
      await kubectl(['apply', '-f', '-'], secret(ns.name, git.http.password));
      await until(
        async () =>
          (JSON.parse((await appStatus()) || '{}') as { phase?: string }).phase === 'Synced'
            ? true
            : undefined,
        'the Application to be Synced',
        () => log,
      );
      expect(
        await kubectl(['get', 'configmap', 'from-run', '-n', ns.name, '-o', 'jsonpath={.data.by}']),
      ).toBe('gitops-run');

      const healthz = await fetch(`${url}/healthz`);
      expect(healthz.status).toBe(200);
      expect(await healthz.json()).toEqual({ status: 'ok' });
      const metrics = await fetch(`${url}/metrics`);
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      expect(text).toMatch(/^gitops_sync_total\{[^}]*\} [1-9]/m);
      expect(text).toMatch(/^gitops_git_fetch_total\{[^}]*result="error"[^}]*\} [1-9]/m);

      const holder = await kubectl([
        'get',
        'lease',
        'libgitops-operator',
        '-n',
        ns.name,
        '-o',
        'jsonpath={.spec.holderIdentity}',
      ]);
      expect(holder).not.toBe('');

      child.kill('SIGTERM');
      // A generous limit only so that a hang fails the test instead of holding it: how long the
      // exit takes on a loaded machine is not asserted.
      const code = await Promise.race([
        exited,
        new Promise<'late'>((r) => setTimeout(() => r('late'), 60_000)),
      ]);
      expect(code, `exit after SIGTERM; log:\n${log.slice(-2000)}`).toBe(0);
      expect(
        await kubectl([
          'get',
          'lease',
          'libgitops-operator',
          '-n',
          ns.name,
          '-o',
          'jsonpath={.spec.holderIdentity}',
        ]),
      ).toBe('');
      expect(log).not.toContain(wrongPassword);
      expect(log).not.toContain(git.http.password);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
  }, 180_000);

  it('exits on SIGTERM that arrives while the Applications are being listed', async () => {
    const ns = await testNamespace(cluster, 'op-run-term');
    const listPath = `/apis/gitops.libgitops.dev/v1alpha1/namespaces/${ns.name}/applications`;
    // Every list of Applications is held open: the signal is certain to come while one waits.
    const proxy = await startHoldingProxy(
      cluster,
      (req) => req.method === 'GET' && (req.url ?? '').split('?')[0] === listPath,
    );
    const dir = mkdtempSync(join(tmpdir(), 'op-run-term-'));
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, proxy.kubeconfig, { mode: 0o600 });
    const child = spawn(
      process.execPath,
      gitopsArgs([
        'run',
        `--kubeconfig=${kubeconfigPath}`,
        '-n',
        ns.name,
        '--lease-namespace',
        ns.name,
        '--listen',
        '127.0.0.1:0',
        '--resync',
        '1',
      ]),
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GITOPS_API_TOKEN: 'run-test-api-token' } },
    );
    let log = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await Promise.race([
        proxy.firstHeld,
        exited.then(() => {
          throw new Error(`the operator exited before listing:\n${log.slice(-3000)}`);
        }),
        new Promise((_, reject) =>
          setTimeout(
            () =>
              reject(
                new Error(
                  `no list of Applications within 90 s:\n${log.slice(-3000)}\n${proxy.seen.join('\n')}`,
                ),
              ),
            90_000,
          ),
        ),
      ]);
      child.kill('SIGTERM');
      // A generous limit only so that a hang fails the test instead of holding it.
      const code = await Promise.race([
        exited,
        new Promise<'never exited'>((r) => setTimeout(() => r('never exited'), 60_000)),
      ]);
      expect(code, `exit after SIGTERM; log:\n${log.slice(-3000)}`).toBe(0);
      const afterShutdown = log.slice(log.indexOf('shutting down'));
      expect(log).toContain('shutting down');
      expect(afterShutdown).not.toContain('retrying');
      expect(proxy.held()).toBe(1);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      await proxy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
