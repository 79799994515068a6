/**
 * The operator's destination and the engine's options, on the real control plane: a sync goes
 * from the reconciler straight to the destination's engine; with progress reported the input is
 * planned once (the engine reports waves from its own plan), and the Application's policy
 * reaches the engine whole as `SyncOptions`, for syncs and drift dry-runs.
 */
import { describe, expect, it, vi } from 'vitest';

import { DestinationTargets, EngineTarget, Operator, applicationFor } from '../../src/operator/index.js';
import { SYNC_WAVE_ANNOTATION, syncOptionsOf } from '../../src/sync/index.js';
import type { SyncRequest } from '../../src/sync/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import { testNamespace } from '../support/cluster/index.js';
import { operatorHarness } from './operator-harness.js';

const h = operatorHarness(['git']);

const cm = (name: string, namespace: string, wave: number): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, annotations: { [SYNC_WAVE_ANNOTATION]: String(wave) } },
    data: { v: '1' },
  }) as KubeObject;

const yamlOf = (name: string, namespace: string, wave: number) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\n` +
  `  annotations:\n    ${SYNC_WAVE_ANNOTATION}: "${wave}"\ndata:\n  v: "1"\n`;

describe('the operator’s destination', () => {
  it('plans once when progress is reported, and passes the policy’s sync options whole', async () => {
    const ns = await testNamespace(h.cluster, 'target-options');
    const repo = await h.server.createRepo(`opts-${ns.name}`, {
      files: { 'one.yaml': yamlOf('one', ns.name, 0), 'two.yaml': yamlOf('two', ns.name, 1) },
    });
    const target = new EngineTarget({ kubeconfig: h.cluster.kubeconfigPath });
    h.targets.push(target);
    const plan = vi.spyOn(target.engine, 'plan');
    const sync = vi.spyOn(target.engine, 'sync');
    const operator = new Operator({ destinations: target, follow: false });
    h.operators.push(operator);
    const seen: string[] = [];
    operator.on((e) => {
      if (e.type === 'progress' && e.step.startsWith('apply wave')) seen.push(e.step);
    });
    const app = applicationFor({
      name: 'opts',
      namespace: ns.name,
      repoURL: repo.urls.git!,
      destinationNamespace: ns.name,
      prune: true,
      waitForHealth: true,
    });
    operator.upsert(app);
    const [view] = await operator.syncAll('manual');
    expect(view!.status.lastError).toBeUndefined();
    expect(view!.status.phase).toBe('Synced');
    expect(plan).toHaveBeenCalledTimes(1);
    expect(seen).toEqual(['apply wave 1/2 (1 objects)', 'apply wave 2/2 (1 objects)']);
    expect(sync).toHaveBeenCalledTimes(1);
    const request = sync.mock.calls[0]![0] as SyncRequest;
    expect(request).toMatchObject({ prune: true, waitForHealth: true, dryRun: false });

    await target.drifted(app, [cm('one', ns.name, 0)]);
    expect(sync.mock.calls[1]![0]).toMatchObject({ prune: true, waitForHealth: true, dryRun: true });
  }, 120_000);

  it('behind DestinationTargets, the drift watch reuses the sync’s own plan: the input is planned once', async () => {
    const ns = await testNamespace(h.cluster, 'target-plan-once');
    const repo = await h.server.createRepo(`plan-once-${ns.name}`, {
      files: { 'one.yaml': yamlOf('one', ns.name, 0), 'two.yaml': yamlOf('two', ns.name, 1) },
    });
    const target = new EngineTarget({ kubeconfig: h.cluster.kubeconfigPath });
    h.targets.push(target);
    const destinations = new DestinationTargets(target);
    const plan = vi.spyOn(target.engine, 'plan');
    const lastPlan = vi.spyOn(target.engine, 'lastPlan');
    // follow: true runs the drift watch; an hour between checks keeps the timer out of it.
    const operator = new Operator({ destinations, follow: true });
    h.operators.push(operator);
    const key = `${ns.name}/plan-once`;
    operator.upsert(
      applicationFor({
        name: 'plan-once',
        namespace: ns.name,
        repoURL: repo.urls.git!,
        destinationNamespace: ns.name,
        interval: '1h',
      }),
    );
    operator.start();
    await vi.waitFor(() => expect(operator.get(key)?.status.phase).toBe('Synced'), { timeout: 60_000 });
    // The watch starts after the sync: it asks for the sync's plan of these very objects.
    await vi.waitFor(() => expect(lastPlan).toHaveBeenCalled(), { timeout: 60_000 });
    expect(lastPlan.mock.results.some((r) => r.type === 'return' && r.value !== undefined)).toBe(true);
    expect(plan).toHaveBeenCalledTimes(1);
    destinations.close();
  }, 120_000);

  it('takes the sync options, and only them, from an Application’s policy', () => {
    const app = applicationFor({
      name: 'a',
      repoURL: 'https://git.example/a.git',
      prune: true,
      selfHeal: true,
    });
    expect(syncOptionsOf(app.spec.policy)).toEqual({ prune: true, waitForHealth: false });
  });
});
