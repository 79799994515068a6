/**
 * ObjectStorage: typed CRUD over a raw storage. Reads come from the in-memory index; every
 * write locks its file, reads it afresh, checks the resourceVersion against what is on disk,
 * edits only its own document through ManifestFile (so comments and layout stay), replaces
 * the file atomically and tells every subscriber. Changes by others reach the index through
 * the file watcher, found by content hash.
 */
import { randomUUID } from 'node:crypto';
import { compileListOptions } from '../filter/index.js';
import type { ListOptions } from '../filter/index.js';
import {
  deepCopy,
  deepEqual,
  ErrorCodes,
  GitOpsError,
  gvkOf,
  isKubeObject,
  isList,
  isPlainObject,
  keyOf,
  mapLimit,
  objectKeyToString,
  parseObjectKey,
  toGitOpsError,
  validateUnstructured,
} from '../runtime/index.js';
import type { KubeObject, ObjectKey, Scheme } from '../runtime/index.js';
import { Decoder, ManifestFile } from '../serializer/index.js';
import { documentVersion } from './content-hash.js';
import { FileWatcher } from './file-watcher.js';
import type { ChangeBatch } from './file-watcher.js';
import { ObjectIndex } from './object-index.js';
import type { FileState, IndexedObject } from './object-index.js';
import { applyPatch } from './patch.js';
import type { Patch } from './patch.js';
import { checkKeyForPath } from './paths.js';
import type { FileContent, RawStorage } from './raw-storage.js';
import { StorageEventHub } from './storage-events.js';
import type { StorageEvent, StorageListener, WatchOptions } from './storage-events.js';

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

type KeyInput = ObjectKey | string;

interface LoadedFile {
  readonly content: FileContent | undefined;
  readonly manifest: ManifestFile | undefined;
}

// Letters Kubernetes uses for generateName suffixes (no vowels, no look-alikes).
const NAME_SUFFIX_LETTERS = 'bcdfghjklmnpqrstvwxz2456789';

export class ObjectStorage {
  readonly raw: RawStorage;
  readonly #scheme: Scheme | undefined;
  readonly #strict: boolean;
  readonly #stamp: boolean;
  readonly #statusSubresource: boolean;
  readonly #decoder: Decoder;
  readonly #index = new ObjectIndex();
  readonly #hub = new StorageEventHub();
  readonly #readConcurrency: number;
  #watcher: FileWatcher | undefined;
  /** Files this storage is writing now, each with a promise of the write's end. */
  readonly #writing = new Map<string, Promise<void>>();
  #closed = false;

  private constructor(raw: RawStorage, options: ObjectStorageOptions) {
    this.raw = raw;
    this.#scheme = options.scheme;
    this.#strict = options.strict ?? true;
    this.#stamp = options.stampMetadata ?? true;
    this.#statusSubresource = options.statusSubresource ?? false;
    this.#readConcurrency = Math.max(1, options.readConcurrency ?? 64);
    this.#decoder = new Decoder({ strict: this.#strict, scheme: this.#scheme, unknownKinds: 'unstructured' });
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
      await storage.#refreshPaths(files, 'external');
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
  locate(key: KeyInput): ObjectLocation | undefined {
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
    const desired = this.#prepareNew(obj);
    const generated = nameIsGenerated(desired);
    for (let attempt = 0; ; attempt += 1) {
      if (generated) desired.metadata.name = `${desired.metadata.generateName}${randomSuffix()}`;
      this.#validate(desired);
      const key = keyOf(desired);
      checkKeyForPath(key);
      if (this.#index.get(key) !== undefined) {
        if (generated && attempt < 8) continue;
        throw alreadyExists(key, this.#index.get(key)!.path);
      }
      const path = this.raw.fileFor(desired, key);
      return (await this.#withFile(path, async ({ content, manifest }) => {
        const taken = this.#index.get(key);
        if (taken !== undefined) throw alreadyExists(key, taken.path);
        if (content !== undefined && !this.raw.multiObjectFiles) {
          throw new GitOpsError(
            ErrorCodes.AlreadyExists,
            `cannot create ${describeKey(key)}: its file ${path} already holds another object ` +
              `(${
                this.#index
                  .file(path)
                  ?.objects.map((o) => o.id)
                  .join(', ') || 'or cannot be read'
              })`,
            { details: { file: path, object: objectKeyToString(key) } },
          );
        }
        const file =
          manifest ??
          ManifestFile.parse('', {
            file: path,
            contentType: this.raw.contentType(path),
            decoder: this.#decoder,
          });
        file.appendObject(stripVersion(desired));
        return this.#commit(path, file, key, options.dryRun === true);
      })) as T;
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
    return (await this.#modify(key, expected, options, (current) => {
      const desired = deepCopy(obj) as KubeObject;
      return this.#merged(current, desired, options.subresource);
    })) as T;
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
    return (await this.#modify(toKey(key), options.resourceVersion, options, (current) => {
      const patched = applyPatch(current, patch);
      if (!isKubeObject(patched)) throw badObject('the patched object');
      const after = patched.metadata.resourceVersion;
      // A resourceVersion written by the patch is a precondition, as in Kubernetes.
      if (after !== undefined && after !== current.metadata.resourceVersion) {
        throw conflict(toKey(key), String(after), String(current.metadata.resourceVersion));
      }
      const samePlace = keyOf(patched);
      if (objectKeyToString(samePlace) !== objectKeyToString(toKey(key))) {
        throw new GitOpsError(
          ErrorCodes.Invalid,
          'a patch cannot change apiVersion group, kind, namespace or name; create a new object instead',
          { details: { object: objectKeyToString(toKey(key)) } },
        );
      }
      return this.#merged(current, patched, options.subresource);
    })) as T;
  }

  /** Deletes an object; NotFound if there is none, Conflict for a stale resourceVersion. */
  async delete(key: KeyInput, options: DeleteOptions = {}): Promise<void> {
    this.#assertOpen();
    const k = toKey(key);
    await this.#onEntry(k, async (entry, { manifest }) => {
      if (options.resourceVersion !== undefined && options.resourceVersion !== entry.resourceVersion) {
        throw conflict(k, options.resourceVersion, entry.resourceVersion);
      }
      const file = manifest!;
      const doc = file.documents[entry.document]!;
      if (entry.item !== undefined && doc.object !== undefined && isList(doc.object)) {
        const list = deepCopy(doc.object);
        list.items.splice(entry.item, 1);
        if (list.items.length > 0) file.setObject(entry.document, list as KubeObject);
        else file.removeObject(entry.document);
      } else {
        file.removeObject(entry.document);
      }
      if (options.dryRun === true) return;
      // A file left without objects goes (comments alone are not worth a file).
      const empty = file.documents.every((d) => d.objects.length === 0 && d.errors.length === 0);
      await this.#write(entry.path, empty ? undefined : file);
    });
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
    await this.#refreshPaths(all, 'external');
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

  /** A checked copy of a new object, with the metadata create fills in. */
  #prepareNew(obj: KubeObject): KubeObject {
    if (!isPlainObject(obj) || !isPlainObject(obj.metadata)) throw badObject();
    const desired = deepCopy(obj) as KubeObject;
    const meta = desired.metadata;
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== '') {
      throw new GitOpsError(
        ErrorCodes.Invalid,
        '.metadata.resourceVersion: must not be set when creating an object',
        {
          details: { field: '.metadata.resourceVersion' },
        },
      );
    }
    delete meta.resourceVersion;
    const gvk = gvkOf(desired);
    const namespaced = this.#scheme?.isNamespaced(gvk);
    if (namespaced === true && (meta.namespace === undefined || meta.namespace === ''))
      meta.namespace = 'default';
    if (namespaced === false && meta.namespace !== undefined && meta.namespace !== '') {
      throw new GitOpsError(
        ErrorCodes.Invalid,
        `.metadata.namespace: ${gvk.kind} is cluster-scoped, so it has no namespace; remove "${meta.namespace}"`,
        { details: { field: '.metadata.namespace' } },
      );
    }
    if (this.#stamp) {
      meta.uid ??= randomUUID();
      if (meta.creationTimestamp === undefined || meta.creationTimestamp === null)
        meta.creationTimestamp = now();
      meta.generation ??= 1;
    }
    if (this.#hasStatusSubresource(desired)) delete desired.status;
    return desired;
  }

  #hasStatusSubresource(obj: KubeObject): boolean {
    if (!this.#statusSubresource || this.#scheme === undefined) return false;
    try {
      return this.#scheme.lookup(gvkOf(obj))?.subresources?.status === true;
    } catch {
      return false;
    }
  }

  #validate(obj: KubeObject): void {
    const problems =
      this.#scheme !== undefined
        ? this.#scheme.validate(obj, { strict: this.#strict })
        : validateUnstructured(obj, { strict: this.#strict });
    if (problems.length === 0) return;
    const first = problems[0]!;
    const name = (() => {
      try {
        return describeKey(keyOf(obj));
      } catch {
        return 'the object';
      }
    })();
    throw new GitOpsError(
      ErrorCodes.Invalid,
      `${name} is invalid: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : ''}`,
      { details: first.details, causes: problems },
    );
  }

  /**
   * What an update writes: `desired` with what it may not change taken from `current` (the
   * object on disk, with its resourceVersion): status or everything but status under the
   * status subresource, uid and creationTimestamp, the version the file is written in.
   */
  #merged(current: KubeObject, desired: KubeObject, subresource: 'status' | undefined): KubeObject {
    if (!isKubeObject(desired)) throw badObject();
    let next = desired;
    if (subresource === 'status' && !this.#hasStatusSubresource(current)) {
      throw new GitOpsError(
        ErrorCodes.BadRequest,
        `${current.kind} has no status subresource here (it needs statusSubresource and a scheme kind with subresources.status)`,
      );
    }
    const scheme = this.#scheme;
    if (
      scheme !== undefined &&
      next.apiVersion !== current.apiVersion &&
      scheme.has(gvkOf(next)) &&
      scheme.has(gvkOf(current))
    ) {
      // Written in the version the file already uses, so the file keeps its apiVersion.
      next = scheme.convert(next, current.apiVersion);
    }
    if (subresource === 'status') {
      next = { ...deepCopy(current), status: next.status };
      if (next.status === undefined) delete next.status;
    } else if (this.#hasStatusSubresource(current)) {
      next = { ...next };
      if (current.status === undefined) delete next.status;
      else next.status = deepCopy(current.status);
    }
    const meta = { ...next.metadata };
    next = { ...next, metadata: meta };
    for (const field of ['uid', 'creationTimestamp'] as const) {
      const was = current.metadata[field];
      if (meta[field] === undefined) {
        if (was !== undefined) (meta as Record<string, unknown>)[field] = was;
      } else if (was !== undefined && meta[field] !== was) {
        throw new GitOpsError(
          ErrorCodes.Invalid,
          `.metadata.${field}: field is immutable (it is ${JSON.stringify(was)})`,
          {
            details: { field: `.metadata.${field}` },
          },
        );
      }
    }
    // generation counts changes of anything but metadata and status, for objects that keep one.
    if (
      typeof current.metadata.generation === 'number' &&
      !deepEqual(withoutMetaAndStatus(current), withoutMetaAndStatus(next))
    ) {
      meta.generation = current.metadata.generation + 1;
    } else if (current.metadata.generation !== undefined) {
      meta.generation = current.metadata.generation;
    }
    return next;
  }

  /**
   * The shared path of update and patch: lock the object's file, check the precondition
   * against the file as it is, compute the new object, validate, edit its document, write.
   */
  async #modify(
    key: ObjectKey,
    expected: string | undefined,
    options: WriteOptions,
    compute: (current: KubeObject) => KubeObject,
  ): Promise<KubeObject> {
    return this.#onEntry(key, async (entry, { manifest }) => {
      if (expected !== undefined && expected !== '' && expected !== entry.resourceVersion) {
        throw conflict(key, expected, entry.resourceVersion);
      }
      const file = manifest!;
      const doc = file.documents[entry.document]!;
      const onDisk = (
        entry.item === undefined
          ? doc.object
          : (doc.object as unknown as { items: KubeObject[] }).items[entry.item]
      )!;
      // The object as the caller saw it: on-disk fields plus the resourceVersion we derive.
      const current = deepCopy(onDisk);
      current.metadata = { ...current.metadata, resourceVersion: entry.resourceVersion };
      const next = compute(current);
      // resourceVersion is never written: what the file says (usually nothing) stays.
      const written = restoreVersion(next, onDisk);
      this.#validate(written);
      if (deepEqual(written, onDisk)) return deepCopy(entry.object);
      // Comments of fields the write removes stay, at the top of the document (see
      // docs/architecture.md): nothing a person wrote disappears without a trace.
      const keep = { keepRemovedComments: true };
      if (entry.item === undefined) {
        file.setObject(entry.document, written, keep);
      } else {
        const list = deepCopy(doc.object!) as { items: KubeObject[] } & KubeObject;
        list.items[entry.item] = written;
        file.setObject(entry.document, list, keep);
      }
      return this.#commit(entry.path, file, key, options.dryRun === true);
    });
  }

  /** Runs `fn` with the object's file locked and freshly read; follows the object if it moved. */
  async #onEntry<T>(key: ObjectKey, fn: (entry: IndexedObject, file: LoadedFile) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      let entry = this.#index.get(key);
      if (entry === undefined && !this.raw.multiObjectFiles) {
        // A layout storage knows the file: it may have appeared before the watcher said so.
        let path: string;
        try {
          path = this.raw.fileFor({ apiVersion: 'v1', kind: key.kind, metadata: {} }, key);
        } catch {
          throw notFound(key);
        }
        await this.#refreshPaths([path], 'external');
        entry = this.#index.get(key);
      }
      if (entry === undefined) throw notFound(key);
      const path = entry.path;
      const result = await this.#withFile(path, async (file) => {
        const fresh = this.#index.get(key);
        if (fresh === undefined || fresh.path !== path) return { moved: true as const };
        if (fresh.stale === true) {
          const problem = this.#index.file(path)?.errors[0];
          throw new GitOpsError(
            ErrorCodes.Conflict,
            `${describeKey(key)} cannot be changed: its file ${path} has problems` +
              `${problem !== undefined ? ` (${problem.message})` : ''}; fix the file first`,
            { details: { file: path, object: objectKeyToString(key) }, cause: problem },
          );
        }
        return { moved: false as const, value: await fn(fresh, file) };
      });
      if (!result.moved) return result.value;
      if (attempt >= 3) throw notFound(key);
    }
  }

  /** Runs `fn` holding the lock of `path`, with the file read afresh and the index brought up to date. */
  async #withFile<T>(path: string, fn: (file: LoadedFile) => Promise<T>): Promise<T> {
    const run = this.raw.withLock(path, async () => {
      const loaded = await this.#load(path);
      return fn(loaded);
    });
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#writing.set(path, settled);
    try {
      return await run;
    } finally {
      if (this.#writing.get(path) === settled) this.#writing.delete(path);
    }
  }

  async #load(path: string): Promise<LoadedFile> {
    for (;;) {
      const version = this.#index.version(path);
      const content = await this.raw.read(path);
      if (this.#index.version(path) !== version) continue;
      if (content === undefined) {
        if (this.#index.file(path) !== undefined) this.#apply([{ path, removed: true }], 'external');
        return { content, manifest: undefined };
      }
      const manifest = this.#parse(path, content.text);
      if (this.#index.file(path)?.checksum !== content.checksum) {
        this.#apply([this.#stateOf(path, content.checksum, manifest)], 'external');
      }
      return { content, manifest };
    }
  }

  /** Writes the edited file (or removes it), updates the index, tells subscribers; returns the object. */
  async #commit(path: string, file: ManifestFile, key: ObjectKey, dryRun: boolean): Promise<KubeObject> {
    if (dryRun) {
      const state = this.#stateOf(path, '', file);
      if ('removed' in state) throw notFound(key);
      const entry = state.objects.find((o) => o.id === objectKeyToString(key));
      if (entry === undefined) throw notFound(key);
      return deepCopy(entry.object);
    }
    await this.#write(path, file);
    return deepCopy(this.#entry(key).object);
  }

  async #write(path: string, file: ManifestFile | undefined): Promise<void> {
    if (file === undefined) {
      await this.raw.remove(path);
      this.#apply([{ path, removed: true }], 'storage');
      return;
    }
    const checksum = await this.raw.write(path, file.toString());
    this.#apply([this.#stateOf(path, checksum, file)], 'storage');
  }

  #apply(states: readonly FileState[], origin: 'storage' | 'external'): void {
    if (states.length === 0) return;
    const events = this.#index.apply(states, origin);
    if (events.length > 0 && this.#hub.size > 0) this.#hub.emitAll(events);
  }

  #parse(path: string, text: string): ManifestFile {
    return ManifestFile.parse(text, {
      file: path,
      contentType: this.raw.contentType(path),
      decoder: this.#decoder,
    });
  }

  /** The objects and problems of a parsed file, as the index takes them. */
  #stateOf(path: string, checksum: string, file: ManifestFile): FileState {
    const objects: IndexedObject[] = [];
    const errors: GitOpsError[] = [];
    for (const doc of file.documents) {
      if (doc.errors.length > 0) {
        errors.push(...doc.errors);
        continue;
      }
      const listDoc = doc.object !== undefined && isList(doc.object);
      doc.objects.forEach((obj, i) => {
        const item = listDoc ? i : undefined;
        let key: ObjectKey;
        try {
          key = keyOf(obj);
        } catch (err) {
          errors.push(
            toGitOpsError(err).withDetails({
              file: path,
              document: doc.index,
              line: doc.frame.startLine,
              column: doc.frame.startColumn,
            }),
          );
          return;
        }
        if (!this.raw.mayHold(path, key)) {
          errors.push(
            new GitOpsError(
              ErrorCodes.Invalid,
              `${path} holds ${describeKey(key)}, which this storage's layout keeps in ` +
                `${this.raw.fileFor(obj, key)}; move it there`,
              {
                details: {
                  file: path,
                  document: doc.index,
                  line: doc.frame.startLine,
                  column: doc.frame.startColumn,
                  object: objectKeyToString(key),
                },
              },
            ),
          );
          return;
        }
        const resourceVersion = documentVersion(doc.frame.text, item);
        const entry: IndexedObject = {
          key,
          id: objectKeyToString(key),
          object: frozenWithVersion(obj, resourceVersion),
          resourceVersion,
          path,
          document: doc.index,
          line: doc.frame.startLine,
          column: doc.frame.startColumn,
          ...(item === undefined ? {} : { item }),
        };
        objects.push(entry);
      });
    }
    const fileErrors = file.errors.filter((e) => !file.documents.some((d) => d.errors.includes(e)));
    return { path, checksum, objects, errors: [...fileErrors, ...errors] };
  }

  async #onBatch(batch: ChangeBatch): Promise<void> {
    if (this.#closed) return;
    const paths = new Set(batch.files);
    for (const folder of batch.removedFolders) {
      for (const path of this.#index.paths()) if (path.startsWith(`${folder}/`)) paths.add(path);
    }
    // A file this storage is writing is read once the write is applied, so the watcher never
    // reports our own write (as an outside change) before we do.
    await Promise.all([...paths].map((path) => this.#writing.get(path)));
    await this.#refreshPaths([...paths], 'external');
  }

  /**
   * Reads `paths` and applies what changed, in one batch, so a move shows as a move. A path
   * that changed in the index while it was being read (a write of ours) is read again.
   */
  async #refreshPaths(paths: readonly string[], origin: 'storage' | 'external'): Promise<void> {
    let pending = [...new Set(paths)];
    const parsed = new Map<FileRead, FileState>();
    while (pending.length > 0 && !this.#closed) {
      const reads = await this.#readAll(pending);
      let outcome = this.#statesOf(reads, parsed);
      // A key that turns up here but is held by a file outside the batch may have moved from
      // that file (a rename whose removal is not reported yet): read that file in this batch too.
      const batch = new Set(pending);
      const elsewhere = new Set<string>();
      for (const state of outcome.states) {
        if ('removed' in state) continue;
        for (const o of state.objects) {
          const holder = this.#index.get(o.id)?.path;
          if (holder !== undefined && !batch.has(holder)) elsewhere.add(holder);
        }
      }
      if (elsewhere.size > 0)
        outcome = this.#statesOf([...reads, ...(await this.#readAll([...elsewhere]))], parsed);
      this.#apply(outcome.states, origin);
      if (outcome.errors.length > 0 && this.#hub.size > 0) this.#hub.emitAll(outcome.errors);
      pending = outcome.retry;
    }
  }

  async #readAll(paths: readonly string[]): Promise<FileRead[]> {
    return mapLimit(paths, this.#readConcurrency, async (path): Promise<FileRead> => {
      const version = this.#index.version(path);
      try {
        return { path, version, content: await this.raw.read(path), error: undefined };
      } catch (err) {
        return { path, version, content: undefined, error: toGitOpsError(err).withDetails({ file: path }) };
      }
    });
  }

  /** What the reads mean for the index (synchronously, so nothing changes in between). */
  #statesOf(
    reads: readonly FileRead[],
    parsed: Map<FileRead, FileState>,
  ): { states: FileState[]; retry: string[]; errors: StorageEvent[] } {
    const states: FileState[] = [];
    const retry: string[] = [];
    const errors: StorageEvent[] = [];
    for (const read of reads) {
      const { path } = read;
      if (this.#index.version(path) !== read.version) {
        retry.push(path);
        continue;
      }
      const known = this.#index.file(path);
      if (read.error !== undefined) {
        // A path that now escapes the root (a symlink changed) is as good as gone.
        if (read.error.code === ErrorCodes.PathEscape && known !== undefined)
          states.push({ path, removed: true });
        errors.push({ type: 'ERROR', path, error: read.error });
        continue;
      }
      if (read.content === undefined) {
        if (known !== undefined) states.push({ path, removed: true });
      } else if (known?.checksum !== read.content.checksum) {
        let state = parsed.get(read);
        if (state === undefined) {
          state = this.#stateOf(path, read.content.checksum, this.#parse(path, read.content.text));
          parsed.set(read, state);
        }
        states.push(state);
      }
    }
    return { states, retry, errors };
  }
}

interface FileRead {
  readonly path: string;
  /** The index's version of the path when the read began. */
  readonly version: number;
  readonly content: FileContent | undefined;
  readonly error: GitOpsError | undefined;
}

function toKey(key: KeyInput): ObjectKey {
  return typeof key === 'string' ? parseObjectKey(key) : key;
}

function describeKey(key: ObjectKey): string {
  return `${key.kind} ${key.namespace === undefined ? '' : `${key.namespace}/`}${key.name}`;
}

function notFound(key: ObjectKey): GitOpsError {
  return new GitOpsError(ErrorCodes.NotFound, `${describeKey(key)} not found`, {
    details: { object: objectKeyToString(key) },
  });
}

function alreadyExists(key: ObjectKey, path: string): GitOpsError {
  return new GitOpsError(ErrorCodes.AlreadyExists, `${describeKey(key)} already exists (in ${path})`, {
    details: { object: objectKeyToString(key), file: path },
  });
}

function conflict(key: ObjectKey, given: string, actual: string): GitOpsError {
  return new GitOpsError(
    ErrorCodes.Conflict,
    `${describeKey(key)} has been modified (your resourceVersion ${given}, now ${actual}); ` +
      'get the latest version, apply your change to it and try again',
    { details: { object: objectKeyToString(key), resourceVersion: given, currentResourceVersion: actual } },
  );
}

function badObject(what = 'the object'): GitOpsError {
  return new GitOpsError(ErrorCodes.BadRequest, `${what} must have apiVersion, kind and metadata`);
}

function nameIsGenerated(obj: KubeObject): boolean {
  const { name, generateName } = obj.metadata;
  return (name === undefined || name === '') && typeof generateName === 'string' && generateName !== '';
}

function randomSuffix(): string {
  let out = '';
  for (let i = 0; i < 5; i += 1)
    out += NAME_SUFFIX_LETTERS[Math.floor(Math.random() * NAME_SUFFIX_LETTERS.length)];
  return out;
}

/** RFC 3339 in seconds, as Kubernetes writes timestamps. */
function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function stripVersion(obj: KubeObject): KubeObject {
  const meta = { ...obj.metadata };
  delete meta.resourceVersion;
  return { ...obj, metadata: meta };
}

/** `next` with metadata.resourceVersion as the file has it (most often: absent). */
function restoreVersion(next: KubeObject, onDisk: KubeObject): KubeObject {
  const meta = { ...next.metadata };
  const was = onDisk.metadata?.resourceVersion;
  if (was === undefined) delete meta.resourceVersion;
  else meta.resourceVersion = was;
  return { ...next, metadata: meta };
}

function withoutMetaAndStatus(obj: KubeObject): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...obj };
  delete rest.metadata;
  delete rest.status;
  return rest;
}

/**
 * The index's copy of an object. Built afresh rather than kept as the decoder made it: objects
 * built key by key in the same order share V8 shapes, which keeps filters over 10,000 objects
 * an order of magnitude faster than over the decoder's varied shapes.
 */
function frozenWithVersion(obj: KubeObject, resourceVersion: string): KubeObject {
  const copy = deepCopy(obj);
  copy.metadata.resourceVersion = resourceVersion;
  return deepFreeze(copy);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
