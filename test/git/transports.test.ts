/**
 * The git layer against real servers on 127.0.0.1: git daemon (git://), git http-backend behind
 * basic auth (http://), and sshd with a generated host key (ssh://). If a server cannot start,
 * these tests fail with the reason; they never skip.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { clone, Git, GitDirectory } from '../../src/git/index.js';
import type { Credentials, RevisionEvent } from '../../src/git/index.js';
import { ErrorCodes } from '../../src/runtime/index.js';
import { pushCommit, startGitServer } from '../support/git-server/index.js';
import type { GitServer } from '../support/git-server/index.js';
import { failure, git, removeTempDirs, tempDir } from './helpers.js';

let server: GitServer;

beforeAll(async () => {
  server = await startGitServer({ transports: ['git', 'http', 'ssh'], files: { 'a.yaml': 'a: 1\n' } });
});

afterAll(async () => {
  await server?.close();
  removeTempDirs();
});

const author = { name: 'Pat Pusher', email: 'pat@example.test' };

/** Every file under `dir`, as text, joined: to look for a secret anywhere in a clone. */
function everything(dir: string): string {
  let out = '';
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out += readFileSync(join(entry.parentPath, entry.name)).toString('latin1');
  }
  return out;
}

async function cloneCommitPush(url: string, credentials: Credentials, file: string): Promise<string> {
  const dir = join(tempDir(), 'work');
  const repo = await clone(url, dir, { credentials });
  try {
    writeFileSync(join(dir, file), `${file}: pushed\n`);
    const oid = await repo.commit({ message: `add ${file}`, author, all: true });
    await repo.push({ refspecs: ['HEAD:refs/heads/main'] });
    await repo.fetch();
    expect(await repo.revParse('origin/main')).toBe(oid);
    return oid;
  } finally {
    await repo.close();
  }
}

describe('git://', () => {
  it('clones, pushes and fetches', async () => {
    const oid = await cloneCommitPush(server.remote('git').url, { type: 'none' }, 'over-git.yaml');
    expect(git(server.repo.path, 'rev-parse', 'main')).toBe(oid);
  });
});

describe('http:// with basic auth', () => {
  it('clones, pushes and fetches with a token, and stores the secret nowhere in the clone', async () => {
    const url = server.remote('http').url;
    const credentials: Credentials = { type: 'https', token: server.http.token };
    const dir = join(tempDir(), 'clone');
    const repo = await clone(url, dir, { credentials });
    await repo.close();
    expect(git(dir, 'config', 'remote.origin.url')).toBe(url);
    expect(everything(join(dir, '.git'))).not.toContain(server.http.token);
    const oid = await cloneCommitPush(url, credentials, 'over-http-token.yaml');
    expect(git(server.repo.path, 'rev-parse', 'main')).toBe(oid);
  });

  it('works with a user name and password', async () => {
    const credentials: Credentials = {
      type: 'https',
      username: server.http.username,
      password: server.http.password,
    };
    const oid = await cloneCommitPush(server.remote('http').url, credentials, 'over-http-password.yaml');
    expect(git(server.repo.path, 'rev-parse', 'main')).toBe(oid);
  });

  it('reports a wrong token as AuthFailed without repeating it', async () => {
    const wrong = 'wrong-token-Zq8xK2vP9';
    const error = await failure(
      clone(server.remote('http').url, join(tempDir(), 'c'), {
        credentials: { type: 'https', token: wrong },
      }),
    );
    expect(error.code).toBe(ErrorCodes.AuthFailed);
    expect(error.message).toContain('credentials');
    expect(
      JSON.stringify({ message: error.message, details: error.details, stack: error.stack }),
    ).not.toContain(wrong);
  });

  it('reports a rejected push with a token as AuthFailed, with no secret in the message', async () => {
    const url = server.remote('http').url;
    const dir = join(tempDir(), 'clone');
    await (await clone(url, dir, { credentials: { type: 'https', token: server.http.token } })).close();
    const wrong = 'push-token-Hj3kL0qW7';
    const repo = await Git.open(dir, { credentials: { type: 'https', username: 'someone', token: wrong } });
    try {
      writeFileSync(join(dir, 'x.yaml'), 'x: 1\n');
      await repo.commit({ message: 'x', author, all: true });
      const error = await failure(repo.push({ refspecs: ['HEAD:refs/heads/main'] }));
      expect(error.code).toBe(ErrorCodes.AuthFailed);
      const shown = JSON.stringify({ message: error.message, details: error.details, text: error.format() });
      expect(shown).not.toContain(wrong);
      expect(shown).not.toContain(Buffer.from(`someone:${wrong}`).toString('base64'));
    } finally {
      await repo.close();
    }
  });

  it('fails at once without credentials instead of prompting', async () => {
    const error = await failure(clone(server.remote('http').url, join(tempDir(), 'c')));
    expect(error.code).toBe(ErrorCodes.AuthFailed);
  });

  it('never puts a secret in a process argument', async () => {
    // Shims first on PATH record the arguments of every git and ssh the layer starts.
    const shims = tempDir();
    const log = join(shims, 'argv.log');
    for (const tool of ['git', 'ssh']) {
      const real = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      const shim = join(shims, tool);
      writeFileSync(shim, `#!/bin/sh\nprintf '%s\\n' "${tool}" "$@" >> '${log}'\nexec '${real}' "$@"\n`);
      chmodSync(shim, 0o755);
    }
    const saved = process.env.PATH;
    process.env.PATH = `${shims}:${saved ?? ''}`;
    try {
      await cloneCommitPush(
        server.remote('http').url,
        { type: 'https', token: server.http.token },
        'argv-http.yaml',
      );
      const key = readFileSync(server.ssh.identityFile, 'utf8');
      const sshCredentials: Credentials = {
        type: 'ssh',
        privateKey: key,
        knownHosts: server.ssh.knownHostsLine,
      };
      await cloneCommitPush(server.remote('ssh').url, sshCredentials, 'argv-ssh.yaml');
      const argv = readFileSync(log, 'utf8');
      expect(argv).toContain('clone');
      expect(argv).toMatch(/^ssh$/m);
      expect(argv).not.toContain(server.http.token);
      expect(argv).not.toContain(Buffer.from(`x-access-token:${server.http.token}`).toString('base64'));
      const keyBody = key.split('\n')[1] ?? '';
      expect(keyBody.length).toBeGreaterThan(20);
      expect(argv).not.toContain(keyBody);
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe('ssh://', () => {
  const key = (): string => readFileSync(server.ssh.identityFile, 'utf8');

  it('clones, pushes and fetches with a key and known_hosts given as text', async () => {
    const credentials: Credentials = {
      type: 'ssh',
      privateKey: key(),
      knownHosts: server.ssh.knownHostsLine,
    };
    const oid = await cloneCommitPush(server.remote('ssh').url, credentials, 'over-ssh.yaml');
    expect(git(server.repo.path, 'rev-parse', 'main')).toBe(oid);
  });

  it('works with key and known_hosts files', async () => {
    const credentials: Credentials = {
      type: 'ssh',
      privateKeyFile: server.ssh.identityFile,
      knownHostsFile: server.ssh.knownHostsFile,
    };
    const oid = await cloneCommitPush(server.remote('ssh').url, credentials, 'over-ssh-files.yaml');
    expect(git(server.repo.path, 'rev-parse', 'main')).toBe(oid);
  });

  it('refuses an unknown host key', async () => {
    const error = await failure(
      clone(server.remote('ssh').url, join(tempDir(), 'c'), {
        credentials: { type: 'ssh', privateKey: key(), knownHosts: '' },
      }),
    );
    expect(error.code).toBe(ErrorCodes.HostKeyMismatch);
    expect(error.message).toContain('known_hosts');
  });

  it('refuses a changed host key', async () => {
    const impostor = await server.ssh.createKey('impostor-host');
    const line = server.ssh.knownHostsLine.replace(
      server.ssh.hostPublicKey,
      impostor.publicKey.split(' ').slice(0, 2).join(' '),
    );
    expect(line).not.toBe(server.ssh.knownHostsLine);
    const error = await failure(
      clone(server.remote('ssh').url, join(tempDir(), 'c'), {
        credentials: { type: 'ssh', privateKey: key(), knownHosts: line },
      }),
    );
    expect(error.code).toBe(ErrorCodes.HostKeyMismatch);
  });

  it('reports a key the server does not know as AuthFailed', async () => {
    const stranger = await server.ssh.createKey('stranger');
    const error = await failure(
      clone(server.remote('ssh').url, join(tempDir(), 'c'), {
        credentials: {
          type: 'ssh',
          privateKeyFile: stranger.identityFile,
          knownHosts: server.ssh.knownHostsLine,
        },
      }),
    );
    expect(error.code).toBe(ErrorCodes.AuthFailed);
  });

  it('insists on known_hosts before connecting', async () => {
    const error = await failure(
      clone(server.remote('ssh').url, join(tempDir(), 'c'), {
        credentials: { type: 'ssh', privateKey: key() },
      }),
    );
    expect(error.code).toBe(ErrorCodes.Invalid);
  });
});

describe('GitDirectory over every transport', () => {
  it.each(['git', 'http', 'ssh'] as const)('follows the remote over %s', async (transport) => {
    const credentials: Credentials =
      transport === 'http'
        ? { type: 'https', token: server.http.token }
        : transport === 'ssh'
          ? { type: 'ssh', privateKeyFile: server.ssh.identityFile, knownHosts: server.ssh.knownHostsLine }
          : { type: 'none' };
    const directory = new GitDirectory({ url: server.remote(transport).url, credentials, interval: 0 });
    try {
      const start = await directory.start();
      const seen: RevisionEvent[] = [];
      directory.on('revision', (e) => seen.push(e));
      const next = await pushCommit(server.repo, { files: { [`follow-${transport}.yaml`]: 'x: 1\n' } });
      expect(await directory.sync()).toBe(next);
      expect(seen).toEqual([
        {
          type: 'revision',
          from: start,
          to: next,
          forced: false,
          changes: [expect.objectContaining({ status: 'A', path: `follow-${transport}.yaml` })],
        },
      ]);
      expect((await directory.readFile(`follow-${transport}.yaml`)).toString()).toBe('x: 1\n');
      const config = readFileSync(join(directory.path, 'config'), 'utf8');
      expect(config).not.toContain(server.http.token);
      expect(statSync(directory.path).isDirectory()).toBe(true);
    } finally {
      await directory.close();
    }
  });
});
