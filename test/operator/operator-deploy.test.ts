import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { applicationCrd, toApplication } from '../../src/operator/application.js';
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

  it('describes every field to kubectl explain, with a short name and printer columns, on the real API server', async () => {
    await kubectl(['apply', '--server-side', '--field-manager=deploy-test', '-k', 'deploy/']);
    await kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=30s',
      'crd/applications.gitops.libgitops.dev',
    ]);
    // The API server publishes the CRD's OpenAPI a moment after it is Established.
    let explained = '';
    for (let i = 0; i < 50 && !explained.includes('Any URL git speaks'); i++) {
      explained = await kubectl(['explain', 'applications.spec.source.repoURL']).catch(() => '');
      if (!explained.includes('Any URL git speaks')) await new Promise((r) => setTimeout(r, 200));
    }
    expect(explained).toContain('Any URL git speaks');
    expect(await kubectl(['explain', 'gapp.spec.suspend'])).toMatch(/Stop syncing/);
    expect(await kubectl(['explain', 'gapp.status.observedGeneration'])).toMatch(/metadata\.generation/);
    const ns = await testNamespace(cluster, 'op-columns');
    await new Promise<void>((resolve, reject) => {
      const child = execFile(
        'kubectl',
        [`--kubeconfig=${cluster.kubeconfigPath}`, 'create', '-f', '-'],
        (error, _stdout, stderr) => (error ? reject(new Error(stderr)) : resolve()),
      );
      child.stdin!.end(
        JSON.stringify({
          apiVersion: 'gitops.libgitops.dev/v1alpha1',
          kind: 'Application',
          metadata: { name: 'cols', namespace: ns.name },
          spec: { source: { repoURL: 'https://example.com/c.git' }, suspend: true },
        }),
      );
    });
    const header = (await kubectl(['get', 'gapp', '-n', ns.name, '-o', 'wide'])).split('\n')[0]!;
    expect(header.split(/\s+/)).toEqual([
      'NAME',
      'PHASE',
      'HEALTH',
      'REVISION',
      'SUSPENDED',
      'AGE',
      'MESSAGE',
    ]);
    expect(await kubectl(['get', 'gapp', 'cols', '-n', ns.name, '-o', 'jsonpath={.spec.suspend}'])).toBe(
      'true',
    );
  }, 120_000);

  it('keeps one replica up through disruptions, and fences the pods with a NetworkPolicy', async () => {
    await kubectl(['apply', '--server-side', '--field-manager=deploy-test', '-k', 'deploy/']);
    const pdb = JSON.parse(
      await kubectl(['get', 'pdb', 'libgitops-operator', '-n', 'gitops-system', '-o', 'json']),
    ) as {
      spec: { maxUnavailable: number };
    };
    expect(pdb.spec.maxUnavailable).toBe(1);
    const policy = JSON.parse(
      await kubectl(['get', 'networkpolicy', 'libgitops-operator', '-n', 'gitops-system', '-o', 'json']),
    ) as { spec: { policyTypes: string[]; ingress: { ports: { port: string }[] }[] } };
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.ingress.flatMap((r) => r.ports.map((p) => p.port))).toEqual(['http', 'metrics']);
    // The ServiceMonitor (applied only where the Prometheus Operator runs) scrapes the Service's metrics port.
    const monitor = parse(await readFile('deploy/servicemonitor.yaml', 'utf8')) as {
      spec: { endpoints: { port: string; path: string }[] };
    };
    const service = JSON.parse(
      await kubectl(['get', 'service', 'libgitops-operator', '-n', 'gitops-system', '-o', 'json']),
    ) as { spec: { ports: { name: string; port: number }[] } };
    expect(service.spec.ports.map((p) => p.name)).toContain(monitor.spec.endpoints[0]!.port);
    expect(monitor.spec.endpoints[0]!.path).toBe('/metrics');
  }, 120_000);
});
