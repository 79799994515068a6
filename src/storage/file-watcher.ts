/**
 * Watches a storage root for changes by anyone (chokidar 4: Node 20's recursive fs.watch
 * misses deletions) and hands the changed paths over in debounced batches: a burst of changes
 * (a `git checkout` of a thousand files) becomes one batch once it settles, and a steady
 * stream of changes still gets a batch at least every `maxDelayMs`.
 */
import { watch } from 'chokidar';
import type { FSWatcher } from 'chokidar';
import type { Stats } from 'node:fs';
import { toGitOpsError } from '../runtime/index.js';
import type { GitOpsError } from '../runtime/index.js';
import { isIgnoredByDefault } from './paths.js';
import { relativeInside } from './raw-storage.js';

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
  #watcher: FSWatcher | undefined;
  #files = new Set<string>();
  #folders = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #firstPendingAt = 0;
  #running: Promise<void> = Promise.resolve();
  #closed = false;

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

  #start(): Promise<void> {
    const { root } = this.#options;
    const ignored = (abs: string, stats?: Stats): boolean => {
      const rel = relativeInside(root, abs);
      if (rel === undefined) return false;
      if (isIgnoredByDefault(rel)) return true;
      if (stats?.isDirectory() === true) return this.#options.skipsFolder?.(rel) === true;
      if (stats?.isFile() === true) return !this.#options.isManifestPath(rel);
      return false;
    };
    // atomic: false, because chokidar would hold back removals for 100 ms; batches already pair a
    // removal with the add of a rename or an editor's save.
    const watcher = watch(root, {
      ignoreInitial: true,
      followSymlinks: false,
      ignored,
      persistent: true,
      atomic: false,
    });
    this.#watcher = watcher;
    const onFile = (abs: string): void => {
      const rel = relativeInside(root, abs);
      if (rel !== undefined && this.#options.isManifestPath(rel)) this.#queue(rel, this.#files);
    };
    watcher.on('add', onFile);
    watcher.on('change', onFile);
    watcher.on('unlink', onFile);
    watcher.on('unlinkDir', (abs) => {
      const rel = relativeInside(root, abs);
      if (rel !== undefined) this.#queue(rel, this.#folders);
    });
    watcher.on('error', (err) => this.#options.onError(toGitOpsError(err)));
    return new Promise((resolve) => watcher.once('ready', () => resolve()));
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
    await this.#watcher?.close();
    await this.#running;
  }
}
