import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';

import { main } from '../../src/cli/main.js';
import { clusterSetupTimeoutMs, kubeRequest, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';
import { pushCommit, startGitServer } from '../support/git-server/index.js';
import type { GitServer } from '../support/git-server/index.js';

let cluster: TestCluster;
let git: GitServer;

beforeAll(async () => {
  cluster = await useCluster();
  git = await startGitServer({ transports: ['git'] });
}, clusterSetupTimeoutMs);

afterAll(async () => {
  await git?.close();
});

async function gitops(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'gitops', 'sync', ...args], {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  return { code, out, err };
}

describe('gitops sync --once', () => {
  it('applies a repository path on the first run and prints each object', async () => {
    const ns = await testNamespace(cluster, 'op-cli');
    const repo = await git.createRepo(`cli-${ns.name}`, {
      files: {
        'config/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-cli\ndata:\n  a: b\n`,
      },
    });
    const result = await gitops([
      repo.urls.git!,
      '--path',
      'config',
      '--once',
      '--prune',
      '-n',
      ns.name,
      `--kubeconfig=${cluster.kubeconfigPath}`,
      '-o',
      'json',
    ]);
    expect(result.err.join('\n')).not.toMatch(/failed/);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.out.join('\n')) as { status: { phase: string; objects: unknown[] } };
    expect(report.status.phase).toBe('Synced');
    expect(report.status.objects).toEqual([
      { object: `/ConfigMap/${ns.name}/from-cli`, action: 'applied', health: 'Healthy' },
    ]);
  }, 60_000);

  it('exits 1 with the reason when the API server refuses an object', async () => {
    const ns = await testNamespace(cluster, 'op-cli-bad');
    const repo = await git.createRepo(`cli-bad-${ns.name}`, {
      files: { 'bad.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_Valid\n` },
    });
    const result = await gitops([
      repo.urls.git!,
      '--once',
      '-n',
      ns.name,
      `--kubeconfig=${cluster.kubeconfigPath}`,
    ]);
    expect(result.code).toBe(1);
    expect(result.out.join('\n')).toMatch(/Failed/);
    expect(result.err.join('\n') + result.out.join('\n')).toMatch(/Not_Valid/);
  }, 60_000);
});

async function gitopsCmd(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'gitops', ...args], { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

async function configMap(
  ns: string,
  name: string,
): Promise<{ metadata: { labels?: Record<string, string> } } | undefined> {
  const res = await kubeRequest<{ metadata: { labels?: Record<string, string> } }>(
    cluster,
    'GET',
    `/api/v1/namespaces/${ns}/configmaps/${name}`,
  );
  return res.status === 404 ? undefined : res.body;
}

const APP_LABEL = 'gitops.libgitops.dev/application';
const cm = (name: string): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  a: b\n`;

describe('ad-hoc application names', () => {
  it("two --prune syncs of different repositories into one namespace keep each other's objects", async () => {
    const ns = await testNamespace(cluster, 'op-cli-two');
    const one = await git.createRepo(`one-${ns.name}`, { files: { 'cm.yaml': cm('from-one') } });
    const two = await git.createRepo(`two-${ns.name}`, { files: { 'cm.yaml': cm('from-two') } });
    const kube = `--kubeconfig=${cluster.kubeconfigPath}`;
    expect((await gitops([one.urls.git!, '--prune', '-n', ns.name, kube])).code).toBe(0);
    expect((await gitops([two.urls.git!, '--prune', '-n', ns.name, kube])).code).toBe(0);
    // A second sync of the first repository prunes nothing of the second.
    expect((await gitops([one.urls.git!, '--prune', '-n', ns.name, kube])).code).toBe(0);
    const a = await configMap(ns.name, 'from-one');
    const b = await configMap(ns.name, 'from-two');
    expect(a?.metadata.labels?.[APP_LABEL]).toMatch(new RegExp(`^${ns.name}\\.one-${ns.name}-[0-9a-f]{8}$`));
    expect(b?.metadata.labels?.[APP_LABEL]).toMatch(new RegExp(`^${ns.name}\\.two-${ns.name}-[0-9a-f]{8}$`));
  }, 90_000);

  it('refuses to prune an object another application has since applied', async () => {
    const ns = await testNamespace(cluster, 'op-cli-own');
    const one = await git.createRepo(`own1-${ns.name}`, {
      files: { 'shared.yaml': cm('shared'), 'mine.yaml': cm('mine'), 'kept.yaml': cm('kept') },
    });
    const two = await git.createRepo(`own2-${ns.name}`, { files: { 'shared.yaml': cm('shared') } });
    const kube = `--kubeconfig=${cluster.kubeconfigPath}`;
    expect((await gitops([one.urls.git!, '--prune', '-n', ns.name, kube])).code).toBe(0);
    expect((await gitops([two.urls.git!, '--prune', '-n', ns.name, kube])).code).toBe(0);
    const owner = (await configMap(ns.name, 'shared'))?.metadata.labels?.[APP_LABEL];
    // The label names the namespace and the application.
    expect(owner).toMatch(new RegExp(`^${ns.name}\\.own2-`));
    await pushCommit(one, { delete: ['shared.yaml', 'mine.yaml'] });
    const result = await gitops([one.urls.git!, '--prune', '-n', ns.name, kube, '-o', 'json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.out.join('\n')) as {
      status: { objects: { object: string; action: string; message?: string }[] };
    };
    const byObject = new Map(report.status.objects.map((o) => [o.object, o]));
    expect(byObject.get(`/ConfigMap/${ns.name}/mine`)?.action).toBe('pruned');
    expect(byObject.get(`/ConfigMap/${ns.name}/shared`)?.action).toBe('skipped');
    expect(byObject.get(`/ConfigMap/${ns.name}/shared`)?.message).toMatch(/not ours/);
    expect(await configMap(ns.name, 'mine')).toBeUndefined();
    expect((await configMap(ns.name, 'shared'))?.metadata.labels?.[APP_LABEL]).toBe(owner);
  }, 90_000);
});

describe('a plain folder', () => {
  it('diffs (exit 1), syncs, and then diffs clean (exit 0), in every output format', async () => {
    const ns = await testNamespace(cluster, 'op-cli-dir');
    const dir = await mkdtemp(join(tmpdir(), 'gitops-plain-'));
    try {
      await writeFile(join(dir, 'cm.yaml'), cm('from-folder'));
      const kube = `--kubeconfig=${cluster.kubeconfigPath}`;
      const before = await gitopsCmd(['diff', dir, '-n', ns.name, kube]);
      expect(before.err).toEqual([]);
      expect(before.code).toBe(1);
      expect(before.out.join('\n').split('\n')[0]).toBe(`create /ConfigMap/${ns.name}/from-folder`);
      const named = await gitopsCmd(['diff', dir, '-n', ns.name, kube, '-o', 'name']);
      expect(named.out).toEqual(['configmap/from-folder']);
      const asJson = await gitopsCmd(['diff', dir, '-n', ns.name, kube, '-o', 'json']);
      expect(JSON.parse(asJson.out.join('\n'))).toMatchObject([
        { object: `/ConfigMap/${ns.name}/from-folder`, action: 'create' },
      ]);
      const synced = await gitopsCmd(['sync', dir, '-n', ns.name, kube, '-o', 'name']);
      expect(synced.code).toBe(0);
      expect(synced.out).toEqual(['configmap/from-folder']);
      expect((await configMap(ns.name, 'from-folder'))?.metadata.labels?.[APP_LABEL]).toMatch(
        new RegExp(`^${ns.name}\\.gitops-plain-[a-z0-9]+-[0-9a-f]{8}$`),
      );
      const after = await gitopsCmd(['diff', dir, '-n', ns.name, kube, '-o', 'yaml']);
      expect(after.code).toBe(0);
      expect(after.out.join('\n')).toBe('[]');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
