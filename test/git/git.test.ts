import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { Git } from '../../src/git/index.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';
import { commit, git, makeRemote, pushCommit, removeTempDirs, tempDir, writeFiles } from './helpers.js';

const opened: Git[] = [];
async function open(dir: string): Promise<Git> {
  const repo = await Git.open(dir);
  opened.push(repo);
  return repo;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((g) => g.close()));
});
afterAll(() => removeTempDirs());

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GitOpsError);
    return (error as GitOpsError).code;
  }
  throw new Error('expected a GitOpsError, but the call succeeded');
}

const author = { name: 'Ada Author', email: 'ada@example.test', date: new Date('2024-01-02T03:04:05Z') };
const committer = { name: 'Cy Committer', email: 'cy@example.test', date: new Date('2024-02-03T04:05:06Z') };

describe('Git.open and Git.init', () => {
  it('opens a bare and a non-bare repository and tells them apart', async () => {
    const remote = makeRemote({ 'a.txt': 'a\n' });
    expect((await open(remote.bare)).bare).toBe(true);
    expect((await open(remote.work)).bare).toBe(false);
  });

  it('refuses a folder that is not itself a repository, even inside one', async () => {
    const remote = makeRemote({ 'sub/a.txt': 'a\n' });
    const error = await Git.open(join(remote.work, 'sub')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitOpsError);
    expect((error as GitOpsError).code).toBe(ErrorCodes.NotFound);
    expect(await codeOf(Git.open(join(remote.work, 'missing')))).toBe(ErrorCodes.NotFound);
  });

  it('creates repositories with the initial branch asked for', async () => {
    const dir = join(tempDir(), 'new');
    const repo = await Git.init(dir, { initialBranch: 'trunk' });
    opened.push(repo);
    expect(git(dir, 'symbolic-ref', 'HEAD')).toBe('refs/heads/trunk');
    const bare = await Git.init(join(tempDir(), 'b.git'), { bare: true });
    opened.push(bare);
    expect(bare.bare).toBe(true);
  });
});

describe('revisions', () => {
  it('resolves revisions to commit ids and reports missing ones', async () => {
    const remote = makeRemote({ 'a.txt': 'a\n' });
    const second = pushCommit(remote, { 'b.txt': 'b\n' });
    const repo = await open(remote.bare);
    expect(await repo.revParse('main')).toBe(second);
    expect(await repo.revParse('main~1')).toBe(remote.first);
    expect(await repo.tryRevParse('nope')).toBeUndefined();
    expect(await codeOf(repo.revParse('nope'))).toBe(ErrorCodes.NotFound);
    expect(await repo.isAncestor(remote.first, second)).toBe(true);
    expect(await repo.isAncestor(second, remote.first)).toBe(false);
  });

  it.each(['--upload-pack=x', '-x', 'a..b', 'main@{1}', ':/search', 'a b', ''])(
    'refuses %j as a revision before git runs',
    async (rev) => {
      const remote = makeRemote({ 'a.txt': 'a\n' });
      const repo = await open(remote.bare);
      expect(await codeOf(repo.revParse(rev))).toBe(ErrorCodes.Invalid);
      expect(await codeOf(repo.readBlob(rev, 'a.txt'))).toBe(ErrorCodes.Invalid);
      expect(await codeOf(repo.diffNames(rev, 'main'))).toBe(ErrorCodes.Invalid);
      expect(await codeOf(repo.log({ rev }))).toBe(ErrorCodes.Invalid);
    },
  );
});

describe('reading objects without a checkout', () => {
  it('reads a file at any revision of a bare repository', async () => {
    const remote = makeRemote({ 'dir/a.yaml': 'version: 1\n' });
    const second = pushCommit(remote, { 'dir/a.yaml': 'version: 2\n' });
    const repo = await open(remote.bare);
    expect((await repo.readBlob(remote.first, 'dir/a.yaml')).toString()).toBe('version: 1\n');
    expect((await repo.readBlob(second, './dir//a.yaml')).toString()).toBe('version: 2\n');
    expect((await repo.readBlob('main', 'dir/a.yaml')).toString()).toBe('version: 2\n');
  });

  it('reports a missing file as NotFound and a directory as Invalid', async () => {
    const remote = makeRemote({ 'dir/a.yaml': 'a\n' });
    const repo = await open(remote.bare);
    expect(await codeOf(repo.readBlob('main', 'dir/missing.yaml'))).toBe(ErrorCodes.NotFound);
    expect(await codeOf(repo.readBlob('main', 'dir'))).toBe(ErrorCodes.Invalid);
    expect(await codeOf(repo.readBlob('main', '../outside'))).toBe(ErrorCodes.Invalid);
    expect(await codeOf(repo.readBlob('main', '/etc/passwd'))).toBe(ErrorCodes.Invalid);
  });

  it('reads binary content byte for byte', async () => {
    const remote = makeRemote({ 'a.txt': 'a' });
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
    writeFileSync(join(remote.work, 'blob.bin'), bytes);
    const oid = commit(remote.work, {}, 'binary');
    const repo = await open(remote.work);
    expect((await repo.readBlob(oid, 'blob.bin')).equals(bytes)).toBe(true);
  });

  it('lists a tree recursively, as ls-tree -r does', async () => {
    const remote = makeRemote({ 'a.txt': 'a', 'd/b.txt': 'b', 'd/e/c.txt': 'c', 'x y/z.txt': 'z' });
    const repo = await open(remote.bare);
    const entries = await repo.readTree('main');
    const expected = git(remote.bare, 'ls-tree', '-r', '-z', 'main')
      .split('\0')
      .filter((l) => l !== '')
      .map((line) => {
        const [meta = '', path = ''] = line.split('\t');
        const [mode, type, oid] = meta.split(' ');
        return { mode, type, oid, path };
      });
    expect(entries).toEqual(expected);
    expect(entries.map((e) => e.path)).toEqual(['a.txt', 'd/b.txt', 'd/e/c.txt', 'x y/z.txt']);
  });

  it('lists a sub-tree, recursively or one level', async () => {
    const remote = makeRemote({ 'a.txt': 'a', 'd/b.txt': 'b', 'd/e/c.txt': 'c' });
    const repo = await open(remote.bare);
    expect((await repo.readTree('main', 'd')).map((e) => e.path)).toEqual(['d/b.txt', 'd/e/c.txt']);
    const level = await repo.readTree('main', 'd', { recursive: false });
    expect(level.map((e) => [e.path, e.type, e.mode])).toEqual([
      ['d/b.txt', 'blob', '100644'],
      ['d/e', 'tree', '040000'],
    ]);
    expect(await codeOf(repo.readTree('main', 'nope'))).toBe(ErrorCodes.NotFound);
    expect(await codeOf(repo.readTree('main', 'a.txt'))).toBe(ErrorCodes.Invalid);
  });
});

describe('diffNames', () => {
  it('lists added, modified, deleted and renamed files with their blob ids', async () => {
    const long = 'line\n'.repeat(50);
    const remote = makeRemote({ 'keep.txt': 'k', 'mod.txt': 'm1', 'del.txt': 'd', 'old/name.txt': long });
    const second = pushCommit(remote, {
      'mod.txt': 'm2',
      'del.txt': null,
      'add.txt': 'new',
      'old/name.txt': null,
      'new/name.txt': long,
    });
    const repo = await open(remote.bare);
    const changes = await repo.diffNames(remote.first, second);
    const byPath = Object.fromEntries(changes.map((c) => [c.path, c]));
    expect(changes).toHaveLength(4);
    expect(byPath['mod.txt']?.status).toBe('M');
    expect(byPath['del.txt']?.status).toBe('D');
    expect(byPath['del.txt']).not.toHaveProperty('newOid');
    expect(byPath['add.txt']?.status).toBe('A');
    expect(byPath['add.txt']).not.toHaveProperty('oldOid');
    expect(byPath['new/name.txt']).toMatchObject({ status: 'R', oldPath: 'old/name.txt' });
    expect(byPath['add.txt']?.newOid).toBe(git(remote.bare, 'rev-parse', `${second}:add.txt`));
    expect(byPath['mod.txt']?.oldOid).toBe(git(remote.bare, 'rev-parse', `${remote.first}:mod.txt`));

    const noRenames = await repo.diffNames(remote.first, second, { renames: false });
    expect(noRenames.map((c) => `${c.status} ${c.path}`).sort()).toEqual([
      'A add.txt',
      'A new/name.txt',
      'D del.txt',
      'D old/name.txt',
      'M mod.txt',
    ]);
  });

  it('limits to paths, and treats a missing start as the empty tree', async () => {
    const remote = makeRemote({ 'a/x.txt': 'x', 'b/y.txt': 'y' });
    const second = pushCommit(remote, { 'a/x.txt': 'x2', 'b/y.txt': 'y2' });
    const repo = await open(remote.bare);
    expect((await repo.diffNames(remote.first, second, { paths: ['a'] })).map((c) => c.path)).toEqual([
      'a/x.txt',
    ]);
    const all = await repo.diffNames(undefined, remote.first);
    expect(all.map((c) => `${c.status} ${c.path}`)).toEqual(['A a/x.txt', 'A b/y.txt']);
    expect(await repo.diffNames(second, second)).toEqual([]);
  });
});

describe('log', () => {
  it('lists the commits of a path, newest first, with identities and messages', async () => {
    const remote = makeRemote({ 'a.txt': '1', 'b.txt': '1' });
    const c2 = pushCommit(remote, { 'a.txt': '2' }, 'second\n\nwith a body');
    pushCommit(remote, { 'b.txt': '2' }, 'third');
    const repo = await open(remote.bare);
    const log = await repo.log({ path: 'a.txt' });
    expect(log.map((c) => c.oid)).toEqual([c2, remote.first]);
    expect(log[0]).toMatchObject({
      subject: 'second',
      message: 'second\n\nwith a body',
      parents: [remote.first],
      author: { name: 'Fixture Author', email: 'author@example.test' },
      committer: { name: 'Fixture Committer', email: 'committer@example.test' },
    });
    expect(log[0]?.author.date).toBeInstanceOf(Date);
    expect(log[1]?.parents).toEqual([]);
    expect((await repo.log({ max: 2 })).map((c) => c.subject)).toEqual(['third', 'second']);
  });

  it('follows a file across a rename when asked', async () => {
    const content = 'same content\n'.repeat(20);
    const remote = makeRemote({ 'old.txt': content });
    const moved = pushCommit(remote, { 'old.txt': null, 'new.txt': content }, 'move');
    const repo = await open(remote.bare);
    expect((await repo.log({ path: 'new.txt' })).map((c) => c.oid)).toEqual([moved]);
    expect((await repo.log({ path: 'new.txt', follow: true })).map((c) => c.oid)).toEqual([
      moved,
      remote.first,
    ]);
  });
});

describe('working trees, commits and checkout', () => {
  it('commits with the given author, committer and message', async () => {
    const remote = makeRemote({ 'a.txt': 'a' });
    const repo = await open(remote.work);
    writeFileSync(join(remote.work, 'b.txt'), 'b');
    expect(await repo.status()).toEqual([{ code: '??', path: 'b.txt' }]);
    const oid = await repo.commit({ message: '# not a comment\n\nbody', author, committer, all: true });
    expect(await repo.status()).toEqual([]);
    expect(git(remote.work, 'log', '-1', '--format=%an <%ae> %aI|%cn <%ce> %cI', oid)).toBe(
      'Ada Author <ada@example.test> 2024-01-02T03:04:05+00:00|Cy Committer <cy@example.test> 2024-02-03T04:05:06+00:00',
    );
    expect(git(remote.work, 'log', '-1', '--format=%B', oid)).toBe('# not a comment\n\nbody');
  });

  it('refuses an empty commit unless allowed, and bad identities', async () => {
    const remote = makeRemote({ 'a.txt': 'a' });
    const repo = await open(remote.work);
    expect(await codeOf(repo.commit({ message: 'x', author }))).toBe(ErrorCodes.GitError);
    const oid = await repo.commit({ message: 'empty', author, allowEmpty: true });
    expect(git(remote.work, 'rev-parse', 'HEAD')).toBe(oid);
    expect(
      await codeOf(repo.commit({ message: 'x', author: { name: 'a\nb', email: 'e@x' }, allowEmpty: true })),
    ).toBe(ErrorCodes.Invalid);
    expect(await codeOf(repo.commit({ message: '  ', author, allowEmpty: true }))).toBe(ErrorCodes.Invalid);
  });

  it('stages deletions with add()', async () => {
    const remote = makeRemote({ 'a.txt': 'a', 'b.txt': 'b' });
    const repo = await open(remote.work);
    writeFiles(remote.work, { 'a.txt': null });
    await repo.add(['a.txt']);
    await repo.commit({ message: 'delete a', author });
    expect(git(remote.work, 'ls-files')).toBe('b.txt');
  });

  it('checks out revisions and creates branches', async () => {
    const remote = makeRemote({ 'a.txt': 'one' });
    const second = pushCommit(remote, { 'a.txt': 'two' });
    const repo = await open(remote.work);
    await repo.checkout(remote.first, { branch: 'feature' });
    expect(readFileSync(join(remote.work, 'a.txt'), 'utf8')).toBe('one');
    expect(git(remote.work, 'symbolic-ref', '--short', 'HEAD')).toBe('feature');
    await repo.checkout(second);
    expect(readFileSync(join(remote.work, 'a.txt'), 'utf8')).toBe('two');
    expect(await codeOf(repo.checkout('main', { branch: '-b' }))).toBe(ErrorCodes.Invalid);
    expect(await codeOf(repo.checkout('missing'))).toBe(ErrorCodes.NotFound);
  });

  it('adds, lists, removes and prunes worktrees of a bare repository', async () => {
    const remote = makeRemote({ 'a.txt': 'a' });
    const repo = await open(remote.bare);
    const root = tempDir();
    const path = join(root, 'tx');
    const tree = await repo.worktreeAdd(path, { rev: 'main', branch: 'tx-1' });
    opened.push(tree);
    expect(readFileSync(join(path, 'a.txt'), 'utf8')).toBe('a');
    writeFileSync(join(path, 'b.txt'), 'b');
    const oid = await tree.commit({ message: 'in a worktree', author, all: true });
    expect(await repo.revParse('tx-1')).toBe(oid);
    const list = await repo.worktreeList();
    expect(list.find((w) => w.path === path)).toMatchObject({ branch: 'tx-1', head: oid, detached: false });

    const detached = join(root, 'detached');
    opened.push(await repo.worktreeAdd(detached));
    expect((await repo.worktreeList()).find((w) => w.path === detached)?.detached).toBe(true);

    await repo.worktreeRemove(path);
    expect(existsSync(path)).toBe(false);
    rmSync(detached, { recursive: true });
    await repo.worktreePrune();
    expect((await repo.worktreeList()).map((w) => w.path)).toEqual([remote.bare]);
    expect(await codeOf(repo.worktreeAdd('relative/path'))).toBe(ErrorCodes.Invalid);
  });
});

describe('fetch and push', () => {
  it('fetches new commits from a remote', async () => {
    const remote = makeRemote({ 'a.txt': 'a' });
    const clone = join(tempDir(), 'clone');
    git(remote.work, 'clone', '--quiet', remote.bare, clone);
    const second = pushCommit(remote, { 'a.txt': 'b' });
    const repo = await open(clone);
    await repo.fetch();
    expect(await repo.revParse('origin/main')).toBe(second);
    expect(await codeOf(repo.fetch({ refspecs: ['--upload-pack=touch /tmp/x'] }))).toBe(ErrorCodes.Invalid);
    expect(await codeOf(repo.fetch({ remote: '--upload-pack=x' }))).toBe(ErrorCodes.Invalid);
    expect(await codeOf(repo.fetch({ refspecs: ['refs/heads/missing'] }))).toBe(ErrorCodes.NotFound);
  });

  it('pushes, and reports a non-fast-forward as PushRejected', async () => {
    const remote = makeRemote({ 'a.txt': 'a' });
    const clone = join(tempDir(), 'clone');
    git(remote.work, 'clone', '--quiet', remote.bare, clone);
    const repo = await open(clone);
    writeFileSync(join(clone, 'mine.txt'), 'mine');
    const mine = await repo.commit({ message: 'mine', author, all: true });
    const pushed = await repo.push({ refspecs: ['HEAD:refs/heads/main'] });
    expect(pushed).toEqual([{ flag: ' ', from: 'HEAD', to: 'refs/heads/main', summary: expect.any(String) }]);
    expect(git(remote.bare, 'rev-parse', 'main')).toBe(mine);

    git(remote.work, 'pull', '--quiet', 'origin', 'main');
    const theirs = pushCommit(remote, { 'theirs.txt': 't' });
    writeFileSync(join(clone, 'again.txt'), 'again');
    await repo.commit({ message: 'again', author, all: true });
    const error = (await repo
      .push({ refspecs: ['HEAD:refs/heads/main'] })
      .catch((e: unknown) => e)) as GitOpsError;
    expect(error).toBeInstanceOf(GitOpsError);
    expect(error.code).toBe(ErrorCodes.PushRejected);
    expect(error.message).toMatch(/refs\/heads\/main .*rejected/);
    expect(git(remote.bare, 'rev-parse', 'main')).toBe(theirs);
  });

  it('force-pushes only while the lease holds', async () => {
    const remote = makeRemote({ 'a.txt': 'a' });
    const clone = join(tempDir(), 'clone');
    git(remote.work, 'clone', '--quiet', remote.bare, clone);
    const repo = await open(clone);
    await repo.checkout(remote.first, { branch: 'rewrite' });
    writeFileSync(join(clone, 'rewritten.txt'), 'r');
    const rewritten = await repo.commit({ message: 'rewrite', author, all: true });

    const moved = pushCommit(remote, { 'moved.txt': 'm' });
    const stale = repo.push({
      refspecs: ['HEAD:refs/heads/main'],
      forceWithLease: [{ ref: 'refs/heads/main', expect: remote.first }],
    });
    expect(await codeOf(stale)).toBe(ErrorCodes.PushRejected);
    expect(git(remote.bare, 'rev-parse', 'main')).toBe(moved);

    const held = await repo.push({
      refspecs: ['HEAD:refs/heads/main'],
      forceWithLease: [{ ref: 'refs/heads/main', expect: moved }],
    });
    expect(held[0]?.flag).toBe('+');
    expect(git(remote.bare, 'rev-parse', 'main')).toBe(rewritten);

    // A lease with null expects the ref not to exist yet.
    const lease = [{ ref: 'refs/heads/fresh', expect: null }];
    await repo.push({ refspecs: ['HEAD:refs/heads/fresh'], forceWithLease: lease });
    await repo.commit({ message: 'more', author, allowEmpty: true });
    expect(await codeOf(repo.push({ refspecs: ['HEAD:refs/heads/fresh'], forceWithLease: lease }))).toBe(
      ErrorCodes.PushRejected,
    );
    expect(git(remote.bare, 'rev-parse', 'fresh')).toBe(rewritten);
  });

  it('refuses option-like refspecs and remotes before git runs', async () => {
    const remote = makeRemote({ 'a.txt': 'a' });
    const repo = await open(remote.work);
    const marker = join(tempDir(), 'marker');
    for (const refspec of [`--receive-pack=touch ${marker}`, '-f', 'a..b:refs/heads/x']) {
      expect(await codeOf(repo.push({ refspecs: [refspec] }))).toBe(ErrorCodes.Invalid);
    }
    expect(await codeOf(repo.push({ remote: `--receive-pack=touch ${marker}`, refspecs: ['main'] }))).toBe(
      ErrorCodes.Invalid,
    );
    expect(await codeOf(repo.push({ remote: 'ext::sh -c touch% /tmp/pwned', refspecs: ['main'] }))).toBe(
      ErrorCodes.Invalid,
    );
    expect(existsSync(marker)).toBe(false);
  });
});
