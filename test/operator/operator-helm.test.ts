import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import { HelmRenderer } from '../../src/helm/index.js';
import { ErrorCodes } from '../../src/runtime/index.js';
import { applicationFor } from '../../src/operator/application.js';
import { EngineTarget, engineApplicationName } from '../../src/operator/engine-target.js';
import { Operator } from '../../src/operator/operator.js';
import { SyncEventRecorder } from '../../src/operator/sync-events.js';
import { Renderer } from '../../src/operator/render.js';
import { chartRepositoriesFromSecrets } from '../../src/operator/repository-credentials.js';
import { clusterSetupTimeoutMs, testNamespace } from '../support/cluster/index.js';
import { pushCommit } from '../support/git-server/index.js';
import { ensureHelm } from '../support/helm/build.js';
import { startChartRepo } from '../support/helm/chart-repo.js';
import {
  hookChart,
  plainChart,
  repositoryChart,
  subChart,
  vendoredChart,
  writeFiles,
} from '../helm/fixtures.js';
import { operatorHarness } from './operator-harness.js';

const h = operatorHarness(['git']);

// A fresh machine builds helm from the Go module proxy first: that belongs to set-up, not to a test's time.
beforeAll(async () => {
  await ensureHelm();
}, clusterSetupTimeoutMs);

function under(prefix: string, files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([p, t]) => [`${prefix}/${p}`, t]));
}

describe('Helm charts through the operator', () => {
  it('applies a plain chart, a charts/ dependency, a repository dependency and one with hooks and CRDs in one sync; the same tree is not rendered again and a second sync sends no writes', async () => {
    const home = await testNamespace(h.cluster, 'op-helm');
    const ns = home.name;
    const group = `${ns}.example.com`;
    const scratch = await mkdtemp(join(tmpdir(), 'libgitops-helm-op-'));
    await writeFiles(`${scratch}/remote`, subChart('remote', 'from-repo'));
    const chartRepo = await startChartRepo({
      charts: [`${scratch}/remote`],
      auth: { username: 'helm', password: 'pw-123' },
    });
    try {
      await h.kubectl([
        'create',
        'secret',
        'generic',
        'charts',
        '-n',
        ns,
        '--from-literal=username=helm',
        '--from-literal=password=pw-123',
      ]);
      const repo = await h.server.createRepo(`helm-${ns}`, {
        files: {
          ...under('plain', plainChart()),
          ...under('vendored', vendoredChart()),
          ...under('fetching', repositoryChart(chartRepo.url)),
          ...under('hooked', hookChart(group)),
        },
      });
      const target = new EngineTarget({ kubeconfig: h.cluster.kubeconfigPath });
      h.targets.push(target);
      const helm = new HelmRenderer({ helm: await ensureHelm() });
      const renderer = new Renderer({ helm });
      const eventsTarget = new EngineTarget({ kubeconfig: h.cluster.kubeconfigPath });
      h.targets.push(eventsTarget);
      const eventsClient = eventsTarget.client;
      const operator = new Operator({
        destinations: target,
        renderer,
        follow: false,
        chartRepositoriesFor: (app) => chartRepositoriesFromSecrets(target.client, app),
        // Its own client, so its Event writes are not counted as the engine's.
        events: new SyncEventRecorder(eventsClient),
      });
      h.operators.push(operator);
      const app = applicationFor({
        name: 'shop',
        namespace: ns,
        repoURL: repo.urls.git!,
        paths: ['plain', 'vendored', 'fetching', 'hooked'],
        destinationNamespace: ns,
      });
      app.spec.source.helm = {
        valueFiles: ['values-prod.yaml'],
        parameters: [{ name: 'size', value: '7' }],
        includeCRDs: true,
        ignoreMissingValueFiles: true,
        repositories: [{ url: chartRepo.url, secretRef: { name: 'charts' } }],
      };
      operator.upsert(app);
      const [first] = await operator.syncAll();
      expect(first!.status.lastError).toBeUndefined();
      expect(first!.status.phase).toBe('Synced');
      const names = first!.status
        .objects!.filter((o) => o.action !== 'skipped')
        .map((o) => o.object)
        .sort();
      // A Helm test hook does not run on a sync, as in Argo CD.
      expect(first!.status.objects!.find((o) => o.object.endsWith('/shop-test'))?.action).toBe('skipped');
      expect(
        await h.kubectl(['get', 'configmap', 'shop-test', '-n', ns, '--ignore-not-found', '-o', 'name']),
      ).toBe('');
      expect(names).toEqual(
        [
          `/ConfigMap/${ns}/shop-child`,
          `/ConfigMap/${ns}/shop-main`,
          `/ConfigMap/${ns}/shop-own`,
          `/ConfigMap/${ns}/shop-plain`,
          `/ConfigMap/${ns}/shop-post`,
          `/ConfigMap/${ns}/shop-pre`,
          `/ConfigMap/${ns}/shop-remote`,
          `apiextensions.k8s.io/CustomResourceDefinition//widgets.${group}`,
          `${group}/Widget/${ns}/shop-w`,
        ].sort(),
      );
      const plain = JSON.parse(
        await h.kubectl(['get', 'configmap', 'shop-plain', '-n', ns, '-o', 'json']),
      ) as {
        data: Record<string, string>;
      };
      expect(plain.data).toMatchObject({
        release: 'shop',
        namespace: ns,
        colour: 'red',
        size: '7',
        hasJobs: 'true',
      });
      // post-install with hook-succeeded: deleted once it ran; pre-install kept (before-hook-creation by default).
      expect(
        await h.kubectl(['get', 'configmap', 'shop-post', '-n', ns, '--ignore-not-found', '-o', 'name']),
      ).toBe('');
      expect(await h.kubectl(['get', 'configmap', 'shop-pre', '-n', ns, '-o', 'name'])).toBe(
        'configmap/shop-pre\n',
      );
      expect(plain.data.kube).toMatch(/^v1\.\d+\.\d+/);
      expect(helm.templateRuns).toBe(4);
      expect(helm.dependencyRuns).toBe(1);
      // The hooks and their outcomes are in the status and in the Event of the sync.
      expect(first!.status.objects!.find((o) => o.object.endsWith('/shop-pre'))?.message).toBe(
        'PreSync hook Succeeded',
      );
      let events = '';
      for (let i = 0; i < 50 && !events.includes('hooks:'); i++) {
        events = await h.kubectl(['get', 'events', '-n', ns, '-o', 'jsonpath={.items[*].message}']);
        if (!events.includes('hooks:')) await new Promise((r) => setTimeout(r, 200));
      }
      expect(events).toContain(`PreSync hook /ConfigMap/${ns}/shop-pre Succeeded`);
      expect(events).toContain(`PostSync hook /ConfigMap/${ns}/shop-post Succeeded (deleted)`);

      // Same trees, new revision: no chart is rendered again.
      await pushCommit(repo.over('git'), { files: { 'README.md': 'elsewhere\n' } });
      expect(await operator.notifyPush(repo.urls.git!)).toBe(1);
      const [again] = await operator.syncAll();
      expect(again!.status.phase).toBe('Synced');
      expect(helm.templateRuns).toBe(4);

      // The same objects once more, straight to the engine: nothing to write.
      const plan = target.engine.lastPlan(engineApplicationName(app));
      // Helm's pre-install and post-install hooks ran as hooks: not in the plan's objects.
      expect(plan?.objects).toHaveLength(7);
      expect(plan?.hooks.map((p) => p.key.name).sort()).toEqual(['shop-post', 'shop-pre']);
      const result = await target.engine.sync({
        application: engineApplicationName(app),
        objects: plan!.objects.map((p) => p.object),
        defaultNamespace: ns,
        inventoryNamespace: ns,
      });
      expect(result.ok).toBe(true);
      expect(result.requests.writes).toBe(0);
      expect(result.summary.unchanged).toBe(7);
    } finally {
      await chartRepo.close();
      await rm(scratch, { recursive: true, force: true });
    }
  }, 240_000);

  it('a chart that does not render fails the sync with Helm message and file, and applies nothing', async () => {
    const home = await testNamespace(h.cluster, 'op-helm-bad');
    const ns = home.name;
    const repo = await h.server.createRepo(`helm-bad-${ns}`, {
      files: {
        'chart/Chart.yaml': 'apiVersion: v2\nname: bad\nversion: 0.1.0\n',
        'chart/templates/ok.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n',
        'chart/templates/bad.yaml':
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ required "name is required" .Values.name }}\n',
      },
    });
    const target = new EngineTarget({ kubeconfig: h.cluster.kubeconfigPath });
    h.targets.push(target);
    const operator = new Operator({
      destinations: target,
      renderer: new Renderer({ helm: new HelmRenderer({ helm: await ensureHelm() }) }),
      follow: false,
    });
    h.operators.push(operator);
    operator.upsert(
      applicationFor({
        name: 'bad',
        namespace: ns,
        repoURL: repo.urls.git!,
        paths: ['chart'],
        destinationNamespace: ns,
      }),
    );
    const [state] = await operator.syncAll();
    expect(state!.status.phase).toBe('Failed');
    expect(state!.status.lastError?.code).toBe(ErrorCodes.RenderFailed);
    expect(state!.status.lastError?.message).toMatch(/name is required/);
    expect(state!.status.lastError?.message).toMatch(/chart\/templates\/bad\.yaml/);
    expect(await h.kubectl(['get', 'configmap', 'fine', '-n', ns, '--ignore-not-found', '-o', 'name'])).toBe(
      '',
    );
  }, 120_000);
});
