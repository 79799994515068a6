/**
 * Tenancy on the real control plane: an Application naming a service account is synced
 * impersonating it, so RBAC refuses what the account may not do, object by object, while its
 * allowed objects still apply; a required service account keeps the operator's own rights
 * unused; the cross-namespace rule refuses objects outside the Application's namespace, with
 * or without impersonation.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { OperatorManager, toApplication } from '../../src/operator/index.js';
import type { TenancyOptions } from '../../src/operator/index.js';
import { clusterSetupTimeoutMs, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';
import { startGitServer } from '../support/git-server/index.js';
import type { GitServer } from '../support/git-server/index.js';

let cluster: TestCluster;
let git: GitServer;
const managers: OperatorManager[] = [];

beforeAll(async () => {
  cluster = await useCluster();
  git = await startGitServer({ transports: ['git'] });
}, clusterSetupTimeoutMs);

afterAll(async () => {
  await Promise.all(managers.map((m) => m.close()));
  await git?.close();
});

function kubectl(args: string[], input?: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = execFile(
      'kubectl',
      [`--kubeconfig=${cluster.kubeconfigPath}`, ...args],
      (error, stdout, stderr) =>
        error ? fail(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : done(stdout),
    );
    child.stdin!.end(input ?? '');
  });
}

async function exists(args: string[]): Promise<boolean> {
  const out = await kubectl(['get', ...args, '--ignore-not-found', '-o', 'name']);
  return out.trim() !== '';
}

function configMap(name: string, namespace?: string): string {
  const ns = namespace === undefined ? '' : `  namespace: ${namespace}\n`;
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${ns}data:\n  from: tenancy-test\n`;
}

function clusterRole(name: string): string {
  return (
    `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: ${name}\n` +
    'rules:\n- apiGroups: [""]\n  resources: ["secrets"]\n  verbs: ["get"]\n'
  );
}

// A ServiceAccount whose Role allows ConfigMaps in its own namespace, nothing else.
async function tenantAccount(namespace: string): Promise<void> {
  await kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'tenant', namespace } },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: 'configmaps', namespace },
          rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['*'] }],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'tenant-configmaps', namespace },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmaps' },
          subjects: [{ kind: 'ServiceAccount', name: 'tenant', namespace }],
        },
      ],
    }),
  );
}

function manager(tenancy: TenancyOptions): OperatorManager {
  const m = new OperatorManager({ kubeconfig: cluster.kubeconfigPath, follow: false, tenancy });
  managers.push(m);
  return m;
}

function application(name: string, namespace: string, repoURL: string, serviceAccountName?: string) {
  return toApplication({
    apiVersion: 'gitops.libgitops.dev/v1alpha1',
    kind: 'Application',
    metadata: { name, namespace },
    spec: {
      source: { repoURL },
      destination: { namespace },
      policy: { interval: '1h', prune: true },
      ...(serviceAccountName === undefined ? {} : { serviceAccountName }),
    },
  });
}

describe('tenancy', () => {
  it('impersonates the service account: RBAC refuses a ClusterRole, another namespace and a Secret, object by object, and the allowed ConfigMap still applies', async () => {
    const team = await testNamespace(cluster, 'team-a');
    const other = await testNamespace(cluster, 'team-b');
    await tenantAccount(team.name);
    // A Secret the account may not read or write; the source tries to overwrite it.
    await kubectl([
      'create',
      'secret',
      'generic',
      'hidden',
      '-n',
      team.name,
      '--from-literal=token=original',
    ]);
    const role = `tenancy-${team.name}`;
    const repo = await git.createRepo(`tenancy-${team.name}`, {
      files: {
        'allowed.yaml': configMap('allowed'),
        'role.yaml': clusterRole(role),
        'other.yaml': configMap('intruder', other.name),
        'secret.yaml': `apiVersion: v1\nkind: Secret\nmetadata:\n  name: hidden\nstringData:\n  token: stolen\n`,
      },
    });
    const m = manager({});
    const app = application('tenant', team.name, repo.urls.git!, 'tenant');
    m.operator.upsert(app);
    const status = await m.operator.trigger(`${team.name}/tenant`);

    expect(status.phase).toBe('Failed');
    const byObject = new Map((status.objects ?? []).map((o) => [o.object, o]));
    expect(byObject.get(`/ConfigMap/${team.name}/allowed`)?.action).toBe('applied');
    for (const id of [
      `rbac.authorization.k8s.io/ClusterRole//${role}`,
      `/ConfigMap/${other.name}/intruder`,
      `/Secret/${team.name}/hidden`,
    ]) {
      expect(byObject.get(id)?.action, id).toBe('failed');
      // The API server's own reason: the account may not even read it.
      expect(byObject.get(id)?.message, id).toMatch(/is forbidden: User .* cannot get resource/);
      expect(byObject.get(id)?.message, id).toContain(`system:serviceaccount:${team.name}:tenant`);
    }
    expect(status.lastError?.code).toBe('Forbidden');
    // The API server's refusal changed nothing; the allowed object is there.
    expect(await exists(['configmap', 'allowed', '-n', team.name])).toBe(true);
    expect(await exists(['clusterrole', role])).toBe(false);
    expect(await exists(['configmap', 'intruder', '-n', other.name])).toBe(false);
    const token = await kubectl(['get', 'secret', 'hidden', '-n', team.name, '-o', 'jsonpath={.data.token}']);
    expect(Buffer.from(token, 'base64').toString()).toBe('original');
  });

  it('with a required service account, an Application naming none does nothing and says why', async () => {
    const team = await testNamespace(cluster, 'team-req');
    const repo = await git.createRepo(`tenancy-req-${team.name}`, {
      files: { 'cm.yaml': configMap('should-not-exist') },
    });
    const m = manager({ requireServiceAccount: true });
    m.operator.upsert(application('no-sa', team.name, repo.urls.git!));
    const status = await m.operator.trigger(`${team.name}/no-sa`);
    expect(status.phase).toBe('Failed');
    expect(status.lastError?.code).toBe('Forbidden');
    expect(status.lastError?.message).toMatch(/requires a service account.*serviceAccountName/);
    expect(await exists(['configmap', 'should-not-exist', '-n', team.name])).toBe(false);
    // Nothing was written with the operator's rights: not even the inventory.
    expect(await kubectl(['get', 'configmaps', '-n', team.name, '-o', 'name'])).not.toMatch(/inventory/);

    // The default service account, impersonated, lets it run within that account's rights.
    await tenantAccount(team.name);
    const withDefault = manager({ requireServiceAccount: true, defaultServiceAccount: 'tenant' });
    withDefault.operator.upsert(application('no-sa', team.name, repo.urls.git!));
    const ok = await withDefault.operator.trigger(`${team.name}/no-sa`);
    expect(ok.lastError).toBeUndefined();
    expect(ok.phase).toBe('Synced');
    expect(await exists(['configmap', 'should-not-exist', '-n', team.name])).toBe(true);
    // One impersonating client for that (destination, identity), kept for the next sync.
    expect(withDefault.destinations.remoteCount).toBe(1);
    await withDefault.operator.trigger(`${team.name}/no-sa`);
    expect(withDefault.destinations.remoteCount).toBe(1);
  });

  it('refuses cross-namespace and cluster-scoped objects without impersonation, and still applies the rest; a trusted namespace is exempt', async () => {
    const team = await testNamespace(cluster, 'team-x');
    const other = await testNamespace(cluster, 'team-y');
    const role = `tenancy-x-${team.name}`;
    const repo = await git.createRepo(`tenancy-x-${team.name}`, {
      files: {
        'allowed.yaml': configMap('allowed'),
        'own.yaml': configMap('own', team.name),
        'role.yaml': clusterRole(role),
        'other.yaml': configMap('intruder', other.name),
      },
    });
    const m = manager({ noCrossNamespaceTargets: true });
    m.operator.upsert(application('crossing', team.name, repo.urls.git!));
    const status = await m.operator.trigger(`${team.name}/crossing`);
    const byObject = new Map((status.objects ?? []).map((o) => [o.object, o]));
    expect(byObject.get(`/ConfigMap/${team.name}/allowed`)?.action).toBe('applied');
    expect(byObject.get(`/ConfigMap/${team.name}/own`)?.action).toBe('applied');
    expect(byObject.get(`rbac.authorization.k8s.io/ClusterRole//${role}`)).toMatchObject({
      action: 'failed',
      message: expect.stringMatching(/refused: ClusterRole is cluster-scoped/),
    });
    expect(byObject.get(`/ConfigMap/${other.name}/intruder`)).toMatchObject({
      action: 'failed',
      message: expect.stringContaining(`its namespace ${other.name} is not the Application's namespace`),
    });
    expect(status.lastError?.code).toBe('Forbidden');
    // No service account: the operator's own client did it, no other was made.
    expect(m.destinations.remoteCount).toBe(0);
    expect(await exists(['configmap', 'allowed', '-n', team.name])).toBe(true);
    expect(await exists(['clusterrole', role])).toBe(false);
    expect(await exists(['configmap', 'intruder', '-n', other.name])).toBe(false);

    const trusted = manager({ noCrossNamespaceTargets: true, trustedNamespaces: [team.name] });
    trusted.operator.upsert(application('crossing', team.name, repo.urls.git!));
    const ok = await trusted.operator.trigger(`${team.name}/crossing`);
    expect(ok.lastError).toBeUndefined();
    expect(await exists(['clusterrole', role])).toBe(true);
    expect(await exists(['configmap', 'intruder', '-n', other.name])).toBe(true);
    await kubectl(['delete', 'clusterrole', role]);
  });
});
