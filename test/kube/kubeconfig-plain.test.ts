/**
 * Plain kubeconfig files, read without client-node (src/kube/kubeconfig-plain.ts), differential:
 * for each file below, the connection `loadKubeconfig` makes (server, namespace, context, TLS
 * material, headers) is the one client-node's own reading of the same file gives; files with
 * anything more go to client-node; and such a connection reaches the real cluster.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsYaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KubeClient, kubeconfigFromText, loadKubeconfig } from '../../src/kube/index.js';
import type { ClusterConnection } from '../../src/kube/index.js';
import { plainKubeconfig } from '../../src/kube/kubeconfig-plain.js';
import { newKubeConfig } from '../../src/kube/kubeconfig-untrusted.js';
import { clusterSetupTimeoutMs, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';

let cluster: TestCluster;
let dir: string;

beforeAll(async () => {
  cluster = await useCluster();
  dir = await mkdtemp(join(tmpdir(), 'libgitops-kubeconfig-plain-'));
  await writeFile(join(dir, 'ca.pem'), cluster.caPem ?? 'not a certificate');
}, clusterSetupTimeoutMs);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const b64 = (text: string): string => Buffer.from(text).toString('base64');

function config(clusterBody: Record<string, unknown>, user: Record<string, unknown>, extra = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'c', cluster: clusterBody },
      { name: 'other', cluster: { server: 'https://other.invalid:6443/' } },
    ],
    users: [
      { name: 'u', user },
      { name: 'v', user: { token: 'other-token' } },
    ],
    contexts: [
      { name: 'main', context: { cluster: 'c', user: 'u', namespace: 'team-a' } },
      { name: 'second', context: { cluster: 'other', user: 'v' } },
    ],
    'current-context': 'main',
    ...extra,
  });
}

/** What a connection is made of, credentials included, in a form to compare. */
async function facts(connection: ClusterConnection): Promise<Record<string, unknown>> {
  const c = await connection.credentials();
  const text = (v: string | Buffer | undefined): string | undefined =>
    v === undefined ? undefined : v.toString();
  return {
    server: connection.server,
    namespace: connection.namespace,
    contextName: connection.contextName,
    source: connection.source,
    ca: text(c.ca),
    cert: text(c.cert),
    key: text(c.key),
    pfx: text(c.pfx),
    passphrase: c.passphrase,
    servername: c.servername,
    rejectUnauthorized: c.rejectUnauthorized,
    headers: c.headers,
    proxyAgent: c.proxyAgent,
  };
}

/** client-node's reading of the file, through the same connection code (kubeconfigFromText reads no paths). */
async function clientNodeFacts(file: string, context?: string): Promise<Record<string, unknown>> {
  const kc = newKubeConfig();
  kc.loadFromFile(file);
  // Paths made absolute by client-node, then the same text path the library uses for client-node.
  const text = kc.exportConfig();
  const connection = kubeconfigFromText(text, {
    source: file,
    ...(context === undefined ? {} : { context }),
  });
  return facts(connection);
}

describe('plain kubeconfig files', () => {
  const cases: Array<[string, () => string, string?]> = [
    [
      'inline CA, client certificate and key',
      () =>
        config(
          { server: 'https://127.0.0.1:6443/', 'certificate-authority-data': b64('CA') },
          { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') },
        ),
    ],
    [
      'a CA file relative to the kubeconfig, a token and a TLS server name',
      () =>
        config(
          {
            server: 'https://10.0.0.1',
            'certificate-authority': 'ca.pem',
            'tls-server-name': 'api.internal',
          },
          { token: 'abc.def' },
        ),
    ],
    [
      'insecure-skip-tls-verify and an empty namespace',
      () =>
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'c', cluster: { server: 'https://h:1', 'insecure-skip-tls-verify': true } }],
          users: [{ name: 'u', user: { token: 't' } }],
          contexts: [{ name: 'x', context: { cluster: 'c', user: 'u', namespace: '' } }],
          'current-context': 'x',
        }),
    ],
    [
      'another context than the current one',
      () => config({ server: 'https://127.0.0.1:6443' }, { token: 'main-token' }),
      'second',
    ],
  ];

  it.each(cases)('reads %s as client-node does', async (_name, text, context) => {
    const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(file, text());
    expect(plainKubeconfig(file, context)).toBeDefined();
    const ours = await facts(
      loadKubeconfig({ kubeconfigPath: file, ...(context === undefined ? {} : { context }) }),
    );
    expect(ours).toEqual(await clientNodeFacts(file, context));
  });

  it('leaves every other file to client-node', async () => {
    const others: Array<[Record<string, unknown>, Record<string, unknown>]> = [
      [{ server: 'https://h' }, { exec: { command: 'x', apiVersion: 'client.authentication.k8s.io/v1' } }],
      [{ server: 'https://h' }, { 'auth-provider': { name: 'oidc' } }],
      [{ server: 'https://h' }, { 'token-file': '/tmp/token' }],
      [{ server: 'https://h' }, { username: 'a', password: 'b' }],
      [{ server: 'https://h' }, { token: 't', as: 'someone' }],
      [{ server: 'https://h', 'proxy-url': 'http://proxy:3128' }, { token: 't' }],
      [{ server: 'https://h', 'insecure-skip-tls-verify': 'true' }, { token: 't' }],
      [{}, { token: 't' }],
    ];
    for (const [clusterBody, user] of others) {
      const file = join(dir, `other-${Math.random().toString(36).slice(2)}.yaml`);
      await writeFile(file, config(clusterBody, user));
      expect(plainKubeconfig(file), JSON.stringify([clusterBody, user])).toBeUndefined();
    }
    const missing = join(dir, 'no-context.yaml');
    await writeFile(missing, config({ server: 'https://h' }, { token: 't' }));
    expect(plainKubeconfig(missing, 'nope')).toBeUndefined();
    // client-node's own error, as before.
    expect(() => loadKubeconfig({ kubeconfigPath: missing, context: 'nope' })).toThrow(/no context "nope"/);
    const merged = join(dir, 'merge.yaml');
    await writeFile(
      merged,
      'apiVersion: v1\nclusters:\n- name: c\n  cluster: &c\n    server: https://h\n- name: d\n  cluster:\n    <<: *c\n',
    );
    expect(plainKubeconfig(merged)).toBeUndefined();
    expect(plainKubeconfig(join(dir, 'absent.yaml'))).toBeUndefined();
  });

  it('refuses a server its CA did not sign: the secure context keeps TLS verification', async () => {
    const own = jsYaml.load(await readFile(cluster.kubeconfigPath, 'utf8')) as {
      clusters: { cluster: Record<string, unknown> }[];
      users: { user: Record<string, unknown> }[];
    };
    const body = own.clusters[0]!.cluster;
    // Another certificate as the only trust anchor: the client's own, which did not sign the server's.
    const anchor = own.users[0]!.user['client-certificate-data'];
    expect(typeof anchor).toBe('string');
    expect(typeof body['certificate-authority-data']).toBe('string');
    expect(anchor).not.toBe(body['certificate-authority-data']);
    delete body['certificate-authority'];
    body['certificate-authority-data'] = anchor;
    const file = join(dir, 'wrong-ca.yaml');
    await writeFile(file, JSON.stringify(own));
    expect(plainKubeconfig(file)).toBeDefined();
    const client = KubeClient.fromKubeconfig({ kubeconfigPath: file });
    try {
      const error = await client
        .list({ group: '', version: 'v1', kind: 'Namespace' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(String((error as Error).message)).toMatch(/certificate|issuer|verify/i);
    } finally {
      client.close();
    }
  });

  it('reaches the cluster with the test cluster own kubeconfig', async () => {
    expect(plainKubeconfig(cluster.kubeconfigPath)).toBeDefined();
    const client = KubeClient.fromKubeconfig({ kubeconfigPath: cluster.kubeconfigPath });
    try {
      const list = await client.list({ group: '', version: 'v1', kind: 'Namespace' });
      expect(list.items.some((n) => n.metadata?.name === 'default')).toBe(true);
    } finally {
      client.close();
    }
  });
});
