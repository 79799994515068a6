/**
 * Real repositories for the git tests, made with the git command line directly (not with the
 * code under test), in temporary folders removed after each test file.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GitOpsError } from '../../src/runtime/index.js';

const ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: '/dev/null',
  LC_ALL: 'C',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Fixture Author',
  GIT_AUTHOR_EMAIL: 'author@example.test',
  GIT_COMMITTER_NAME: 'Fixture Committer',
  GIT_COMMITTER_EMAIL: 'committer@example.test',
};

/** Runs git in `cwd` and returns its trimmed stdout. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    env: ENV,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

const made: string[] = [];

/** A new temporary folder, removed by removeTempDirs(). */
export function tempDir(prefix = 'libgitops-git-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Writes (string) or deletes (null) files in a working tree. */
export function writeFiles(work: string, files: Record<string, string | null>): void {
  for (const [path, content] of Object.entries(files)) {
    const full = join(work, path);
    if (content === null) unlinkSync(full);
    else {
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
  }
}

/** Writes files, commits everything and returns the commit id. */
export function commit(work: string, files: Record<string, string | null>, message = 'change'): string {
  writeFiles(work, files);
  git(work, 'add', '--all');
  git(work, 'commit', '--quiet', '--allow-empty', '-m', message);
  return git(work, 'rev-parse', 'HEAD');
}

export interface Remote {
  /** The bare repository that plays the remote. */
  bare: string;
  /** A working clone of it, for making commits and pushing them. */
  work: string;
  /** The first commit. */
  first: string;
}

/** A bare repository with one commit of `files` on `branch`, and a working clone to push from. */
export function makeRemote(files: Record<string, string>, branch = 'main'): Remote {
  const root = tempDir();
  const bare = join(root, 'remote.git');
  const work = join(root, 'work');
  git(root, 'init', '--quiet', '--bare', `--initial-branch=${branch}`, bare);
  git(bare, 'config', 'uploadpack.allowFilter', 'true');
  git(root, 'init', '--quiet', `--initial-branch=${branch}`, work);
  git(work, 'remote', 'add', 'origin', bare);
  const first = commit(work, files, 'first');
  git(work, 'push', '--quiet', 'origin', branch);
  return { bare, work, first };
}

/** Commits `files` in the working clone and pushes them to the remote; returns the commit. */
export function pushCommit(
  remote: Remote,
  files: Record<string, string | null>,
  message = 'change',
  branch = 'main',
): string {
  const oid = commit(remote.work, files, message);
  git(remote.work, 'push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`);
  return oid;
}

/** The GitOpsError a promise rejects with (any other outcome fails the test). */
export async function failure(promise: Promise<unknown>): Promise<GitOpsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof GitOpsError)) throw new Error(`expected a GitOpsError, got ${String(error)}`);
  return error;
}
