/**
 * The object storage API as interfaces: reading (`ObjectReader`), writing (`ObjectWriter`) and
 * change events (`ObjectEvents`), with the options they take. ObjectStorage offers all three,
 * GitStorage reads and tells (it writes only in transactions), a transaction's storage reads
 * and writes; each declares what it offers with `implements`, so the compiler keeps their
 * signatures one and the same. Code that only needs one part takes that interface.
 */
import type { ListOptions } from '../filter/index.js';
import type { GitOpsError, KubeObject, ObjectKey } from '../runtime/index.js';
import type { Patch } from '../patch/index.js';
import type { StorageEvent, StorageListener, WatchOptions } from './storage-events.js';

/** An object's key, as an `ObjectKey` or its string form `group/kind/namespace/name`. */
export type KeyInput = ObjectKey | string;

export interface GetOptions {
  /** Convert to this version of the kind's group (the scheme must know the kind). */
  version?: string;
}

export interface WriteOptions {
  /** Check and compute the result, write nothing, tell no one. */
  dryRun?: boolean;
  subresource?: 'status';
}

export interface PatchOptions extends WriteOptions {
  /** Only patch when the object still has this resourceVersion. */
  resourceVersion?: string;
}

export interface DeleteOptions {
  /** Only delete when the object still has this resourceVersion. */
  resourceVersion?: string;
  dryRun?: boolean;
}

/** Where an object is: its file, its document, and its place in a List document. */
export interface ObjectLocation {
  readonly path: string;
  readonly document: number;
  readonly item?: number;
}

/** Reading objects by key or by list options. */
export interface ObjectReader {
  /** A copy of the object (yours to change), with its resourceVersion; NotFound if there is none. */
  get<T extends KubeObject = KubeObject>(key: KeyInput, options?: GetOptions): Promise<T>;
  /**
   * The objects the options select, ordered by key. They may be the storage's own, frozen:
   * copy one (structuredClone) before changing it.
   */
  list<T extends KubeObject = KubeObject>(options?: ListOptions): Promise<T[]>;
  /** The one object the options select (a copy); NotFound for none, Ambiguous for several. */
  find<T extends KubeObject = KubeObject>(options: ListOptions): Promise<T>;
  /** How many objects the options select. */
  count(options?: ListOptions): Promise<number>;
  /** Whether an object with this key exists. */
  exists(key: KeyInput): Promise<boolean>;
  /**
   * Where the object is (path relative to the storage root), or undefined. Asynchronous
   * because a transaction's storage may have to read the file first.
   */
  locate(key: KeyInput): Promise<ObjectLocation | undefined>;
  /** The problems of the files as last read (bad YAML, refused objects, duplicates). */
  problems(): GitOpsError[];
}

/** Writing objects, with validation, optimistic concurrency and lossless edits. */
export interface ObjectWriter {
  /** Adds a new object: AlreadyExists if its key is taken, Invalid if it is refused. */
  create<T extends KubeObject = KubeObject>(obj: T, options?: WriteOptions): Promise<T>;
  /** Replaces an object; a resourceVersion in `obj` must match the stored one (Conflict otherwise). */
  update<T extends KubeObject = KubeObject>(obj: T, options?: WriteOptions): Promise<T>;
  /** update with `{ subresource: 'status' }`. */
  updateStatus<T extends KubeObject = KubeObject>(
    obj: T,
    options?: Omit<WriteOptions, 'subresource'>,
  ): Promise<T>;
  /** Patches an object (JSON Patch, JSON Merge Patch or a field-level apply) and writes the result. */
  patch<T extends KubeObject = KubeObject>(key: KeyInput, patch: Patch, options?: PatchOptions): Promise<T>;
  /** Deletes an object; NotFound if there is none, Conflict for a stale resourceVersion. */
  delete(key: KeyInput, options?: DeleteOptions): Promise<void>;
}

/** Change events: ADDED, MODIFIED and DELETED objects, and files that cannot be read. */
export interface ObjectEvents {
  /** Events from now on (all of them, or those the options select), as an async iterator. */
  watch<T extends KubeObject = KubeObject>(options?: WatchOptions): AsyncIterableIterator<StorageEvent<T>>;
  /** Calls `listener` for every event (or those the options select); returns the unsubscribe. */
  on(listener: StorageListener, options?: ListOptions): () => void;
}
