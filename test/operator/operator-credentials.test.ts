import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';

import { applicationFor } from '../../src/operator/application.js';
import { EngineTarget } from '../../src/operator/engine-target.js';
import { Operator } from '../../src/operator/operator.js';
import {
  credentialsFromSecret,
  credentialsFromSecretData,
} from '../../src/operator/repository-credentials.js';
import { testNamespace } from '../support/cluster/index.js';
import { operatorHarness } from './operator-harness.js';

const h = operatorHarness(['http']);
const { operators, targets, kubectl } = h;

async function putSecret(namespace: string, name: string, data: Record<string, string>): Promise<void> {
  const manifest = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    stringData: data,
  };
  const child = execFile('kubectl', [`--kubeconfig=${h.cluster.kubeconfigPath}`, 'apply', '-f', '-']);
  const done = new Promise<void>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kubectl apply exited ${code}`)))),
  );
  child.stdin!.end(JSON.stringify(manifest));
  await done;
}

describe('repository credentials from a Secret reference', () => {
  it('reports AuthFailed without the secret for a wrong password, and syncs once the Secret is right', async () => {
    const home = await testNamespace(h.cluster, 'op-creds');
    const repo = await h.server.createRepo(`creds-${home.name}`, {
      files: {
        'app/cm.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: private\n  namespace: ${home.name}\ndata:\n  from: private-repo\n`,
      },
    });
    const wrongPassword = 'wrong-password-7f3a9c';
    await putSecret(home.name, 'repo-creds', { username: h.server.http.username, password: wrongPassword });
    const app = applicationFor({
      name: 'private',
      namespace: home.name,
      repoURL: repo.urls.http!,
      paths: ['app'],
    });
    app.spec.source.credentialsSecretRef = { name: 'repo-creds' };

    const target = new EngineTarget({ kubeconfig: h.cluster.kubeconfigPath });
    targets.push(target);
    const operator = new Operator({
      destinations: target,
      follow: false,
      credentialsFor: (a) => credentialsFromSecret(target.client, a),
    });
    operators.push(operator);
    const seen: string[] = [];
    operator.on((event) => seen.push(JSON.stringify(event)));
    operator.upsert(app);

    const [failed] = await operator.syncAll();
    expect(failed!.status.phase).toBe('Failed');
    expect(failed!.status.lastError?.code).toBe('AuthFailed');
    expect(failed!.status.lastError?.message).toMatch(/credentials/i);
    const everything = JSON.stringify(failed!.status) + seen.join('\n');
    expect(everything).not.toContain(wrongPassword);
    expect(everything).not.toContain(h.server.http.password);
    expect(everything).not.toContain(
      Buffer.from(`${h.server.http.username}:${wrongPassword}`).toString('base64'),
    );
    expect(
      (await kubectl(['get', 'configmap', '-n', home.name, '--ignore-not-found', '-o', 'name'])).trim(),
    ).not.toContain('private');

    // The Secret is fixed in place: the next sync reads it again and clones with it.
    await putSecret(home.name, 'repo-creds', {
      username: h.server.http.username,
      password: h.server.http.password,
    });
    const [synced] = await operator.syncAll();
    expect(synced!.status.lastError).toBeUndefined();
    expect(synced!.status.phase).toBe('Synced');
    expect(
      await kubectl(['get', 'configmap', 'private', '-n', home.name, '-o', 'jsonpath={.data.from}']),
    ).toBe('private-repo');
    expect(JSON.stringify(synced!.status) + seen.join('\n')).not.toContain(h.server.http.password);
  }, 120_000);

  it('reports a missing Secret as NotFound naming it, and a Secret without usable keys as Invalid', async () => {
    const home = await testNamespace(h.cluster, 'op-creds-missing');
    const app = applicationFor({ name: 'x', namespace: home.name, repoURL: 'https://example.invalid/r.git' });
    app.spec.source.credentialsSecretRef = { name: 'absent' };
    const target = new EngineTarget({ kubeconfig: h.cluster.kubeconfigPath });
    targets.push(target);
    await expect(credentialsFromSecret(target.client, app)).rejects.toMatchObject({
      code: 'NotFound',
      message: expect.stringContaining(`${home.name}/absent`),
    });
    await putSecret(home.name, 'half', { username: 'u' });
    app.spec.source.credentialsSecretRef = { name: 'half' };
    await expect(credentialsFromSecret(target.client, app)).rejects.toMatchObject({ code: 'Invalid' });
    // SSH keys as Flux names them; the token form for HTTPS.
    const ssh = applicationFor({ name: 's', repoURL: 'ssh://git@127.0.0.1:22/r.git' });
    expect(credentialsFromSecretData({ identity: 'KEY', known_hosts: 'HOSTS' }, 'ns/s', ssh)).toEqual({
      type: 'ssh',
      privateKey: 'KEY',
      knownHosts: 'HOSTS',
    });
    expect(() => credentialsFromSecretData({ identity: 'KEY' }, 'ns/s', ssh)).toThrow(/known_hosts/);
    expect(credentialsFromSecretData({ token: 'T0KEN' }, 'ns/h', app)).toEqual({
      type: 'https',
      token: 'T0KEN',
    });
  }, 60_000);
});
