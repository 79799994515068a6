/**
 * A raw storage whose files are the blobs of one Git revision, read from git objects without a
 * checkout. It keeps the map path -> blob id of its revision and moves to the next revision by
 * applying that revision's diff, so only changed paths are ever read again. The blob id is the
 * file's checksum: the same bytes always have the same id. Read-only: writes go through
 * transactions, each over its own view of a revision.
 */
import type { FileChange, Git } from '../git/index.js';
import { normalizeRepoPath } from '../git/index.js';
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import type { KubeObject, ObjectKey } from '../runtime/index.js';
import { contentTypeOf } from '../serializer/index.js';
import type { ContentType } from '../serializer/index.js';
import { isIgnoredByDefault } from '../storage/index.js';
import type { FileContent, RawStorage } from '../storage/index.js';

// Regular files only: symlinks (120000) and submodules (160000) hold no manifest text.
const FILE_MODES = new Set(['100644', '100755']);

export interface GitTreeRawStorageOptions {
  /** A folder of the repository to serve as the root; default the repository root. */
  subdirectory?: string;
  /** More paths (relative to the root) to leave alone, besides hidden and swap files. */
  ignore?: (path: string) => boolean;
  /** Serve only these paths (relative to the root), e.g. to read one file at an old revision. */
  only?: readonly string[];
}

export class GitTreeRawStorage implements RawStorage {
  readonly multiObjectFiles = true;
  readonly #repo: Git;
  readonly #prefix: string;
  readonly #ignore: ((path: string) => boolean) | undefined;
  readonly #only: ReadonlySet<string> | undefined;
  /** Path (relative to the root) -> blob id, at #revision. */
  readonly #files = new Map<string, string>();
  #revision: string;
  #reads = 0;

  private constructor(repo: Git, revision: string, options: GitTreeRawStorageOptions) {
    this.#repo = repo;
    this.#revision = revision;
    const sub = normalizeRepoPath(options.subdirectory ?? '', 'subdirectory');
    this.#prefix = sub === '' ? '' : `${sub}/`;
    this.#ignore = options.ignore;
    this.#only = options.only === undefined ? undefined : new Set(options.only);
  }

  /** The files of `revision` (a commit id). A missing subdirectory is an empty storage. */
  static async at(
    repo: Git,
    revision: string,
    options: GitTreeRawStorageOptions = {},
  ): Promise<GitTreeRawStorage> {
    const storage = new GitTreeRawStorage(repo, revision, options);
    const sub = storage.#prefix.slice(0, -1);
    const exists = sub === '' || (await repo.readObject(`${revision}:${sub}`))?.type === 'tree';
    if (exists) {
      for (const entry of await repo.readTree(revision, sub)) {
        const path = storage.#relative(entry.path);
        if (path !== undefined && FILE_MODES.has(entry.mode)) storage.#files.set(path, entry.oid);
      }
    }
    return storage;
  }

  /** The clone's folder; nothing is read from it as files. */
  get root(): string {
    return this.#repo.dir;
  }

  get revision(): string {
    return this.#revision;
  }

  /** How many file contents were read (each one decoded once by the object storage). */
  get reads(): number {
    return this.#reads;
  }

  /**
   * Moves to `revision` by applying its diff from the current one; returns the paths (relative
   * to the root) whose content changed, appeared or went away.
   */
  advance(revision: string, changes: readonly FileChange[]): string[] {
    const touched = new Set<string>();
    const drop = (repoPath: string | undefined): void => {
      const path = repoPath === undefined ? undefined : this.#relative(repoPath);
      if (path === undefined) return;
      if (this.#files.delete(path)) touched.add(path);
    };
    for (const change of changes) {
      if (change.status === 'R') drop(change.oldPath);
      if (change.status === 'D' || change.newOid === undefined) {
        drop(change.path);
        continue;
      }
      const path = this.#relative(change.path);
      if (path === undefined) continue;
      this.#files.set(path, change.newOid);
      touched.add(path);
    }
    this.#revision = revision;
    return [...touched].filter((p) => this.isManifestPath(p)).sort();
  }

  #relative(repoPath: string): string | undefined {
    if (!repoPath.startsWith(this.#prefix)) return undefined;
    const path = repoPath.slice(this.#prefix.length);
    if (this.#only !== undefined && !this.#only.has(path)) return undefined;
    return path;
  }

  isManifestPath(path: string): boolean {
    return contentTypeOf(path) !== undefined && !isIgnoredByDefault(path) && this.#ignore?.(path) !== true;
  }

  async listFiles(): Promise<string[]> {
    return [...this.#files.keys()].filter((p) => this.isManifestPath(p)).sort();
  }

  async read(path: string): Promise<FileContent | undefined> {
    const oid = this.#files.get(path);
    if (oid === undefined) return undefined;
    const object = await this.#repo.readObject(oid);
    if (object === undefined || object.type !== 'blob') {
      throw new GitOpsError(
        ErrorCodes.GitError,
        `${this.#prefix}${path} at ${this.#revision} cannot be read from git`,
        {
          details: { file: `${this.#prefix}${path}`, revision: this.#revision },
        },
      );
    }
    this.#reads += 1;
    return { text: object.content.toString('utf8'), checksum: oid };
  }

  async checksum(path: string): Promise<string | undefined> {
    return this.#files.get(path);
  }

  /** The blob id of every file, for comparing revisions. */
  blobOf(path: string): string | undefined {
    return this.#files.get(path);
  }

  contentType(path: string): ContentType {
    return contentTypeOf(path) ?? 'yaml';
  }

  write(path: string): Promise<string> {
    return Promise.reject(readOnly(path));
  }

  remove(path: string): Promise<boolean> {
    return Promise.reject(readOnly(path));
  }

  fileFor(_obj: KubeObject, key: ObjectKey): string {
    throw readOnly(`${key.kind} ${key.name}`);
  }

  mayHold(): boolean {
    return true;
  }

  withLock<T>(_path: string, fn: () => Promise<T>): Promise<T> {
    return fn();
  }
}

function readOnly(what: string): GitOpsError {
  return new GitOpsError(
    ErrorCodes.MethodNotAllowed,
    `the files of a Git revision are read-only (${what}); change objects inside storage.transaction()`,
    { details: { file: what } },
  );
}
