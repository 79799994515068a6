/**
 * How the object storage's index learns what files hold: reads files (a batch at a time, a
 * bounded number at once), parses them, turns each into the objects and problems the index
 * takes (a FileState), applies the batch and tells subscribers what changed. Used when the
 * storage opens, for the watcher's batches, for `refresh`, and by the write path after a write.
 */
import {
  deepCopy,
  ErrorCodes,
  GitOpsError,
  isList,
  keyOf,
  mapLimit,
  objectKeyToString,
  toGitOpsError,
} from '../runtime/index.js';
import type { KubeObject, ObjectKey } from '../runtime/index.js';
import { ManifestFile } from '../serializer/index.js';
import type { Decoder } from '../serializer/index.js';
import { documentVersion } from './content-hash.js';
import { describeKey } from './object-errors.js';
import type { FileState, IndexedObject, ObjectIndex } from './object-index.js';
import type { FileContent, RawStorage } from './raw-storage.js';
import type { StorageEvent, StorageEventHub } from './storage-events.js';

/** Whose change a batch is: this storage's own write, or anyone else's. */
type Origin = 'storage' | 'external';

interface FileRead {
  readonly path: string;
  /** The index's version of the path when the read began. */
  readonly version: number;
  readonly content: FileContent | undefined;
  readonly error: GitOpsError | undefined;
}

export interface IndexRefreshOptions {
  readonly raw: RawStorage;
  readonly index: ObjectIndex;
  readonly hub: StorageEventHub;
  readonly decoder: Decoder;
  /** Files read at once. */
  readonly readConcurrency: number;
  /** True once the storage is closed: a refresh under way then stops. */
  readonly closed: () => boolean;
}

export class IndexRefresh {
  readonly #raw: RawStorage;
  readonly #index: ObjectIndex;
  readonly #hub: StorageEventHub;
  readonly #decoder: Decoder;
  readonly #readConcurrency: number;
  readonly #closed: () => boolean;

  constructor(options: IndexRefreshOptions) {
    this.#raw = options.raw;
    this.#index = options.index;
    this.#hub = options.hub;
    this.#decoder = options.decoder;
    this.#readConcurrency = options.readConcurrency;
    this.#closed = options.closed;
  }

  /** Puts the states into the index at once and tells subscribers the difference. */
  apply(states: readonly FileState[], origin: Origin): void {
    if (states.length === 0) return;
    const events = this.#index.apply(states, origin);
    if (events.length > 0 && this.#hub.size > 0) this.#hub.emitAll(events);
  }

  parse(path: string, text: string): ManifestFile {
    return ManifestFile.parse(text, {
      file: path,
      contentType: this.#raw.contentType(path),
      decoder: this.#decoder,
    });
  }

  /** The objects and problems of a parsed file, as the index takes them. */
  stateOf(path: string, checksum: string, file: ManifestFile): FileState {
    return fileState(this.#raw, path, checksum, file);
  }

  /**
   * Reads `paths` and applies what changed, in one batch, so a move shows as a move. A path
   * that changed in the index while it was being read (a write of ours) is read again.
   */
  async refresh(paths: readonly string[], origin: Origin): Promise<void> {
    let pending = [...new Set(paths)];
    const parsed = new Map<FileRead, FileState>();
    while (pending.length > 0 && !this.#closed()) {
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
      let all = reads;
      if (elsewhere.size > 0) {
        all = [...reads, ...(await this.#readAll([...elsewhere]))];
        outcome = this.#statesOf(all, parsed);
      }
      // Reads racing a rename can see the object under both names (the old one opened before
      // the rename, the new one after). A key two files claim is confirmed by reading those
      // files once more, after every first read ended; a real duplicate survives that.
      const contested = this.#contested(outcome.states);
      if (contested.size > 0) {
        const again = await this.#readAll([...contested]);
        outcome = this.#statesOf([...all.filter((r) => !contested.has(r.path)), ...again], parsed);
      }
      this.apply(outcome.states, origin);
      if (outcome.errors.length > 0 && this.#hub.size > 0) this.#hub.emitAll(outcome.errors);
      pending = outcome.retry;
    }
  }

  /** The files of a key that the states and the rest of the index would give two files. */
  #contested(states: readonly FileState[]): Set<string> {
    const changed = new Set(states.map((s) => s.path));
    const holders = new Map<string, Set<string>>();
    for (const state of states) {
      if ('removed' in state) continue;
      for (const o of state.objects) {
        let paths = holders.get(o.id);
        if (paths === undefined) holders.set(o.id, (paths = new Set()));
        paths.add(state.path);
        for (const path of this.#index.claimants(o.id)) if (!changed.has(path)) paths.add(path);
      }
    }
    const contested = new Set<string>();
    for (const paths of holders.values()) if (paths.size > 1) for (const path of paths) contested.add(path);
    return contested;
  }

  async #readAll(paths: readonly string[]): Promise<FileRead[]> {
    return mapLimit(paths, this.#readConcurrency, async (path): Promise<FileRead> => {
      const version = this.#index.version(path);
      try {
        return { path, version, content: await this.#raw.read(path), error: undefined };
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
          state = this.stateOf(path, read.content.checksum, this.parse(path, read.content.text));
          parsed.set(read, state);
        }
        states.push(state);
      }
    }
    return { states, retry, errors };
  }
}

/**
 * The objects and problems of a parsed file, as the index takes them: each object with its
 * key, derived resourceVersion and place; a document that cannot be read, an object without a
 * key, or one the layout keeps in another file, as a problem.
 */
export function fileState(raw: RawStorage, path: string, checksum: string, file: ManifestFile): FileState {
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
      if (!raw.mayHold(path, key)) {
        errors.push(
          new GitOpsError(
            ErrorCodes.Invalid,
            `${path} holds ${describeKey(key)}, which this storage's layout keeps in ` +
              `${raw.fileFor(obj, key)}; move it there`,
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
