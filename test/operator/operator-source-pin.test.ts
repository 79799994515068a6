import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

import { APPLICATION_API_VERSION, APPLICATION_KIND, toApplication } from '../../src/operator/application.js';
import type { Application } from '../../src/operator/application.js';
import { EngineTarget } from '../../src/operator/engine-target.js';
import { Operator } from '../../src/operator/operator.js';
import { testNamespace } from '../support/cluster/index.js';
import { pushCommit, runGit } from '../support/git-server/index.js';
import { operatorHarness } from './operator-harness.js';

const h = operatorHarness(['git']);
const { operators, targets } = h;

const run = promisify(execFile);

function configMap(namespace: string, value: string): Record<string, string> {
  return {
    'config/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pinned\n  namespace: ${namespace}\ndata:\n  value: ${value}\n`,
  };
}

async function liveValue(namespace: string): Promise<string> {
  const { stdout } = await run('kubectl', [
    `--kubeconfig=${h.cluster.kubeconfigPath}`,
    'get',
    'configmap',
    'pinned',
    '-n',
    namespace,
    '-o',
    'jsonpath={.data.value}',
  ]);
  return stdout;
}

function app(namespace: string, repoURL: string, targetRevision: string): Application {
  return toApplication({
    apiVersion: APPLICATION_API_VERSION,
    kind: APPLICATION_KIND,
    metadata: { name: 'pinned', namespace },
    spec: { source: { repoURL, targetRevision, paths: ['config'] } },
  });
}

function newOperator(): Operator {
  const target = new EngineTarget({ kubeconfig: h.cluster.kubeconfigPath });
  targets.push(target);
  const operator = new Operator({ destinations: target, follow: false });
  operators.push(operator);
  return operator;
}

describe('spec.source.targetRevision', () => {
  it('applies a tag, stays there after a push to main, and follows when the spec names another tag', async () => {
    const home = await testNamespace(h.cluster, 'op-pin-tag');
    const repo = await h.server.createRepo(`pin-tag-${home.name}`, { files: configMap(home.name, 'one') });
    const first = (await runGit(['-C', repo.path, 'rev-parse', 'refs/heads/main'])).trim();
    await runGit(['-C', repo.path, 'tag', 'v1', first]);
    const second = await pushCommit(repo.over('git'), { files: configMap(home.name, 'two') });

    const operator = newOperator();
    operator.upsert(app(home.name, repo.urls.git!, 'refs/tags/v1'));
    const [synced] = await operator.syncAll();
    expect(synced!.status.lastError).toBeUndefined();
    expect(synced!.status.lastSyncedRevision).toBe(first);
    expect(await liveValue(home.name)).toBe('one');

    // A push to the branch is not followed: the pin holds.
    await pushCommit(repo.over('git'), { files: configMap(home.name, 'three') });
    expect(await operator.notifyPush(repo.urls.git!)).toBe(0);
    const [again] = await operator.syncAll();
    expect(again!.status.lastSyncedRevision).toBe(first);
    expect(await liveValue(home.name)).toBe('one');

    // Naming another tag in the spec fetches and applies it.
    await runGit(['-C', repo.path, 'tag', 'v2', second]);
    operator.upsert(app(home.name, repo.urls.git!, 'refs/tags/v2'));
    const [moved] = await operator.syncAll();
    expect(moved!.status.lastError).toBeUndefined();
    expect(moved!.status.lastSyncedRevision).toBe(second);
    expect(await liveValue(home.name)).toBe('two');
  });

  it('applies a pinned commit that is no longer the branch tip', async () => {
    const home = await testNamespace(h.cluster, 'op-pin-commit');
    const repo = await h.server.createRepo(`pin-commit-${home.name}`, { files: configMap(home.name, 'old') });
    const commit = (await runGit(['-C', repo.path, 'rev-parse', 'refs/heads/main'])).trim();
    await pushCommit(repo.over('git'), { files: configMap(home.name, 'new') });
    const operator = newOperator();
    operator.upsert(app(home.name, repo.urls.git!, commit));
    const [synced] = await operator.syncAll();
    expect(synced!.status.lastError).toBeUndefined();
    expect(synced!.status.lastSyncedRevision).toBe(commit);
    expect(await liveValue(home.name)).toBe('old');
  });

  it('refuses a targetRevision git could read as an option, or that is no ref', () => {
    for (const bad of ['--upload-pack=touch /tmp/x', 'refs/tags/-x', 'refs/tags/a..b', 'main~1']) {
      expect(() => app('default', 'https://example.com/r.git', bad)).toThrow(
        expect.objectContaining({
          code: 'Invalid',
          details: expect.objectContaining({ field: '.spec.source.targetRevision' }),
        }),
      );
    }
    expect(app('default', 'https://example.com/r.git', 'refs/heads/release').spec.source.branch).toBe(
      'release',
    );
  });
});
