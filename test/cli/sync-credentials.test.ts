/**
 * `gitops sync REPO --credentials-secret NAME` as its own process against an HTTP git server with
 * basic auth: the credentials come from a Secret in the cluster, and neither the password nor
 * its base64 form ever reaches stdout or stderr.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { clusterSetupTimeoutMs, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';
import { startGitServer } from '../support/git-server/index.js';
import type { GitServer } from '../support/git-server/index.js';

let cluster: TestCluster;
let git: GitServer;
let scratch: string;

beforeAll(async () => {
  cluster = await useCluster();
  git = await startGitServer({ transports: ['http'] });
  scratch = await mkdtemp(join(tmpdir(), 'libgitops-sync-credentials-'));
}, clusterSetupTimeoutMs);

afterAll(async () => {
  await git?.close();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], input?: string): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(command, args, { maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
      done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr }),
    );
    child.stdin!.end(input ?? '');
  });
}

async function kubectl(args: string[], input?: string, kubeconfig = cluster.kubeconfigPath): Promise<string> {
  const result = await run('kubectl', [`--kubeconfig=${kubeconfig}`, ...args], input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** `gitops ...` as its own process, from the sources, so its real stdout and stderr are seen. */
function gitops(args: string[]): Promise<Run> {
  const main = resolve('src/cli/main.ts');
  const script = `import { main } from ${JSON.stringify(main)}; process.exitCode = await main(['node', 'gitops', ...process.argv.slice(1)]);`;
  return run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ...args]);
}

async function putSecret(namespace: string, name: string, password: string): Promise<void> {
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    stringData: { username: git.http.username, password },
  };
  await kubectl(['apply', '-f', '-'], JSON.stringify(secret));
}

interface Report {
  status: { phase: string; lastError?: { code: string; message: string }; objects?: unknown[] };
}

function report(result: Run): Report {
  try {
    return JSON.parse(result.stdout) as Report;
  } catch {
    throw new Error(
      `gitops printed no JSON report (exit ${result.code}):\n${result.stdout}\n${result.stderr}`,
    );
  }
}

function expectNoSecret(result: Run, password: string): void {
  const shown = result.stdout + result.stderr;
  expect(shown).not.toContain(password);
  expect(shown).not.toContain(encodeURIComponent(password));
  expect(shown).not.toContain(Buffer.from(`${git.http.username}:${password}`).toString('base64'));
}

async function configMapNames(namespace: string): Promise<string> {
  return kubectl(['get', 'configmap', '-n', namespace, '-o', 'name']);
}

describe('gitops sync --credentials-secret', () => {
  it('fails with AuthFailed without the flag, and syncs with it; the password is never printed', async () => {
    const ns = await testNamespace(cluster, 'cli-creds');
    const repo = await git.createRepo(`cli-creds-${ns.name}`, {
      files: {
        'config/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-private\ndata:\n  a: b\n`,
      },
    });
    await putSecret(ns.name, 'repo-creds', git.http.password);
    const common = [
      'sync',
      repo.urls.http!,
      '--path',
      'config',
      '--once',
      `--kubeconfig=${cluster.kubeconfigPath}`,
      '-o',
      'json',
    ];

    const without = await gitops([...common, '-n', ns.name]);
    expect(without.code, without.stderr).toBe(1);
    expect(report(without).status.phase).toBe('Failed');
    expect(report(without).status.lastError?.code).toBe('AuthFailed');
    expect(await configMapNames(ns.name)).not.toContain('from-private');
    expectNoSecret(without, git.http.password);

    const withSecret = await gitops([...common, '-n', ns.name, '--credentials-secret', 'repo-creds']);
    expect(withSecret.code, withSecret.stderr).toBe(0);
    expect(report(withSecret).status.phase).toBe('Synced');
    expect(report(withSecret).status.lastError).toBeUndefined();
    expect(await configMapNames(ns.name)).toContain('configmap/from-private');
    expectNoSecret(withSecret, git.http.password);
  }, 180_000);

  it("reads the Secret from the kubeconfig context's namespace when -n is not given", async () => {
    const ns = await testNamespace(cluster, 'cli-creds-ctx');
    const repo = await git.createRepo(`cli-creds-ctx-${ns.name}`, {
      files: {
        'config/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-context\ndata:\n  a: b\n`,
      },
    });
    await putSecret(ns.name, 'repo-creds', git.http.password);
    const kubeconfig = join(scratch, `${ns.name}.kubeconfig`);
    await copyFile(cluster.kubeconfigPath, kubeconfig);
    await kubectl(['config', 'set-context', '--current', `--namespace=${ns.name}`], undefined, kubeconfig);

    const result = await gitops([
      'sync',
      repo.urls.http!,
      '--path',
      'config',
      '--once',
      `--kubeconfig=${kubeconfig}`,
      '--credentials-secret',
      'repo-creds',
      '-o',
      'json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(report(result).status.phase).toBe('Synced');
    expect(await configMapNames(ns.name)).toContain('configmap/from-context');
    expectNoSecret(result, git.http.password);
  }, 180_000);

  it('reports a wrong password in the Secret as AuthFailed without printing it, and a missing Secret by name', async () => {
    const ns = await testNamespace(cluster, 'cli-creds-wrong');
    const repo = await git.createRepo(`cli-creds-wrong-${ns.name}`, {
      files: { 'cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: never\ndata:\n  a: b\n` },
    });
    const wrong = 'wrong-password-Lk4mN7pQ1';
    await putSecret(ns.name, 'wrong-creds', wrong);
    const common = [
      'sync',
      repo.urls.http!,
      '--once',
      `--kubeconfig=${cluster.kubeconfigPath}`,
      '-n',
      ns.name,
    ];

    const rejected = await gitops([...common, '--credentials-secret', 'wrong-creds', '-o', 'json']);
    expect(rejected.code, rejected.stderr).toBe(1);
    expect(report(rejected).status.lastError?.code).toBe('AuthFailed');
    expectNoSecret(rejected, wrong);
    expectNoSecret(rejected, git.http.password);

    const missing = await gitops([...common, '--credentials-secret', 'absent', '-o', 'json']);
    expect(missing.code, missing.stderr).toBe(1);
    expect(report(missing).status.lastError).toMatchObject({
      code: 'NotFound',
      message: expect.stringContaining(`${ns.name}/absent`),
    });

    const invalid = await gitops([...common, '--credentials-secret', '--upload-pack=x']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/Invalid.*credentials-secret/);
  }, 180_000);
});
