import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

import { clusterSetupTimeoutMs, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';

const run = promisify(execFile);
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await useCluster();
}, clusterSetupTimeoutMs);

describe('npm start (scripts/start.ts)', () => {
  it('syncs examples/seed once, waits for the Deployment to be Healthy, says so and exits 0', async () => {
    // The same command `npm start` runs, pointed at the shared test cluster through KUBECONFIG.
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath },
      timeout: 120_000,
    }).catch((error: { stdout?: string; stderr?: string; code?: number }) => {
      throw new Error(`npm start exited ${error.code}: ${error.stderr ?? ''}${error.stdout ?? ''}`);
    });
    expect(stderr).toMatch(/demo repository file:\/\//);
    expect(stderr).not.toMatch(/starting the local control plane/);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^APPLICATION\s+PHASE\s+HEALTH\s+REVISION\s+OBJECTS/);
    // Right after the sync the Deployment is rolling out (or, on a second run, already up).
    expect(lines[1]).toMatch(/^default\/seed\s+Synced\s+(Progressing|Healthy)\s+[0-9a-f]{12}\s+2\b/);
    // The Namespace goes first although deployment.yaml sorts first.
    expect(lines.slice(2, 4).map((l) => l.trim().split(/\s+/)[1])).toEqual([
      '/Namespace//nginx',
      'apps/Deployment/nginx/nginx',
    ]);
    for (const line of lines.slice(2, 4)) expect(line).toMatch(/^\s+(applied|unchanged)\s/);
    // Its Pod ran on a simulated node, so the rollout finished before the command ended.
    expect(lines[4]).toBe('seed: Synced and Healthy (the nginx Deployment is available)');
    const field = async (path: string): Promise<string> =>
      (
        await run('kubectl', [
          `--kubeconfig=${cluster.kubeconfigPath}`,
          ...['get', 'deployment', 'nginx', '-n', 'nginx', '-o', `jsonpath={${path}}`],
        ])
      ).stdout;
    expect(await field('.status.availableReplicas')).toBe('1');
    expect(await field('.spec.template.spec.containers[0].image')).toBe('nginx:1.27');
  }, 180_000);
});
