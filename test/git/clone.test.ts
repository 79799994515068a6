import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { clone } from '../../src/git/index.js';
import type { Git } from '../../src/git/index.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';
import { git, makeRemote, pushCommit, removeTempDirs, tempDir } from './helpers.js';

afterAll(() => removeTempDirs());

async function withClone<T>(made: Promise<Git>, fn: (repo: Git) => Promise<T> | T): Promise<T> {
  const repo = await made;
  try {
    return await fn(repo);
  } finally {
    await repo.close();
  }
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GitOpsError);
  return (error as GitOpsError).code;
}

/** A remote with three commits on main and a second branch. */
function richRemote(): ReturnType<typeof makeRemote> & { head: string } {
  const remote = makeRemote({ 'a.txt': 'one' });
  pushCommit(remote, { 'a.txt': 'two' });
  const head = pushCommit(remote, { 'big.bin': 'x'.repeat(10_000) });
  git(remote.work, 'push', '--quiet', 'origin', 'HEAD:refs/heads/other');
  git(remote.work, 'tag', 'v1');
  git(remote.work, 'push', '--quiet', 'origin', 'v1');
  return { ...remote, head };
}

describe('clone', () => {
  it('makes a full clone with a working tree, without tags unless asked', async () => {
    const remote = richRemote();
    const dir = join(tempDir(), 'full');
    await withClone(clone(remote.bare, dir), async (repo) => {
      expect(repo.bare).toBe(false);
      expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('two');
      expect(git(dir, 'rev-list', '--count', 'HEAD')).toBe('3');
      expect(git(dir, 'tag')).toBe('');
      expect(git(dir, 'branch', '-r')).toContain('origin/other');
      expect(git(dir, 'config', 'remote.origin.url')).toBe(remote.bare);
    });
    const tagged = join(tempDir(), 'tagged');
    await withClone(clone(remote.bare, tagged, { tags: true }), () => {
      expect(git(tagged, 'tag')).toBe('v1');
    });
  });

  it('makes a shallow clone, even from a plain local path', async () => {
    const remote = richRemote();
    const dir = join(tempDir(), 'shallow');
    await withClone(clone(remote.bare, dir, { depth: 1 }), () => {
      expect(git(dir, 'rev-parse', '--is-shallow-repository')).toBe('true');
      expect(git(dir, 'rev-list', '--count', 'HEAD')).toBe('1');
      expect(git(dir, 'rev-parse', 'HEAD')).toBe(remote.head);
    });
  });

  it('clones a single branch', async () => {
    const remote = richRemote();
    const dir = join(tempDir(), 'single');
    await withClone(clone(remote.bare, dir, { branch: 'other', singleBranch: true }), () => {
      expect(git(dir, 'symbolic-ref', '--short', 'HEAD')).toBe('other');
      expect(
        git(dir, 'branch', '-r')
          .split('\n')
          .map((l) => l.trim()),
      ).toEqual(['origin/other']);
    });
  });

  it('makes a partial clone whose blobs are fetched when first read', async () => {
    const remote = richRemote();
    const dir = join(tempDir(), 'partial.git');
    await withClone(clone(remote.bare, dir, { bare: true, filter: 'blob:none' }), async (repo) => {
      expect(repo.bare).toBe(true);
      expect(git(dir, 'config', 'remote.origin.partialclonefilter')).toBe('blob:none');
      const missing = git(dir, 'rev-list', '--objects', '--all', '--missing=print').split('\n');
      expect(missing.some((line) => line.startsWith('?'))).toBe(true);
      expect((await repo.readBlob('main', 'big.bin')).toString()).toBe('x'.repeat(10_000));
      expect((await repo.readTree('main')).map((e) => e.path)).toEqual(['a.txt', 'big.bin']);
    });
  });

  it('makes bare and mirror clones', async () => {
    const remote = richRemote();
    const bare = join(tempDir(), 'bare.git');
    await withClone(clone(remote.bare, bare, { bare: true }), async (repo) => {
      expect(repo.bare).toBe(true);
      expect(await repo.revParse('main')).toBe(remote.head);
      expect(existsSync(join(bare, 'HEAD'))).toBe(true);
    });
    const mirror = join(tempDir(), 'mirror.git');
    await withClone(clone(remote.bare, mirror, { mirror: true }), async (repo) => {
      expect(await repo.revParse('other')).toBe(remote.head);
      expect(git(mirror, 'tag')).toBe('v1');
    });
  });

  it('refuses a folder that is not empty, and leaves it alone', async () => {
    const remote = makeRemote({ 'a.txt': 'a' });
    const dir = tempDir();
    writeFileSync(join(dir, 'keep.txt'), 'mine');
    expect(await codeOf(clone(remote.bare, dir))).toBe(ErrorCodes.AlreadyExists);
    expect(readFileSync(join(dir, 'keep.txt'), 'utf8')).toBe('mine');
    const empty = join(tempDir(), 'empty');
    mkdirSync(empty);
    await withClone(clone(remote.bare, empty), (repo) => expect(repo.dir).toContain('empty'));
  });

  it('refuses option-like URLs and branch names before git runs', async () => {
    const remote = makeRemote({ 'a.txt': 'a' });
    const marker = join(tempDir(), 'marker');
    const dir = join(tempDir(), 'x');
    expect(await codeOf(clone(`--upload-pack=touch ${marker}`, dir))).toBe(ErrorCodes.Invalid);
    expect(await codeOf(clone(`ext::sh -c touch% ${marker}`, dir))).toBe(ErrorCodes.Invalid);
    expect(await codeOf(clone(remote.bare, dir, { branch: `--upload-pack=touch ${marker}` }))).toBe(
      ErrorCodes.Invalid,
    );
    expect(await codeOf(clone(remote.bare, dir, { branch: '-x' }))).toBe(ErrorCodes.Invalid);
    expect(await codeOf(clone(remote.bare, dir, { filter: '--upload-pack=x' }))).toBe(ErrorCodes.Invalid);
    expect(await codeOf(clone(remote.bare, dir, { depth: 0 }))).toBe(ErrorCodes.Invalid);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it('reports a missing branch or repository as NotFound', async () => {
    const remote = makeRemote({ 'a.txt': 'a' });
    expect(await codeOf(clone(remote.bare, join(tempDir(), 'x'), { branch: 'missing' }))).toBe(
      ErrorCodes.NotFound,
    );
    expect(await codeOf(clone(join(tempDir(), 'nothing.git'), join(tempDir(), 'y')))).toBe(
      ErrorCodes.NotFound,
    );
  });
});
