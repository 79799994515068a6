import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

import { APPLICATION_API_VERSION, toApplication } from '../../src/operator/application.js';
import { EngineTarget } from '../../src/operator/engine-target.js';
import { Operator } from '../../src/operator/operator.js';
import type { OperatorEvent } from '../../src/operator/operator.js';
import { GitOpsError } from '../../src/runtime/index.js';
import { testNamespace } from '../support/cluster/index.js';
import { pushCommit } from '../support/git-server/index.js';
import { operatorHarness } from './operator-harness.js';

const h = operatorHarness(['git']);
const { operators, targets } = h;

const run = promisify(execFile);

async function git(repo: string, args: string[]): Promise<string> {
  return (await run('git', ['--git-dir', repo, ...args])).stdout;
}

async function until<T>(check: () => T | undefined, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('status written back to Git', () => {
  it('commits only the status lines of the Application file on the write-back branch', async () => {
    const ns = await testNamespace(h.cluster, 'op-status');
    const repo = await h.server.createRepo(`status-${ns.name}`, {
      files: {
        'config/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: written-back\ndata:\n  a: b\n`,
      },
    });
    // The Application as a team keeps it in Git, comments and layout included.
    const declared = [
      '# Owned by the platform team; the operator writes status below.',
      `apiVersion: ${APPLICATION_API_VERSION}`,
      'kind: Application',
      'metadata:',
      '  name: shop   # the storefront',
      `  namespace: ${ns.name}`,
      'spec:',
      '  source:',
      `    repoURL: ${repo.urls.git!}`,
      '    paths: [config]   # flow style stays flow style',
      '  destination:',
      `    namespace: ${ns.name}`,
      '',
    ].join('\n');
    const base = await pushCommit(repo.over('git'), {
      branch: 'status',
      files: { 'apps/shop.yaml': declared },
      message: 'declare shop',
    });

    const app = toApplication({
      apiVersion: APPLICATION_API_VERSION,
      kind: 'Application',
      metadata: { name: 'shop', namespace: ns.name },
      spec: {
        source: { repoURL: repo.urls.git!, paths: ['config'] },
        destination: { namespace: ns.name },
        policy: { interval: '1h' },
        statusWriteBack: { path: 'apps', branch: 'status' },
      },
    });
    const target = new EngineTarget({ kubeconfig: h.cluster.kubeconfigPath });
    targets.push(target);
    const operator = new Operator({ destinations: target });
    operators.push(operator);
    const written: Array<Extract<OperatorEvent, { type: 'status-write-back' }>> = [];
    operator.on((e) => {
      if (e.type === 'status-write-back') written.push(e);
    });
    operator.upsert(app);
    operator.start();

    const first = await until(() => written[0], 'the status to be written back');
    expect(first.error).toBeUndefined();
    expect(first.commit).toMatch(/^[0-9a-f]{40}$/);
    expect((await git(repo.path, ['rev-parse', 'status'])).trim()).toBe(first.commit);
    expect((await git(repo.path, ['rev-parse', `${first.commit}^`])).trim()).toBe(base);
    // Only the file of the Application changed, and in it only lines were added: the status.
    expect((await git(repo.path, ['diff', '--name-only', base, first.commit!])).trim()).toBe(
      'apps/shop.yaml',
    );
    const diff = await git(repo.path, ['diff', '-U0', base, first.commit!, '--', 'apps/shop.yaml']);
    const changed = diff.split('\n').filter((l) => /^[-+](?![-+]{2} )/.test(l));
    expect(changed.filter((l) => l.startsWith('-'))).toEqual([]);
    expect(changed[0]).toBe('+status:');
    expect(changed.slice(1).every((l) => l.startsWith('+  '))).toBe(true);
    const after = await git(repo.path, ['show', `${first.commit}:apps/shop.yaml`]);
    expect(after.startsWith(declared)).toBe(true);
    const main = (await git(repo.path, ['rev-parse', 'main'])).trim();
    expect(after).toContain(`  lastSyncedRevision: ${main}`);
    expect(after).toContain('  phase: Synced');
    expect(after).toMatch(/\n {2}objects:\n {4}Healthy: 1\n/);

    // A no-op sync writes nothing; a sync that applies a change rewrites only status lines.
    await operator.syncAll('manual');
    const noop = await until(() => written[1], 'the no-op sync to be written back');
    expect(noop.error).toBeUndefined();
    expect(noop.commit).toBeUndefined();
    expect((await git(repo.path, ['rev-parse', 'status'])).trim()).toBe(first.commit);
    const next = await pushCommit(repo.over('git'), {
      files: {
        'config/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: written-back\ndata:\n  a: c\n`,
      },
    });
    await operator.notifyPush(repo.urls.git!);
    const second = await until(
      () => written.find((w) => w.commit !== undefined && w.commit !== first.commit),
      'the second status commit',
    );
    expect(written.filter((w) => w.error !== undefined)).toEqual([]);
    expect((await git(repo.path, ['rev-parse', `${second.commit}^`])).trim()).toBe(first.commit);
    const diff2 = await git(repo.path, ['diff', '-U0', first.commit!, second.commit!]);
    const changed2 = diff2.split('\n').filter((l) => /^[-+](?![-+]{2} )/.test(l));
    expect(changed2.sort()).toEqual(
      [
        `-  lastAttemptedRevision: ${main}`,
        `+  lastAttemptedRevision: ${next}`,
        `-  lastSyncedRevision: ${main}`,
        `+  lastSyncedRevision: ${next}`,
      ].sort(),
    );
  }, 120_000);

  it('refuses a write-back branch that the application follows', () => {
    expect(() =>
      toApplication({
        apiVersion: APPLICATION_API_VERSION,
        kind: 'Application',
        metadata: { name: 'loop', namespace: 'default' },
        spec: { source: { repoURL: 'git://127.0.0.1/x.git' }, statusWriteBack: { branch: 'main' } },
      }),
    ).toThrow(GitOpsError);
    expect(() =>
      toApplication({
        apiVersion: APPLICATION_API_VERSION,
        kind: 'Application',
        metadata: { name: 'escape', namespace: 'default' },
        spec: { source: { repoURL: 'git://127.0.0.1/x.git' }, statusWriteBack: { path: '../up' } },
      }),
    ).toThrow(/must stay inside the repository/);
  });
});
