/**
 * The REST client's impersonation, on the real control plane: every request carries the
 * Impersonate-User/Group headers, so the API server sees (and authorizes) the service account;
 * names that are not DNS labels/subdomains, and header-breaking values, are refused up front.
 */
import { beforeAll, describe, expect, it } from 'vitest';

import { KubeClient, loadKubeconfig, serviceAccountIdentity } from '../../src/kube/index.js';
import { GitOpsError } from '../../src/runtime/index.js';
import { clusterSetupTimeoutMs, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await useCluster();
}, clusterSetupTimeoutMs);

describe('RestClient impersonation', () => {
  it('makes every request as the service account, with its groups, so RBAC decides', async () => {
    const ns = await testNamespace(cluster, 'imp');
    const identity = serviceAccountIdentity(ns.name, 'robot');
    const client = new KubeClient(loadKubeconfig({ kubeconfigPath: cluster.kubeconfigPath }), {
      impersonate: identity,
    });
    try {
      const review = await client.rest.request<{
        status: { userInfo: { username: string; groups: string[] } };
      }>({
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      });
      expect(review.body.status.userInfo.username).toBe(`system:serviceaccount:${ns.name}:robot`);
      expect(review.body.status.userInfo.groups).toEqual(
        expect.arrayContaining(['system:serviceaccounts', `system:serviceaccounts:${ns.name}`]),
      );
      // No RoleBinding: the account may not even read ConfigMaps of its own namespace.
      const denied = await client
        .get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns.name, name: 'x' })
        .catch((e: unknown) => e);
      expect(denied).toBeInstanceOf(GitOpsError);
      expect((denied as GitOpsError).code).toBe('Forbidden');
    } finally {
      client.close();
    }
  });

  it('refuses names that are not a DNS label (namespace) or subdomain (name), and header-breaking values', () => {
    expect(() => serviceAccountIdentity('Team_A', 'robot')).toThrow(/not a DNS label/);
    expect(() => serviceAccountIdentity('team-a', 'robot\r\nX-Evil: 1')).toThrow(/not a DNS subdomain/);
    expect(() => serviceAccountIdentity('team-a', '')).toThrow(/not a DNS subdomain/);
    const connection = loadKubeconfig({ kubeconfigPath: cluster.kubeconfigPath });
    expect(() => new KubeClient(connection, { impersonate: { user: 'a\nb' } })).toThrow(/not a valid user/);
    expect(() => new KubeClient(connection, { impersonate: { user: 'ok', groups: ['x y'] } })).toThrow(
      /not a valid user or group/,
    );
  });
});
