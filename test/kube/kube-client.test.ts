import { createServer } from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { unexpected } from './kubectl.js';

import { KubeClient, watchObjects } from '../../src/kube/index.js';
import type { WatchEvent } from '../../src/kube/index.js';
import { GitOpsError } from '../../src/runtime/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import { clusterSetupTimeoutMs, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';

let cluster: TestCluster;
let client: KubeClient;

beforeAll(async () => {
  cluster = await useCluster();
  client = KubeClient.fromKubeconfig({ kubeconfigPath: cluster.kubeconfigPath });
  return () => client.close();
}, clusterSetupTimeoutMs);

const configMap = (
  namespace: string,
  name: string,
  data: Record<string, string> = { a: '1' },
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace },
  data,
});

describe('KubeClient on a real API server', () => {
  it('server-side applies with our field manager: created, then not, and a dry-run stores nothing', async () => {
    const ns = await testNamespace(cluster, 'kube-apply');
    const first = await client.apply(configMap(ns.name, 'settings'));
    expect(first.created).toBe(true);
    expect(first.object.metadata.managedFields?.map((m) => [m.manager, m.operation])).toEqual([
      ['libgitops', 'Apply'],
    ]);
    const again = await client.apply(configMap(ns.name, 'settings'));
    expect(again.created).toBe(false);
    expect(again.object.metadata.resourceVersion).toBe(first.object.metadata.resourceVersion);
    const trial = await client.apply(configMap(ns.name, 'draft'), { dryRun: true });
    expect(trial.created).toBe(true);
    expect(
      await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns.name, name: 'draft' }),
    ).toBeUndefined();
    expect(client.rest.stats().dryRuns).toBeGreaterThanOrEqual(1);
  });

  it('fails with the server message and the object, under strict field validation', async () => {
    const ns = await testNamespace(cluster, 'kube-invalid');
    const err = await client
      .apply({ ...configMap(ns.name, 'Bad_Name'), unknownField: true } as KubeObject)
      .then(unexpected, (e: unknown) => e as GitOpsError);
    expect(err).toBeInstanceOf(GitOpsError);
    expect(err.details.object).toBe(`/ConfigMap/${ns.name}/Bad_Name`);
    expect(err.message).toMatch(/unknownField|field not declared in schema|Invalid value/);
    const invalid = await client
      .apply({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: ns.name },
        spec: {},
      })
      .then(unexpected, (e: unknown) => e as GitOpsError);
    expect(invalid.code).toBe('Invalid');
    expect(invalid.message).toContain('spec.selector: Required value');
  });

  it('lists page after page, and deletes only the object it was told (uid precondition)', async () => {
    const ns = await testNamespace(cluster, 'kube-list');
    for (let i = 0; i < 5; i++) await client.apply(configMap(ns.name, `cm-${i}`));
    const list = await client.list(
      { group: '', version: 'v1', kind: 'ConfigMap' },
      { namespace: ns.name, limit: 2 },
    );
    expect(list.items.map((i) => i.metadata.name).filter((n) => n?.startsWith('cm-'))).toEqual([
      'cm-0',
      'cm-1',
      'cm-2',
      'cm-3',
      'cm-4',
    ]);
    expect(list.items.every((i) => i.kind === 'ConfigMap' && i.apiVersion === 'v1')).toBe(true);
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns.name, name: 'cm-0' };
    const wrongUid = await client
      .delete(ref, { preconditions: { uid: '00000000-0000-0000-0000-000000000000' } })
      .then(unexpected, (e: unknown) => e as GitOpsError);
    expect(wrongUid.code).toBe('Conflict');
    expect(await client.delete(ref, { propagationPolicy: 'Background' })).toBe('deleted');
    expect(await client.delete(ref)).toBe('notFound');
  });

  it("sends and reads integers beyond 2^53 exactly (a Job's int64 activeDeadlineSeconds)", async () => {
    const ns = await testNamespace(cluster, 'kube-bigint');
    const job: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'long', namespace: ns.name },
      spec: {
        // 2^53 + 1: a number would round it to 2^53.
        activeDeadlineSeconds: 9007199254740993n,
        template: {
          spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] },
        },
      },
    };
    const applied = await client.apply(job, { dryRun: true });
    expect((applied.object.spec as { activeDeadlineSeconds: unknown }).activeDeadlineSeconds).toBe(
      9007199254740993n,
    );
    expect((applied.object.spec as { backoffLimit: unknown }).backoffLimit).toBe(6);
  });

  it('refuses names that would change the request path', async () => {
    const err = await client
      .get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: '..' })
      .then(unexpected, (e: unknown) => e as GitOpsError);
    expect(err.code).toBe('Invalid');
    const slash = await client
      .get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'a/b', name: 'x' })
      .then(unexpected, (e: unknown) => e as GitOpsError);
    expect(slash.code).toBe('Invalid');
  });
});

describe('RestMapper', () => {
  it('maps built-in kinds, says clearly when a kind is not served, and learns a new CRD', async () => {
    const deployments = await client.mapper.resourceFor({ group: 'apps', version: 'v1', kind: 'Deployment' });
    expect(deployments).toMatchObject({ resource: 'deployments', namespaced: true });
    expect(await client.mapper.resourceFor({ group: '', version: 'v1', kind: 'Namespace' })).toMatchObject({
      namespaced: false,
    });
    const group = `kt${Date.now()}.example.com`;
    const missing = await client.mapper
      .resourceFor({ group, version: 'v1', kind: 'Gadget' })
      .then(unexpected, (e: unknown) => e as GitOpsError);
    expect(missing.code).toBe('UnknownKind');
    expect(missing.message).toContain('is its CustomResourceDefinition installed?');
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `gadgets.${group}` },
      spec: {
        group,
        scope: 'Cluster',
        names: { kind: 'Gadget', plural: 'gadgets', singular: 'gadget', listKind: 'GadgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    };
    try {
      await client.apply(crd);
      client.mapper.learnCustomResourceDefinition(crd);
      expect(await client.mapper.resourceFor({ group, version: 'v1', kind: 'Gadget' })).toMatchObject({
        resource: 'gadgets',
        namespaced: false,
      });
      // Discovery itself catches up too.
      await expect
        .poll(async () => {
          await client.mapper.refresh();
          return client.mapper.cachedResource({ group, version: 'v1', kind: 'Gadget' })?.resource;
        })
        .toBe('gadgets');
    } finally {
      await client.delete({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        name: `gadgets.${group}`,
      });
    }
  });
});

describe('watchObjects', () => {
  it('reports additions, changes and deletions from the real API server', async () => {
    const ns = await testNamespace(cluster, 'kube-watch');
    await client.apply(configMap(ns.name, 'before'));
    const info = await client.mapper.resourceFor({ group: '', version: 'v1', kind: 'ConfigMap' });
    const controller = new AbortController();
    const relists: string[] = [];
    const events: WatchEvent[] = [];
    const stream = watchObjects(client, info, {
      namespace: ns.name,
      signal: controller.signal,
      onRelist: (reason) => relists.push(reason),
    });
    const done = (async () => {
      for await (const event of stream) {
        events.push(event);
        if (event.type === 'DELETED' && event.object.metadata.name === 'later') controller.abort();
      }
    })();
    await expect.poll(() => relists, { timeout: 20_000 }).toEqual(['initial']);
    await client.apply(configMap(ns.name, 'later'));
    await client.apply(configMap(ns.name, 'later', { a: '2' }));
    await client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns.name, name: 'later' });
    await done;
    const seen = events.map((e) => `${e.type} ${e.object.metadata.name}`);
    expect(seen).toContain('ADDED before');
    expect(seen.slice(-3)).toEqual(['ADDED later', 'MODIFIED later', 'DELETED later']);
    expect(events.every((e) => e.object.kind === 'ConfigMap')).toBe(true);
  });

  // A 410 needs etcd to have compacted the version (every 5 minutes on a real server), so this
  // case is played by a loopback server that answers exactly as the API server does then.
  it('relists after 410 Gone and replays what changed meanwhile, deletions included', async () => {
    const cm = (name: string, rv: string) => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });
    let lists = 0;
    const watches: string[] = [];
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      res.setHeader('content-type', 'application/json');
      if (url.searchParams.get('watch') === null) {
        lists++;
        const items = lists === 1 ? [cm('a', '10'), cm('b', '11')] : [cm('a', '20'), cm('c', '21')];
        res.end(
          JSON.stringify({
            kind: 'ConfigMapList',
            metadata: { resourceVersion: lists === 1 ? '11' : '21' },
            items,
          }),
        );
        return;
      }
      watches.push(url.searchParams.get('resourceVersion') ?? '');
      if (watches.length === 1) {
        const gone = {
          kind: 'Status',
          code: 410,
          reason: 'Expired',
          message: 'too old resource version: 11 (15)',
        };
        res.end(`${JSON.stringify({ type: 'ERROR', object: gone })}\n`);
        return;
      }
      res.write(
        `${JSON.stringify({ type: 'BOOKMARK', object: { kind: 'ConfigMap', metadata: { resourceVersion: '25' } } })}\n`,
      );
      res.end(`${JSON.stringify({ type: 'MODIFIED', object: cm('c', '26') })}\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const local = new KubeClient({
      server: `http://127.0.0.1:${port}`,
      namespace: 'ns',
      contextName: 'local',
      source: 'test',
      credentials: async () => ({ rejectUnauthorized: true, headers: {} }),
    });
    const info = {
      group: '',
      version: 'v1',
      kind: 'ConfigMap',
      resource: 'configmaps',
      namespaced: true,
      verbs: [],
    };
    const controller = new AbortController();
    const relists: string[] = [];
    const events: string[] = [];
    try {
      for await (const event of watchObjects(local, info, {
        namespace: 'ns',
        signal: controller.signal,
        onRelist: (reason) => relists.push(reason),
      })) {
        events.push(`${event.type} ${event.object.metadata.name} ${event.object.metadata.resourceVersion}`);
        if (event.type === 'MODIFIED' && event.object.metadata.name === 'c') controller.abort();
      }
    } finally {
      local.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    expect(relists).toEqual(['initial', 'gone']);
    expect(events).toEqual([
      'ADDED a 10',
      'ADDED b 11',
      'MODIFIED a 20',
      'ADDED c 21',
      'DELETED b 11',
      'MODIFIED c 26',
    ]);
    // Resumed from the list's version, then from the version the relist returned.
    expect(watches.slice(0, 2)).toEqual(['11', '21']);
  });
});
