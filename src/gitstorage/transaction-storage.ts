/**
 * The storage a transaction's function writes through: the object storage API (get, list,
 * find, count, create, update, patch, delete), with its validation, optimistic concurrency and
 * lossless edits, over the transaction's own files. Files are read only when an operation needs
 * them: the index of the base commit (the GitStorage's own, when it serves that commit) says
 * which files hold the objects asked for, so a one-object transaction reads one file.
 */
import type { ListOptions } from '../filter/index.js';
import { keyOf, parseObjectKey } from '../runtime/index.js';
import type { GitOpsError, KubeObject, ObjectKey } from '../runtime/index.js';
import type {
  DeleteOptions,
  GetOptions,
  KeyInput,
  ObjectLocation,
  ObjectReader,
  ObjectStorage,
  ObjectWriter,
  PatchOptions,
  WriteOptions,
} from '../storage/index.js';
import type { Patch } from '../patch/index.js';
import type { OverlayRawStorage } from './overlay-raw-storage.js';

/** Where objects are in the base commit of a transaction. */
export interface BaseIndex {
  /** False once the index has moved on to another commit; the transaction then loads every file. */
  current(): boolean;
  /** The file (relative to the storage root) that holds `key`, if any. */
  locate(key: ObjectKey): Promise<string | undefined>;
  /** The files that hold the objects the options select. */
  select(options: ListOptions): Promise<string[]>;
}

export class TransactionStorage implements ObjectReader, ObjectWriter {
  readonly #objects: ObjectStorage;
  readonly #files: OverlayRawStorage;
  readonly #base: BaseIndex | undefined;
  readonly #loaded = new Set<string>();
  #everything = false;

  /** `base` undefined: the base commit is not indexed, so the first read loads every file. */
  constructor(objects: ObjectStorage, files: OverlayRawStorage, base: BaseIndex | undefined) {
    this.#objects = objects;
    this.#files = files;
    this.#base = base;
  }

  /** The transaction's files as bytes (changes here bypass the object index: prefer the object methods). */
  get raw(): OverlayRawStorage {
    return this.#files;
  }

  async #load(paths: readonly (string | undefined)[]): Promise<void> {
    const fresh = [...new Set(paths)].filter((p): p is string => p !== undefined && !this.#loaded.has(p));
    if (fresh.length === 0) return;
    for (const path of fresh) this.#loaded.add(path);
    this.#files.know(fresh);
    await this.#objects.refresh(fresh);
  }

  async #loadAll(): Promise<void> {
    if (this.#everything) return;
    this.#everything = true;
    await this.#load(await this.#files.basePaths());
  }

  async #loadKey(key: KeyInput): Promise<ObjectKey> {
    const k = typeof key === 'string' ? parseObjectKey(key) : key;
    const base = this.#usableBase();
    if (base === undefined) await this.#loadAll();
    else await this.#load([await base.locate(k)]);
    return k;
  }

  async #loadSelected(options: ListOptions): Promise<void> {
    const base = this.#usableBase();
    if (base === undefined) await this.#loadAll();
    else await this.#load(await base.select(options));
  }

  #usableBase(): BaseIndex | undefined {
    return this.#everything || this.#base?.current() !== true ? undefined : this.#base;
  }

  async #loadObject(obj: KubeObject): Promise<void> {
    let key: ObjectKey;
    try {
      key = keyOf(obj);
    } catch {
      // No name yet (generateName): nothing of the base can hold it.
      return;
    }
    await this.#loadKey(key);
  }

  async get<T extends KubeObject = KubeObject>(key: KeyInput, options: GetOptions = {}): Promise<T> {
    return this.#objects.get<T>(await this.#loadKey(key), options);
  }

  async list<T extends KubeObject = KubeObject>(options: ListOptions = {}): Promise<T[]> {
    await this.#loadSelected(options);
    return this.#objects.list<T>(options);
  }

  async find<T extends KubeObject = KubeObject>(options: ListOptions): Promise<T> {
    await this.#loadSelected(options);
    return this.#objects.find<T>(options);
  }

  async count(options: ListOptions = {}): Promise<number> {
    await this.#loadSelected(options);
    return this.#objects.count(options);
  }

  async exists(key: KeyInput): Promise<boolean> {
    return this.#objects.exists(await this.#loadKey(key));
  }

  async locate(key: KeyInput): Promise<ObjectLocation | undefined> {
    return this.#objects.locate(await this.#loadKey(key));
  }

  /** Problems of the files read so far. */
  problems(): GitOpsError[] {
    return this.#objects.problems();
  }

  async create<T extends KubeObject = KubeObject>(obj: T, options: WriteOptions = {}): Promise<T> {
    await this.#loadObject(obj);
    return this.#objects.create<T>(obj, options);
  }

  async update<T extends KubeObject = KubeObject>(obj: T, options: WriteOptions = {}): Promise<T> {
    await this.#loadObject(obj);
    return this.#objects.update<T>(obj, options);
  }

  async updateStatus<T extends KubeObject = KubeObject>(
    obj: T,
    options: Omit<WriteOptions, 'subresource'> = {},
  ): Promise<T> {
    await this.#loadObject(obj);
    return this.#objects.updateStatus<T>(obj, options);
  }

  async patch<T extends KubeObject = KubeObject>(
    key: KeyInput,
    patch: Patch,
    options: PatchOptions = {},
  ): Promise<T> {
    return this.#objects.patch<T>(await this.#loadKey(key), patch, options);
  }

  async delete(key: KeyInput, options: DeleteOptions = {}): Promise<void> {
    await this.#objects.delete(await this.#loadKey(key), options);
  }
}
