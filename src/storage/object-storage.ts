/**
 * ObjectStorage: typed CRUD over a raw storage, the public face of the storage layer. Reads
 * come from the in-memory index (object-index.ts); writes go through the strategy
 * (write-strategy.ts: what create fills in, what an update may change) and the locked write
 * path (locked-write.ts: lock, read afresh, check, edit one document, replace atomically);
 * changes by others reach the index through the file watcher and the index refresh
 * (index-refresh.ts), found by content hash. Every subscriber is told.
 */
import { randomUUID } from 'node:crypto';
import { compileListOptions } from '../filter/index.js';
import type { ListOptions } from '../filter/index.js';
import { deepCopy, ErrorCodes, GitOpsError, isKubeObject, keyOf, toGitOpsError } from '../runtime/index.js';
import type { KubeObject, ObjectKey, Scheme } from '../runtime/index.js';
import { Decoder } from '../serializer/index.js';
import type { Patch } from '../patch/index.js';
import { FileWatcher } from './file-watcher.js';
import type { ChangeBatch } from './file-watcher.js';
import { IndexRefresh } from './index-refresh.js';
import { LockedWrites } from './locked-write.js';
import type {
  DeleteOptions,
  GetOptions,
  KeyInput,
  ObjectEvents,
  ObjectLocation,
  ObjectReader,
  ObjectWriter,
  PatchOptions,
  WriteOptions,
} from './object-api.js';
import { alreadyExists, badObject, notFound, toKey } from './object-errors.js';
import { ObjectIndex } from './object-index.js';
import type { IndexedObject } from './object-index.js';
import { checkKeyForPath } from './paths.js';
import type { RawStorage } from './raw-storage.js';
import { StorageEventHub } from './storage-events.js';
import type { StorageEvent, StorageListener, WatchOptions } from './storage-events.js';
import {
  nameIsGenerated,
  nameSuffix,
  prepareForCreate,
  prepareForPatch,
  prepareForUpdate,
  validateObject,
} from './write-strategy.js';
import type { WritePolicy } from './write-strategy.js';

export interface ObjectStorageOptions {
  /** Kinds, schemas and scopes: writes are validated against it, files decoded with it. */
  scheme?: Scheme;
  /** Refuse unknown fields and duplicate keys, in files and in writes. Default true. */
  strict?: boolean;
  /** Fill uid, creationTimestamp and generation on create. Default true. */
  stampMetadata?: boolean;
  /**
   * The status subresource of kinds that declare one: update and patch leave status alone,
   * `{ subresource: 'status' }` changes nothing but status, create drops status. Default false.
   */
  statusSubresource?: boolean;
  /** Follow changes by other processes (default true), with the debounce of the watcher. */
  watch?: boolean | { debounceMs?: number; maxDelayMs?: number };
  /** Files read at once when opening. Default 64. */
  readConcurrency?: number;
  signal?: AbortSignal;
}

export class ObjectStorage implements ObjectReader, ObjectWriter, ObjectEvents {
  readonly raw: RawStorage;
  readonly #scheme: Scheme | undefined;
  readonly #stamp: boolean;
  readonly #policy: WritePolicy;
  readonly #index = new ObjectIndex();
  readonly #hub = new StorageEventHub();
  readonly #refresh: IndexRefresh;
  readonly #writes: LockedWrites;
  #watcher: FileWatcher | undefined;
  #closed = false;

  private constructor(raw: RawStorage, options: ObjectStorageOptions) {
    this.raw = raw;
    this.#scheme = options.scheme;
    this.#stamp = options.stampMetadata ?? true;
    const strict = options.strict ?? true;
    this.#policy = { scheme: this.#scheme, strict, statusSubresource: options.statusSubresource ?? false };
    this.#refresh = new IndexRefresh({
      raw,
      index: this.#index,
      hub: this.#hub,
      decoder: new Decoder({ strict, scheme: this.#scheme, unknownKinds: 'unstructured' }),
      readConcurrency: Math.max(1, options.readConcurrency ?? 64),
      closed: () => this.#closed,
    });
    this.#writes = new LockedWrites({
      raw,
      index: this.#index,
      refresh: this.#refresh,
      policy: this.#policy,
    });
  }

  /** Reads every manifest of `raw` into the index and (unless turned off) starts watching it. */
  static async open(raw: RawStorage, options: ObjectStorageOptions = {}): Promise<ObjectStorage> {
    const storage = new ObjectStorage(raw, options);
    const watch = options.watch ?? true;
    // The watcher starts first, so nothing that changes while the files are read is missed.
    if (watch !== false) {
      const timing = typeof watch === 'object' ? watch : {};
      storage.#watcher = await FileWatcher.start({
        root: raw.root,
        isManifestPath: (path) => raw.isManifestPath(path),
        debounceMs: timing.debounceMs,
        maxDelayMs: timing.maxDelayMs,
        onBatch: (batch) => storage.#onBatch(batch),
        onError: (error) => storage.#hub.emit({ type: 'ERROR', error }),
      });
    }
    try {
      const files = await raw.listFiles(options.signal);
      await storage.#refresh.refresh(files, 'external');
    } catch (err) {
      await storage.close();
      throw toGitOpsError(err);
    }
    return storage;
  }

  get root(): string {
    return this.raw.root;
  }

  /** The number of objects. */
  get size(): number {
    return this.#index.size;
  }

  // ---- reads -------------------------------------------------------------------------------

  /** A copy of the object (yours to change), with its resourceVersion; NotFound if there is none. */
  async get<T extends KubeObject = KubeObject>(key: KeyInput, options: GetOptions = {}): Promise<T> {
    const entry = this.#entry(key);
    const copy = deepCopy(entry.object) as KubeObject;
    return (options.version === undefined ? copy : this.#convert(copy, options.version)) as T;
  }

  /**
   * The objects the options select, ordered by key. They are the index's own, frozen: copy one
   * (structuredClone) before changing it. That keeps a list of 10,000 objects cheap.
   */
  async list<T extends KubeObject = KubeObject>(options: ListOptions = {}): Promise<T[]> {
    return this.#select(options).map((e) => e.object as T);
  }

  /** The one object the options select (a copy); NotFound for none, Ambiguous for several. */
  async find<T extends KubeObject = KubeObject>(options: ListOptions): Promise<T> {
    const found = this.#select(options);
    const what = compileListOptions(options).filter.description;
    if (found.length === 0) {
      throw new GitOpsError(ErrorCodes.NotFound, `no object matches ${what}`, { details: { filter: what } });
    }
    if (found.length > 1) {
      const names = found.slice(0, 5).map((e) => e.id);
      throw new GitOpsError(
        ErrorCodes.Ambiguous,
        `${found.length} objects match ${what} (${names.join(', ')}${found.length > 5 ? ', ...' : ''}); narrow the filter`,
        { details: { filter: what, matches: found.length } },
      );
    }
    return deepCopy(found[0]!.object) as T;
  }

  async count(options: ListOptions = {}): Promise<number> {
    return this.#select(options).length;
  }

  /** Whether an object with this key exists. */
  async exists(key: KeyInput): Promise<boolean> {
    return this.#index.get(toKey(key)) !== undefined;
  }

  /** Where the object is on disk, or undefined. */
  async locate(key: KeyInput): Promise<ObjectLocation | undefined> {
    const entry = this.#index.get(toKey(key));
    if (entry === undefined) return undefined;
    return entry.item === undefined
      ? { path: entry.path, document: entry.document }
      : { path: entry.path, document: entry.document, item: entry.item };
  }

  /** The problems of every file as last read (bad YAML, refused objects, duplicates). */
  problems(): GitOpsError[] {
    return this.#index.problems();
  }

  #select(options: ListOptions): IndexedObject[] {
    const compiled = compileListOptions(options);
    const out: IndexedObject[] = [];
    if (
      compiled.name !== undefined &&
      compiled.kind !== undefined &&
      compiled.group !== undefined &&
      compiled.namespace !== undefined
    ) {
      // The options pin one key: a lookup instead of a scan.
      const key: ObjectKey = { group: compiled.group, kind: compiled.kind, name: compiled.name };
      if (compiled.namespace !== undefined && compiled.namespace !== '') key.namespace = compiled.namespace;
      const entry = this.#index.get(key);
      if (entry !== undefined && compiled.filter.matches(entry.object)) out.push(entry);
      return out;
    }
    // The index hands out one kind of one group already: only the other conditions are left.
    const rest =
      compiled.kind !== undefined && compiled.group !== undefined
        ? compileListOptions({ ...options, kind: undefined, group: undefined })
        : compiled;
    for (const entry of this.#index.objects(compiled.kind, compiled.group)) {
      if (rest.everything || rest.filter.matches(entry.object)) out.push(entry);
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  #entry(key: KeyInput): IndexedObject {
    const k = toKey(key);
    const entry = this.#index.get(k);
    if (entry === undefined) throw notFound(k);
    return entry;
  }

  #convert(obj: KubeObject, version: string): KubeObject {
    if (this.#scheme === undefined) {
      throw new GitOpsError(
        ErrorCodes.BadRequest,
        'converting to another version needs a scheme (the scheme option)',
      );
    }
    return this.#scheme.convert(obj, version);
  }

  // ---- writes ------------------------------------------------------------------------------

  /**
   * Adds a new object: AlreadyExists if its key is taken, Invalid if the scheme refuses it.
   * Fills name from generateName, the namespace of namespaced kinds (`default`), and (with
   * stampMetadata) uid, creationTimestamp and generation. Returns the object as stored.
   */
  async create<T extends KubeObject = KubeObject>(obj: T, options: WriteOptions = {}): Promise<T> {
    this.#assertOpen();
    const stamp = this.#stamp ? { uid: randomUUID(), creationTimestamp: now() } : undefined;
    const desired = prepareForCreate(obj, this.#policy, stamp);
    const generated = nameIsGenerated(desired);
    for (let attempt = 0; ; attempt += 1) {
      if (generated) desired.metadata.name = `${desired.metadata.generateName}${nameSuffix(Math.random)}`;
      validateObject(desired, this.#policy);
      const key = keyOf(desired);
      checkKeyForPath(key);
      const taken = this.#index.get(key);
      if (taken !== undefined) {
        if (generated && attempt < 8) continue;
        throw alreadyExists(key, taken.path);
      }
      return (await this.#writes.create(key, desired, options.dryRun === true)) as T;
    }
  }

  /**
   * Replaces an object. A resourceVersion in `obj` must match the stored one (Conflict
   * otherwise); without one the update is unconditional. Only the fields that differ change
   * in the file. With `{ subresource: 'status' }` (and statusSubresource) only status changes.
   */
  async update<T extends KubeObject = KubeObject>(obj: T, options: WriteOptions = {}): Promise<T> {
    this.#assertOpen();
    if (!isKubeObject(obj)) throw badObject();
    const key = keyOf(obj);
    const expected = obj.metadata.resourceVersion;
    return (await this.#writes.modify(key, expected, options.dryRun === true, (current) =>
      prepareForUpdate(current, deepCopy(obj) as KubeObject, options.subresource, this.#policy),
    )) as T;
  }

  /** update with `{ subresource: 'status' }`. */
  async updateStatus<T extends KubeObject = KubeObject>(
    obj: T,
    options: Omit<WriteOptions, 'subresource'> = {},
  ): Promise<T> {
    return this.update(obj, { ...options, subresource: 'status' });
  }

  /** Patches an object (JSON Patch, JSON Merge Patch or a field-level apply) and writes the result. */
  async patch<T extends KubeObject = KubeObject>(
    key: KeyInput,
    patch: Patch,
    options: PatchOptions = {},
  ): Promise<T> {
    this.#assertOpen();
    const k = toKey(key);
    return (await this.#writes.modify(k, options.resourceVersion, options.dryRun === true, (current) =>
      prepareForPatch(k, current, patch, options.subresource, this.#policy),
    )) as T;
  }

  /** Deletes an object; NotFound if there is none, Conflict for a stale resourceVersion. */
  async delete(key: KeyInput, options: DeleteOptions = {}): Promise<void> {
    this.#assertOpen();
    await this.#writes.delete(toKey(key), options.resourceVersion, options.dryRun === true);
  }

  // ---- events ------------------------------------------------------------------------------

  /** Events from now on (all of them, or those the options select), as an async iterator. */
  watch<T extends KubeObject = KubeObject>(
    options: WatchOptions = {},
  ): AsyncIterableIterator<StorageEvent<T>> {
    // After close there is nothing more to tell: the iterator ends at once.
    return this.#hub.watch<T>(this.#closed ? { ...options, signal: AbortSignal.abort() } : options);
  }

  /** Calls `listener` for every event (or those the options select); returns the unsubscribe. */
  on(listener: StorageListener, options: ListOptions = {}): () => void {
    return this.#hub.on(listener, options);
  }

  /** Waits until every change the watcher has seen so far is in the index (and told). */
  async sync(): Promise<void> {
    await this.#watcher?.flush();
  }

  /**
   * Reads files again and tells what changed: the given paths, or every file (new and
   * removed ones too). For a caller that knows what changed, e.g. after a `git checkout`.
   */
  async refresh(paths?: readonly string[]): Promise<void> {
    this.#assertOpen();
    const all = paths ?? [...new Set([...(await this.raw.listFiles()), ...this.#index.paths()])];
    await this.#refresh.refresh(all, 'external');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#watcher?.close();
    this.#hub.close();
  }

  // ---- internals ---------------------------------------------------------------------------

  #assertOpen(): void {
    if (this.#closed) throw new GitOpsError(ErrorCodes.BadRequest, 'the storage is closed');
  }

  async #onBatch(batch: ChangeBatch): Promise<void> {
    if (this.#closed) return;
    const paths = new Set(batch.files);
    for (const folder of batch.removedFolders) {
      for (const path of this.#index.paths()) if (path.startsWith(`${folder}/`)) paths.add(path);
    }
    // A file this storage is writing is read once the write is applied, so the watcher never
    // reports our own write (as an outside change) before we do.
    await this.#writes.settled(paths);
    await this.#refresh.refresh([...paths], 'external');
  }
}

/** RFC 3339 in seconds, as Kubernetes writes timestamps. */
function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}
