import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KubeClient, loadKubeconfig } from '../../src/kube/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import { Decoder } from '../../src/serializer/index.js';
import {
  APPLICATION_LABEL,
  DriftWatcher,
  PRUNE_ANNOTATION,
  SYNC_WAVE_ANNOTATION,
  SyncEngine,
  formatResult,
} from '../../src/sync/index.js';
import type { SyncResult } from '../../src/sync/index.js';
import { clusterSetupTimeoutMs, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';
import { kubectl } from '../kube/kubectl.js';
import { CORPUS } from '../support/corpus.js';

const SLOW = 240_000;

let cluster: TestCluster;
let client: KubeClient;
let dir: string;

beforeAll(async () => {
  cluster = await useCluster();
  client = KubeClient.fromKubeconfig({ kubeconfigPath: cluster.kubeconfigPath });
  dir = await mkdtemp(join(tmpdir(), 'libgitops-engine-'));
}, clusterSetupTimeoutMs);

afterAll(async () => {
  client?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const decoder = new Decoder();

/** The objects of every file, in the order given. */
async function decodeFiles(files: string[]): Promise<KubeObject[]> {
  const objects: KubeObject[] = [];
  for (const file of files) {
    const result = decoder.decodeText(await readFile(file, 'utf8'), { file });
    if (result.errors.length > 0) throw result.errors[0];
    objects.push(...result.objects);
  }
  return objects;
}

function expectComplete(result: SyncResult): void {
  const failed = result.objects.filter((o) => o.action === 'failed' || o.action === 'skipped');
  expect(
    failed.map((o) => `${o.id}: ${o.error?.message ?? o.message}`),
    formatResult(result),
  ).toEqual([]);
  expect(result.errors.map((e) => e.message)).toEqual([]);
  expect(result.ok).toBe(true);
}

const cm = (
  name: string,
  namespace: string,
  data: Record<string, string> = { v: '1' },
  annotations?: Record<string, string>,
) =>
  ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    data,
  }) as KubeObject;

async function exists(ref: {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}): Promise<boolean> {
  return (await client.get(ref)) !== undefined;
}

describe('the seed operator config', () => {
  it(
    'applies completely on the first run although its files sort the wrong way, where kubectl apply -f fails',
    async () => {
      const config = join(dir, 'seed');
      await rm(config, { recursive: true, force: true });
      const { mkdir } = await import('node:fs/promises');
      await mkdir(config, { recursive: true });
      const deployment = (ns: string) =>
        `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: nginx\n  namespace: ${ns}\nspec:\n  selector:\n    matchLabels:\n      app: nginx\n` +
        `  template:\n    metadata:\n      labels:\n        app: nginx\n    spec:\n      containers:\n      - name: nginx\n        image: nginx\n`;
      await writeFile(join(config, 'deployment.yaml'), deployment('nginx'));
      await writeFile(
        join(config, 'namespace.yaml'),
        'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: nginx\n',
      );
      const files = (await readdir(config)).sort().map((f) => join(config, f));
      expect(files.map((f) => f.split('/').pop())).toEqual(['deployment.yaml', 'namespace.yaml']);

      // The seed's own way, on a copy with a fresh namespace name: the Deployment comes first and fails.
      const kubectlDir = join(dir, 'seed-kubectl');
      await mkdir(kubectlDir, { recursive: true });
      const kubectlNs = `nginx-kubectl-${Date.now().toString(36)}`;
      await writeFile(join(kubectlDir, 'deployment.yaml'), deployment(kubectlNs));
      await writeFile(
        join(kubectlDir, 'namespace.yaml'),
        `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${kubectlNs}\n`,
      );
      const seedRun = await kubectl(cluster.kubeconfigPath, ['apply', '-f', kubectlDir], {
        allowFailure: true,
      });
      expect(seedRun.code).not.toBe(0);
      expect(seedRun.stderr).toContain(`namespaces "${kubectlNs}" not found`);
      await kubectl(cluster.kubeconfigPath, ['delete', 'namespace', kubectlNs, '--wait=false']);

      const engine = new SyncEngine(client);
      const first = await engine.sync({
        application: 'seed',
        objects: await decodeFiles(files),
        prune: true,
      });
      expectComplete(first);
      expect(first.objects.map((o) => `${o.action} ${o.id}`)).toEqual([
        'created /Namespace//nginx',
        'created apps/Deployment/nginx/nginx',
      ]);
      expect(first.objects[1]?.health.status).toBe('Progressing');

      // A second run of the same input sends no write at all, and the server stored nothing new.
      const before = await client.get({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: 'nginx',
        name: 'nginx',
      });
      const second = await engine.sync({
        application: 'seed',
        objects: await decodeFiles(files),
        prune: true,
      });
      expect(second.summary).toMatchObject({ unchanged: 2, created: 0, configured: 0, failed: 0 });
      expect(second.requests.writes).toBe(0);
      expect(second.requests.dryRuns).toBe(0);
      const after = await client.get({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: 'nginx',
        name: 'nginx',
      });
      const ours = (o?: KubeObject) => o?.metadata.managedFields?.find((m) => m.manager === 'libgitops');
      expect(ours(after)?.time).toBe(ours(before)?.time);
      expect(after?.metadata.generation).toBe(before?.metadata.generation);

      const cleanup = await engine.sync({ application: 'seed', objects: [], prune: true, allowEmpty: true });
      expect(cleanup.summary.pruned).toBe(2);
    },
    SLOW,
  );
});

describe('real manifests', () => {
  it(
    'applies argo-cd/install.yaml completely in one run, where client-side kubectl apply hits the annotation limit',
    async () => {
      const file = join(CORPUS, 'argo-cd/install.yaml');
      const kubectlNs = await testNamespace(cluster, 'argocd-kubectl');
      const csa = await kubectl(cluster.kubeconfigPath, ['apply', '-n', kubectlNs.name, '-f', file], {
        allowFailure: true,
      });
      expect(csa.code).not.toBe(0);
      expect(csa.stderr).toMatch(
        /applicationsets\.argoproj\.io.*metadata\.annotations: Too long: may not be more than 262144 bytes/s,
      );

      const ns = await testNamespace(cluster, 'argocd');
      const engine = new SyncEngine(client, { inventoryNamespace: ns.name });
      const objects = await decodeFiles([file]);
      const result = await engine.sync({
        application: 'argo-cd',
        objects,
        defaultNamespace: ns.name,
        prune: true,
      });
      expectComplete(result);
      expect(result.summary.total).toBe(objects.length);
      expect(
        await exists({
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          name: 'applicationsets.argoproj.io',
        }),
      ).toBe(true);
      const again = await engine.sync({
        application: 'argo-cd',
        objects,
        defaultNamespace: ns.name,
        prune: true,
      });
      expect(again.requests.writes).toBe(0);
      expect(again.summary.unchanged).toBe(objects.length);
      const cleanup = await engine.sync({
        application: 'argo-cd',
        objects: [],
        prune: true,
        allowEmpty: true,
        defaultNamespace: ns.name,
      });
      expect(cleanup.summary.pruned).toBe(objects.length);
    },
    SLOW,
  );

  it(
    'applies kube-prometheus (setup/ included) completely in one run, in any file order',
    async () => {
      const root = join(CORPUS, 'kube-prometheus/manifests');
      const files = [
        ...(await readdir(root)).filter((f) => f.endsWith('.yaml')).map((f) => join(root, f)),
        ...(await readdir(join(root, 'setup'))).map((f) => join(root, 'setup', f)),
      ];
      // A fixed shuffle that puts custom resources and the namespace's objects before setup/.
      let seed = 7;
      const shuffled = files
        .map((f) => ({ f, k: (seed = (seed * 16807) % 2147483647) }))
        .sort((a, b) => a.k - b.k)
        .map((x) => x.f);
      const objects = await decodeFiles(shuffled);
      const ns = await testNamespace(cluster, 'kube-prometheus');
      const engine = new SyncEngine(client, { inventoryNamespace: ns.name });
      const result = await engine.sync({ application: 'kube-prometheus', objects, prune: true });
      expectComplete(result);
      expect(result.summary.created).toBe(result.summary.total);
      const again = await engine.sync({
        application: 'kube-prometheus',
        objects: [...objects].reverse(),
        prune: true,
      });
      expect(again.requests.writes).toBe(0);
      const cleanup = await engine.sync({
        application: 'kube-prometheus',
        objects: [],
        prune: true,
        allowEmpty: true,
      });
      expect(cleanup.summary.pruned).toBe(result.summary.total);
    },
    SLOW,
  );
});

describe('prune', () => {
  it(
    'deletes what left the input, keeps opted-out objects and never touches objects without our mark',
    async () => {
      const ns = await testNamespace(cluster, 'prune');
      const engine = new SyncEngine(client, { inventoryNamespace: ns.name });
      const all = ['keep', 'gone', 'unmarked', 'opted-out'].map((n) =>
        cm(n, ns.name, { v: '1' }, n === 'opted-out' ? { [PRUNE_ANNOTATION]: 'false' } : undefined),
      );
      expectComplete(await engine.sync({ application: 'pruner', objects: all, prune: true }));
      await kubectl(cluster.kubeconfigPath, [
        'create',
        'configmap',
        'someone-elses',
        '-n',
        ns.name,
        '--from-literal=a=b',
      ]);
      // Someone takes one object over: it no longer carries our tracking label.
      await kubectl(cluster.kubeconfigPath, [
        'label',
        'configmap',
        'unmarked',
        '-n',
        ns.name,
        `${APPLICATION_LABEL}-`,
      ]);

      const result = await engine.sync({ application: 'pruner', objects: [all[0]!], prune: true });
      const byName = Object.fromEntries(result.objects.map((o) => [o.key?.name, o]));
      expect(byName.keep?.action).toBe('unchanged');
      expect(byName.gone?.action).toBe('pruned');
      expect(byName.unmarked?.action).toBe('skipped');
      expect(byName.unmarked?.message).toContain('not ours');
      expect(byName['opted-out']?.action).toBe('skipped');
      const ref = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns.name, name });
      expect(await exists(ref('gone'))).toBe(false);
      expect(await exists(ref('unmarked'))).toBe(true);
      expect(await exists(ref('opted-out'))).toBe(true);
      expect(await exists(ref('someone-elses'))).toBe(true);

      // The inventory now lists only what is still ours.
      const inventory = await client.get(ref('libgitops-inventory-pruner'));
      expect(JSON.parse((inventory?.data as Record<string, string>)['objects.json']!)).toEqual([
        [`/ConfigMap/${ns.name}/keep`, 'v1'],
      ]);

      // An empty input would prune everything: refused unless asked.
      const refused = await engine.sync({ application: 'pruner', objects: [], prune: true });
      expect(refused.errors[0]?.code).toBe('PruneRefused');
      expect(await exists(ref('keep'))).toBe(true);
      const held = await engine.sync({
        application: 'pruner',
        objects: [cm('other', ns.name)],
        prune: true,
        inputErrors: [refused.errors[0]!],
      });
      expect(held.errors[0]?.code).toBe('PruneRefused');
      expect(await exists(ref('keep'))).toBe(true);
      const allowed = await engine.sync({
        application: 'pruner',
        objects: [],
        prune: true,
        allowEmpty: true,
      });
      expect(allowed.summary.pruned).toBe(2);
      expect(await exists(ref('keep'))).toBe(false);
    },
    SLOW,
  );
});

describe('drift', () => {
  it(
    'notices a kubectl edit through its watch and reports it (restoring is a sync); a sync reports drift too',
    async () => {
      const ns = await testNamespace(cluster, 'drift');
      const engine = new SyncEngine(client, { inventoryNamespace: ns.name });
      const objects = [cm('settings', ns.name, { mode: 'from-git' })];
      expectComplete(await engine.sync({ application: 'drifty', objects }));
      const watcher = new DriftWatcher(engine, 'drifty');
      await watcher.start();
      try {
        const reported = watcher.next((e) => e.id === `/ConfigMap/${ns.name}/settings`);
        await kubectl(cluster.kubeconfigPath, ['edit', 'configmap', 'settings', '-n', ns.name], {
          env: { KUBE_EDITOR: 'sed -i s/from-git/edited-by-hand/' },
        });
        const event = await reported;
        expect(event.reason).toBe('modified');
        expect(event.changes).toEqual([
          { path: '.data.mode', change: 'changed', live: 'edited-by-hand', desired: 'from-git' },
        ]);
        // Report only: the watcher leaves the object as the edit made it.
        const live = await client.get({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          namespace: ns.name,
          name: 'settings',
        });
        expect(live?.data).toEqual({ mode: 'edited-by-hand' });
      } finally {
        await watcher.stop();
      }
      // A sync restores it and says it was drift.
      const restored = await engine.sync({ application: 'drifty', objects });
      expect(restored.objects[0]).toMatchObject({ action: 'configured', drifted: true });

      // Without a watcher, the next sync finds the edit, restores it and says it was drift.
      await kubectl(cluster.kubeconfigPath, ['edit', 'configmap', 'settings', '-n', ns.name], {
        env: { KUBE_EDITOR: 'sed -i s/from-git/edited-again/' },
      });
      const result = await engine.sync({ application: 'drifty', objects });
      expect(result.objects[0]).toMatchObject({ action: 'configured', drifted: true });
      expect(result.requests.writes).toBe(1);
      const live = await client.get({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: ns.name,
        name: 'settings',
      });
      expect(live?.data).toEqual({ mode: 'from-git' });
    },
    SLOW,
  );
});

describe('bad input and failures', () => {
  it(
    'fails a rejected object alone, with the server message, and applies the rest of its wave',
    async () => {
      const ns = await testNamespace(cluster, 'bad-input');
      const engine = new SyncEngine(client, { inventoryNamespace: ns.name });
      const result = await engine.sync({
        application: 'bad',
        objects: [
          cm('good-1', ns.name),
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'no-selector', namespace: ns.name },
            spec: { template: {} },
          },
          cm('Bad_Name', ns.name),
          cm('good-2', ns.name),
        ],
      });
      const byName = Object.fromEntries(result.objects.map((o) => [o.key?.name, o]));
      expect(byName['good-1']?.action).toBe('created');
      expect(byName['good-2']?.action).toBe('created');
      expect(byName['no-selector']?.action).toBe('failed');
      expect(byName['no-selector']?.error?.message).toContain('spec.selector: Required value');
      expect(byName['Bad_Name']?.action).toBe('failed');
      expect(byName['Bad_Name']?.error?.message).toMatch(/metadata.name: Invalid value: "Bad_Name"/);
      expect(result.ok).toBe(false);
    },
    SLOW,
  );

  it(
    'stops with a clear error when the API server becomes unreachable, and the next run continues',
    async () => {
      const ns = await testNamespace(cluster, 'unreachable');
      const target = new URL(cluster.server);
      const sockets = new Set<Socket>();
      const proxy = createServer((socket) => {
        const upstream = connect(Number(target.port), target.hostname);
        sockets.add(socket).add(upstream);
        socket.pipe(upstream).pipe(socket);
        const end = () => {
          socket.destroy();
          upstream.destroy();
        };
        socket.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      const port = (proxy.address() as { port: number }).port;
      const direct = loadKubeconfig({ kubeconfigPath: cluster.kubeconfigPath });
      const viaProxy = new KubeClient(
        { ...direct, server: `https://127.0.0.1:${port}` },
        { retries: 2, backoffMs: 20, maxConcurrency: 2 },
      );
      let writes = 0;
      viaProxy.rest.onRequest((r) => {
        if (r.write && ++writes === 6) {
          proxy.close();
          for (const s of sockets) s.destroy();
        }
      });
      const objects = Array.from({ length: 30 }, (_, i) => cm(`cm-${String(i).padStart(2, '0')}`, ns.name));
      const cut = await new SyncEngine(viaProxy, { inventoryNamespace: ns.name }).sync({
        application: 'flaky',
        objects,
        prune: true,
      });
      viaProxy.close();
      expect(cut.ok).toBe(false);
      expect(cut.errors[0]?.code).toBe('Unreachable');
      expect(cut.errors[0]?.message).toContain(
        `cannot reach the Kubernetes API server at https://127.0.0.1:${port}`,
      );
      expect(cut.summary.skipped).toBeGreaterThan(0);

      const engine = new SyncEngine(client, { inventoryNamespace: ns.name });
      const next = await engine.sync({ application: 'flaky', objects, prune: true });
      expectComplete(next);
      // What the first run applied is not sent again.
      expect(next.summary.unchanged).toBeGreaterThanOrEqual(cut.summary.created);
      expect(next.requests.writes).toBe(next.summary.created + next.summary.configured);
      expect(next.requests.writes).toBeLessThan(objects.length);
    },
    SLOW,
  );
});

describe('dry-run, waves and health', () => {
  it(
    'dry-runs a whole plan without changing anything, with per-object changes',
    async () => {
      const ns = await testNamespace(cluster, 'dry-run');
      const engine = new SyncEngine(client, { inventoryNamespace: ns.name });
      const newNs = `${ns.name}-new`;
      const objects = [
        cm('a', ns.name, { v: '1' }),
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: newNs } } as KubeObject,
        cm('in-new', newNs),
      ];
      const preview = await engine.sync({ application: 'preview', objects, dryRun: true, prune: true });
      expect(preview.requests.writes).toBe(0);
      expect(preview.objects.map((o) => `${o.action} ${o.key?.name}`)).toEqual([
        `created ${newNs}`,
        'created a',
        'created in-new',
      ]);
      expect(preview.objects[2]?.message).toContain('which this sync creates');
      expect(await exists({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns.name, name: 'a' })).toBe(
        false,
      );
      expect(
        await exists({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          namespace: ns.name,
          name: 'libgitops-inventory-preview',
        }),
      ).toBe(false);

      expectComplete(
        await engine.sync({ application: 'preview', objects: objects.slice(0, 1), prune: true }),
      );
      const change = await engine.sync({
        application: 'preview',
        objects: [cm('a', ns.name, { v: '2' })],
        dryRun: true,
      });
      expect(change.requests.writes).toBe(0);
      expect(change.objects[0]?.action).toBe('configured');
      expect(change.objects[0]?.changes).toEqual([
        { path: '.data.v', change: 'changed', live: '1', desired: '2' },
      ]);
      const diff = await engine.diff(cm('a', ns.name, { v: '3' }), { application: 'preview' });
      expect(diff).toEqual({
        exists: true,
        changes: [{ path: '.data.v', change: 'changed', live: '1', desired: '3' }],
      });
    },
    SLOW,
  );

  it(
    "does not apply wave 2 until wave 1's Deployment is available (real controllers and nodes)",
    async () => {
      const ns = await testNamespace(cluster, 'waves-deploy');
      const engine = new SyncEngine(client, { inventoryNamespace: ns.name, healthPollIntervalMs: 100 });
      // Its Pods take 3 s to become ready on the simulated nodes (test/support/cluster/kwok-stages.yaml).
      const web = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: ns.name, annotations: { [SYNC_WAVE_ANNOTATION]: '1' } },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' }, annotations: { 'test.libgitops.dev/ready-after': '3s' } },
            spec: { containers: [{ name: 'web', image: 'registry.k8s.io/pause:3.10' }] },
          },
        },
      } as KubeObject;
      const after = cm('after', ns.name, { v: '1' }, { [SYNC_WAVE_ANNOTATION]: '2' });
      const result = await engine.sync({
        application: 'waves-deploy',
        objects: [after, web],
        waitForHealth: true,
      });
      expectComplete(result);
      expect(result.objects.map((o) => `${o.wave} ${o.key?.name} ${o.health.status}`)).toEqual([
        '1 web Healthy',
        '2 after Healthy',
      ]);
      const live = await client.get({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: ns.name,
        name: 'web',
      });
      const available = (
        live?.status as { conditions: { type: string; status: string; lastTransitionTime: string }[] }
      ).conditions.find((c) => c.type === 'Available');
      expect(available?.status).toBe('True');
      const created = await client.get({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: ns.name,
        name: 'after',
      });
      // Server times, to the second: the ConfigMap was created after the Deployment became available,
      // which was at least 3 s after the Deployment was created.
      expect(Date.parse(created!.metadata.creationTimestamp!)).toBeGreaterThanOrEqual(
        Date.parse(available!.lastTransitionTime),
      );
      expect(Date.parse(available!.lastTransitionTime)).toBeGreaterThan(
        Date.parse(live!.metadata.creationTimestamp!),
      );
    },
    SLOW,
  );

  it(
    'waits for a wave to be healthy before the next one when asked',
    async () => {
      const ns = await testNamespace(cluster, 'waves');
      const engine = new SyncEngine(client, { inventoryNamespace: ns.name, healthPollIntervalMs: 100 });
      const lb = {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'front', namespace: ns.name },
        spec: { type: 'LoadBalancer', ports: [{ port: 80 }], selector: { app: 'front' } },
      } as KubeObject;
      const after = cm('after', ns.name, { v: '1' }, { [SYNC_WAVE_ANNOTATION]: '1' });
      const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns.name, name: 'after' };
      const running = engine.sync({ application: 'waves', objects: [after, lb], waitForHealth: true });
      await expect
        .poll(() => exists({ apiVersion: 'v1', kind: 'Service', namespace: ns.name, name: 'front' }), {
          timeout: 20_000,
        })
        .toBe(true);
      await new Promise((r) => setTimeout(r, 500));
      // The load balancer has no address yet: wave 1 must not have started.
      expect(await exists(ref)).toBe(false);
      await client.rest.request({
        method: 'PATCH',
        path: `/api/v1/namespaces/${ns.name}/services/front/status`,
        body: { status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } },
        contentType: 'application/merge-patch+json',
      });
      const result = await running;
      expectComplete(result);
      expect(result.objects.map((o) => `${o.wave} ${o.key?.name} ${o.health.status}`)).toEqual([
        '0 front Healthy',
        '1 after Healthy',
      ]);

      const impatient = new SyncEngine(client, {
        inventoryNamespace: ns.name,
        healthPollIntervalMs: 50,
        healthTimeoutMs: 300,
      });
      const lb2 = { ...lb, metadata: { name: 'back', namespace: ns.name } };
      const after2 = cm('after-2', ns.name, { v: '1' }, { [SYNC_WAVE_ANNOTATION]: '1' });
      const timedOut = await impatient.sync({
        application: 'waves-2',
        objects: [lb2, after2],
        waitForHealth: true,
      });
      expect(timedOut.errors[0]?.code).toBe('Timeout');
      expect(timedOut.errors[0]?.message).toContain('was not healthy');
      expect(timedOut.objects.find((o) => o.key?.name === 'after-2')?.action).toBe('skipped');
    },
    SLOW,
  );
});
