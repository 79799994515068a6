import { describe, expect, it } from 'vitest';

import type { KubeObject } from '../../src/runtime/index.js';
import { assessHealth } from '../../src/sync/index.js';

function o(apiVersion: string, kind: string, spec: unknown, status: unknown, generation = 1): KubeObject {
  return { apiVersion, kind, metadata: { name: 'x', generation }, spec, status } as KubeObject;
}

describe('assessHealth', () => {
  it('is Missing for an object that does not exist', () => {
    expect(assessHealth(undefined).status).toBe('Missing');
  });

  // Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and Pods are tested on status
  // written by the real controllers in health-live.test.ts. What stays here are moments a live
  // cluster shows only in passing: a generation not yet observed, old replicas still draining.
  it('waits for a Deployment controller to observe the generation and drain old replicas', () => {
    const d = (status: unknown, generation = 1) =>
      assessHealth(o('apps/v1', 'Deployment', { replicas: 2 }, status, generation));
    expect(d({}).reason).toBe('NotObserved');
    expect(
      d({ observedGeneration: 1, replicas: 3, updatedReplicas: 2, availableReplicas: 2 }).message,
    ).toContain('old replicas');
    expect(
      d({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }, 2).status,
    ).toBe('Progressing');
  });

  it('reads PVCs from their phase', () => {
    expect(assessHealth(o('v1', 'PersistentVolumeClaim', {}, { phase: 'Bound' })).status).toBe('Healthy');
    expect(assessHealth(o('v1', 'PersistentVolumeClaim', {}, { phase: 'Lost' })).status).toBe('Degraded');
  });

  it('waits for load balancers, ingress addresses, CRDs, namespaces and API services', () => {
    expect(assessHealth(o('v1', 'Service', { type: 'ClusterIP' }, {})).status).toBe('Healthy');
    expect(assessHealth(o('v1', 'Service', { type: 'LoadBalancer' }, {})).status).toBe('Progressing');
    expect(
      assessHealth(
        o('networking.k8s.io/v1', 'Ingress', {}, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } }),
      ).status,
    ).toBe('Healthy');
    expect(
      assessHealth(
        o(
          'apiextensions.k8s.io/v1',
          'CustomResourceDefinition',
          {},
          { conditions: [{ type: 'Established', status: 'True' }] },
        ),
      ).status,
    ).toBe('Healthy');
    expect(
      assessHealth(
        o(
          'apiextensions.k8s.io/v1',
          'CustomResourceDefinition',
          {},
          { conditions: [{ type: 'NamesAccepted', status: 'False' }] },
        ),
      ).status,
    ).toBe('Degraded');
    expect(assessHealth(o('v1', 'Namespace', {}, { phase: 'Terminating' })).status).toBe('Progressing');
    expect(
      assessHealth(
        o(
          'apiregistration.k8s.io/v1',
          'APIService',
          {},
          { conditions: [{ type: 'Available', status: 'False', reason: 'MissingEndpoints' }] },
        ),
      ).reason,
    ).toBe('MissingEndpoints');
  });

  it('uses the Ready condition of other kinds, and is Healthy without one', () => {
    expect(assessHealth(o('example.com/v1', 'Widget', {}, {})).status).toBe('Healthy');
    expect(
      assessHealth(o('example.com/v1', 'Widget', {}, { conditions: [{ type: 'Ready', status: 'True' }] }))
        .status,
    ).toBe('Healthy');
    expect(
      assessHealth(
        o(
          'example.com/v1',
          'Widget',
          {},
          { conditions: [{ type: 'Ready', status: 'False', reason: 'Reconciling' }] },
        ),
      ).status,
    ).toBe('Progressing');
    expect(
      assessHealth(
        o(
          'example.com/v1',
          'Widget',
          {},
          { conditions: [{ type: 'Ready', status: 'False', reason: 'InstallFailed' }] },
        ),
      ).status,
    ).toBe('Degraded');
    expect(
      assessHealth(o('example.com/v1', 'Widget', {}, { conditions: [{ type: 'Stalled', status: 'True' }] }))
        .status,
    ).toBe('Degraded');
  });

  it('reports an object being deleted as Progressing', () => {
    const deleting = o('v1', 'ConfigMap', {}, {});
    deleting.metadata.deletionTimestamp = '2024-01-01T00:00:00Z';
    expect(assessHealth(deleting).reason).toBe('Deleting');
  });
});
