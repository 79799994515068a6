/**
 * Listing a remote's refs without a clone, over file:// and over HTTP with basic auth (a real
 * git http-backend on 127.0.0.1).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Git, lsRemote } from '../../src/git/index.js';
import type { RemoteRef } from '../../src/git/index.js';
import { ErrorCodes } from '../../src/runtime/index.js';
import { startGitServer } from '../support/git-server/index.js';
import type { GitServer } from '../support/git-server/index.js';
import { failure, git, makeRemote, pushCommit, removeTempDirs, tempDir } from './helpers.js';
import type { Remote } from './helpers.js';

let server: GitServer;
let remote: Remote;
let url: string;
let second: string;

beforeAll(async () => {
  server = await startGitServer({ transports: ['http'], files: { 'a.yaml': 'a: 1\n' } });
  remote = makeRemote({ 'a.yaml': 'a: 1\n' });
  url = pathToFileURL(remote.bare).href;
  git(remote.work, 'tag', 'light', remote.first);
  git(remote.work, 'tag', '-a', '-m', 'release', 'v1.2.0', remote.first);
  second = pushCommit(remote, { 'b.yaml': 'b: 2\n' }, 'second', 'release');
  // A branch and a tag of the same name, as git allows.
  git(remote.work, 'tag', 'both', remote.first);
  git(remote.work, 'push', '--quiet', 'origin', '--tags', `${second}:refs/heads/both`);
});

afterAll(async () => {
  await server?.close();
  removeTempDirs();
});

function byRef(refs: RemoteRef[]): Record<string, RemoteRef> {
  return Object.fromEntries(refs.map((r) => [r.ref, r]));
}

describe('lsRemote over file://', () => {
  it('lists HEAD, branches and tags, with annotated tags peeled to their commit', async () => {
    const refs = byRef(await lsRemote(url));
    expect(Object.keys(refs).sort()).toEqual([
      'HEAD',
      'refs/heads/both',
      'refs/heads/main',
      'refs/heads/release',
      'refs/tags/both',
      'refs/tags/light',
      'refs/tags/v1.2.0',
    ]);
    expect(refs['refs/heads/main']).toEqual({ ref: 'refs/heads/main', commit: remote.first });
    expect(refs['refs/heads/release']!.commit).toBe(second);
    expect(refs['refs/tags/light']).toEqual({ ref: 'refs/tags/light', commit: remote.first });
    const tagObject = git(remote.bare, 'rev-parse', 'refs/tags/v1.2.0');
    expect(tagObject).not.toBe(remote.first);
    expect(refs['refs/tags/v1.2.0']).toEqual({ ref: 'refs/tags/v1.2.0', commit: remote.first, tagObject });
  });

  it('filters by full ref, by tail name, and to branches or tags only', async () => {
    expect(await lsRemote(url, { patterns: ['refs/tags/both'] })).toEqual([
      { ref: 'refs/tags/both', commit: remote.first },
    ]);
    const both = await lsRemote(url, { patterns: ['both'] });
    expect(both.map((r) => r.ref).sort()).toEqual(['refs/heads/both', 'refs/tags/both']);
    expect((await lsRemote(url, { heads: true })).map((r) => r.ref).sort()).toEqual([
      'refs/heads/both',
      'refs/heads/main',
      'refs/heads/release',
    ]);
    expect((await lsRemote(url, { tags: true, patterns: ['v1.2.0'] })).map((r) => r.ref)).toEqual([
      'refs/tags/v1.2.0',
    ]);
    expect(await lsRemote(url, { patterns: ['no-such-ref'] })).toEqual([]);
  });

  it('reads caller text as patterns and the remote, never as options', async () => {
    const marker = join(tempDir(), 'marker');
    const refs = await lsRemote(url, { patterns: [`--upload-pack=touch ${marker}`, '-h'] });
    expect(refs).toEqual([]);
    expect(existsSync(marker)).toBe(false);
    await expect(lsRemote(`--upload-pack=touch ${marker}`)).rejects.toMatchObject({
      code: ErrorCodes.Invalid,
    });
    await expect(lsRemote(url, { patterns: ['a\nb'] })).rejects.toMatchObject({ code: ErrorCodes.Invalid });
    expect(existsSync(marker)).toBe(false);
  });

  it('reports a missing repository as NotFound', async () => {
    const error = await failure(lsRemote(pathToFileURL(join(tempDir(), 'absent.git')).href));
    expect(error.code).toBe(ErrorCodes.NotFound);
  });

  it('lists the remote of an open repository through Git.lsRemote', async () => {
    const repo = await Git.open(remote.work);
    try {
      const refs = await repo.lsRemote({ patterns: ['refs/heads/release'] });
      expect(refs).toEqual([{ ref: 'refs/heads/release', commit: second }]);
    } finally {
      await repo.close();
    }
  });
});

describe('lsRemote over http:// with basic auth', () => {
  it('lists refs with a password or a token, and fails at once without credentials', async () => {
    const httpUrl = server.remote('http').url;
    const main = git(server.repo.path, 'rev-parse', 'refs/heads/main');
    const withPassword = await lsRemote(httpUrl, {
      credentials: { type: 'https', username: server.http.username, password: server.http.password },
      patterns: ['refs/heads/main'],
    });
    expect(withPassword).toEqual([{ ref: 'refs/heads/main', commit: main }]);
    const withToken = byRef(
      await lsRemote(httpUrl, { credentials: { type: 'https', token: server.http.token } }),
    );
    expect(withToken['refs/heads/main']!.commit).toBe(main);
    expect((await failure(lsRemote(httpUrl))).code).toBe(ErrorCodes.AuthFailed);
  });

  it('reports a wrong password as AuthFailed without repeating it', async () => {
    const wrong = 'wrong-password-Rt5vB8nM2';
    const error = await failure(
      lsRemote(server.remote('http').url, {
        credentials: { type: 'https', username: server.http.username, password: wrong },
      }),
    );
    expect(error.code).toBe(ErrorCodes.AuthFailed);
    const shown = JSON.stringify({ message: error.message, details: error.details, text: error.format() });
    expect(shown).not.toContain(wrong);
    expect(shown).not.toContain(Buffer.from(`${server.http.username}:${wrong}`).toString('base64'));
  });

  it("uses the handle's credentials in Git.lsRemote", async () => {
    const dir = tempDir();
    const repo = await Git.init(dir, {
      bare: true,
      credentials: { type: 'https', token: server.http.token },
    });
    try {
      await repo.setRemote('origin', server.remote('http').url);
      const refs = await repo.lsRemote({ heads: true });
      expect(refs.map((r) => r.ref)).toContain('refs/heads/main');
    } finally {
      await repo.close();
    }
  });
});
