/** spec.suspend: a suspended Application is not synced by timers, pushes or drift; a manual sync still runs. */
import { describe, expect, it } from 'vitest';

import { applicationFor, toApplication } from '../../src/operator/application.js';
import { EngineTarget } from '../../src/operator/engine-target.js';
import { Operator } from '../../src/operator/operator.js';
import { testNamespace } from '../support/cluster/index.js';
import { operatorHarness } from './operator-harness.js';

const h = operatorHarness(['git']);

describe('spec.suspend', () => {
  it('skips every sync but a manual one, and says so in the Ready condition', async () => {
    const home = await testNamespace(h.cluster, 'op-suspend');
    const repo = await h.server.createRepo(`suspend-${home.name}`, {
      files: {
        'cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  namespace: ${home.name}\n`,
      },
    });
    const target = new EngineTarget({ kubeconfig: h.cluster.kubeconfigPath });
    const operator = new Operator({ destinations: target, follow: false });
    try {
      const base = applicationFor({ name: 'held', namespace: home.name, repoURL: repo.urls.git! });
      const app = toApplication({
        ...base,
        metadata: { ...base.metadata, generation: 4 },
        spec: { ...base.spec, suspend: true },
      });
      operator.upsert(app);
      const [timer] = await operator.syncAll('timer');
      expect(timer!.status.conditions).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'Ready', status: 'False', reason: 'Suspended' }),
        ]),
      );
      expect(timer!.status.observedGeneration).toBe(4);
      expect(await h.kubectl(['get', 'configmap', '-n', home.name, '-o', 'name'])).not.toContain(
        'configmap/held',
      );
      const [manual] = await operator.syncAll('manual');
      expect(manual!.status.phase).toBe('Synced');
      expect(await h.kubectl(['get', 'configmap', '-n', home.name, '-o', 'name'])).toContain(
        'configmap/held',
      );
    } finally {
      await operator.stop();
      target.close();
    }
  }, 120_000);
});
