/**
 * Watches a storage root for changes by anyone and hands the changed paths over in debounced
 * batches: a burst of changes (a `git checkout` of a thousand files) becomes one batch once it
 * settles, and a steady stream of changes still gets a batch at least every `maxDelayMs`.
 *
 * One non-recursive `fs.watch` (inotify on Linux) per folder, kept by us: an event names the
 * one entry that changed, so a write costs one event whatever the folder holds. (chokidar reads
 * the whole folder again on each change, 20 ms per write in a folder of 1,000 files; Node 20's
 * recursive fs.watch misses deletions.) The batch consumer reads each queued path again, so an
 * event only has to say which path to look at, never what happened to it.
 */
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ErrorCodes, GitOpsError, toGitOpsError } from '../runtime/index.js';
import { isIgnoredByDefault } from './paths.js';

export interface ChangeBatch {
  /** Files that were added, changed or removed. */
  readonly files: ReadonlySet<string>;
  /** Folders that were removed: every file known under them is gone or moved. */
  readonly removedFolders: ReadonlySet<string>;
}

export interface FileWatcherOptions {
  root: string;
  isManifestPath(path: string): boolean;
  /** Folders not to watch at all (besides hidden ones). */
  skipsFolder?(path: string): boolean;
  /** Quiet time that ends a batch. Default 40 ms. */
  debounceMs?: number;
  /** Longest a change waits in a batch. Default 1000 ms. */
  maxDelayMs?: number;
  onBatch(batch: ChangeBatch): Promise<void>;
  onError(error: GitOpsError): void;
}

export class FileWatcher {
  readonly #options: FileWatcherOptions;
  readonly #debounceMs: number;
  readonly #maxDelayMs: number;
  /**
   * Watched folders by path relative to the root ('' is the root), with the folder's identity: a
   * folder removed and made again (or swapped in by a rename) under the same name is another one.
   */
  readonly #dirs = new Map<string, { watcher: FSWatcher; dev: number; ino: number }>();
  #files = new Set<string>();
  #folders = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #firstPendingAt = 0;
  #running: Promise<void> = Promise.resolve();
  #closed = false;
  /** Lookups of `rename` events still under way (flush waits for them). */
  #looking: Promise<unknown> = Promise.resolve();

  private constructor(options: FileWatcherOptions) {
    this.#options = options;
    this.#debounceMs = options.debounceMs ?? 40;
    this.#maxDelayMs = options.maxDelayMs ?? 1000;
  }

  /** Starts watching; resolves once every existing folder is watched. */
  static async start(options: FileWatcherOptions): Promise<FileWatcher> {
    const watcher = new FileWatcher(options);
    await watcher.#start();
    return watcher;
  }

  async #start(): Promise<void> {
    await this.#watchTree('', false);
    if (!this.#dirs.has('')) {
      throw new GitOpsError(ErrorCodes.NotFound, `cannot watch ${this.#options.root}: it is not a folder`, {
        details: { file: this.#options.root },
      });
    }
  }

  #skips(rel: string): boolean {
    return isIgnoredByDefault(rel) || this.#options.skipsFolder?.(rel) === true;
  }

  /**
   * Watches `rel` and every folder under it. The watch comes first, the listing second, so a file
   * made in between is seen by one or the other; with `queueFiles` (a folder that just appeared)
   * the files already in it are changes too.
   */
  async #watchTree(rel: string, queueFiles: boolean): Promise<void> {
    if (this.#closed || this.#dirs.has(rel)) return;
    const abs = rel === '' ? this.#options.root : join(this.#options.root, rel);
    let watcher: FSWatcher;
    try {
      watcher = watch(abs, { persistent: true }, (event, name) => this.#onEvent(rel, event, name));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Gone (or replaced by a file) before we got to it: its parent's event says so.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') this.#options.onError(toGitOpsError(err));
      return;
    }
    watcher.on('error', (err) => {
      this.#unwatchTree(rel);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#options.onError(toGitOpsError(err));
    });
    let identity;
    try {
      identity = await stat(abs);
    } catch {
      watcher.close();
      return;
    }
    if (this.#closed || this.#dirs.has(rel)) {
      watcher.close();
      return;
    }
    this.#dirs.set(rel, { watcher, dev: identity.dev, ino: identity.ino });
    let entries;
    try {
      entries = await readdir(abs, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!this.#skips(child)) await this.#watchTree(child, queueFiles);
      } else if (queueFiles && this.#options.isManifestPath(child)) this.#queue(child, this.#files);
    }
  }

  #unwatchTree(rel: string): void {
    for (const [dir, { watcher }] of this.#dirs) {
      if (dir === rel || rel === '' || dir.startsWith(`${rel}/`)) {
        watcher.close();
        this.#dirs.delete(dir);
      }
    }
  }

  #onEvent(dir: string, event: string, name: string | Buffer | null): void {
    if (this.#closed) return;
    if (name === null) {
      // The platform did not say which entry: look at the whole folder again.
      this.#track(this.#rescan(dir));
      return;
    }
    const rel = dir === '' ? String(name) : `${dir}/${String(name)}`;
    // A watch reports its own folder being removed or moved under the folder's name (inotify's
    // DELETE_SELF/MOVE_SELF); the folder's inode number may even be reused at once by a new one.
    if (dir !== '' && event === 'rename' && String(name) === basename(dir)) this.#track(this.#recheck(dir));
    if (isIgnoredByDefault(rel)) return;
    if (event === 'change' && !this.#dirs.has(rel)) {
      if (this.#options.isManifestPath(rel)) this.#queue(rel, this.#files);
      return;
    }
    // A `rename` is an entry that appeared or went away: ask the file system which.
    const abs = join(this.#options.root, rel);
    const pending = lstat(abs).then(
      (stats) => {
        if (stats.isDirectory()) {
          const known = this.#dirs.get(rel);
          if (known !== undefined && known.ino === stats.ino && known.dev === stats.dev) return undefined;
          // Another folder under a known name: the old one and what was in it are gone.
          if (known !== undefined) this.#removedFolder(rel);
          if (!this.#skips(rel)) return this.#watchTree(rel, true);
          return undefined;
        }
        if (this.#dirs.has(rel)) this.#removedFolder(rel);
        if (this.#options.isManifestPath(rel)) this.#queue(rel, this.#files);
        return undefined;
      },
      () => {
        if (this.#dirs.has(rel)) this.#removedFolder(rel);
        else if (this.#options.isManifestPath(rel)) this.#queue(rel, this.#files);
      },
    );
    this.#track(pending);
  }

  // flush() and close() wait for lookups still under way.
  #track(work: Promise<unknown>): void {
    this.#looking = this.#looking.then(() => work).catch(() => undefined);
  }

  /** After a watched folder reported itself gone: forget it, and watch whatever is there now. */
  async #recheck(dir: string): Promise<void> {
    if (!this.#dirs.has(dir)) return;
    this.#removedFolder(dir);
    let stats;
    try {
      stats = await lstat(join(this.#options.root, dir));
    } catch {
      return;
    }
    if (stats.isDirectory() && !this.#skips(dir)) await this.#watchTree(dir, true);
  }

  #removedFolder(rel: string): void {
    this.#unwatchTree(rel);
    this.#queue(rel, this.#folders);
  }

  async #rescan(dir: string): Promise<void> {
    const abs = dir === '' ? this.#options.root : join(this.#options.root, dir);
    let entries;
    try {
      entries = await readdir(abs, { withFileTypes: true });
    } catch {
      if (dir !== '' && this.#dirs.has(dir)) this.#removedFolder(dir);
      return;
    }
    for (const entry of entries) {
      const child = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!this.#skips(child)) await this.#watchTree(child, true);
      } else if (this.#options.isManifestPath(child)) this.#queue(child, this.#files);
    }
  }

  #queue(path: string, into: Set<string>): void {
    if (this.#closed) return;
    if (this.#files.size === 0 && this.#folders.size === 0) this.#firstPendingAt = Date.now();
    into.add(path);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const overdue = Date.now() - this.#firstPendingAt >= this.#maxDelayMs;
    this.#timer = setTimeout(() => this.#flushPending(), overdue ? 0 : this.#debounceMs);
  }

  #flushPending(): void {
    this.#timer = undefined;
    if (this.#files.size === 0 && this.#folders.size === 0) return;
    const batch: ChangeBatch = { files: this.#files, removedFolders: this.#folders };
    this.#files = new Set();
    this.#folders = new Set();
    // Batches run one after another, in order.
    this.#running = this.#running.then(() =>
      this.#options.onBatch(batch).catch((err: unknown) => this.#options.onError(toGitOpsError(err))),
    );
  }

  /** Hands over what is queued now and waits until every batch so far is applied. */
  async flush(): Promise<void> {
    await this.#looking;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#flushPending();
    }
    await this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unwatchTree('');
    await this.#looking;
    await this.#running;
  }
}
