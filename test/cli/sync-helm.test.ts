/**
 * `gitops sync` and `gitops diff` of a repository holding a Helm chart, with `--values` and
 * `--set` on the command line (after the chart's own values), on the real control plane with the
 * real helm binary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { main } from '../../src/cli/main.js';
import { HELM_ENV } from '../../src/helm/index.js';
import { clusterSetupTimeoutMs, kubeRequest, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';
import { startGitServer } from '../support/git-server/index.js';
import type { GitServer } from '../support/git-server/index.js';
import { ensureHelm } from '../support/helm/build.js';

let cluster: TestCluster;
let git: GitServer;
const previousHelm = process.env[HELM_ENV];

beforeAll(async () => {
  cluster = await useCluster();
  git = await startGitServer({ transports: ['git'] });
  process.env[HELM_ENV] = await ensureHelm();
}, clusterSetupTimeoutMs);

afterAll(async () => {
  await git?.close();
  if (previousHelm === undefined) delete process.env[HELM_ENV];
  else process.env[HELM_ENV] = previousHelm;
});

async function gitops(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'gitops', ...args], { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

const chart = {
  'chart/Chart.yaml': 'apiVersion: v2\nname: paint\nversion: 0.1.0\n',
  'chart/values.yaml': 'color: blue\nsize: 1\n',
  'chart/values-prod.yaml': 'color: green\n',
  'chart/templates/cm.yaml': [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: paint',
    'data:',
    '  color: {{ .Values.color | quote }}',
    '  size: {{ .Values.size | quote }}',
    '',
  ].join('\n'),
};

describe('gitops sync and diff of a Helm chart', () => {
  it('take --values (relative to the chart) and --set after the chart values; a bad --set is a usage error', async () => {
    const ns = await testNamespace(cluster, 'cli-helm');
    const repo = await git.createRepo(`helm-${ns.name}`, { files: chart });
    const common = [
      repo.urls.git!,
      '--path',
      'chart',
      '-n',
      ns.name,
      `--kubeconfig=${cluster.kubeconfigPath}`,
    ];
    const values = ['--values', 'values-prod.yaml', '--set', 'size=3'];

    const before = await gitops(['diff', ...common, ...values]);
    expect(before.err.join('\n')).not.toMatch(/RenderFailed|error/i);
    expect(before.code).toBe(1);
    expect(before.out.join('\n')).toContain(`/ConfigMap/${ns.name}/paint`);

    const synced = await gitops(['sync', ...common, ...values]);
    expect(synced.code, synced.err.join('\n')).toBe(0);
    const live = await kubeRequest<{ data: Record<string, string> }>(
      cluster,
      'GET',
      `/api/v1/namespaces/${ns.name}/configmaps/paint`,
    );
    // values-prod.yaml wins over values.yaml, --set over both.
    expect(live.body.data).toEqual({ color: 'green', size: '3' });

    expect((await gitops(['diff', ...common, ...values])).code).toBe(0);
    // Without the flags the chart's own values would change the object back.
    const plain = await gitops(['diff', ...common]);
    expect(plain.code).toBe(1);
    expect(plain.out.join('\n')).toMatch(/color.*green.*blue|green.*->.*blue/s);

    const bad = await gitops(['sync', ...common, '--set', 'no-equals-sign']);
    expect(bad.code).toBe(2);
    expect(bad.err.join('\n')).toMatch(/--set "no-equals-sign" must be NAME=VALUE/);
  }, 180_000);
});
