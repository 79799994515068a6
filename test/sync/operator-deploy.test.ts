import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { applicationCrd, toApplication } from '../../src/sync/application.js';
import { clusterSetupTimeoutMs, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';

const run = promisify(execFile);
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await useCluster();
}, clusterSetupTimeoutMs);

async function kubectl(args: string[]): Promise<string> {
  const { stdout } = await run('kubectl', [`--kubeconfig=${cluster.kubeconfigPath}`, ...args]);
  return stdout;
}

describe('deploy/', () => {
  it('ships the CRD the code defines', async () => {
    expect(parse(await readFile('deploy/crd.yaml', 'utf8'))).toEqual(applicationCrd());
  });

  it('is accepted by the real control plane, and the CRD defaults an Application as the code does', async () => {
    await kubectl(['apply', '--server-side', '--field-manager=deploy-test', '-k', 'deploy/']);
    await kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=30s',
      'crd/applications.gitops.libgitops.dev',
    ]);
    expect(
      await kubectl([
        'get',
        'deployment',
        'libgitops-operator',
        '-n',
        'gitops-system',
        '-o',
        'jsonpath={.spec.replicas}',
      ]),
    ).toBe('2');
    const ns = await testNamespace(cluster, 'op-deploy');
    const manifest = {
      apiVersion: 'gitops.libgitops.dev/v1alpha1',
      kind: 'Application',
      metadata: { name: 'demo', namespace: ns.name },
      spec: { source: { repoURL: 'https://example.com/config.git' } },
    };
    const created = JSON.parse(
      await new Promise<string>((resolve, reject) => {
        const child = execFile(
          'kubectl',
          [`--kubeconfig=${cluster.kubeconfigPath}`, 'create', '-o', 'json', '-f', '-'],
          (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout)),
        );
        child.stdin!.end(JSON.stringify(manifest));
      }),
    ) as { spec: unknown };
    // The API server's defaults (from the CRD schema) equal the library's own.
    expect(created.spec).toEqual(toApplication(manifest).spec);
    // An invalid one is refused by the same schema.
    await expect(
      new Promise<string>((resolve, reject) => {
        const child = execFile(
          'kubectl',
          [`--kubeconfig=${cluster.kubeconfigPath}`, 'create', '-f', '-'],
          (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout)),
        );
        child.stdin!.end(
          JSON.stringify({
            ...manifest,
            metadata: { name: 'bad', namespace: ns.name },
            spec: { source: {} },
          }),
        );
      }),
    ).rejects.toThrow(/repoURL/);
  }, 120_000);

  it('lets the operator get Secrets only in the namespaces bound for repository credentials, and never list them', async () => {
    await kubectl(['apply', '--server-side', '--field-manager=deploy-test', '-k', 'deploy/']);
    const other = await testNamespace(cluster, 'op-rbac');
    const canI = async (verb: string, namespace: string): Promise<string> => {
      const args = ['auth', 'can-i', verb, 'secrets', '-n', namespace];
      const as = '--as=system:serviceaccount:gitops-system:libgitops-operator';
      return kubectl([...args, as]).catch((error: { stdout?: string }) => error.stdout ?? 'error');
    };
    expect((await canI('get', 'gitops-system')).trim()).toBe('yes');
    expect((await canI('get', other.name)).trim()).toBe('no');
    expect((await canI('list', 'gitops-system')).trim()).toBe('no');
    expect((await canI('watch', 'gitops-system')).trim()).toBe('no');
  }, 120_000);

  it('lets the operator watch what it applies, so drift is seen as it happens', async () => {
    await kubectl(['apply', '--server-side', '--field-manager=deploy-test', '-k', 'deploy/']);
    const other = await testNamespace(cluster, 'op-rbac-watch');
    const as = '--as=system:serviceaccount:gitops-system:libgitops-operator';
    for (const resource of ['configmaps', 'services', 'deployments.apps']) {
      const answer = await kubectl(['auth', 'can-i', 'watch', resource, '-n', other.name, as]).catch(
        (error: { stdout?: string }) => error.stdout ?? 'error',
      );
      expect(answer.trim(), resource).toBe('yes');
    }
  }, 120_000);
});
