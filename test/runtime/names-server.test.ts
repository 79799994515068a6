/**
 * Names of built-in kinds, differential: for every name and kind below, `validateUnstructured`
 * refuses exactly the objects the real API server refuses (create, dry run).
 */
import { beforeAll, describe, expect, it } from 'vitest';

import { validateUnstructured } from '../../src/runtime/index.js';
import { clusterSetupTimeoutMs, kubeRequest, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';

let cluster: TestCluster;
let ns: string;

beforeAll(async () => {
  cluster = await useCluster();
  ns = (await testNamespace(cluster, 'names')).name;
}, clusterSetupTimeoutMs);

const NAMES = [
  'good',
  'Upper_Case',
  'UPPER',
  'with_underscore',
  'dots.are.fine',
  '1starts-with-digit',
  'ends-with-dash-',
  '-starts-with-dash',
  'a'.repeat(63),
  'a'.repeat(64),
  'a'.repeat(253),
  'a'.repeat(254),
  'has space',
  'colon:name',
];

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> };

const KINDS: { path: (ns: string) => string; make: (name: string) => Obj }[] = [
  { path: (n) => `/api/v1/namespaces/${n}/configmaps`, make: (name) => obj('v1', 'ConfigMap', name) },
  { path: (n) => `/api/v1/namespaces/${n}/secrets`, make: (name) => obj('v1', 'Secret', name) },
  {
    path: (n) => `/api/v1/namespaces/${n}/serviceaccounts`,
    make: (name) => obj('v1', 'ServiceAccount', name),
  },
  {
    path: (n) => `/api/v1/namespaces/${n}/services`,
    make: (name) => ({ ...obj('v1', 'Service', name), spec: { ports: [{ port: 80 }] } }),
  },
  {
    path: () => '/api/v1/namespaces',
    make: (name) => ({ ...obj('v1', 'Namespace', name), metadata: { name } }),
  },
  {
    path: (n) => `/apis/policy/v1/namespaces/${n}/poddisruptionbudgets`,
    make: (name) => ({ ...obj('policy/v1', 'PodDisruptionBudget', name), spec: { minAvailable: 1 } }),
  },
  {
    path: (n) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${n}/roles`,
    make: (name) => obj('rbac.authorization.k8s.io/v1', 'Role', name),
  },
];

function obj(apiVersion: string, kind: string, name: string): Obj {
  return { apiVersion, kind, metadata: { name, namespace: ns } };
}

describe('names of built-in kinds against the real API server', () => {
  it(`agrees on ${NAMES.length * KINDS.length} objects`, async () => {
    const disagreements: string[] = [];
    for (const kind of KINDS) {
      for (const name of NAMES) {
        const object = kind.make(name);
        const server = await kubeRequest(cluster, 'POST', `${kind.path(ns)}?dryRun=All`, { body: object });
        const serverAccepts = server.status >= 200 && server.status < 300;
        const problems = validateUnstructured(object, { strict: true });
        if (serverAccepts !== (problems.length === 0)) {
          disagreements.push(
            `${String(object.kind)} ${JSON.stringify(name)}: server ${serverAccepts ? 'accepts' : 'refuses'}` +
              `, we ${problems.length === 0 ? 'accept' : `refuse (${problems.map((p) => p.message).join('; ')})`}`,
          );
        }
      }
    }
    if (disagreements.length > 0) console.log(disagreements.join('\n'));
    expect(disagreements).toEqual([]);
  });
});
