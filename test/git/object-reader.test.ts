import { existsSync, readFileSync } from 'node:fs';

import { afterAll, describe, expect, it } from 'vitest';

import { Git } from '../../src/git/index.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';
import { git, makeRemote, pushCommit, removeTempDirs } from './helpers.js';

afterAll(() => removeTempDirs());

function catFileChildren(parent: number): number[] {
  // Every process whose parent is us and whose command line is `git ... cat-file --batch`.
  const children = readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim();
  return children === ''
    ? []
    : children
        .split(' ')
        .map(Number)
        .filter((pid) => existsSync(`/proc/${pid}/cmdline`))
        .filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('cat-file'));
}

describe('one cat-file process serves every read', () => {
  it('reads 1,000 blobs through a single process, concurrently and in order', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 1000; i++) files[`objects/${String(i).padStart(4, '0')}.yaml`] = `index: ${i}\n`;
    const remote = makeRemote(files);
    const repo = await Git.open(remote.bare);
    try {
      const paths = Object.keys(files);
      const contents = await Promise.all(paths.map((p) => repo.readBlob('main', p)));
      expect(contents.map((c) => c.toString())).toEqual(paths.map((p) => files[p]));
      expect(repo.objectReader?.processesStarted).toBe(1);
      const pid = repo.objectReader?.pid;
      expect(catFileChildren(process.pid)).toEqual([pid]);

      // Sequential reads keep using the same process.
      for (const path of paths.slice(0, 50)) await repo.readBlob('main', path);
      expect(repo.objectReader?.pid).toBe(pid);
      expect(repo.objectReader?.processesStarted).toBe(1);

      const tree = await repo.readTree('main');
      expect(tree).toHaveLength(1000);
      expect(repo.objectReader?.processesStarted).toBe(1);
    } finally {
      await repo.close();
    }
    expect(catFileChildren(process.pid)).toEqual([]);
  });

  it('sees objects that arrive after the process started', async () => {
    const remote = makeRemote({ 'a.txt': 'one' });
    const repo = await Git.open(remote.bare);
    try {
      expect((await repo.readBlob('main', 'a.txt')).toString()).toBe('one');
      const second = pushCommit(remote, { 'a.txt': 'two', 'b.txt': 'new' });
      expect((await repo.readBlob(second, 'a.txt')).toString()).toBe('two');
      expect((await repo.readBlob('main', 'b.txt')).toString()).toBe('new');
      git(remote.bare, 'gc', '--quiet', '--prune=now');
      expect((await repo.readBlob(remote.first, 'a.txt')).toString()).toBe('one');
      expect(repo.objectReader?.processesStarted).toBe(1);
    } finally {
      await repo.close();
    }
  });

  it('answers missing objects without disturbing later reads', async () => {
    const remote = makeRemote({ 'a.txt': 'a' });
    const repo = await Git.open(remote.bare);
    try {
      const [missing, present, missingRev] = await Promise.all([
        repo.readObject('main:nope.txt'),
        repo.readObject('main:a.txt'),
        repo.readObject('0123456789012345678901234567890123456789'),
      ]);
      expect(missing).toBeUndefined();
      expect(present?.content.toString()).toBe('a');
      expect(missingRev).toBeUndefined();
      await expect(repo.readObject('main:a\nb')).rejects.toMatchObject({ code: ErrorCodes.Invalid });
    } finally {
      await repo.close();
    }
  });

  it('fails pending reads when the process dies, and starts a new one for the next read', async () => {
    const remote = makeRemote({ 'a.txt': 'a' });
    const repo = await Git.open(remote.bare);
    try {
      await repo.readBlob('main', 'a.txt');
      const pid = repo.objectReader?.pid as number;
      process.kill(pid, 'SIGKILL');
      const error = await (async () => {
        // Reads issued while the death is noticed either fail with GitError or run on a new process.
        for (;;) {
          try {
            await repo.readBlob('main', 'a.txt');
            if (repo.objectReader?.pid !== pid) return undefined;
          } catch (e) {
            return e;
          }
        }
      })();
      if (error !== undefined) {
        expect(error).toBeInstanceOf(GitOpsError);
        expect((error as GitOpsError).code).toBe(ErrorCodes.GitError);
      }
      expect((await repo.readBlob('main', 'a.txt')).toString()).toBe('a');
      expect(repo.objectReader?.processesStarted).toBe(2);
      expect(repo.objectReader?.pid).not.toBe(pid);
    } finally {
      await repo.close();
    }
  });

  it('refuses reads after close', async () => {
    const remote = makeRemote({ 'a.txt': 'a' });
    const repo = await Git.open(remote.bare);
    await repo.readBlob('main', 'a.txt');
    await repo.close();
    await expect(repo.readBlob('main', 'a.txt')).rejects.toMatchObject({ code: ErrorCodes.Aborted });
  });
});
