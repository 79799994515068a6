/**
 * A namespace of its own for each test, so tests can run in parallel against one cluster.
 */
import { randomBytes } from 'node:crypto';
import { onTestFinished } from 'vitest';

import { kubeRequest, kubeRequestOk, type ClusterAccess } from './kube-request.js';

export interface TestNamespace {
  name: string;
  /** Starts the deletion (the controller manager finishes it); a missing namespace is fine. */
  delete(): Promise<void>;
}

/**
 * Creates `<prefix>-<random>`. Inside a test it is deleted when the test finishes; elsewhere
 * (e.g. in beforeAll) call delete() yourself.
 */
export async function testNamespace(cluster: ClusterAccess, prefix = 'test'): Promise<TestNamespace> {
  const stem =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 48) || 'test';
  const name = `${stem}-${randomBytes(4).toString('hex')}`;
  await kubeRequestOk(cluster, 'POST', '/api/v1/namespaces', {
    body: {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'libgitops.test/namespace': 'true' } },
    },
  });
  const namespace: TestNamespace = {
    name,
    async delete() {
      const res = await kubeRequest(cluster, 'DELETE', `/api/v1/namespaces/${name}`, {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
      });
      if (res.status >= 300 && res.status !== 404) {
        await kubeRequestOk(cluster, 'DELETE', `/api/v1/namespaces/${name}`);
      }
    },
  };
  try {
    onTestFinished(() => namespace.delete());
  } catch {
    // Not inside a test: the caller deletes it.
  }
  return namespace;
}
