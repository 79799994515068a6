import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unexpected } from './kubectl.js';

import { KubeClient, kubeconfigFromText, loadKubeconfig } from '../../src/kube/index.js';
import type { GitOpsError } from '../../src/runtime/index.js';
import {
  clusterSetupTimeoutMs,
  serviceAccountToken,
  testNamespace,
  useCluster,
} from '../support/cluster/index.js';
import type { TestCluster, TestNamespace } from '../support/cluster/index.js';

let cluster: TestCluster;
let ns: TestNamespace;
let token: string;
let dir: string;

// A service account allowed to read the test namespace, and a token for it from the TokenRequest API.
beforeAll(async () => {
  cluster = await useCluster();
  if (!cluster.caPem) throw new Error('these tests need the test cluster CA (caPem) to build kubeconfigs');
  ns = await testNamespace(cluster, 'kubeconfig');
  dir = await mkdtemp(join(tmpdir(), 'libgitops-kubeconfig-'));
  token = await serviceAccountToken(cluster, {
    namespace: ns.name,
    name: 'reader',
    rights: { clusterRole: 'view' },
  });
}, clusterSetupTimeoutMs);

afterAll(async () => {
  await ns?.delete();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function kubeconfig(user: Record<string, unknown>, extraContexts: unknown[] = []): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'c',
        cluster: {
          server: cluster.server,
          'certificate-authority-data': Buffer.from(cluster.caPem!).toString('base64'),
        },
      },
    ],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'main', context: { cluster: 'c', user: 'u', namespace: ns.name } }, ...extraContexts],
    'current-context': 'main',
  });
}

async function canListConfigMaps(client: KubeClient): Promise<number> {
  const list = await client.list({ group: '', version: 'v1', kind: 'ConfigMap' }, { namespace: ns.name });
  client.close();
  return list.items.length;
}

describe('cluster access', () => {
  it('uses client certificates from a kubeconfig file (--kubeconfig), and KUBECONFIG when no file is given', async () => {
    const byPath = loadKubeconfig({ kubeconfigPath: cluster.kubeconfigPath });
    expect(byPath.server).toBe(cluster.server);
    expect(await canListConfigMaps(new KubeClient(byPath))).toBeGreaterThanOrEqual(0);
    const byEnv = loadKubeconfig({ env: { KUBECONFIG: cluster.kubeconfigPath } });
    expect(byEnv.source).toBe(cluster.kubeconfigPath);
  });

  it('uses a bearer token, and a wrong token gets Unauthorized', async () => {
    const client = new KubeClient(kubeconfigFromText(kubeconfig({ token })));
    expect(client.defaultNamespace).toBe(ns.name);
    expect(await canListConfigMaps(client)).toBeGreaterThanOrEqual(1);
    const wrong = new KubeClient(kubeconfigFromText(kubeconfig({ token: 'not-a-token' })), { retries: 0 });
    const err = await wrong
      .list({ group: '', version: 'v1', kind: 'ConfigMap' }, { namespace: ns.name })
      .then(unexpected, (e: unknown) => e as GitOpsError);
    wrong.close();
    expect(err.code).toBe('Unauthorized');
    expect(err.message).not.toContain('not-a-token');
  });

  it('runs an exec credential plugin', async () => {
    const plugin = join(dir, 'credential-plugin');
    const credential = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token },
    });
    await writeFile(plugin, `#!/bin/sh\ncat <<'EOF'\n${credential}\nEOF\n`);
    await chmod(plugin, 0o755);
    const config = kubeconfig({
      exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' },
    });
    expect(await canListConfigMaps(new KubeClient(kubeconfigFromText(config)))).toBeGreaterThanOrEqual(1);
  });

  it("uses the pod's service account in a cluster", async () => {
    const root = join(dir, 'pod');
    const saDir = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    await mkdir(saDir, { recursive: true });
    await writeFile(join(saDir, 'token'), token);
    await writeFile(join(saDir, 'ca.crt'), cluster.caPem!);
    await writeFile(join(saDir, 'namespace'), ns.name);
    const url = new URL(cluster.server);
    const connection = loadKubeconfig({
      inCluster: true,
      inClusterRoot: root,
      env: { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port },
    });
    expect(connection.source).toBe('in-cluster');
    expect(connection.namespace).toBe(ns.name);
    expect(await canListConfigMaps(new KubeClient(connection))).toBeGreaterThanOrEqual(1);
    expect(() => loadKubeconfig({ inCluster: true, inClusterRoot: join(dir, 'nowhere'), env: {} })).toThrow(
      /not running in a pod/,
    );
  });

  it('selects a context (--context) and names the ones there are when it is missing', async () => {
    const path = join(dir, 'two-contexts');
    await writeFile(
      path,
      kubeconfig({ token }, [
        { name: 'other', context: { cluster: 'c', user: 'u', namespace: 'elsewhere' } },
      ]),
    );
    expect(loadKubeconfig({ kubeconfigPath: path, context: 'other' }).namespace).toBe('elsewhere');
    const err = (() => {
      try {
        loadKubeconfig({ kubeconfigPath: path, context: 'nope' });
      } catch (e) {
        return e as GitOpsError;
      }
    })();
    expect(err?.code).toBe('NotFound');
    expect(err?.message).toContain('(it has: main, other)');
    expect(() => loadKubeconfig({ kubeconfigPath: join(dir, 'absent') })).toThrow(
      /cannot read the kubeconfig/,
    );
  });
});

describe('kubeconfig from someone else (untrusted, e.g. a Secret)', () => {
  const source = 'Secret team/prod key value';

  function refusal(text: string, options: { allowInsecureTls?: boolean } = {}): GitOpsError {
    try {
      kubeconfigFromText(text, { untrusted: true, source, ...options });
    } catch (err) {
      return err as GitOpsError;
    }
    throw new Error('the kubeconfig was accepted');
  }

  it('accepts embedded material and reaches the cluster with it', async () => {
    const connection = kubeconfigFromText(kubeconfig({ token }), { untrusted: true, source });
    expect(connection.source).toBe(source);
    expect(await canListConfigMaps(new KubeClient(connection))).toBeGreaterThanOrEqual(1);
  });

  it('refuses file references, exec plugins and auth providers before anything reads them', async () => {
    const tokenFile = join(dir, 'operator-token');
    await writeFile(tokenFile, 'the-operators-own-token');
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ 'token-file': tokenFile }, /user "u" has "token-file", which reads a file on the operator host/],
      [
        { 'client-certificate': tokenFile, 'client-key': tokenFile },
        /"client-certificate", which reads a file/,
      ],
      [
        { exec: { command: '/bin/true', apiVersion: 'client.authentication.k8s.io/v1' } },
        /"exec", which runs a program/,
      ],
      [{ 'auth-provider': { name: 'oidc' } }, /"auth-provider", which runs an auth provider/],
      [{ token, 'made-up': 1 }, /"made-up", which is not a field a kubeconfig from a Secret may use/],
    ];
    for (const [user, says] of cases) {
      const err = refusal(kubeconfig(user));
      expect(err.code).toBe('Invalid');
      expect(err.message).toMatch(says);
      expect(err.message).toContain(source);
      expect(err.message).not.toContain('the-operators-own-token');
    }
    const withCaFile = JSON.parse(kubeconfig({ token })) as {
      clusters: Array<{ cluster: Record<string, unknown> }>;
    };
    withCaFile.clusters[0]!.cluster['certificate-authority'] = tokenFile;
    expect(refusal(JSON.stringify(withCaFile)).message).toMatch(/cluster "c" has "certificate-authority"/);
    // A trusted kubeconfig (the user's own file or text) may still use all of them.
    expect(() => kubeconfigFromText(kubeconfig({ 'token-file': tokenFile }))).not.toThrow();
  });

  it('refuses YAML merge keys and fields anywhere outside the allow-list, so nothing is read or run', async () => {
    const tokenFile = join(dir, 'merged-token');
    await writeFile(tokenFile, 'the-operators-own-token');
    const marker = join(dir, 'ran');
    const head = `apiVersion: v1\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n`;
    const clusters = `clusters:\n- name: k\n  cluster: {server: "${cluster.server}"}\n`;
    const attempts: Array<[string, RegExp]> = [
      // A merge key inside a users entry: client-node would apply it and read the file.
      [
        `${head}${clusters}users:\n- name: u\n  <<: {user: {token-file: ${tokenFile}}}\n`,
        /user entry "u" has "<<"/,
      ],
      // A merge key at the top that brings in a whole exec user.
      [
        `${head}<<:\n  users:\n  - name: u\n    user:\n      exec: {command: /bin/sh, args: ["-c", "touch ${marker}"]}\n`,
        /the kubeconfig has "<<"/,
      ],
      [
        `${head}${clusters}users:\n- name: u\n  user: {token: t}\n  tokenFile: ${tokenFile}\n`,
        /user entry "u" has "tokenFile"/,
      ],
      [
        `${head}${clusters}users:\n- name: u\n  user: "token-file: ${tokenFile}"\n`,
        /user "u" has no user mapping/,
      ],
      [`${head}${clusters}users: {u: {token-file: ${tokenFile}}}\n`, /has a users that is not a list/],
      [
        `${head}${clusters}users:\n- name: u\n  user: {token: t}\nexec-everything: true\n`,
        /the kubeconfig has "exec-everything"/,
      ],
    ];
    for (const [text, says] of attempts) {
      const err = refusal(text);
      expect(err.code, text).toBe('Invalid');
      expect(err.message, text).toMatch(says);
      expect(err.message).not.toContain('the-operators-own-token');
    }
    expect(existsSync(marker)).toBe(false);
    // Data-only fields other tools write are accepted and ignored.
    const withExtensions = JSON.parse(
      kubeconfig({ token, extensions: [{ name: 'x', extension: {} }] }),
    ) as Record<string, unknown>;
    withExtensions.preferences = {};
    const connection = kubeconfigFromText(JSON.stringify(withExtensions), { untrusted: true, source });
    expect(await canListConfigMaps(new KubeClient(connection))).toBeGreaterThanOrEqual(1);
  });

  it('refuses insecure-skip-tls-verify unless allowed', () => {
    const insecure = JSON.parse(kubeconfig({ token })) as {
      clusters: Array<{ cluster: Record<string, unknown> }>;
    };
    delete insecure.clusters[0]!.cluster['certificate-authority-data'];
    insecure.clusters[0]!.cluster['insecure-skip-tls-verify'] = true;
    const text = JSON.stringify(insecure);
    expect(refusal(text).message).toMatch(/sets insecure-skip-tls-verify, which is refused/);
    expect(kubeconfigFromText(text, { untrusted: true, source, allowInsecureTls: true }).server).toBe(
      cluster.server,
    );
  });

  it('never quotes the text when it is not a kubeconfig', () => {
    const broken = `users:\n- name: u\n  user:\n    token: hunter2-secret\n  - [\n`;
    const err = refusal(broken);
    expect(err.code).toBe('Invalid');
    expect(err.message).toMatch(/is not valid YAML at line \d+, column \d+/);
    expect(err.message).not.toContain('hunter2');
    expect(JSON.stringify(err.toJSON())).not.toContain('hunter2');
    expect(refusal('just a string').message).toMatch(/is not a kubeconfig/);
    expect(refusal(kubeconfig({ token }).replace('"main"', '"gone"')).message).toMatch(
      /no usable current context/,
    );
  });
});
