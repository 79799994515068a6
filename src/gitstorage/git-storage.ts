/**
 * GitStorage: the object storage API over the branch a GitDirectory follows. Reads come from
 * git objects at the followed revision (no checkout), through the storage layer's index; each
 * new revision is applied as its diff, so only the files it changed are read and decoded
 * again, and subscribers get ADDED / MODIFIED / DELETED for exactly the objects that changed.
 * Writes happen only in transactions, each over its own copy-on-write view of the latest main
 * (TransactionRunner): nothing is checked out and the followed clone is never written to.
 */
import { join } from 'node:path';

import type { ListOptions } from '../filter/index.js';
import { GitDirectory, normalizeRepoPath } from '../git/index.js';
import type { CommitInfo, GitDirectoryOptions, GitDirectoryState, RevisionEvent } from '../git/index.js';
import {
  ErrorCodes,
  EventHub,
  GitOpsError,
  keyOf,
  objectKeyToString,
  parseObjectKey,
  toGitOpsError,
} from '../runtime/index.js';
import type { KubeObject, ObjectKey, Scheme } from '../runtime/index.js';
import { FileSystemRawStorage, ManifestDirectory, ObjectStorage, StorageEventHub } from '../storage/index.js';
import type {
  GetOptions,
  KeyInput,
  Layout,
  ObjectEvents,
  ObjectLocation,
  ObjectReader,
  PlacementRule,
  RawStorage,
  StorageEvent,
  StorageListener,
  WatchOptions,
} from '../storage/index.js';
import type { ContentType } from '../serializer/index.js';
import { checkSigning } from './commit-signing.js';
import type { CommitSigning } from './commit-signing.js';
import { GitTreeRawStorage } from './git-tree-raw-storage.js';
import type { PullRequestOpener } from './pull-request.js';
import { checkSignatureOption } from './transaction.js';
import type {
  Signature,
  TransactionFunction,
  TransactionOptions,
  TransactionOutcome,
} from './transaction.js';
import { TransactionRunner } from './transaction-runner.js';
import type { RecoveryReport } from './transaction-runner.js';
import type { BaseIndex, TransactionStorage } from './transaction-storage.js';

/** How transactions write: where new objects go, in which format, and what create fills in. */
export interface WritableStorageOptions {
  /** `manifests` (any shape, the default) or a layout with one object per file. */
  layout?: Layout | 'manifests';
  /** Where `manifests` puts a new object; default `object-per-file`. */
  placement?: PlacementRule;
  /** Content type of new files; default `yaml`. */
  contentType?: ContentType;
  /** Fill uid, creationTimestamp and generation on create; default true. */
  stampMetadata?: boolean;
  /** Status subresource semantics for kinds that declare one; default false. */
  statusSubresource?: boolean;
}

export interface GitStorageOptions {
  /** The follower of the remote branch (started or not), or the options to make one; a made one is closed with the storage. */
  directory: GitDirectory | GitDirectoryOptions;
  /** A folder of the repository that holds the manifests; default the repository root. */
  subdirectory?: string;
  scheme?: Scheme;
  /** Refuse unknown fields and duplicate keys. Default true. */
  strict?: boolean;
  /** More paths (relative to the root) to leave alone, besides hidden and editor swap files. */
  ignore?: (path: string) => boolean;
  /** Layout, placement of new objects, content type, metadata stamping of transaction writes. */
  writable?: WritableStorageOptions;
  /** The author of transaction commits whose result names none. Default `libgitops`. */
  author?: Signature;
  /** The committer of transaction commits; default the author. */
  committer?: Signature;
  signing?: CommitSigning;
  /** Opens the pull requests transactions ask for. */
  pullRequests?: PullRequestOpener;
  /** The repository pull requests are opened on (`owner/name` or a URL); default the remote URL. */
  pullRequestRepository?: string;
  /** Prefix of transaction branches; default `libgitops`. */
  branchPrefix?: string;
  /** Where the transaction journal and private folders live; default `<clone>/libgitops`. */
  stateDir?: string;
}

/** A new revision, once the storage has applied it. */
export interface RevisionChange {
  from: string | undefined;
  to: string;
  /** True when `to` does not descend from `from` (the branch was force-pushed). */
  forced: boolean;
  /** Manifest files (relative to the root) that changed. */
  paths: string[];
}

/** One version of an object in the history of its file. */
export interface ObjectRevision {
  commit: CommitInfo;
  /** The object as that commit left it; undefined when the commit removed it. */
  object: KubeObject | undefined;
}

export interface HistoryOptions {
  /** The file to follow; default the file that holds the object now. */
  path?: string;
  /** Look at this many commits of the file at most. */
  max?: number;
}

const DEFAULT_AUTHOR: Signature = { name: 'libgitops', email: 'libgitops@users.noreply.localhost' };
// How far back a chain of our own commits is followed to tell our changes from others'.
const OWN_CHAIN_LIMIT = 16;

export class GitStorage implements ObjectReader, ObjectEvents {
  readonly directory: GitDirectory;
  /** What the start-up found of transactions a killed process left behind, and undid. */
  readonly recovery: RecoveryReport;
  readonly #ownsDirectory: boolean;
  readonly #raw: GitTreeRawStorage;
  readonly #index: ObjectStorage;
  readonly #runner: TransactionRunner;
  readonly #options: GitStorageOptions;
  readonly #prefix: string;
  readonly #hub = new StorageEventHub();
  readonly #revisions = new EventHub<RevisionChange>((error) =>
    process.emitWarning(`a GitStorage revision listener threw: ${String(error)}`),
  );
  readonly #ownCommits: Set<string>;
  readonly #unsubscribe: Array<() => void> = [];
  #applying: Promise<void> = Promise.resolve();
  /** The revision being applied right now, and whose change it is. */
  #current: { revision: string; origin: 'storage' | 'external' } | undefined;
  #closed = false;

  private constructor(fields: {
    directory: GitDirectory;
    ownsDirectory: boolean;
    raw: GitTreeRawStorage;
    index: ObjectStorage;
    runner: TransactionRunner;
    recovery: RecoveryReport;
    options: GitStorageOptions;
    ownCommits: Set<string>;
  }) {
    this.#ownCommits = fields.ownCommits;
    this.directory = fields.directory;
    this.#ownsDirectory = fields.ownsDirectory;
    this.#raw = fields.raw;
    this.#index = fields.index;
    this.#runner = fields.runner;
    this.recovery = fields.recovery;
    this.#options = fields.options;
    const sub = normalizeRepoPath(fields.options.subdirectory ?? '', 'subdirectory');
    this.#prefix = sub === '' ? '' : `${sub}/`;
  }

  /**
   * Starts following (clones, or reuses a clone), undoes what killed transactions left, and
   * reads every manifest of the current revision.
   */
  static async open(options: GitStorageOptions): Promise<GitStorage> {
    if (options.signing !== undefined) checkSigning(options.signing);
    if (options.author !== undefined) checkSignatureOption(options.author, 'author');
    if (options.committer !== undefined) checkSignatureOption(options.committer, 'committer');
    const owns = !(options.directory instanceof GitDirectory);
    const directory =
      options.directory instanceof GitDirectory ? options.directory : new GitDirectory(options.directory);
    const early: RevisionEvent[] = [];
    const bufferEarly = directory.on('revision', (event) => early.push(event));
    let storage: GitStorage | undefined;
    try {
      const revision = directory.revision ?? (await directory.start());
      // Commits pushed to main before the storage object exists are remembered here too.
      const ownCommits = new Set<string>();
      // Transactions find objects through the storage's own index when it serves their base.
      const late: { storage?: GitStorage } = {};
      const writable = options.writable ?? {};
      const runner = await TransactionRunner.open({
        directory,
        stateDir: options.stateDir ?? join(directory.path, 'libgitops'),
        subdirectory: options.subdirectory,
        shape: (root) => openShape(root, writable, options.ignore),
        ignore: options.ignore,
        objects: {
          scheme: options.scheme,
          strict: options.strict,
          stampMetadata: writable.stampMetadata,
          statusSubresource: writable.statusSubresource,
        },
        baseIndex: async (base) => (late.storage === undefined ? undefined : late.storage.#baseIndex(base)),
        author: options.author ?? DEFAULT_AUTHOR,
        committer: options.committer,
        signing: options.signing,
        pullRequests: options.pullRequests,
        pullRequestRepository: options.pullRequestRepository,
        branchPrefix: options.branchPrefix,
        onMainCommit: (commit) => {
          ownCommits.add(commit);
          // Only recent commits matter; the oldest are forgotten.
          if (ownCommits.size > 1000) ownCommits.delete(ownCommits.values().next().value as string);
        },
      });
      const recovery = await runner.recover();
      const raw = await GitTreeRawStorage.at(directory.git, revision, {
        subdirectory: options.subdirectory,
        ignore: options.ignore,
      });
      const index = await ObjectStorage.open(raw, {
        scheme: options.scheme,
        strict: options.strict,
        watch: false,
      });
      storage = new GitStorage({
        directory,
        ownsDirectory: owns,
        raw,
        index,
        runner,
        recovery,
        options,
        ownCommits,
      });
      late.storage = storage;
      storage.#start(early);
      bufferEarly();
      return storage;
    } catch (error) {
      bufferEarly();
      if (storage !== undefined) await storage.close();
      else if (owns) await directory.close();
      throw toGitOpsError(error);
    }
  }

  #start(early: RevisionEvent[]): void {
    const index = this.#index;
    this.#unsubscribe.push(index.on((event) => this.#forward(event)));
    for (const event of early) this.#enqueue(event);
    this.#unsubscribe.push(this.directory.on('revision', (event) => this.#enqueue(event)));
  }

  // ---- reads -------------------------------------------------------------------------------

  /** The commit whose objects are served. */
  get revision(): string {
    return this.#raw.revision;
  }

  /** The follower's state: `ready`, `degraded` (remote unreachable, last revision served), `error`, `closed`. */
  get state(): GitDirectoryState {
    return this.directory.state;
  }

  /** How many files have been read (and decoded) from git since the storage opened. */
  get filesRead(): number {
    return this.#raw.reads;
  }

  get size(): number {
    return this.#index.size;
  }

  get<T extends KubeObject = KubeObject>(key: KeyInput, options: GetOptions = {}): Promise<T> {
    return this.#index.get<T>(key, options);
  }

  /** The objects the options select, ordered by key; frozen (copy one before changing it). */
  list<T extends KubeObject = KubeObject>(options: ListOptions = {}): Promise<T[]> {
    return this.#index.list<T>(options);
  }

  find<T extends KubeObject = KubeObject>(options: ListOptions): Promise<T> {
    return this.#index.find<T>(options);
  }

  count(options: ListOptions = {}): Promise<number> {
    return this.#index.count(options);
  }

  exists(key: KeyInput): Promise<boolean> {
    return this.#index.exists(key);
  }

  /** Where the object is in the served revision (path relative to the root). */
  async locate(key: KeyInput): Promise<ObjectLocation | undefined> {
    return this.#index.locate(key);
  }

  /** The problems of every file of the served revision (bad YAML, refused objects, duplicates). */
  problems(): GitOpsError[] {
    return this.#index.problems();
  }

  /** Object events from now on, as an async iterator (all, or those the options select). */
  watch<T extends KubeObject = KubeObject>(
    options: WatchOptions = {},
  ): AsyncIterableIterator<StorageEvent<T>> {
    return this.#hub.watch<T>(options);
  }

  on(listener: StorageListener, options: ListOptions = {}): () => void {
    return this.#hub.on(listener, options);
  }

  /** Calls `listener` after each new revision has been applied (its object events come first). */
  onRevision(listener: (change: RevisionChange) => void): () => void {
    return this.#revisions.on(listener);
  }

  /**
   * Fetches now (a webhook's trigger) and resolves with the revision served once every object
   * event of the fetched revision has been told.
   */
  async sync(): Promise<string> {
    this.#assertOpen();
    await this.directory.sync();
    await this.#applying;
    return this.revision;
  }

  /** The object as it was at `revision` (a commit id, branch or `<rev>~n`); NotFound if it was not there. */
  async getAt<T extends KubeObject = KubeObject>(key: KeyInput, revision: string): Promise<T> {
    this.#assertOpen();
    const k = toKey(key);
    const commit = await this.directory.git.revParse(revision);
    const here = (await this.#index.locate(k))?.path;
    if (here !== undefined) {
      const found = await this.#readAt<T>(k, commit, [here]);
      if (found !== undefined) return found;
    }
    const anywhere = await this.#readAt<T>(k, commit, undefined);
    if (anywhere !== undefined) return anywhere;
    throw new GitOpsError(ErrorCodes.NotFound, `${describeKey(k)} did not exist at ${revision}`, {
      details: { object: objectKeyToString(k), revision: commit },
    });
  }

  /**
   * The versions of an object through the history of its file, newest first: each entry is the
   * commit that made that version (or removed the object). Renames of the file are not followed.
   */
  async history(key: KeyInput, options: HistoryOptions = {}): Promise<ObjectRevision[]> {
    this.#assertOpen();
    const k = toKey(key);
    const path = options.path ?? (await this.#index.locate(k))?.path;
    if (path === undefined) {
      throw new GitOpsError(
        ErrorCodes.NotFound,
        `${describeKey(k)} is not in the current revision; give the file to follow (the path option)`,
        { details: { object: objectKeyToString(k) } },
      );
    }
    const commits = await this.directory.git.log({
      rev: this.revision,
      path: `${this.#prefix}${normalizeRepoPath(path)}`,
      ...(options.max !== undefined ? { max: options.max } : {}),
    });
    const versions: ObjectRevision[] = [];
    let previous: string | null = null;
    for (const commit of commits.reverse()) {
      const object = await this.#readAt(k, commit.oid, [path]);
      const version = object?.metadata.resourceVersion ?? null;
      if (version !== previous) versions.push({ commit, object });
      previous = version;
    }
    return versions.reverse();
  }

  async #readAt<T extends KubeObject>(
    key: ObjectKey,
    commit: string,
    only: string[] | undefined,
  ): Promise<T | undefined> {
    const raw = await GitTreeRawStorage.at(this.directory.git, commit, {
      subdirectory: this.#options.subdirectory,
      ignore: this.#options.ignore,
      ...(only !== undefined ? { only } : {}),
    });
    const storage = await ObjectStorage.open(raw, {
      scheme: this.#options.scheme,
      strict: this.#options.strict,
      watch: false,
    });
    try {
      return (await storage.exists(key)) ? await storage.get<T>(key) : undefined;
    } finally {
      await storage.close();
    }
  }

  // ---- writes ------------------------------------------------------------------------------

  /**
   * Runs `fn` against a writable storage over its own view of the latest
   * main. When it returns a result, the changes are committed (title, description, author from
   * the result) and pushed: to a new branch `<prefix>-<random>` (and a pull request when the
   * result asks for one), or onto main with `target: 'main'` (rebased and pushed again when main
   * moved; a real conflict is a Conflict error). When it throws, or the push fails, nothing of
   * the transaction is left: no pushed branch, no local branch, no files.
   */
  async transaction(
    options: TransactionOptions,
    fn: TransactionFunction<TransactionStorage>,
  ): Promise<TransactionOutcome> {
    this.#assertOpen();
    const outcome = await this.#runner.transaction(options, fn);
    // The runner fetched main after its push: reads of this storage now see the commit too.
    if (outcome.target === 'main' && outcome.commit !== undefined) await this.#applying;
    return outcome;
  }

  /** Stops following, aborts running transactions (each undoes itself), ends every subscription. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    await this.#runner.close();
    await this.#applying;
    await this.#index.close();
    this.#hub.close();
    this.#revisions.end();
    if (this.#ownsDirectory) await this.directory.close();
  }

  /** The index of `base` for a transaction, when this storage serves that commit. */
  async #baseIndex(base: string): Promise<BaseIndex | undefined> {
    await this.#applying;
    if (this.revision !== base) return undefined;
    const index = this.#index;
    return {
      current: () => this.revision === base && !this.#closed,
      locate: async (key) => (await index.locate(key))?.path,
      select: async (options) => {
        const objects = await index.list(options);
        const places = await Promise.all(objects.map((obj) => index.locate(keyOf(obj))));
        const paths = new Set<string>();
        for (const place of places) if (place !== undefined) paths.add(place.path);
        return [...paths];
      },
    };
  }

  // ---- revisions ---------------------------------------------------------------------------

  #enqueue(event: RevisionEvent): void {
    this.#applying = this.#applying.then(() => this.#apply(event));
  }

  async #apply(event: RevisionEvent): Promise<void> {
    if (this.#closed || event.to === this.#raw.revision) return;
    const from = this.#raw.revision;
    try {
      const changes =
        event.from === from ? event.changes : await this.directory.git.diffNames(from, event.to);
      const origin = (await this.#isOwn(from, event.to)) ? 'storage' : 'external';
      const paths = this.#raw.advance(event.to, changes);
      this.#current = { revision: event.to, origin };
      try {
        await this.#index.refresh(paths);
      } catch {
        // Read everything again; only files whose blob changed are decoded.
        await this.#index.refresh();
      }
      this.#revisions.emit({ from, to: event.to, forced: event.forced, paths });
    } catch (cause) {
      const error = toGitOpsError(cause, ErrorCodes.GitError);
      this.#hub.emit({
        type: 'ERROR',
        error: new GitOpsError(
          error.code,
          `applying commit ${event.to.slice(0, 12)} failed: ${error.message}`,
          {
            details: { ...error.details, revision: event.to },
            cause: error,
          },
        ),
      });
    } finally {
      this.#current = undefined;
    }
  }

  /** True when every commit from `from` to `to` was pushed by this storage's transactions. */
  async #isOwn(from: string, to: string): Promise<boolean> {
    let commit: string | undefined = to;
    for (let step = 0; step < OWN_CHAIN_LIMIT && commit !== undefined; step++) {
      if (commit === from) return step > 0;
      if (!this.#ownCommits.has(commit)) return false;
      commit = await this.directory.git.tryRevParse(`${commit}^`);
    }
    return false;
  }

  /** Passes an event of the index on, with whose change it is and, for problems, the commit. */
  #forward(event: StorageEvent): void {
    const current = this.#current;
    if (event.type !== 'ERROR') {
      this.#hub.emit(current === undefined ? event : { ...event, origin: current.origin });
      return;
    }
    if (current === undefined) {
      this.#hub.emit(event);
      return;
    }
    const { error } = event;
    const file = event.path === undefined ? undefined : `${this.#prefix}${event.path}`;
    this.#hub.emit({
      ...event,
      error: new GitOpsError(error.code, `commit ${current.revision.slice(0, 12)}: ${error.message}`, {
        details: { ...error.details, ...(file !== undefined ? { file } : {}), revision: current.revision },
        cause: error,
        causes: [...error.causes],
      }),
    });
  }

  #assertOpen(): void {
    if (this.#closed) throw new GitOpsError(ErrorCodes.Aborted, 'the GitStorage is closed');
  }
}

/** The raw storage that decides where a transaction's new objects go (it never reads or writes). */
async function openShape(
  root: string,
  writable: WritableStorageOptions,
  ignore: ((path: string) => boolean) | undefined,
): Promise<RawStorage> {
  const { layout = 'manifests', placement, contentType } = writable;
  return layout === 'manifests'
    ? ManifestDirectory.open({ root, placement, contentType, ignore })
    : FileSystemRawStorage.open({ root, layout, contentType, ignore });
}

function toKey(key: KeyInput): ObjectKey {
  return typeof key === 'string' ? parseObjectKey(key) : key;
}

function describeKey(key: ObjectKey): string {
  return `${key.kind} ${key.namespace === undefined ? '' : `${key.namespace}/`}${key.name}`;
}
