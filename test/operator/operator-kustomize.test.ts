import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { applicationFor } from '../../src/operator/application.js';
import { EngineTarget } from '../../src/operator/engine-target.js';
import { Operator } from '../../src/operator/operator.js';
import { Renderer } from '../../src/operator/render.js';
import { testNamespace } from '../support/cluster/index.js';
import { pushCommit } from '../support/git-server/index.js';
import { operatorHarness } from './operator-harness.js';

const h = operatorHarness(['git']);
const { operators, targets, kubectl } = h;
// A folder for the test's kubectl wrapper and the render cache.
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'libgitops-kustomize-test-'));
});

afterAll(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

function configMap(name: string): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  owner: ${name}\n`;
}

describe('kustomize rendering through the operator', () => {
  it('applies namePrefix and commonLabels, and a second sync of the same tree does not run kustomize', async () => {
    const home = await testNamespace(h.cluster, 'op-kust');
    const repo = await h.server.createRepo(`kust-${home.name}`, {
      files: {
        'overlay/kustomization.yaml': [
          'apiVersion: kustomize.config.k8s.io/v1beta1',
          'kind: Kustomization',
          'namePrefix: team-',
          'commonLabels:',
          '  team: blue',
          'resources:',
          '  - first.yaml',
          '  - second.yaml',
          '',
        ].join('\n'),
        'overlay/first.yaml': configMap('first'),
        'overlay/second.yaml': configMap('second'),
        'README.md': 'outside the rendered path\n',
      },
    });
    // The real kubectl behind a wrapper that counts its runs, so the count is the process's, not ours.
    const counter = join(scratch, 'kustomize-runs');
    const wrapper = join(scratch, 'kubectl');
    await writeFile(counter, '');
    await writeFile(wrapper, `#!/bin/sh\necho "$1" >> '${counter}'\nexec kubectl "$@"\n`);
    await chmod(wrapper, 0o755);
    const runs = async (): Promise<number> =>
      (await readFile(counter, 'utf8')).split('\n').filter(Boolean).length;

    const target = new EngineTarget({ kubeconfig: h.cluster.kubeconfigPath });
    targets.push(target);
    const renderer = new Renderer({ kubectl: wrapper });
    const operator = new Operator({ destinations: target, renderer, follow: false });
    operators.push(operator);
    operator.upsert(
      applicationFor({
        name: 'kust',
        namespace: home.name,
        repoURL: repo.urls.git!,
        paths: ['overlay'],
        destinationNamespace: home.name,
      }),
    );

    const [first] = await operator.syncAll();
    expect(first!.status.lastError).toBeUndefined();
    expect(first!.status.phase).toBe('Synced');
    expect(first!.status.objects!.map((o) => o.object).sort()).toEqual([
      `/ConfigMap/${home.name}/team-first`,
      `/ConfigMap/${home.name}/team-second`,
    ]);
    const labelled = await kubectl(['get', 'configmap', '-n', home.name, '-l', 'team=blue', '-o', 'name']);
    expect(labelled.trim().split('\n').sort()).toEqual(['configmap/team-first', 'configmap/team-second']);
    expect(
      await kubectl(['get', 'configmap', 'team-first', '-n', home.name, '-o', 'jsonpath={.data.owner}']),
    ).toBe('first');
    expect(await runs()).toBe(1);
    expect(renderer.kustomizeRuns).toBe(1);

    // A new revision that leaves overlay/ untouched: same tree id, so the rendering comes from the cache.
    const second = await pushCommit(repo.over('git'), { files: { 'README.md': 'changed elsewhere\n' } });
    expect(await operator.notifyPush(repo.urls.git!)).toBe(1);
    const [again] = await operator.syncAll();
    expect(again!.status.lastSyncedRevision).toBe(second);
    expect(again!.status.phase).toBe('Synced');
    expect(await runs()).toBe(1);
    expect(renderer.kustomizeRuns).toBe(1);
    expect(renderer.cache.stats.treeHits).toBeGreaterThanOrEqual(1);

    // A change inside overlay/ is a new tree: kustomize runs once more.
    await pushCommit(repo.over('git'), {
      files: { 'overlay/second.yaml': configMap('second').replace('owner: second', 'owner: changed') },
    });
    expect(await operator.notifyPush(repo.urls.git!)).toBe(1);
    await operator.syncAll();
    expect(await runs()).toBe(2);
    expect(
      await kubectl(['get', 'configmap', 'team-second', '-n', home.name, '-o', 'jsonpath={.data.owner}']),
    ).toBe('changed');
  }, 120_000);
});
