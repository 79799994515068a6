/**
 * A plain name in spec.source.targetRevision (`v1.2.0`, `release`), resolved against the remote
 * as Argo CD does: a tag of that name is pinned, else a branch of that name is followed, else
 * the sync fails with NotFound and is tried again later.
 */
import { describe, expect, it } from 'vitest';

import { APPLICATION_API_VERSION, APPLICATION_KIND, toApplication } from '../../src/operator/application.js';
import type { Application } from '../../src/operator/application.js';
import { EngineTarget } from '../../src/operator/engine-target.js';
import { Operator } from '../../src/operator/operator.js';
import type { OperatorEvent } from '../../src/operator/operator.js';
import { testNamespace } from '../support/cluster/index.js';
import { pushCommit, runGit } from '../support/git-server/index.js';
import { operatorHarness } from './operator-harness.js';

const h = operatorHarness(['git']);
const { operators, targets } = h;

function configMap(namespace: string, value: string): Record<string, string> {
  return {
    'config/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: named\n  namespace: ${namespace}\ndata:\n  value: ${value}\n`,
  };
}

async function liveValue(namespace: string): Promise<string> {
  return h.kubectl(['get', 'configmap', 'named', '-n', namespace, '-o', 'jsonpath={.data.value}']);
}

function app(namespace: string, repoURL: string, targetRevision: string): Application {
  return toApplication({
    apiVersion: APPLICATION_API_VERSION,
    kind: APPLICATION_KIND,
    metadata: { name: 'named', namespace },
    spec: { source: { repoURL, targetRevision, paths: ['config'] } },
  });
}

function newOperator(): { operator: Operator; events: OperatorEvent[] } {
  const target = new EngineTarget({ kubeconfig: h.cluster.kubeconfigPath });
  targets.push(target);
  const operator = new Operator({ destinations: target, follow: false });
  operators.push(operator);
  const events: OperatorEvent[] = [];
  operator.on((event) => events.push(event));
  return { operator, events };
}

describe('a plain name in spec.source.targetRevision', () => {
  it('is a tag when the remote has that tag: its content is applied and a push to main does not move it', async () => {
    const home = await testNamespace(h.cluster, 'op-name-tag');
    const repo = await h.server.createRepo(`name-tag-${home.name}`, { files: configMap(home.name, 'one') });
    const tagged = (await runGit(['-C', repo.path, 'rev-parse', 'refs/heads/main'])).trim();
    // An annotated tag: the operator must apply the commit under it, not trip on the tag object.
    await runGit(['-C', repo.path, 'tag', '-a', '-m', 'release 1.2.0', 'v1.2.0', tagged]);
    await pushCommit(repo.over('git'), { files: configMap(home.name, 'two') });

    const { operator } = newOperator();
    const spec = app(home.name, repo.urls.git!, 'v1.2.0');
    // Nothing is decided before the remote is asked: the spec's branch stays what it was.
    expect(spec.spec.source.branch).toBe('main');
    operator.upsert(spec);
    const [synced] = await operator.syncAll();
    expect(synced!.status.lastError).toBeUndefined();
    expect(synced!.status.lastSyncedRevision).toBe(tagged);
    expect(await liveValue(home.name)).toBe('one');

    await pushCommit(repo.over('git'), { files: configMap(home.name, 'three') });
    expect(await operator.notifyPush(repo.urls.git!, 'main')).toBe(0);
    const [again] = await operator.syncAll();
    expect(again!.status.lastError).toBeUndefined();
    expect(again!.status.lastSyncedRevision).toBe(tagged);
    expect(await liveValue(home.name)).toBe('one');
  }, 120_000);

  it('is the tag when the remote has both a tag and a branch of that name, as git decides', async () => {
    const home = await testNamespace(h.cluster, 'op-name-both');
    const repo = await h.server.createRepo(`name-both-${home.name}`, { files: configMap(home.name, 'tag') });
    const tagged = (await runGit(['-C', repo.path, 'rev-parse', 'refs/heads/main'])).trim();
    await runGit(['-C', repo.path, 'tag', 'stable', tagged]);
    const branchTip = await pushCommit(repo.over('git'), {
      branch: 'stable',
      from: 'main',
      files: configMap(home.name, 'branch'),
    });
    expect(branchTip).not.toBe(tagged);

    const { operator } = newOperator();
    operator.upsert(app(home.name, repo.urls.git!, 'stable'));
    const [synced] = await operator.syncAll();
    expect(synced!.status.lastError).toBeUndefined();
    expect(synced!.status.lastSyncedRevision).toBe(tagged);
    expect(await liveValue(home.name)).toBe('tag');
  }, 120_000);

  it('is a branch when the remote has no such tag, and the branch is followed', async () => {
    const home = await testNamespace(h.cluster, 'op-name-branch');
    const repo = await h.server.createRepo(`name-branch-${home.name}`, {
      files: configMap(home.name, 'main'),
    });
    const first = await pushCommit(repo.over('git'), {
      branch: 'release',
      from: 'main',
      files: configMap(home.name, 'r1'),
    });

    const { operator } = newOperator();
    operator.upsert(app(home.name, repo.urls.git!, 'release'));
    const [synced] = await operator.syncAll();
    expect(synced!.status.lastError).toBeUndefined();
    expect(synced!.status.lastSyncedRevision).toBe(first);
    expect(await liveValue(home.name)).toBe('r1');

    // A push to main is not this application's; a push to release is followed.
    await pushCommit(repo.over('git'), { files: configMap(home.name, 'main-2') });
    expect(await operator.notifyPush(repo.urls.git!, 'main')).toBe(0);
    const second = await pushCommit(repo.over('git'), {
      branch: 'release',
      files: configMap(home.name, 'r2'),
    });
    expect(await operator.notifyPush(repo.urls.git!, 'release')).toBe(1);
    const [moved] = await operator.syncAll();
    expect(moved!.status.lastError).toBeUndefined();
    expect(moved!.status.lastSyncedRevision).toBe(second);
    expect(await liveValue(home.name)).toBe('r2');
  }, 120_000);

  it('fails with NotFound naming the repository and the name when the remote has neither, and retries', async () => {
    const home = await testNamespace(h.cluster, 'op-name-unknown');
    const repo = await h.server.createRepo(`name-unknown-${home.name}`, { files: configMap(home.name, 'x') });
    const { operator, events } = newOperator();
    operator.upsert(app(home.name, repo.urls.git!, 'v9.9.9'));
    const [failed] = await operator.syncAll();
    expect(failed!.status.phase).toBe('Failed');
    expect(failed!.status.lastError?.code).toBe('NotFound');
    expect(failed!.status.lastError?.message).toContain('"v9.9.9"');
    expect(failed!.status.lastError?.message).toContain(repo.urls.git!);
    const fetches = events.filter((e) => e.type === 'fetch');
    expect(fetches.map((e) => e.result)).toEqual(['error']);
    expect(fetches[0]!.error?.details.field).toBe('.spec.source.targetRevision');

    // The tag appears: the next sync asks the remote again and applies it.
    const tip = (await runGit(['-C', repo.path, 'rev-parse', 'refs/heads/main'])).trim();
    await runGit(['-C', repo.path, 'tag', 'v9.9.9', tip]);
    const [synced] = await operator.syncAll();
    expect(synced!.status.lastError).toBeUndefined();
    expect(synced!.status.lastSyncedRevision).toBe(tip);
    expect(await liveValue(home.name)).toBe('x');
  }, 120_000);
});
