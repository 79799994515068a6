/**
 * A typed API over one repository (bare, or a working tree). Every method validates the text
 * it is given before git sees it, puts `--` or `--end-of-options` before caller values, and
 * maps failures to GitOpsError codes. Object reads go through one `git cat-file --batch`
 * process per repository.
 */
import { mkdir, realpath } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';

import { ErrorCodes, GitOpsError, isGitOpsError } from '../runtime/index.js';
import { prepareCredentials, secretsOf } from './credentials.js';
import type { Credentials, PreparedCredentials } from './credentials.js';
import { classifyGitFailure } from './git-error.js';
import { runGit } from './git-process.js';
import type { GitRunOptions, GitRunResult } from './git-process.js';
import { lsRemoteArgs, parseLsRemote } from './ls-remote.js';
import type { LsRemoteOptions, RemoteRef } from './ls-remote.js';
import { GitObjectReader } from './object-reader.js';
import type { GitObject } from './object-reader.js';
import {
  assertBranchName,
  assertIdentity,
  assertRefName,
  assertRefspec,
  assertRemoteName,
  assertRevision,
  isObjectId,
  normalizeRepoPath,
  parseRemoteUrl,
  redactUrl,
} from './validate.js';
import type { ParsedRemoteUrl } from './validate.js';

export interface GitOptions {
  /** Used for every command that talks to a remote (and lazy fetches of partial clones). */
  credentials?: Credentials;
}

export interface Identity {
  name: string;
  email: string;
  /** Defaults to now. */
  date?: Date;
}

export interface TreeEntry {
  /** Six octal digits as git prints them: `100644`, `100755`, `120000`, `040000`, `160000`. */
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  oid: string;
  /** Full path from the repository root. */
  path: string;
}

export type ChangeStatus = 'A' | 'M' | 'D' | 'R';

export interface FileChange {
  status: ChangeStatus;
  path: string;
  /** The path before a rename. */
  oldPath?: string;
  oldOid?: string;
  newOid?: string;
}

export interface CommitInfo {
  oid: string;
  parents: string[];
  author: { name: string; email: string; date: Date };
  committer: { name: string; email: string; date: Date };
  subject: string;
  message: string;
}

export interface CommitOptions {
  message: string;
  author: Identity;
  /** Defaults to the author. */
  committer?: Identity;
  allowEmpty?: boolean;
  /** Stage every change (new, modified, deleted files) before committing. */
  all?: boolean;
  signal?: AbortSignal;
}

export interface FetchOptions {
  /** A remote name or URL; default `origin`. */
  remote?: string;
  refspecs?: string[];
  depth?: number;
  prune?: boolean;
  /** Fetch tags too; off by default. */
  tags?: boolean;
  signal?: AbortSignal;
}

export interface PushOptions {
  remote?: string;
  refspecs: string[];
  /**
   * Refuse to overwrite a remote ref unless it still has the expected value: `true` uses the
   * remote-tracking refs; a list names each ref and its expected object id (null: must not
   * exist yet).
   */
  forceWithLease?: true | Array<{ ref: string; expect: string | null }>;
  force?: boolean;
  atomic?: boolean;
  signal?: AbortSignal;
}

export interface PushedRef {
  /** ` ` fast-forward, `+` forced, `-` deleted, `*` new, `=` up to date, `!` rejected. */
  flag: string;
  from: string;
  to: string;
  summary: string;
}

export interface WorktreeAddOptions {
  /** Start point; default HEAD. */
  rev?: string;
  /** Create (or reset) this branch at `rev` and check it out; otherwise HEAD is detached. */
  branch?: string;
  noCheckout?: boolean;
  signal?: AbortSignal;
}

export interface Worktree {
  path: string;
  head?: string;
  branch?: string;
  bare: boolean;
  detached: boolean;
}

function parseDate(value: string): Date {
  return new Date(value);
}

function identityEnv(author: Identity, committer: Identity): Record<string, string> {
  assertIdentity(author, 'author');
  assertIdentity(committer, 'committer');
  const env: Record<string, string> = {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: committer.name,
    GIT_COMMITTER_EMAIL: committer.email,
  };
  if (author.date !== undefined) env.GIT_AUTHOR_DATE = author.date.toISOString();
  if (committer.date !== undefined) env.GIT_COMMITTER_DATE = committer.date.toISOString();
  return env;
}

function positiveInteger(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new GitOpsError(ErrorCodes.Invalid, `${field} must be a positive integer`, { details: { field } });
  }
  return value;
}

const TREE_MODES: Record<string, TreeEntry['type']> = { '40000': 'tree', '160000': 'commit' };

export class Git {
  private reader: GitObjectReader | undefined;
  private readerEnv: Promise<Record<string, string>> | undefined;
  private readonly prepared = new Map<string, Promise<PreparedCredentials>>();
  // Credentials of a replaced remote URL; a running child may still use their files.
  private readonly retired: Promise<PreparedCredentials>[] = [];
  private emptyTree: string | undefined;
  private closed = false;

  private constructor(
    /** Absolute, real path of the repository (the git dir when bare, else the working tree). */
    readonly dir: string,
    readonly bare: boolean,
    private readonly options: GitOptions,
  ) {}

  /** Opens the repository at exactly `dir` (never a parent of it). */
  static async open(dir: string, options: GitOptions = {}): Promise<Git> {
    let real: string;
    try {
      real = await realpath(resolve(dir));
    } catch (cause) {
      throw new GitOpsError(ErrorCodes.NotFound, `repository folder ${dir} does not exist`, {
        details: { file: dir },
        cause,
      });
    }
    const { stdout } = await runGit(['rev-parse', '--is-bare-repository'], { cwd: real }).catch(
      (cause: unknown) => {
        if (!isGitOpsError(cause, ErrorCodes.NotFound)) throw cause;
        throw new GitOpsError(ErrorCodes.NotFound, `${dir} is not the top of a git repository`, {
          details: { file: dir },
          cause,
        });
      },
    );
    return new Git(real, stdout.toString().trim() === 'true', options);
  }

  /** Creates a repository at `dir` (created if missing) and opens it. */
  static async init(
    dir: string,
    options: GitOptions & { bare?: boolean; initialBranch?: string } = {},
  ): Promise<Git> {
    const branch = assertBranchName(options.initialBranch ?? 'main', 'initialBranch');
    const target = resolve(dir);
    await mkdir(target, { recursive: true });
    const args = ['init', '--quiet', `--initial-branch=${branch}`];
    if (options.bare === true) args.push('--bare');
    await runGit([...args, '--', target], { cwd: target });
    return Git.open(target, options);
  }

  /**
   * Runs `git <args>` in this repository, with the hardened environment. A low-level escape
   * hatch: callers must keep their own text out of option positions (`--`, validation).
   */
  run(args: readonly string[], options: Omit<GitRunOptions, 'cwd'> = {}): Promise<GitRunResult> {
    if (this.closed) return Promise.reject(new GitOpsError(ErrorCodes.Aborted, 'this Git handle is closed'));
    return runGit(args, {
      ...options,
      cwd: this.dir,
      secrets: [...secretsOf(this.options.credentials), ...(options.secrets ?? [])],
    });
  }

  /** Like run(), with the credentials for `remote` in the child's environment. */
  private async runRemote(
    remote: string,
    args: readonly string[],
    options: Omit<GitRunOptions, 'cwd'> = {},
  ): Promise<GitRunResult> {
    const prepared = await this.credentialsFor(remote);
    return this.run(args, {
      ...options,
      env: { ...prepared.env, ...options.env },
      secrets: [...prepared.secrets, ...(options.secrets ?? [])],
    });
  }

  private async credentialsFor(remote: string): Promise<PreparedCredentials> {
    const credentials = this.options.credentials;
    if (credentials === undefined || credentials.type === 'none')
      return prepareCredentials(undefined, undefined);
    const url = await this.remoteUrl(remote);
    let prepared = this.prepared.get(url.url);
    if (prepared === undefined) {
      prepared = prepareCredentials(credentials, url);
      this.prepared.set(url.url, prepared);
      prepared.catch(() => this.prepared.delete(url.url));
    }
    return prepared;
  }

  /** Checks a remote given as a name or a URL, without reading the configuration. */
  private checkRemote(remote: string): string {
    if (remote.includes('/') || remote.includes(':')) parseRemoteUrl(remote, 'remote');
    else assertRemoteName(remote);
    return remote;
  }

  /** Resolves a remote name (via this repository's config) or checks a URL. */
  async remoteUrl(remote: string): Promise<ParsedRemoteUrl> {
    if (remote.includes('/') || remote.includes(':')) return parseRemoteUrl(remote, 'remote');
    assertRemoteName(remote);
    const { stdout, exitCode } = await this.run(['config', '--get', `remote.${remote}.url`], {
      okExitCodes: [1],
    });
    if (exitCode === 1) {
      throw new GitOpsError(ErrorCodes.NotFound, `the repository has no remote named "${remote}"`, {
        details: { remote, file: this.dir },
      });
    }
    return parseRemoteUrl(stdout.toString().trim(), 'remote');
  }

  /** Adds or changes a remote's URL (checked first; passwords inside URLs are refused). */
  async setRemote(name: string, url: string): Promise<void> {
    assertRemoteName(name);
    parseRemoteUrl(url);
    await this.run(['config', '--', `remote.${name}.url`, url]);
    this.retired.push(...this.prepared.values());
    this.prepared.clear();
  }

  /** The object id `rev` names, peeled to a commit unless `peel` is false. NotFound if none. */
  async revParse(rev: string, options: { peel?: boolean } = {}): Promise<string> {
    const found = await this.tryRevParse(rev, options);
    if (found === undefined) {
      throw new GitOpsError(ErrorCodes.NotFound, `revision ${JSON.stringify(rev)} does not exist`, {
        details: { revision: rev, file: this.dir },
      });
    }
    return found;
  }

  /** Like revParse(), with undefined for a revision that does not exist. */
  async tryRevParse(rev: string, options: { peel?: boolean } = {}): Promise<string | undefined> {
    assertRevision(rev);
    const spec = options.peel === false ? rev : `${rev}^{commit}`;
    const { stdout, exitCode } = await this.run(
      ['rev-parse', '--verify', '--quiet', '--end-of-options', spec],
      {
        okExitCodes: [1],
      },
    );
    return exitCode === 0 ? stdout.toString().trim() : undefined;
  }

  /** True when `ancestor` is reachable from `descendant` (or equal to it). */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    assertRevision(ancestor);
    assertRevision(descendant);
    const { exitCode } = await this.run(
      ['merge-base', '--is-ancestor', '--end-of-options', ancestor, descendant],
      {
        okExitCodes: [1],
      },
    );
    return exitCode === 0;
  }

  /** The shared cat-file process, once the first object has been read. */
  get objectReader(): GitObjectReader | undefined {
    return this.reader;
  }

  /** Reads one object by id or `<rev>:<path>`; undefined when it does not exist. */
  async readObject(spec: string): Promise<GitObject | undefined> {
    if (this.closed) throw new GitOpsError(ErrorCodes.Aborted, 'this Git handle is closed');
    let name = spec;
    if (!isObjectId(spec)) {
      const colon = spec.indexOf(':');
      if (colon === -1) assertRevision(spec, 'object');
      // Normalised, because git reads `rev:./x` relative to the current folder.
      else
        name = `${assertRevision(spec.slice(0, colon), 'object')}:${normalizeRepoPath(spec.slice(colon + 1))}`;
    }
    if (this.reader === undefined) {
      // The origin's credentials let a partial clone fetch missing blobs on demand.
      this.readerEnv ??= this.credentialsFor('origin').then(
        (p) => p.env,
        () => ({}),
      );
      const env = await this.readerEnv;
      this.reader ??= new GitObjectReader({ cwd: this.dir, env });
    }
    return this.reader.read(name);
  }

  /** The bytes of the file at `path` in `rev`, read without a checkout. */
  async readBlob(rev: string, path: string): Promise<Buffer> {
    assertRevision(rev);
    const file = normalizeRepoPath(path);
    if (file === '')
      throw new GitOpsError(ErrorCodes.Invalid, 'a file path is required', { details: { field: 'path' } });
    const object = await this.readObject(`${rev}:${file}`);
    if (object === undefined) {
      throw new GitOpsError(ErrorCodes.NotFound, `${file} does not exist at ${rev}`, {
        details: { file, revision: rev },
      });
    }
    if (object.type !== 'blob') {
      throw new GitOpsError(ErrorCodes.Invalid, `${file} at ${rev} is a ${object.type}, not a file`, {
        details: { file, revision: rev },
      });
    }
    return object.content;
  }

  /**
   * The entries under `path` (default: the root) in `rev`. Recursive by default, listing files
   * (and submodule commits) with their full paths, like `git ls-tree -r`.
   */
  async readTree(rev: string, path = '', options: { recursive?: boolean } = {}): Promise<TreeEntry[]> {
    assertRevision(rev);
    const base = normalizeRepoPath(path);
    const root = await this.readObject(`${rev}:${base}`);
    if (root === undefined) {
      throw new GitOpsError(
        ErrorCodes.NotFound,
        `${base === '' ? 'the root tree' : base} does not exist at ${rev}`,
        {
          details: { file: base, revision: rev },
        },
      );
    }
    if (root.type !== 'tree') {
      throw new GitOpsError(ErrorCodes.Invalid, `${base} at ${rev} is a ${root.type}, not a directory`, {
        details: { file: base, revision: rev },
      });
    }
    return this.walkTree(root, base, options.recursive ?? true);
  }

  private async walkTree(tree: GitObject, base: string, recursive: boolean): Promise<TreeEntry[]> {
    const entries = parseTree(tree.content, tree.oid.length / 2, base);
    if (!recursive) return entries;
    const expanded = await Promise.all(
      entries.map(async (entry) => {
        if (entry.type !== 'tree') return [entry];
        const sub = await this.readObject(entry.oid);
        if (sub === undefined || sub.type !== 'tree') {
          throw new GitOpsError(ErrorCodes.GitError, `tree ${entry.oid} at ${entry.path} is missing`, {
            details: { file: entry.path },
          });
        }
        return this.walkTree(sub, entry.path, true);
      }),
    );
    return expanded.flat();
  }

  private async emptyTreeId(): Promise<string> {
    if (this.emptyTree === undefined) {
      const { stdout } = await this.run(['hash-object', '-t', 'tree', '--stdin'], { input: '' });
      this.emptyTree = stdout.toString().trim();
    }
    return this.emptyTree;
  }

  /**
   * The files that differ between two revisions (`from` undefined: everything in `to` is
   * added). Renames are detected unless `renames` is false; `paths` limits the comparison.
   */
  async diffNames(
    from: string | undefined,
    to: string,
    options: { paths?: string[]; renames?: boolean; signal?: AbortSignal } = {},
  ): Promise<FileChange[]> {
    const left = from === undefined ? await this.emptyTreeId() : assertRevision(from);
    assertRevision(to);
    const paths = (options.paths ?? []).map((p) => normalizeRepoPath(p)).filter((p) => p !== '');
    const args = ['diff-tree', '-r', '-z', '--raw', '--no-abbrev', '--no-commit-id'];
    args.push(options.renames === false ? '--no-renames' : '-M');
    args.push('--end-of-options', left, to, '--', ...paths);
    const { stdout } = await this.run(args, { signal: options.signal });
    return parseRawDiff(stdout.toString('utf8'));
  }

  /** Commits that touched `path` (or all), newest first. */
  async log(
    options: { rev?: string; path?: string; max?: number; follow?: boolean; signal?: AbortSignal } = {},
  ): Promise<CommitInfo[]> {
    const rev = assertRevision(options.rev ?? 'HEAD');
    const fields = ['%H', '%P', '%an', '%ae', '%aI', '%cn', '%ce', '%cI', '%B'];
    const args = ['log', `--format=${fields.join('%x00')}%x00`];
    if (options.max !== undefined) args.push(`--max-count=${positiveInteger(options.max, 'max')}`);
    let path: string | undefined;
    if (options.path !== undefined) {
      path = normalizeRepoPath(options.path);
      if (options.follow === true && path !== '') args.push('--follow');
    }
    args.push('--end-of-options', rev, '--');
    if (path !== undefined && path !== '') args.push(path);
    const { stdout } = await this.run(args, { signal: options.signal });
    const tokens = stdout.toString('utf8').split('\0');
    const commits: CommitInfo[] = [];
    for (let i = 0; i + fields.length <= tokens.length; i += fields.length) {
      const [oid, parents, an, ae, ad, cn, ce, cd, body] = tokens.slice(i, i + fields.length) as string[] as [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      const message = body.replace(/\n+$/, '');
      commits.push({
        oid: oid.replace(/^\n/, ''),
        parents: parents === '' ? [] : parents.split(' '),
        author: { name: an, email: ae, date: parseDate(ad) },
        committer: { name: cn, email: ce, date: parseDate(cd) },
        subject: message.split('\n')[0] ?? '',
        message,
      });
    }
    return commits;
  }

  /** Paths with changes in the working tree or index (`git status`), empty when clean. */
  async status(): Promise<Array<{ code: string; path: string }>> {
    const { stdout } = await this.run(['status', '--porcelain=v1', '-z', '--untracked-files=all']);
    const tokens = stdout.toString('utf8').split('\0');
    const out: Array<{ code: string; path: string }> = [];
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i] as string;
      if (token.length < 4) continue;
      const code = token.slice(0, 2);
      out.push({ code, path: token.slice(3) });
      // A rename or copy is followed by its old path.
      if (code.includes('R') || code.includes('C')) i++;
    }
    return out;
  }

  /** Stages `paths` (default: every change in the working tree, including deletions). */
  async add(paths?: string[]): Promise<void> {
    const files = (paths ?? []).map((p) => normalizeRepoPath(p));
    await this.run([
      'add',
      '--all',
      '--',
      ...(paths === undefined ? ['.'] : files.map((f) => (f === '' ? '.' : f))),
    ]);
  }

  /** Commits the index with the given identities; returns the new commit id. */
  async commit(options: CommitOptions): Promise<string> {
    if (options.message.trim() === '') {
      throw new GitOpsError(ErrorCodes.Invalid, 'a commit message is required', {
        details: { field: 'message' },
      });
    }
    const env = identityEnv(options.author, options.committer ?? options.author);
    if (options.all === true) await this.add();
    const args = ['commit', '--quiet', '--no-edit', '--cleanup=whitespace', '--file=-'];
    if (options.allowEmpty === true) args.push('--allow-empty');
    await this.run(args, { env, input: options.message, signal: options.signal });
    return this.revParse('HEAD');
  }

  /** Checks out `rev` in the working tree; with `branch`, creates or resets that branch there. */
  async checkout(
    rev: string,
    options: { branch?: string; force?: boolean; signal?: AbortSignal } = {},
  ): Promise<void> {
    assertRevision(rev);
    const args = ['checkout', '--quiet'];
    if (options.force === true) args.push('--force');
    if (options.branch !== undefined) args.push('-B', assertBranchName(options.branch));
    else if (!isBranchLike(rev)) args.push('--detach');
    args.push(rev, '--');
    await this.run(args, { signal: options.signal });
  }

  /** Adds a working tree at `path` (an absolute folder outside this one) and opens it. */
  async worktreeAdd(path: string, options: WorktreeAddOptions = {}): Promise<Git> {
    if (!isAbsolute(path)) {
      throw new GitOpsError(ErrorCodes.Invalid, 'the worktree path must be absolute', {
        details: { field: 'path' },
      });
    }
    const rev = assertRevision(options.rev ?? 'HEAD');
    const args = ['worktree', 'add', '--quiet'];
    if (options.branch !== undefined) args.push('-B', assertBranchName(options.branch));
    else args.push('--detach');
    if (options.noCheckout === true) args.push('--no-checkout');
    args.push('--', path, rev);
    await this.run(args, { signal: options.signal });
    return Git.open(path, this.options);
  }

  /** Removes the working tree at `path`; `force` discards its changes. */
  async worktreeRemove(path: string, options: { force?: boolean } = {}): Promise<void> {
    const args = ['worktree', 'remove'];
    if (options.force === true) args.push('--force');
    await this.run([...args, '--', path]);
  }

  /** Forgets working trees whose folders are gone. */
  async worktreePrune(): Promise<void> {
    await this.run(['worktree', 'prune']);
  }

  async worktreeList(): Promise<Worktree[]> {
    const { stdout } = await this.run(['worktree', 'list', '--porcelain', '-z']);
    const list: Worktree[] = [];
    let current: Worktree | undefined;
    for (const line of stdout.toString('utf8').split('\0')) {
      if (line === '') {
        if (current !== undefined) list.push(current);
        current = undefined;
        continue;
      }
      const space = line.indexOf(' ');
      const key = space === -1 ? line : line.slice(0, space);
      const value = space === -1 ? '' : line.slice(space + 1);
      if (key === 'worktree') current = { path: value, bare: false, detached: false };
      else if (current === undefined) continue;
      else if (key === 'HEAD') current.head = value;
      else if (key === 'branch') current.branch = value.replace(/^refs\/heads\//, '');
      else if (key === 'bare') current.bare = true;
      else if (key === 'detached') current.detached = true;
    }
    if (current !== undefined) list.push(current);
    return list;
  }

  /** Fetches from a remote (default `origin`) with this handle's credentials. */
  async fetch(options: FetchOptions = {}): Promise<void> {
    const remote = this.checkRemote(options.remote ?? 'origin');
    const args = ['fetch', '--quiet', options.tags === true ? '--tags' : '--no-tags'];
    if (options.depth !== undefined) args.push(`--depth=${positiveInteger(options.depth, 'depth')}`);
    if (options.prune === true) args.push('--prune');
    const refspecs = (options.refspecs ?? []).map((r) => assertRefspec(r));
    await this.runRemote(remote, [...args, '--', remote, ...refspecs], { signal: options.signal });
  }

  /** The refs of a remote (default `origin`) with this handle's credentials, without fetching; see lsRemote(). */
  async lsRemote(
    options: Omit<LsRemoteOptions, 'credentials'> & { remote?: string } = {},
  ): Promise<RemoteRef[]> {
    const remote = this.checkRemote(options.remote ?? 'origin');
    const { stdout } = await this.runRemote(remote, lsRemoteArgs(remote, options), {
      signal: options.signal,
    });
    return parseLsRemote(stdout.toString('utf8'));
  }

  /**
   * Pushes refspecs. A rejected ref (non-fast-forward, stale lease, refused by the server)
   * raises PushRejected with every ref's result in `details.refs`.
   */
  async push(options: PushOptions): Promise<PushedRef[]> {
    const remote = this.checkRemote(options.remote ?? 'origin');
    if (options.refspecs.length === 0) {
      throw new GitOpsError(ErrorCodes.Invalid, 'push needs at least one refspec', {
        details: { field: 'refspecs' },
      });
    }
    const refspecs = options.refspecs.map((r) => assertRefspec(r));
    const args = ['push', '--porcelain'];
    if (options.atomic === true) args.push('--atomic');
    if (options.force === true) args.push('--force');
    if (options.forceWithLease === true) args.push('--force-with-lease');
    else if (options.forceWithLease !== undefined) {
      for (const lease of options.forceWithLease) {
        assertRefName(lease.ref, 'forceWithLease.ref');
        if (lease.expect !== null && !isObjectId(lease.expect)) {
          throw new GitOpsError(ErrorCodes.Invalid, 'forceWithLease.expect must be an object id or null', {
            details: { field: 'forceWithLease.expect' },
          });
        }
        args.push(`--force-with-lease=${lease.ref}:${lease.expect ?? ''}`);
      }
    }
    const prepared = await this.credentialsFor(remote);
    const secrets = [...prepared.secrets, ...secretsOf(this.options.credentials)];
    const fullArgs = [...args, '--', remote, ...refspecs];
    const result = await this.run(fullArgs, {
      env: prepared.env,
      secrets,
      signal: options.signal,
      okExitCodes: [1],
    });
    const refs = parsePorcelainPush(result.stdout.toString('utf8'));
    if (result.exitCode === 0) return refs;
    const rejected = refs.filter((r) => r.flag === '!');
    if (rejected.length === 0) {
      throw classifyGitFailure({
        command: 'push',
        args: fullArgs,
        exitCode: result.exitCode,
        signal: null,
        stderr: result.stderr,
        secrets,
        cwd: this.dir,
      });
    }
    const url = await this.remoteUrl(remote).then(
      (u) => redactUrl(u.url),
      () => remote,
    );
    const what = rejected.map((r) => `${r.to} ${r.summary}`).join(', ');
    throw new GitOpsError(
      ErrorCodes.PushRejected,
      `push to ${url} was rejected: ${what} (the remote branch moved or refused the update; fetch, rebase or merge, and push again)`,
      { details: { command: 'git push', refs, remote: url, file: this.dir } },
    );
  }

  /** Stops the cat-file process and deletes private credential files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.reader?.close();
    const prepared = [...this.prepared.values(), ...this.retired.splice(0)];
    this.prepared.clear();
    await Promise.all(prepared.map((p) => p.then((c) => c.dispose()).catch(() => {})));
  }
}

function isBranchLike(rev: string): boolean {
  return !isObjectId(rev) && !/[~^]/.test(rev) && !rev.startsWith('refs/') && rev !== 'HEAD';
}

function parseTree(content: Buffer, oidBytes: number, base: string): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let at = 0;
  while (at < content.length) {
    const space = content.indexOf(0x20, at);
    const nul = content.indexOf(0, space + 1);
    if (space === -1 || nul === -1) break;
    const rawMode = content.subarray(at, space).toString('ascii');
    const name = content.subarray(space + 1, nul).toString('utf8');
    const oid = content.subarray(nul + 1, nul + 1 + oidBytes).toString('hex');
    at = nul + 1 + oidBytes;
    entries.push({
      mode: rawMode.padStart(6, '0'),
      type: TREE_MODES[rawMode] ?? 'blob',
      oid,
      path: base === '' ? name : `${base}/${name}`,
    });
  }
  return entries;
}

const ZERO_OID = /^0+$/;

function parseRawDiff(output: string): FileChange[] {
  const tokens = output.split('\0');
  const changes: FileChange[] = [];
  let i = 0;
  while (i < tokens.length) {
    const meta = tokens[i++] as string;
    if (!meta.startsWith(':')) continue;
    const [, , oldOid = '', newOid = '', rawStatus = ''] = meta.slice(1).split(' ');
    const letter = rawStatus.charAt(0);
    const oids = {
      ...(ZERO_OID.test(oldOid) ? {} : { oldOid }),
      ...(ZERO_OID.test(newOid) ? {} : { newOid }),
    };
    if (letter === 'R' || letter === 'C') {
      const oldPath = tokens[i++] as string;
      const path = tokens[i++] as string;
      changes.push(letter === 'R' ? { status: 'R', path, oldPath, ...oids } : { status: 'A', path, ...oids });
      continue;
    }
    const path = tokens[i++] as string;
    const status: ChangeStatus = letter === 'A' || letter === 'D' ? letter : 'M';
    changes.push({ status, path, ...oids });
  }
  return changes;
}

function parsePorcelainPush(output: string): PushedRef[] {
  const refs: PushedRef[] = [];
  for (const line of output.split('\n')) {
    const match = /^(.)\t([^:\t]*):([^\t]*)\t(.*)$/.exec(line);
    if (match === null) continue;
    const [, flag = '', from = '', to = '', summary = ''] = match;
    refs.push({ flag, from, to, summary });
  }
  return refs;
}
