/**
 * The in-memory index: which objects each file holds, and for each ObjectKey the one version
 * that counts. Files change in batches (a write, a `git checkout`, a rename); a batch is
 * applied at once and its events are the difference of the objects before and after, so a
 * moved file gives no events for its unchanged objects, and a file rewritten with the same
 * documents gives none at all.
 */
import { ErrorCodes, GitOpsError, objectKeyToString } from '../runtime/index.js';
import type { KubeObject, ObjectKey } from '../runtime/index.js';
import type { ChangeOrigin, StorageEvent } from './storage-events.js';

/** One object as the index holds it. */
export interface IndexedObject {
  readonly key: ObjectKey;
  /** The key in string form. */
  readonly id: string;
  /** Deeply frozen, with metadata.resourceVersion set. */
  readonly object: KubeObject;
  readonly resourceVersion: string;
  readonly path: string;
  /** The document of the file that holds it. */
  readonly document: number;
  /** Its position among the items of a List document. */
  readonly item?: number;
  /** Where its document starts in the file (1-based). */
  readonly line?: number;
  readonly column?: number;
  /** True when its file went bad and this is the last version read before. */
  readonly stale?: boolean;
}

/** What a file holds now: its objects and problems, or nothing when it is gone. */
export type FileState =
  | {
      readonly path: string;
      readonly checksum: string;
      readonly objects: readonly IndexedObject[];
      readonly errors: readonly GitOpsError[];
    }
  | { readonly path: string; readonly removed: true };

interface FileRecord {
  readonly checksum: string;
  readonly objects: readonly IndexedObject[];
  readonly errors: readonly GitOpsError[];
}

function kindId(group: string, kind: string): string {
  return `${group}/${kind}`;
}

/** A file of a batch still to claim its new keys: what it holds, held before, and its problems. */
interface Claiming {
  readonly path: string;
  readonly objects: readonly IndexedObject[];
  readonly had: ReadonlySet<string>;
  readonly errors: readonly GitOpsError[];
}

export class ObjectIndex {
  readonly #files = new Map<string, FileRecord>();
  /** For each key, the files that hold it, first claim first; the first one counts. */
  readonly #claims = new Map<string, string[]>();
  readonly #entries = new Map<string, IndexedObject>();
  readonly #byKind = new Map<string, Map<string, IndexedObject>>();
  /** Bumped on every change of a file, so a slow reader can tell its read is outdated. */
  readonly #versions = new Map<string, number>();

  get size(): number {
    return this.#entries.size;
  }

  get(key: ObjectKey | string): IndexedObject | undefined {
    return this.#entries.get(typeof key === 'string' ? key : objectKeyToString(key));
  }

  /** The objects of one kind (any group when `group` is undefined), or of every kind. */
  *objects(kind?: string, group?: string): IterableIterator<IndexedObject> {
    if (kind === undefined) {
      yield* this.#entries.values();
      return;
    }
    if (group !== undefined) {
      const map = this.#byKind.get(kindId(group, kind));
      if (map !== undefined) yield* map.values();
      return;
    }
    for (const [id, map] of this.#byKind) {
      if (id.slice(id.indexOf('/') + 1) === kind) yield* map.values();
    }
  }

  file(
    path: string,
  ): { checksum: string; objects: readonly IndexedObject[]; errors: readonly GitOpsError[] } | undefined {
    return this.#files.get(path);
  }

  paths(): string[] {
    return [...this.#files.keys()];
  }

  /** The files that hold the key, first claim first (the first one counts). */
  claimants(id: string): readonly string[] {
    return this.#claims.get(id) ?? [];
  }

  /** A number that changes whenever `path` is applied. */
  version(path: string): number {
    return this.#versions.get(path) ?? 0;
  }

  /** Every problem of every file, as read last. */
  problems(): GitOpsError[] {
    const problems = [...this.#files.values()].flatMap((f) => f.errors);
    // A key held by two files: every file after the first one that counts.
    for (const [id, claims] of this.#claims) {
      for (const path of claims.slice(1)) {
        const o = this.#files.get(path)?.objects.find((x) => x.id === id);
        if (o !== undefined) problems.push(duplicate(o, claims[0]!, this.#files));
      }
    }
    return problems;
  }

  /**
   * Makes the files of `states` what the index holds and returns the events: ADDED, MODIFIED
   * (with the previous version) and DELETED per key whose counting version changed, ERROR for
   * each file with problems and for each key held by two files.
   */
  apply(states: readonly FileState[], origin: ChangeOrigin): StorageEvent[] {
    const affected = new Set<string>();
    for (const state of states) {
      for (const o of this.#files.get(state.path)?.objects ?? []) affected.add(o.id);
      if (!('removed' in state)) for (const o of state.objects) affected.add(o.id);
    }
    const before = new Map<string, IndexedObject | undefined>();
    for (const id of affected) before.set(id, this.#entries.get(id));

    // First every file lets go of what it no longer holds, then the new claims are made: a
    // batch that moves a key from one file to another is a move whatever the files' order.
    const claiming: Claiming[] = [];
    for (const state of states) {
      const old = this.#files.get(state.path);
      this.#versions.set(state.path, this.version(state.path) + 1);
      const twice: GitOpsError[] = [];
      const objects = 'removed' in state ? [] : keepStale(old, state, twice);
      // Keys the file keeps keep their place among the claims, so the counting file stays the same.
      const kept = new Set(objects.map((o) => o.id));
      const had = new Set<string>();
      for (const o of old?.objects ?? []) {
        had.add(o.id);
        if (!kept.has(o.id)) this.#unclaim(o.id, state.path);
      }
      if ('removed' in state) {
        this.#files.delete(state.path);
        continue;
      }
      const errors = [...state.errors, ...twice];
      this.#files.set(state.path, { checksum: state.checksum, objects, errors });
      claiming.push({ path: state.path, objects, had, errors });
    }
    const events: StorageEvent[] = [];
    for (const { path, objects, had, errors } of claiming) {
      for (const o of objects) {
        if (had.has(o.id)) continue;
        const claims = this.#claims.get(o.id);
        if (claims === undefined) this.#claims.set(o.id, [path]);
        else {
          claims.push(path);
          events.push({ type: 'ERROR', path, error: duplicate(o, claims[0]!, this.#files) });
        }
      }
      const problem = summarize(path, errors);
      if (problem !== undefined) events.push({ type: 'ERROR', path, error: problem });
    }

    for (const id of affected) {
      const claims = this.#claims.get(id);
      const after =
        claims === undefined ? undefined : this.#files.get(claims[0]!)?.objects.find((o) => o.id === id);
      const previous = before.get(id);
      if (after === undefined) {
        if (previous !== undefined) {
          this.#remove(previous);
          events.push({
            type: 'DELETED',
            key: previous.key,
            object: previous.object,
            path: previous.path,
            origin,
          });
        }
        continue;
      }
      this.#put(after);
      if (previous === undefined) {
        events.push({ type: 'ADDED', key: after.key, object: after.object, path: after.path, origin });
      } else if (previous.resourceVersion !== after.resourceVersion) {
        events.push({
          type: 'MODIFIED',
          key: after.key,
          object: after.object,
          previous: previous.object,
          path: after.path,
          origin,
        });
      }
    }
    return events;
  }

  #unclaim(id: string, path: string): void {
    const claims = this.#claims.get(id);
    if (claims === undefined) return;
    const at = claims.indexOf(path);
    if (at >= 0) claims.splice(at, 1);
    if (claims.length === 0) this.#claims.delete(id);
  }

  #put(entry: IndexedObject): void {
    this.#entries.set(entry.id, entry);
    const kid = kindId(entry.key.group, entry.key.kind);
    let map = this.#byKind.get(kid);
    if (map === undefined) {
      map = new Map();
      this.#byKind.set(kid, map);
    }
    map.set(entry.id, entry);
  }

  #remove(entry: IndexedObject): void {
    this.#entries.delete(entry.id);
    const kid = kindId(entry.key.group, entry.key.kind);
    const map = this.#byKind.get(kid);
    map?.delete(entry.id);
    if (map?.size === 0) this.#byKind.delete(kid);
  }
}

/**
 * A file that went bad keeps the objects it held before that its good documents no longer
 * account for, so a half-saved file does not look like deleted objects.
 */
function keepStale(
  old: FileRecord | undefined,
  state: Exclude<FileState, { removed: true }>,
  twice: GitOpsError[],
): IndexedObject[] {
  // One file holding a key twice: the first document counts, the others are problems.
  const objects: IndexedObject[] = [];
  const present = new Set<string>();
  for (const o of state.objects) {
    if (present.has(o.id)) {
      twice.push(duplicate(o, state.path, new Map([[state.path, { checksum: '', objects, errors: [] }]])));
    } else {
      present.add(o.id);
      objects.push(o);
    }
  }
  if (old === undefined || state.errors.length === 0) return objects;
  for (const o of old.objects) {
    if (!present.has(o.id)) objects.push(o.stale === true ? o : { ...o, stale: true });
  }
  return objects;
}

function summarize(path: string, errors: readonly GitOpsError[]): GitOpsError | undefined {
  const first = errors[0];
  if (first === undefined) return undefined;
  const withFile = first.details.file === undefined ? first.withDetails({ file: path }) : first;
  if (errors.length === 1) return withFile;
  return new GitOpsError(first.code, `${path} has ${errors.length} problems; the first: ${first.message}`, {
    details: withFile.details,
    causes: [...errors],
    cause: first,
  });
}

function duplicate(o: IndexedObject, owner: string, files: Map<string, FileRecord>): GitOpsError {
  const first = files.get(owner)?.objects.find((x) => x.id === o.id);
  const where = (path: string, at: IndexedObject | undefined): string => {
    if (at === undefined) return path;
    const line = at.line === undefined ? '' : `:${at.line}${at.column === undefined ? '' : `:${at.column}`}`;
    return `${path}${line} (document ${at.document})`;
  };
  return new GitOpsError(
    ErrorCodes.AlreadyExists,
    `${o.key.kind} ${o.key.namespace === undefined ? '' : `${o.key.namespace}/`}${o.key.name} is defined twice: ` +
      `in ${where(owner, first)} and in ${where(o.path, o)}; the first one counts, ` +
      'remove the other',
    {
      details: {
        file: o.path,
        document: o.document,
        object: o.id,
        ...(o.line === undefined ? {} : { line: o.line }),
        ...(o.column === undefined ? {} : { column: o.column }),
      },
    },
  );
}
