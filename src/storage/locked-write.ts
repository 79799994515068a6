/**
 * The object storage's write path: every write locks its file, reads it afresh (bringing the
 * index up to date with it), checks its precondition against what is on disk, edits only its
 * own document through ManifestFile (so comments and layout stay), replaces the file
 * atomically, and applies the result to the index (which tells subscribers). What a write may
 * change is the strategy's (write-strategy.ts); this file is about files, locks and the index.
 */
import { deepCopy, deepEqual, ErrorCodes, GitOpsError, isList, objectKeyToString } from '../runtime/index.js';
import type { KubeObject, ObjectKey } from '../runtime/index.js';
import type { ManifestFile } from '../serializer/index.js';
import type { IndexRefresh } from './index-refresh.js';
import { alreadyExists, describeKey, notFound } from './object-errors.js';
import type { IndexedObject, ObjectIndex } from './object-index.js';
import type { FileContent, RawStorage } from './raw-storage.js';
import {
  checkDeleteVersion,
  checkResourceVersion,
  validateObject,
  versionAsOnDisk,
  withoutVersion,
} from './write-strategy.js';
import type { WritePolicy } from './write-strategy.js';

interface LoadedFile {
  readonly content: FileContent | undefined;
  readonly manifest: ManifestFile | undefined;
}

export interface LockedWritesOptions {
  readonly raw: RawStorage;
  readonly index: ObjectIndex;
  readonly refresh: IndexRefresh;
  readonly policy: WritePolicy;
}

export class LockedWrites {
  readonly #raw: RawStorage;
  readonly #index: ObjectIndex;
  readonly #refresh: IndexRefresh;
  readonly #policy: WritePolicy;
  /** Files being written now, each with a promise of the write's end. */
  readonly #writing = new Map<string, Promise<void>>();

  constructor(options: LockedWritesOptions) {
    this.#raw = options.raw;
    this.#index = options.index;
    this.#refresh = options.refresh;
    this.#policy = options.policy;
  }

  /** Resolves once the writes of `paths` under way now have ended (whether they succeeded or not). */
  async settled(paths: Iterable<string>): Promise<void> {
    await Promise.all([...paths].map((path) => this.#writing.get(path)));
  }

  /**
   * Adds `desired` (prepared and validated by the strategy, its key free in the index) to the
   * file its key goes in; AlreadyExists when the key was taken meanwhile, or when a storage
   * with one object per file finds that file taken. Returns the object as stored.
   */
  async create(key: ObjectKey, desired: KubeObject, dryRun: boolean): Promise<KubeObject> {
    const path = this.#raw.fileFor(desired, key);
    return this.#withFile(path, async ({ content, manifest }) => {
      const taken = this.#index.get(key);
      if (taken !== undefined) throw alreadyExists(key, taken.path);
      if (content !== undefined && !this.#raw.multiObjectFiles) {
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
      const file = manifest ?? this.#refresh.parse(path, '');
      file.appendObject(withoutVersion(desired));
      return this.#commit(path, file, key, dryRun);
    });
  }

  /**
   * The shared path of update and patch: lock the object's file, check the precondition
   * against the file as it is, compute the new object from the current one (with its
   * resourceVersion), validate, edit its document, write. Returns the object as stored.
   */
  async modify(
    key: ObjectKey,
    expected: string | undefined,
    dryRun: boolean,
    compute: (current: KubeObject) => KubeObject,
  ): Promise<KubeObject> {
    return this.#onEntry(key, async (entry, { manifest }) => {
      checkResourceVersion(key, expected, entry.resourceVersion);
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
      const written = versionAsOnDisk(next, onDisk);
      validateObject(written, this.#policy);
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
      return this.#commit(entry.path, file, key, dryRun);
    });
  }

  /** Removes the object's document (or List item); a file left without objects is removed. */
  async delete(key: ObjectKey, expected: string | undefined, dryRun: boolean): Promise<void> {
    await this.#onEntry(key, async (entry, { manifest }) => {
      checkDeleteVersion(key, expected, entry.resourceVersion);
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
      if (dryRun) return;
      // A file left without objects goes (comments alone are not worth a file).
      const empty = file.documents.every((d) => d.objects.length === 0 && d.errors.length === 0);
      await this.#write(entry.path, empty ? undefined : file);
    });
  }

  /** Runs `fn` with the object's file locked and freshly read; follows the object if it moved. */
  async #onEntry<T>(key: ObjectKey, fn: (entry: IndexedObject, file: LoadedFile) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      let entry = this.#index.get(key);
      if (entry === undefined && !this.#raw.multiObjectFiles) {
        // A layout storage knows the file: it may have appeared before the watcher said so.
        let path: string;
        try {
          path = this.#raw.fileFor({ apiVersion: 'v1', kind: key.kind, metadata: {} }, key);
        } catch {
          throw notFound(key);
        }
        await this.#refresh.refresh([path], 'external');
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
    const run = this.#raw.withLock(path, async () => {
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
      const content = await this.#raw.read(path);
      if (this.#index.version(path) !== version) continue;
      if (content === undefined) {
        if (this.#index.file(path) !== undefined) this.#refresh.apply([{ path, removed: true }], 'external');
        return { content, manifest: undefined };
      }
      const manifest = this.#refresh.parse(path, content.text);
      if (this.#index.file(path)?.checksum !== content.checksum) {
        this.#refresh.apply([this.#refresh.stateOf(path, content.checksum, manifest)], 'external');
      }
      return { content, manifest };
    }
  }

  /** Writes the edited file, updates the index, tells subscribers; returns the object as stored. */
  async #commit(path: string, file: ManifestFile, key: ObjectKey, dryRun: boolean): Promise<KubeObject> {
    if (dryRun) {
      const state = this.#refresh.stateOf(path, '', file);
      if ('removed' in state) throw notFound(key);
      const entry = state.objects.find((o) => o.id === objectKeyToString(key));
      if (entry === undefined) throw notFound(key);
      return deepCopy(entry.object);
    }
    await this.#write(path, file);
    const entry = this.#index.get(key);
    if (entry === undefined) throw notFound(key);
    return deepCopy(entry.object);
  }

  /** Replaces the file atomically (or removes it when `file` is undefined) and applies it to the index. */
  async #write(path: string, file: ManifestFile | undefined): Promise<void> {
    if (file === undefined) {
      await this.#raw.remove(path);
      this.#refresh.apply([{ path, removed: true }], 'storage');
      return;
    }
    const checksum = await this.#raw.write(path, file.toString());
    this.#refresh.apply([this.#refresh.stateOf(path, checksum, file)], 'storage');
  }
}
