import { beforeAll, afterAll, describe, expect, it } from 'vitest';

import { syncCommand } from '../../src/cli/commands-sync.js';
import { clusterSetupTimeoutMs, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';
import { startGitServer } from '../support/git-server/index.js';
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
  let code = -1;
  const command = syncCommand({ out: (l) => out.push(l), err: (l) => err.push(l) }, (c) => (code = c));
  await command.parseAsync(args, { from: 'user' });
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
