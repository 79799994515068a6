import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';

import { ErrorCodes, isGitOpsError } from '../../src/runtime/errors.js';
import { KUBE_VERSION, kubeStagingModules } from './cluster/build.js';
import { startControlPlane } from './cluster/control-plane.js';
import { readKubeconfig } from './cluster/external-cluster.js';
import {
  clusterSetupTimeoutMs,
  kubeRequest,
  kubeRequestOk,
  testNamespace,
  useCluster,
  type TestCluster,
} from './cluster/index.js';
import { commandOutput } from './cluster/run-command.js';
import { waitFor } from './cache.js';

interface ObjectList {
  items: { metadata: { name: string; ownerReferences?: { kind: string; name: string }[] } }[];
}

/** kubectl with an argument array (never a shell), optionally fed a manifest on stdin. */
async function kubectl(cluster: TestCluster, args: string[], input?: string): Promise<string> {
  const child = spawn('kubectl', ['--kubeconfig', cluster.kubeconfigPath, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(input ?? '');
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', (err) =>
      reject(new Error(`kubectl is needed by this test and could not run: ${err.message}`)),
    );
    child.on('close', (exitCode) => resolve(exitCode ?? 1));
  });
  if (code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${code}: ${stderr}`);
  return stdout;
}

const deployment = (namespace: string): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${namespace}
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.k8s.io/pause:3.10
`;

describe('test control plane', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await useCluster();
  }, clusterSetupTimeoutMs);

  it('is reachable with kubectl through the kubeconfig it wrote', async () => {
    const names = (await kubectl(cluster, ['get', 'ns', '-o', 'name'])).trim().split('\n');
    expect(names).toEqual(expect.arrayContaining(['namespace/default', 'namespace/kube-system']));
  });

  it('reports the pinned Kubernetes version when it is our own', async () => {
    const version = await kubeRequestOk<{ gitVersion: string }>(cluster, 'GET', '/version');
    if (cluster.source === 'started') expect(version.gitVersion).toBe(KUBE_VERSION);
    else expect(version.gitVersion).toMatch(/^v1\./);
  });

  it('is the same cluster on every call in a run', async () => {
    const again = await useCluster();
    expect(again.server).toBe(cluster.server);
    expect(again.kubeconfigPath).toBe(cluster.kubeconfigPath);
  });

  it('writes a kubeconfig whose access matches what it returns', async () => {
    const read = await readKubeconfig(cluster.kubeconfigPath);
    expect(read.server).toBe(cluster.server);
    expect(read.caPem).toBe(cluster.caPem);
    expect(read.certPem).toBe(cluster.certPem);
  });

  it('server-side applies, lists and deletes objects in a namespace of its own', async () => {
    const ns = await testNamespace(cluster, 'cluster-apply');
    const configMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: ${ns.name}
data:
  color: blue
`;
    const applied = await kubectl(
      cluster,
      ['apply', '--server-side', '--field-manager=libgitops-test', '-f', '-'],
      `${configMap}---\n${deployment(ns.name)}`,
    );
    expect(applied).toContain('configmap/settings serverside-applied');
    expect(applied).toContain('deployment.apps/web serverside-applied');

    // The same kind of request over plain HTTPS with the client certificate.
    const patched = await kubeRequestOk<{
      data: Record<string, string>;
      metadata: { managedFields: { manager: string }[] };
    }>(
      cluster,
      'PATCH',
      `/api/v1/namespaces/${ns.name}/configmaps/settings?fieldManager=libgitops-test&force=true`,
      { body: configMap.replace('blue', 'green'), contentType: 'application/apply-patch+yaml' },
    );
    expect(patched.data.color).toBe('green');
    expect(patched.metadata.managedFields.map((f) => f.manager)).toContain('libgitops-test');

    const list = await kubeRequestOk<ObjectList>(cluster, 'GET', `/api/v1/namespaces/${ns.name}/configmaps`);
    expect(list.items.map((i) => i.metadata.name)).toContain('settings');

    await kubeRequestOk(cluster, 'DELETE', `/api/v1/namespaces/${ns.name}/configmaps/settings`);
    const gone = await kubeRequest(cluster, 'GET', `/api/v1/namespaces/${ns.name}/configmaps/settings`);
    expect(gone.status).toBe(404);
  });

  it('runs the controller manager: a Deployment gets a ReplicaSet, which goes with it', async () => {
    const ns = await testNamespace(cluster, 'cluster-deploy');
    await kubectl(cluster, ['apply', '--server-side', '-f', '-'], deployment(ns.name));
    const replicaSets = `/apis/apps/v1/namespaces/${ns.name}/replicasets`;
    await waitFor('the deployment controller to create a ReplicaSet', async () => {
      const list = await kubeRequestOk<ObjectList>(cluster, 'GET', replicaSets);
      return list.items.some((rs) =>
        rs.metadata.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === 'web'),
      );
    });
    await kubeRequestOk(cluster, 'DELETE', `/apis/apps/v1/namespaces/${ns.name}/deployments/web`, {
      body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
    });
    await waitFor('the garbage collector to delete the ReplicaSet', async () => {
      const list = await kubeRequestOk<ObjectList>(cluster, 'GET', replicaSets);
      return list.items.length === 0;
    });
  });

  it('runs workloads: the scheduler binds Pods to simulated nodes, Services get endpoints', async () => {
    if (cluster.source === 'started') {
      const nodes = await kubeRequestOk<{
        items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }[];
      }>(cluster, 'GET', '/api/v1/nodes');
      const ready = nodes.items.filter((n) =>
        n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      expect(ready.map((n) => n.metadata.name).sort()).toEqual(['kwok-node-0', 'kwok-node-1', 'kwok-node-2']);
    }
    const ns = await testNamespace(cluster, 'cluster-workload');
    const service = `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ${ns.name}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`;
    await kubectl(cluster, ['apply', '--server-side', '-f', '-'], `${deployment(ns.name)}---\n${service}`);
    await waitFor('both Pods of the Deployment to be Running and Ready', async () => {
      const pods = await kubeRequestOk<{
        items: { spec: { nodeName?: string }; status: { phase: string; podIP?: string } }[];
      }>(cluster, 'GET', `/api/v1/namespaces/${ns.name}/pods?labelSelector=app%3Dweb`);
      return (
        pods.items.length === 2 && pods.items.every((p) => p.status.phase === 'Running' && p.spec.nodeName)
      );
    });
    const events = await kubeRequestOk<{ items: { reason: string; source?: { component?: string } }[] }>(
      cluster,
      'GET',
      `/api/v1/namespaces/${ns.name}/events?fieldSelector=reason%3DScheduled`,
    );
    expect(events.items.length).toBeGreaterThanOrEqual(2);
    await waitFor('the EndpointSlice controller to list both Pods', async () => {
      const slices = await kubeRequestOk<{ items: { endpoints?: { addresses: string[] }[] }[] }>(
        cluster,
        'GET',
        `/apis/discovery.k8s.io/v1/namespaces/${ns.name}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb`,
      );
      return slices.items.flatMap((s) => s.endpoints ?? []).length === 2;
    });
  });

  it('finishes deleting a namespace that still holds objects', async () => {
    const ns = await testNamespace(cluster, 'cluster-delete');
    await kubeRequestOk(cluster, 'POST', `/api/v1/namespaces/${ns.name}/configmaps`, {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'left-behind' }, data: { a: '1' } },
    });
    await ns.delete();
    const during = await kubeRequest<{ status: { phase: string } }>(
      cluster,
      'GET',
      `/api/v1/namespaces/${ns.name}`,
    );
    // Either still emptying (Terminating) or already gone; never Active again.
    if (during.status === 200) expect(during.body.status.phase).toBe('Terminating');
    else expect(during.status).toBe(404);
    await waitFor(`namespace ${ns.name} to finish deleting`, async () => {
      const res = await kubeRequest(cluster, 'GET', `/api/v1/namespaces/${ns.name}`);
      return res.status === 404;
    });
  });

  it('gives each test namespace a unique, valid name', async () => {
    const a = await testNamespace(cluster, 'Same_Prefix!');
    const b = await testNamespace(cluster, 'Same_Prefix!');
    expect(a.name).not.toBe(b.name);
    expect(a.name).toMatch(/^same-prefix-[0-9a-f]{8}$/);
    const got = await kubeRequestOk<{ metadata: { name: string } }>(
      cluster,
      'GET',
      `/api/v1/namespaces/${a.name}`,
    );
    expect(got.metadata.name).toBe(a.name);
  });
});

describe('test control plane build', () => {
  it("derives the staging modules from k8s.io/kubernetes's own go.mod", async () => {
    const modules = await kubeStagingModules(process.cwd());
    expect(modules).toEqual(expect.arrayContaining(['k8s.io/api', 'k8s.io/apiserver', 'k8s.io/client-go']));
    expect(modules.length).toBeGreaterThan(25);
    expect(modules.every((m) => /^k8s\.io\/[\w.-]+$/.test(m))).toBe(true);
  }, 120_000);

  it('fails with the server log when a server exits instead of starting', async () => {
    // node stands in for etcd here: a real process that rejects etcd's flags and exits at once.
    const error = await startControlPlane({
      binaries: {
        etcd: process.execPath,
        kubeApiserver: process.execPath,
        kubeControllerManager: process.execPath,
        kubeScheduler: process.execPath,
        kwok: process.execPath,
      },
    }).catch((e: unknown) => e);
    expect(isGitOpsError(error, ErrorCodes.ServiceUnavailable)).toBe(true);
    expect((error as Error).message).toMatch(/^etcd exited \(code \d+\); last lines of its log:\n/);
    expect((error as Error).message).toContain('bad option: --name=default');
  });

  it('says what to install when a tool is missing', async () => {
    const error = await commandOutput('go', ['version'], { env: { PATH: '/nonexistent' } }).catch(
      (e: unknown) => e,
    );
    expect(isGitOpsError(error, ErrorCodes.ServiceUnavailable)).toBe(true);
    expect((error as Error).message).toContain('go not found on PATH: install Go 1.23+');
  });
});
