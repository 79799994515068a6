/**
 * Signed transaction commits, with an SSH key and with a GPG key, checked by `git verify-commit`
 * on the remote; and the checks of the signing options.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import { createBareRepo, isolatedGitEnv } from '../support/git-server/index.js';
import { carFiles, carKey, closeAll, gitIn, openStorage, tempFolder } from './helpers.js';

const author = { name: 'Car Controller', email: 'controller@cars.example.test' };
const gnupgHomes: string[] = [];

afterEach(async () => {
  for (const home of gnupgHomes.splice(0)) {
    // The agent GnuPG started for the key must not outlive the test.
    execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: home } });
  }
  await closeAll();
});

async function bumpFoo(storage: Awaited<ReturnType<typeof openStorage>>): Promise<string> {
  const outcome = await storage.transaction({}, async (cars) => {
    const foo = await cars.get<KubeObject & { status: { speed: number } }>(carKey('foo'));
    foo.status.speed = 77;
    await cars.update(foo);
    return { title: 'Signed update' };
  });
  return outcome.commit as string;
}

describe('signed commits', () => {
  it('signs with an SSH key', async () => {
    const folder = await tempFolder();
    const keyFile = join(folder, 'signing-key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'signer', '-f', keyFile]);
    const allowed = join(folder, 'allowed_signers');
    writeFileSync(allowed, `${author.email} ${readFileSync(`${keyFile}.pub`, 'utf8')}`);
    const repo = await createBareRepo({ files: carFiles() });
    const storage = await openStorage({
      directory: { url: repo.path, interval: 0 },
      author,
      signing: { format: 'ssh', keyFile },
    });
    const commit = await bumpFoo(storage);
    const verified = execFileSync(
      'git',
      ['-c', `gpg.ssh.allowedSignersFile=${allowed}`, 'verify-commit', '--raw', commit],
      { cwd: repo.path, env: isolatedGitEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    expect(verified).toBe('');
    expect(
      execFileSync(
        'git',
        ['-c', `gpg.ssh.allowedSignersFile=${allowed}`, 'log', '-1', '--format=%G? %GS', commit],
        {
          cwd: repo.path,
          env: isolatedGitEnv(),
          encoding: 'utf8',
        },
      ).trim(),
    ).toBe(`G ${author.email}`);
  });

  it('signs with a GPG key', async () => {
    const home = await tempFolder('gpg-');
    chmodSync(home, 0o700);
    gnupgHomes.push(home);
    const env = { ...process.env, GNUPGHOME: home };
    execFileSync(
      'gpg',
      [
        '--batch',
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        '',
        '--quick-gen-key',
        `${author.name} <${author.email}>`,
        'ed25519',
        'sign',
        'never',
      ],
      { env, stdio: 'ignore' },
    );
    const repo = await createBareRepo({ files: carFiles() });
    const storage = await openStorage({
      directory: { url: repo.path, interval: 0 },
      author,
      signing: { format: 'openpgp', keyId: author.email, gnupgHome: home },
    });
    const commit = await bumpFoo(storage);
    const status = execFileSync('git', ['log', '-1', '--format=%G? %GS', commit], {
      cwd: repo.path,
      env: { ...isolatedGitEnv(), GNUPGHOME: home },
      encoding: 'utf8',
    }).trim();
    expect(status).toMatch(/^[GU] Car Controller <controller@cars\.example\.test>$/);
    expect(gitIn(repo.path, 'cat-file', 'commit', commit)).toContain('-----BEGIN PGP SIGNATURE-----');
  });

  it('refuses signing options that cannot work before opening anything', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    for (const signing of [
      { format: 'ssh' as const, keyFile: 'relative/key' },
      { format: 'openpgp' as const, keyId: '--batch' },
    ]) {
      const error = await openStorage({ directory: { url: repo.path, interval: 0 }, signing }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(GitOpsError);
      expect((error as GitOpsError).code).toBe(ErrorCodes.Invalid);
    }
  });

  it('undoes the transaction when the key cannot sign', async () => {
    const folder = await tempFolder();
    const repo = await createBareRepo({ files: carFiles() });
    const storage = await openStorage({
      directory: { url: repo.path, interval: 0 },
      signing: { format: 'ssh', keyFile: join(folder, 'no-such-key') },
    });
    const error = await bumpFoo(storage).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitOpsError);
    expect((error as GitOpsError).message).toContain('undone');
    expect(gitIn(repo.path, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/')).toBe('main');
  });
});
