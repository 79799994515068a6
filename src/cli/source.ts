/**
 * What `gitops sync` and `gitops diff` were pointed at: a Git URL, a local Git folder, or a plain
 * folder (no repository). A plain folder is snapshotted into a private temporary repository, so
 * it goes through the same render and sync path as Git; `--follow` snapshots it again at each
 * interval. An ad-hoc application is named after its source, so two repositories synced into one
 * namespace never share an inventory (and never prune each other's objects).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

import { Git, normalizeRepoPath, runGit } from '../git/index.js';
import { ErrorCodes, GitOpsError } from '../runtime/index.js';

/** True when `arg` names a repository or folder rather than an Application in the cluster. */
export function looksLikeSource(arg: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(arg) || /^[^/]+@[^:]+:/.test(arg) || existsSync(arg);
}

/** The last segment of a repository URL or path, without `.git`, and never its credentials. */
function repositoryBase(repo: string): string {
  let path = repo;
  const scp = /^[^/]+@[^:]+:(.*)$/.exec(repo);
  if (scp !== null && !repo.includes('://')) path = scp[1]!;
  else if (repo.includes('://')) {
    try {
      path = new URL(repo).pathname;
    } catch {
      path = '';
    }
  }
  const last =
    path
      .split('/')
      .filter((s) => s !== '')
      .pop() ?? '';
  return last.replace(/\.git$/, '');
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
}

/**
 * `<repo>[-<path>]-<hash8>`: readable, at most 63 characters (a label value), and unique per
 * repository and paths (the hash is of the normalised URL without credentials, and the paths).
 * The branch is not part of it: syncing another branch of the same folder replaces what the
 * first one applied, as one application changing its revision would.
 */
export function adHocApplicationName(repo: string, paths: readonly string[]): string {
  const normalisedPaths = paths.map((p) => normalizeRepoPath(p)).filter((p) => p !== '');
  let key = repo
    .trim()
    .replace(/\/+$/, '')
    .replace(/\.git$/, '');
  try {
    if (key.includes('://')) {
      const url = new URL(key);
      url.username = '';
      url.password = '';
      key = url.href.replace(/\/+$/, '');
    }
  } catch {
    // Not a URL the WHATWG parser reads (e.g. scp-like): hashed as written.
  }
  const hash = createHash('sha256')
    .update(JSON.stringify([key, [...normalisedPaths].sort()]))
    .digest('hex')
    .slice(0, 8);
  const readable = slug([repositoryBase(repo), ...normalisedPaths].join('-'))
    .slice(0, 63 - 9)
    .replace(/-+$/, '');
  return readable === '' ? `app-${hash}` : `${readable}-${hash}`;
}

export interface ResolvedSource {
  /** What the application's `repoURL` is set to. */
  repoURL: string;
  /** Folders inside that repository. */
  paths: string[];
  /** What the application is named after: the URL, or the folder's real path. */
  nameKey: string;
  /** Set for a plain folder: the snapshot repository to refresh and remove. */
  snapshot?: FolderSnapshot;
}

/**
 * A URL as given; a folder inside a Git work tree as that repository (its committed branch) and
 * the folder's place in it; any other folder as a snapshot of its files.
 */
export async function resolveSource(arg: string, paths: readonly string[]): Promise<ResolvedSource> {
  if (!existsSync(arg)) return { repoURL: arg, paths: [...paths], nameKey: arg };
  const dir = await realpath(resolve(arg));
  if (!(await stat(dir)).isDirectory()) {
    throw new GitOpsError(ErrorCodes.Invalid, `${arg} is a file; give its folder (and --path)`, {
      details: { field: '<source>', file: arg },
    });
  }
  const top = await workTreeTop(dir);
  if (top !== undefined) {
    const inside = relative(top, dir).split(sep).join('/');
    const within =
      inside === '' ? [...paths] : (paths.length === 0 ? ['.'] : paths).map((p) => join(inside, p));
    return {
      repoURL: pathToFileURL(top).href,
      paths: within.map((p) => normalizeRepoPath(p) || '.'),
      nameKey: dir,
    };
  }
  const snapshot = await FolderSnapshot.create(dir);
  return { repoURL: pathToFileURL(snapshot.repository).href, paths: [...paths], nameKey: dir, snapshot };
}

async function workTreeTop(dir: string): Promise<string | undefined> {
  try {
    const { stdout } = await runGit(['rev-parse', '--show-toplevel'], { cwd: dir });
    const top = stdout.toString().trim();
    return top === '' ? undefined : await realpath(top);
  } catch {
    return undefined;
  }
}

const SNAPSHOT_IDENTITY = { name: 'gitops', email: 'gitops@localhost' };

/** A private repository holding copies of a folder's files, one commit per change. */
export class FolderSnapshot {
  private constructor(
    readonly folder: string,
    readonly repository: string,
    private readonly git: Git,
  ) {}

  static async create(folder: string): Promise<FolderSnapshot> {
    const repository = await mkdtemp(join(tmpdir(), 'gitops-folder-'));
    try {
      const git = await Git.init(repository, { initialBranch: 'main' });
      const snapshot = new FolderSnapshot(folder, repository, git);
      await snapshot.refresh();
      return snapshot;
    } catch (error) {
      await rm(repository, { recursive: true, force: true });
      throw error;
    }
  }

  /** Copies the folder again; commits when something changed. True when a commit was made. */
  async refresh(): Promise<boolean> {
    for (const entry of await readdir(this.repository)) {
      if (entry !== '.git') await rm(join(this.repository, entry), { recursive: true, force: true });
    }
    // Symbolic links are copied as links (never followed out of the folder); .git folders are left out.
    await cp(this.folder, this.repository, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (source) => basename(source) !== '.git',
    });
    const changed =
      (await this.git.status()).length > 0 || (await this.git.tryRevParse('HEAD')) === undefined;
    if (!changed) return false;
    await this.git.commit({
      message: `snapshot of ${basename(this.folder)}`,
      author: SNAPSHOT_IDENTITY,
      all: true,
      allowEmpty: true,
    });
    return true;
  }

  async close(): Promise<void> {
    await this.git.close();
    await rm(this.repository, { recursive: true, force: true });
  }
}
