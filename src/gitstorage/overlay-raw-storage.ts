/**
 * The files of a transaction: the base commit's blobs, read from git objects, under the
 * transaction's own writes, kept in memory until the commit. Nothing is checked out, so a
 * transaction costs the same in a repository of 10 files or 10,000, and the clone's files are
 * never touched. Where new objects go is the shape storage's call (the layout or placement the
 * caller chose); which files are manifests is decided as on the read side (by extension,
 * wherever they are), so a transaction sees every object its GitStorage serves.
 */
import type { Git } from '../git/index.js';
import { normalizeRepoPath } from '../git/index.js';
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import type { KubeObject, ObjectKey } from '../runtime/index.js';
import { contentTypeOf } from '../serializer/index.js';
import type { ContentType } from '../serializer/index.js';
import { checkRelativePath, fileChecksum, isIgnoredByDefault } from '../storage/index.js';
import type { FileContent, RawStorage } from '../storage/index.js';

/** A file the transaction changed: its new text, or null when it removed the file. */
export interface OverlayChange {
  /** Relative to the repository root. */
  readonly repoPath: string;
  readonly text: string | null;
}

export class OverlayRawStorage implements RawStorage {
  readonly #repo: Git;
  readonly #base: string;
  readonly #prefix: string;
  readonly #shape: RawStorage;
  readonly #ignore: ((path: string) => boolean) | undefined;
  /** Path -> new text, or null for removed. */
  readonly #written = new Map<string, string | null>();
  /** Paths the object storage has been told about (listFiles answers these). */
  readonly #known = new Set<string>();
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(
    repo: Git,
    base: string,
    options: { subdirectory?: string; shape: RawStorage; ignore?: (path: string) => boolean },
  ) {
    const { subdirectory, shape } = options;
    this.#ignore = options.ignore;
    this.#repo = repo;
    this.#base = base;
    const sub = normalizeRepoPath(subdirectory ?? '', 'subdirectory');
    this.#prefix = sub === '' ? '' : `${sub}/`;
    this.#shape = shape;
  }

  /** The transaction's private folder (nothing of the repository is in it). */
  get root(): string {
    return this.#shape.root;
  }

  get multiObjectFiles(): boolean {
    return this.#shape.multiObjectFiles;
  }

  /** Lets listFiles() name these paths, so the object storage reads them when refreshed. */
  know(paths: Iterable<string>): void {
    for (const path of paths) this.#known.add(path);
  }

  isManifestPath(path: string): boolean {
    return contentTypeOf(path) !== undefined && !isIgnoredByDefault(path) && this.#ignore?.(path) !== true;
  }

  async listFiles(): Promise<string[]> {
    return [...this.#known].filter((p) => this.#written.get(p) !== null && this.isManifestPath(p)).sort();
  }

  /** Every manifest path of the base commit, for a transaction that needs them all. */
  async basePaths(): Promise<string[]> {
    const sub = this.#prefix.slice(0, -1);
    if (sub !== '' && (await this.#repo.readObject(`${this.#base}:${sub}`))?.type !== 'tree') return [];
    const entries = await this.#repo.readTree(this.#base, sub);
    return entries
      .filter((e) => e.mode === '100644' || e.mode === '100755')
      .map((e) => e.path.slice(this.#prefix.length))
      .filter((p) => this.isManifestPath(p));
  }

  async read(path: string): Promise<FileContent | undefined> {
    checkRelativePath(path);
    const written = this.#written.get(path);
    if (written === null) return undefined;
    if (written !== undefined) return { text: written, checksum: fileChecksum(written) };
    const object = await this.#repo.readObject(`${this.#base}:${this.#prefix}${path}`);
    if (object === undefined || object.type !== 'blob') return undefined;
    // The same bytes hash alike whether they come from git or from a write.
    return { text: object.content.toString('utf8'), checksum: fileChecksum(object.content) };
  }

  async write(path: string, text: string): Promise<string> {
    checkRelativePath(path);
    if (!this.isManifestPath(path)) {
      throw new GitOpsError(
        ErrorCodes.BadRequest,
        `${JSON.stringify(path)} is not a manifest path of this storage`,
        {
          details: { file: path },
        },
      );
    }
    this.#written.set(path, text);
    this.#known.add(path);
    return fileChecksum(text);
  }

  async remove(path: string): Promise<boolean> {
    const existed = (await this.read(path)) !== undefined;
    this.#written.set(path, null);
    return existed;
  }

  async checksum(path: string): Promise<string | undefined> {
    return (await this.read(path))?.checksum;
  }

  contentType(path: string): ContentType {
    return this.#shape.contentType(path);
  }

  fileFor(obj: KubeObject, key: ObjectKey): string {
    return this.#shape.fileFor(obj, key);
  }

  /** Existing files may hold any object, as on the read side; only new objects follow the shape. */
  mayHold(): boolean {
    return true;
  }

  /** One writer per path; the transaction is the only process that sees these files. */
  async withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#locks.get(path) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.#locks.set(path, settled);
    try {
      return await run;
    } finally {
      if (this.#locks.get(path) === settled) this.#locks.delete(path);
    }
  }

  /** What the transaction changed, relative to the repository root (writes of unchanged bytes left out). */
  async changes(): Promise<OverlayChange[]> {
    const out: OverlayChange[] = [];
    for (const [path, text] of [...this.#written].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const base = await this.#repo.readObject(`${this.#base}:${this.#prefix}${path}`);
      const before = base?.type === 'blob' ? base.content.toString('utf8') : undefined;
      if (text === null ? before === undefined : before === text) continue;
      out.push({ repoPath: `${this.#prefix}${path}`, text });
    }
    return out;
  }
}
