import { execFile, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { clusterSetupTimeoutMs, kubeRequestOk, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';
import { startGitServer } from '../support/git-server/index.js';
import type { GitServer } from '../support/git-server/index.js';

const run = promisify(execFile);
const OBJECTS = 400;
let cluster: TestCluster;
let git: GitServer;

beforeAll(async () => {
  cluster = await useCluster();
  git = await startGitServer({ transports: ['git'] });
}, clusterSetupTimeoutMs);

afterAll(async () => {
  await git?.close();
});

/** `gitops ...` as its own process, from the sources, so the test can SIGKILL it. */
function gitopsArgs(args: string[]): string[] {
  const main = resolve('src/cli/main.ts');
  const script = `import { main } from ${JSON.stringify(main)}; process.exitCode = await main(['node', 'gitops', ...process.argv.slice(1)]);`;
  return ['--import', 'tsx', '--input-type=module', '-e', script, ...args];
}

interface LiveConfigMap {
  metadata: { name: string; resourceVersion: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
}

async function liveConfigMaps(namespace: string): Promise<Map<string, LiveConfigMap>> {
  const list = await kubeRequestOk<{ items: LiveConfigMap[] }>(
    cluster,
    'GET',
    `/api/v1/namespaces/${namespace}/configmaps`,
  );
  return new Map(
    list.items.filter((i) => i.metadata.name.startsWith('cm-')).map((i) => [i.metadata.name, i]),
  );
}

describe('killing the operator in the middle of a sync', () => {
  it('converges on restart with nothing lost and nothing applied again that was already applied', async () => {
    const ns = await testNamespace(cluster, 'op-kill');
    const files: Record<string, string> = {};
    for (let i = 0; i < OBJECTS; i++) {
      const name = `cm-${String(i).padStart(4, '0')}`;
      files[`config/${name}.yaml`] =
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  value: v-${i}\n`;
    }
    const repo = await git.createRepo(`kill-${ns.name}`, { files });
    const common = [repo.urls.git!, '--path', 'config', '--prune', '-n', ns.name, '--name', 'killed'];
    const kube = `--kubeconfig=${cluster.kubeconfigPath}`;

    // 1. Follow the repository, and SIGKILL the process once part of the objects are applied.
    const child = spawn(process.execPath, gitopsArgs(['sync', ...common, '--interval', '1h', kube]), {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const closed = new Promise((r) => child.once('close', r));
    let seen = 0;
    try {
      const deadline = Date.now() + 90_000;
      while (seen < OBJECTS / 10) {
        if (child.exitCode !== null) throw new Error(`the operator exited early: ${stderr.slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`no object applied within 90 s: ${stderr.slice(-2000)}`);
        seen = (await liveConfigMaps(ns.name)).size;
        if (seen < OBJECTS / 10) await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      child.kill('SIGKILL');
      await closed;
    }
    expect(child.signalCode).toBe('SIGKILL');
    const before = await liveConfigMaps(ns.name);
    // The kill really came mid-sync: some objects are on the cluster, not all.
    expect(before.size).toBeGreaterThan(0);
    expect(before.size).toBeLessThan(OBJECTS);
    expect(stderr).not.toMatch(/"msg":"sync"/);

    // 2. Start it again (one sync) and read what it did to each object.
    const { stdout } = await run(
      process.execPath,
      gitopsArgs(['sync', ...common, '--once', '-o', 'json', kube]),
      { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
    ).catch((error: { stdout?: string; stderr?: string; code?: number }) => {
      throw new Error(`the restarted sync exited ${error.code}: ${error.stderr ?? ''}${error.stdout ?? ''}`);
    });
    const report = JSON.parse(stdout) as {
      status: { phase: string; objects: Array<{ object: string; action: string }> };
    };
    expect(report.status.phase).toBe('Synced');
    const actions = new Map(report.status.objects.map((o) => [o.object.split('/').pop()!, o.action]));
    expect(actions.size).toBe(OBJECTS);

    // Nothing lost: every object is there with what Git says.
    const after = await liveConfigMaps(ns.name);
    expect(after.size).toBe(OBJECTS);
    for (const [name, cm] of after) expect(cm.data?.value).toBe(`v-${Number(name.slice(3))}`);

    // Nothing applied twice: what the killed process had applied is left alone (same resource
    // version, reported unchanged); only the rest is written.
    for (const [name, cm] of before) {
      expect(actions.get(name), name).toBe('unchanged');
      expect(after.get(name)!.metadata.resourceVersion, name).toBe(cm.metadata.resourceVersion);
    }
    // (At most: a request in flight at the kill may still land after the listing above.)
    const applied = [...actions.values()].filter((a) => a === 'applied').length;
    expect(applied).toBeLessThanOrEqual(OBJECTS - before.size);
    expect(applied).toBeGreaterThan(0);

    // 3. The inventory now knows them all: a second run has nothing to do.
    const again = await run(process.execPath, gitopsArgs(['sync', ...common, '--once', '-o', 'json', kube]), {
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const second = JSON.parse(again.stdout) as { status: { objects: Array<{ action: string }> } };
    expect(second.status.objects.every((o) => o.action === 'unchanged')).toBe(true);
  }, 300_000);
});
