/**
 * A ServiceAccount with the rights a test gives it, and a token for it from the TokenRequest
 * API, for tests that act as someone other than the cluster admin.
 */
import { kubeRequestOk } from './kube-request.js';
import type { ClusterAccess } from './kube-request.js';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export interface ServiceAccountOptions {
  namespace: string;
  name: string;
  /** Bound in `namespace` only: a ClusterRole by name (e.g. `view`), or rules of a Role made for it. */
  rights: { clusterRole: string } | { rules: PolicyRule[] };
  expirationSeconds?: number;
}

/** Creates the account and its RoleBinding (and Role); resolves with a bearer token. */
export async function serviceAccountToken(
  access: ClusterAccess,
  options: ServiceAccountOptions,
): Promise<string> {
  const { namespace, name } = options;
  const base = `/api/v1/namespaces/${namespace}`;
  const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}`;
  await kubeRequestOk(access, 'POST', `${base}/serviceaccounts`, {
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } },
  });
  let roleRef: { apiGroup: string; kind: string; name: string };
  if ('clusterRole' in options.rights) {
    roleRef = {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: options.rights.clusterRole,
    };
  } else {
    await kubeRequestOk(access, 'POST', `${rbac}/roles`, {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name, namespace },
        rules: options.rights.rules,
      },
    });
    roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name };
  }
  await kubeRequestOk(access, 'POST', `${rbac}/rolebindings`, {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace },
      roleRef,
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  });
  const request = await kubeRequestOk<{ status: { token: string } }>(
    access,
    'POST',
    `${base}/serviceaccounts/${name}/token`,
    {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: options.expirationSeconds ?? 3600 },
      },
    },
  );
  return request.status.token;
}
