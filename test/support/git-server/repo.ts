/**
 * Bare repositories for tests, and the changes "another person" makes to them: each change is
 * made in a fresh clone of its own and pushed, through whatever remote the test names, exactly
 * as a colleague's push would arrive.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

import { ErrorCodes, GitOpsError } from '../../../src/runtime/errors.js';
import { ownedTempDir } from './cleanup.js';
import { defaultAuthor, isolatedGitEnv, runGit, tryGit } from './git-command.js';
import type { CommitAuthor } from './git-command.js';

export type Transport = 'git' | 'http' | 'ssh';

/** How to reach one repository: its URL and the environment git needs for it (keys, credentials). */
export interface GitRemote {
  transport: Transport | 'file';
  url: string;
  env: Record<string, string>;
}

export interface BareRepo {
  /** Absolute path of the bare repository. */
  path: string;
  /** The branch HEAD points to. */
  branch: string;
  /** The initial commit. */
  head: string;
  /** The repository reached by its path, with no server in between. */
  file: GitRemote;
}

/** File contents by slash-separated path relative to the repository root. */
export type FileTree = Record<string, string | Uint8Array>;

export interface RepoContent {
  /** Files of the initial commit. */
  files?: FileTree;
  /** A folder whose files (without any `.git`) make the initial commit; combined with `files`. */
  fromDir?: string;
  /** Default branch; `main` unless told. */
  branch?: string;
  message?: string;
  author?: CommitAuthor;
}

export interface CreateBareRepoOptions extends RepoContent {
  /** Where to create it; a new temporary folder (removed at exit) unless told. */
  path?: string;
}

export interface Change {
  /** Files to write (created or replaced). */
  files?: FileTree;
  /** Files or folders to delete. */
  delete?: string[];
  message?: string;
  author?: CommitAuthor;
  /** The branch to commit to; `main` unless told. */
  branch?: string;
  /**
   * For a branch the remote does not have yet: the remote branch it starts from. Unless told, the
   * remote's default branch, or an empty history if the remote has none.
   */
  from?: string;
}

export interface ForcePushChange extends Change {
  /**
   * The commit the rewritten branch is built on: a revision of the remote (e.g. `main~2`), or
   * `null` for a new history with no parent. Unless told, the parent of the branch's tip, so the
   * tip disappears from the history.
   */
  onto?: string | null;
}

/** A remote given as a GitRemote, anything that carries one as `file` (a BareRepo), or a path/URL. */
export type RemoteLike = GitRemote | { file: GitRemote } | string;

function toRemote(remote: RemoteLike): GitRemote {
  if (typeof remote === 'string') return { transport: 'file', url: remote, env: {} };
  return 'url' in remote ? remote : remote.file;
}

let scratchRoot: Promise<string> | undefined;

/** A private folder for clones, inside one per-process temporary root removed at exit. */
async function scratchDir(kind: string): Promise<string> {
  scratchRoot ??= ownedTempDir();
  return mkdtemp(join(await scratchRoot, `${kind}-`));
}

/**
 * Refuses a branch name git would read as an option or reject, before it reaches any command:
 * git's ref-name rules on top of a conservative set of characters.
 */
export function checkBranchName(branch: string): void {
  const parts = branch.split('/');
  const valid =
    /^[A-Za-z0-9._/-]+$/.test(branch) &&
    !branch.startsWith('-') &&
    !branch.includes('..') &&
    !branch.endsWith('.') &&
    parts.every((part) => part !== '' && !part.startsWith('.') && !part.endsWith('.lock'));
  if (!valid) {
    throw new GitOpsError(ErrorCodes.InvalidName, `"${branch}" is not a valid branch name`, {
      details: { field: 'branch' },
    });
  }
}

/** Resolves a relative file path inside `root`, refusing anything that would leave it or touch `.git`. */
function insideRoot(root: string, path: string): string {
  const target = resolve(root, path);
  const rel = relative(root, target);
  const parts = rel.split(sep);
  if (isAbsolute(path) || rel === '' || rel.startsWith('..') || isAbsolute(rel) || parts.includes('.git')) {
    throw new GitOpsError(
      ErrorCodes.PathEscape,
      `file path "${path}" must be relative and stay inside the repository`,
      {
        details: { file: path },
      },
    );
  }
  return target;
}

async function writeTree(root: string, files: FileTree): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const target = insideRoot(root, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  }
}

/** Makes a bare repository whose branch holds one commit of the given files. */
export async function createBareRepo(options: CreateBareRepoOptions = {}): Promise<BareRepo> {
  const branch = options.branch ?? 'main';
  checkBranchName(branch);
  const path = options.path ?? join(await scratchDir('bare'), 'repo.git');
  const env = isolatedGitEnv({}, options.author);
  await runGit(['init', '--quiet', '--bare', `--initial-branch=${branch}`, '--', path], { env });
  const work = await scratchDir('init');
  try {
    // The commit is built from a separate index and work tree so the bare repository stays bare.
    const indexEnv = { ...env, GIT_DIR: path, GIT_INDEX_FILE: join(work, 'index') };
    const trees = [options.fromDir, options.files === undefined ? undefined : join(work, 'files')];
    if (options.files !== undefined) await writeTree(join(work, 'files'), options.files);
    for (const tree of trees) {
      if (tree === undefined) continue;
      // --ignore-removal: a second tree adds to the first instead of replacing it.
      await runGit(['--work-tree', tree, 'add', '--ignore-removal', '--', '.'], { cwd: tree, env: indexEnv });
    }
    const treeId = (await runGit(['write-tree'], { cwd: work, env: indexEnv })).trim();
    const head = (
      await runGit(['commit-tree', '-m', options.message ?? 'Initial commit', treeId], {
        cwd: work,
        env: indexEnv,
      })
    ).trim();
    await runGit(['update-ref', `refs/heads/${branch}`, head], { cwd: work, env: indexEnv });
    return { path, branch, head, file: { transport: 'file', url: path, env: {} } };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

interface WorkClone {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** The tip the remote had for the branch, if it had the branch. */
  tip: string | undefined;
}

async function cloneForWork(remote: GitRemote, change: Change): Promise<WorkClone> {
  const branch = change.branch ?? 'main';
  checkBranchName(branch);
  if (change.from !== undefined) checkBranchName(change.from);
  const dir = join(await scratchDir('clone'), 'work');
  const env = isolatedGitEnv(remote.env, change.author ?? defaultAuthor);
  await runGit(['clone', '--quiet', '--no-checkout', '--', remote.url, dir], { env });
  const tipOf = async (name: string): Promise<string | undefined> => {
    const found = await tryGit(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${name}^{commit}`], {
      cwd: dir,
      env,
    });
    return 'stdout' in found ? found.stdout.trim() : undefined;
  };
  const tip = await tipOf(branch);
  return { dir, env, tip };
}

async function commitAndPush(
  work: WorkClone,
  change: Change,
  start: string | null,
  force: boolean,
  defaultMessage: string,
): Promise<string> {
  const { dir, env } = work;
  const branch = change.branch ?? 'main';
  if (start === null) {
    // An orphan branch starts with the files of the commit it left; a new history starts empty.
    await runGit(['checkout', '--quiet', '--orphan', branch], { cwd: dir, env });
    await runGit(['rm', '-r', '-f', '--quiet', '--ignore-unmatch', '--', '.'], { cwd: dir, env });
  } else await runGit(['checkout', '--quiet', '-B', branch, start], { cwd: dir, env });
  for (const path of change.delete ?? []) {
    await rm(insideRoot(dir, path), { recursive: true, force: true });
  }
  await writeTree(dir, change.files ?? {});
  await runGit(['add', '--all'], { cwd: dir, env });
  await runGit(
    ['commit', '--quiet', '--allow-empty', '--no-verify', '-m', change.message ?? defaultMessage],
    {
      cwd: dir,
      env,
    },
  );
  const sha = (await runGit(['rev-parse', 'HEAD'], { cwd: dir, env })).trim();
  const push = ['push', '--quiet', ...(force ? ['--force'] : []), 'origin', `HEAD:refs/heads/${branch}`];
  await runGit(push, { cwd: dir, env });
  return sha;
}

async function removeClone(work: WorkClone): Promise<void> {
  await rm(dirname(work.dir), { recursive: true, force: true });
}

/**
 * Commits `change` on top of the remote's branch from a fresh clone and pushes it (a fast-forward).
 * Returns the new commit id.
 */
export async function pushCommit(remote: RemoteLike, change: Change): Promise<string> {
  const work = await cloneForWork(toRemote(remote), change);
  try {
    let start: string | null = work.tip ?? null;
    if (start === null && change.from !== undefined) start = await resolveOnto(work, change.from);
    else if (start === null) start = await resolveOnto(work, 'HEAD').catch(() => null);
    return await commitAndPush(work, change, start, false, 'Change files');
  } finally {
    await removeClone(work);
  }
}

/**
 * Rewrites the remote's branch: a new commit on `onto` (by default the tip's parent) pushed with
 * --force, so the old tip is no longer in the branch's history. Returns the new commit id.
 */
export async function forcePush(remote: RemoteLike, change: ForcePushChange = {}): Promise<string> {
  const work = await cloneForWork(toRemote(remote), change);
  try {
    let start: string | null;
    if (change.onto === null) start = null;
    else if (change.onto !== undefined) start = await resolveOnto(work, change.onto);
    else if (work.tip === undefined) start = null;
    else start = await resolveOnto(work, `${work.tip}^`).catch(() => null);
    return await commitAndPush(work, change, start, true, 'Rewrite history');
  } finally {
    await removeClone(work);
  }
}

async function resolveOnto(work: WorkClone, onto: string): Promise<string> {
  if (onto.startsWith('-') || onto.includes('..')) {
    throw new GitOpsError(ErrorCodes.Invalid, `"${onto}" is not a revision to rewrite onto`, {
      details: { field: 'onto' },
    });
  }
  // A branch name of the remote is found under origin/; anything else (a commit id, `x~1`) as given.
  for (const candidate of [`refs/remotes/origin/${onto}`, onto]) {
    const found = await tryGit(['rev-parse', '--verify', '--quiet', `${candidate}^{commit}`], {
      cwd: work.dir,
      env: work.env,
    });
    if ('stdout' in found) return found.stdout.trim();
  }
  throw new GitOpsError(ErrorCodes.NotFound, `revision "${onto}" is not in the remote`, {
    details: { field: 'onto' },
  });
}

/** Deletes a branch of the remote by pushing its deletion, as a person would. */
export async function deleteBranch(remote: RemoteLike, branch: string): Promise<void> {
  checkBranchName(branch);
  const target = toRemote(remote);
  const dir = await scratchDir('delete');
  try {
    const env = isolatedGitEnv(target.env);
    await runGit(['init', '--quiet'], { cwd: dir, env });
    await runGit(['push', '--quiet', '--', target.url, `:refs/heads/${branch}`], { cwd: dir, env });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The commit the remote's branch points to, or undefined if the remote has no such branch. */
export async function headOf(remote: RemoteLike, branch = 'main'): Promise<string | undefined> {
  checkBranchName(branch);
  const target = toRemote(remote);
  const ref = `refs/heads/${branch}`;
  const out = await runGit(['ls-remote', '--', target.url, ref], {
    cwd: await (scratchRoot ??= ownedTempDir()),
    env: isolatedGitEnv(target.env),
  });
  for (const line of out.split('\n')) {
    const [sha, name] = line.split('\t');
    if (name === ref && sha) return sha;
  }
  return undefined;
}
