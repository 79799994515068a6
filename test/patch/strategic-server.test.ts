/**
 * Strategic merge, differential: for generated (object, patch) pairs on built-in kinds, what the
 * real API server makes of the patch (PATCH, dry run) equals what it makes of our local result
 * (PUT of applyStrategicMergePatch's output, dry run), so defaults land the same on both. And a
 * patch made by createStrategicMergePatch, sent to the server, gives the target object.
 */
import { beforeAll, describe, expect, it } from 'vitest';

import { applyStrategicMergePatch, createStrategicMergePatch } from '../../src/patch/index.js';
import {
  clusterSetupTimeoutMs,
  kubeRequest,
  kubeRequestOk,
  testNamespace,
  useCluster,
} from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let cluster: TestCluster;
let ns: string;

beforeAll(async () => {
  cluster = await useCluster();
  ns = (await testNamespace(cluster, 'smp')).name;
}, clusterSetupTimeoutMs);

/** A small deterministic random source (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function deployment(name: string): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels: { app: name, tier: 'web' }, annotations: { a: '1' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'app:1',
              args: ['--a', '--b'],
              ports: [
                { containerPort: 8080, name: 'http' },
                { containerPort: 9090, name: 'metrics' },
              ],
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
            },
            { name: 'sidecar', image: 'side:1', env: [{ name: 'S', value: 's' }] },
          ],
          volumes: [
            { name: 'data', emptyDir: {} },
            { name: 'conf', configMap: { name: 'conf' } },
          ],
          tolerations: [{ key: 'k', operator: 'Exists' }],
        },
      },
    },
  };
}

function service(name: string): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: {
      selector: { app: name },
      ports: [
        { name: 'http', port: 80, targetPort: 8080 },
        { name: 'https', port: 443, targetPort: 8443 },
      ],
    },
  };
}

const pick = <T>(rnd: () => number, list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;

/** One random strategic merge patch of a Deployment, built from a few random edits. */
function deploymentPatch(rnd: () => number): Obj {
  const edits: ((p: Obj) => void)[] = [
    (p) => (p.metadata = { ...p.metadata, labels: { tier: null, extra: 'x' } }),
    (p) => (p.metadata = { ...p.metadata, finalizers: ['example.com/f'] }),
    (p) => (p.metadata = { ...p.metadata, annotations: { a: null, b: '2' } }),
    (p) => containers(p).push({ name: 'app', image: `app:${Math.floor(rnd() * 9)}` }),
    (p) => containers(p).push({ name: `new${Math.floor(rnd() * 3)}`, image: 'n:1' }),
    (p) => containers(p).push({ name: 'sidecar', $patch: 'delete' }),
    (p) => containers(p).push({ name: 'app', env: [{ name: 'C', value: '3' }] }),
    (p) => containers(p).push({ name: 'app', env: [{ name: 'A', value: 'changed' }] }),
    (p) => containers(p).push({ name: 'app', env: [{ name: 'B', $patch: 'delete' }] }),
    (p) => containers(p).push({ name: 'app', ports: [{ containerPort: 7070, name: 'grpc' }] }),
    (p) => containers(p).push({ name: 'app', ports: [{ containerPort: 9090, name: 'prom' }] }),
    (p) => containers(p).push({ name: 'app', args: ['--c'] }),
    (p) => containers(p).push({ name: 'app', volumeMounts: [{ name: 'conf', mountPath: '/conf' }] }),
    (p) => (podSpec(p).volumes = [{ name: 'cache', emptyDir: {} }]),
    (p) => (podSpec(p).volumes = [{ name: 'conf', $patch: 'delete' }]),
    (p) => (podSpec(p).tolerations = [{ key: 'other', operator: 'Exists' }]),
    (p) => (podSpec(p)['$setElementOrder/containers'] = [{ name: 'sidecar' }, { name: 'app' }]),
    (p) => (spec(p).replicas = Math.floor(rnd() * 5)),
    (p) => (spec(p).strategy = { type: 'Recreate', rollingUpdate: null }),
    (p) => (spec(p).strategy = { $retainKeys: ['type'], type: 'Recreate' }),
    (p) => (podSpec(p).nodeSelector = { disk: 'ssd' }),
  ];
  const patch: Obj = {};
  const count = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < count; i++) pick(rnd, edits)(patch);
  return patch;
}

function spec(p: Obj): Obj {
  return (p.spec ??= {});
}
function podSpec(p: Obj): Obj {
  const template = (spec(p).template ??= {});
  return (template.spec ??= {});
}
function containers(p: Obj): Obj[] {
  return (podSpec(p).containers ??= []);
}

function servicePatch(rnd: () => number): Obj {
  const edits: ((p: Obj) => void)[] = [
    (p) => (p.spec = { ...p.spec, ports: [...(p.spec?.ports ?? []), { name: 'grpc', port: 9000 }] }),
    (p) => (p.spec = { ...p.spec, ports: [...(p.spec?.ports ?? []), { port: 443, $patch: 'delete' }] }),
    (p) => (p.spec = { ...p.spec, ports: [...(p.spec?.ports ?? []), { port: 80, targetPort: 9999 }] }),
    (p) => (p.spec = { ...p.spec, selector: { app: null, role: 'x' } }),
    (p) => (p.metadata = { labels: { env: `e${Math.floor(rnd() * 3)}` } }),
    (p) => (p.spec = { ...p.spec, '$setElementOrder/ports': [{ port: 443 }, { port: 80 }] }),
  ];
  const patch: Obj = {};
  const count = 1 + Math.floor(rnd() * 2);
  for (let i = 0; i < count; i++) pick(rnd, edits)(patch);
  return patch;
}

function pathOf(obj: Obj): string {
  return obj.kind === 'Service'
    ? `/api/v1/namespaces/${ns}/services/${obj.metadata.name}`
    : `/apis/apps/v1/namespaces/${ns}/deployments/${obj.metadata.name}`;
}

/** What the server stores, without the fields that differ between two dry runs of one change. */
function comparable(body: unknown): unknown {
  const obj = structuredClone(body) as Obj;
  if (obj.kind === 'Status') return { failed: obj.message };
  delete obj.metadata?.managedFields;
  delete obj.metadata?.resourceVersion;
  return obj;
}

async function serverResults(
  stored: Obj,
  patch: Obj,
  local: Obj,
): Promise<{ viaPatch: unknown; viaPut: unknown }> {
  const path = pathOf(stored);
  const viaPatch = await kubeRequest(cluster, 'PATCH', `${path}?dryRun=All`, {
    body: patch,
    contentType: 'application/strategic-merge-patch+json',
  });
  // Unconditional (no resourceVersion): a controller may have touched the object meanwhile.
  const body = { ...local, metadata: { ...local.metadata } };
  delete body.metadata.resourceVersion;
  const viaPut = await kubeRequest(cluster, 'PUT', `${path}?dryRun=All`, { body });
  return { viaPatch: comparable(viaPatch.body), viaPut: comparable(viaPut.body) };
}

/** Waits until the deployment controller has seen the Deployment (it writes to it once). */
async function settled(obj: Obj): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const now = await kubeRequestOk<Obj>(cluster, 'GET', pathOf(obj));
    // Observed and, for a Deployment, rolled out: its Pods run on the test cluster's nodes, so the
    // status would otherwise change between our read and the server's dry run.
    const status = now.status as { observedGeneration?: number; availableReplicas?: number } | undefined;
    const wanted = (now.spec as { replicas?: number } | undefined)?.replicas ?? 1;
    if (status?.observedGeneration === now.metadata.generation && (status?.availableReplicas ?? 0) >= wanted)
      return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${obj.metadata.name} never settled`);
}

describe('strategic merge against the real API server', () => {
  it('agrees with the server on 120 generated patches of Deployments and Services', async () => {
    const stored: Obj[] = [];
    for (const obj of [deployment('web'), service('web')]) {
      const kind = obj.kind === 'Service' ? 'services' : 'deployments';
      const base = obj.kind === 'Service' ? `/api/v1/namespaces/${ns}` : `/apis/apps/v1/namespaces/${ns}`;
      stored.push(await kubeRequestOk<Obj>(cluster, 'POST', `${base}/${kind}`, { body: obj }));
    }
    await settled(stored[0]!);
    const rnd = random(20261206);
    const disagreements: string[] = [];
    let compared = 0;
    for (let i = 0; i < 120; i++) {
      // Read afresh: the controllers change what was stored (status, annotations).
      const original = await kubeRequestOk<Obj>(
        cluster,
        'GET',
        pathOf(i % 3 === 2 ? stored[1]! : stored[0]!),
      );
      const patch = original.kind === 'Service' ? servicePatch(rnd) : deploymentPatch(rnd);
      let local: Obj;
      try {
        local = applyStrategicMergePatch(original, patch);
      } catch (err) {
        disagreements.push(`#${i} ${JSON.stringify(patch)}: local refused (${(err as Error).message})`);
        continue;
      }
      const { viaPatch, viaPut } = await serverResults(original, patch, local);
      compared++;
      try {
        expect(viaPut).toEqual(viaPatch);
      } catch {
        disagreements.push(
          `#${i} ${original.kind} ${JSON.stringify(patch)}\n  server: ${JSON.stringify(viaPatch)}\n  local:  ${JSON.stringify(viaPut)}`,
        );
      }
    }
    if (disagreements.length > 0) console.log(disagreements.join('\n'));
    expect(disagreements).toEqual([]);
    expect(compared).toBe(120);
  });

  it('createStrategicMergePatch: the server turns the original into the target with it', async () => {
    const created = await kubeRequestOk<Obj>(cluster, 'POST', `/apis/apps/v1/namespaces/${ns}/deployments`, {
      body: deployment('target'),
    });
    await settled(created);
    const rnd = random(7);
    const disagreements: string[] = [];
    for (let i = 0; i < 20; i++) {
      const original = await kubeRequestOk<Obj>(cluster, 'GET', pathOf(created));
      // A target made by a random local patch; then the patch made between the two.
      const target = applyStrategicMergePatch(original, deploymentPatch(rnd));
      const patch = createStrategicMergePatch(original, target);
      expect(applyStrategicMergePatch(original, patch)).toEqual(target);
      const { viaPatch, viaPut } = await serverResults(original, patch, target);
      try {
        expect(viaPatch).toEqual(viaPut);
      } catch {
        disagreements.push(
          `#${i} ${JSON.stringify(patch)}\n  server: ${JSON.stringify(viaPatch)}\n  target: ${JSON.stringify(viaPut)}`,
        );
      }
    }
    if (disagreements.length > 0) console.log(disagreements.join('\n'));
    expect(disagreements).toEqual([]);
  });
});
