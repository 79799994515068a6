/**
 * Change events and their subscribers. Any number of subscribers, as listeners or async
 * iterators; each iterator has its own queue, so a slow consumer never blocks the storage or
 * the other subscribers (and never loses an event).
 */
import { compileListOptions } from '../filter/index.js';
import type { ListOptions } from '../filter/index.js';
import { EventHub } from '../runtime/index.js';
import type { GitOpsError, KubeObject, ObjectKey } from '../runtime/index.js';

/** Who made a change: this storage's own write, or anyone else (an editor, `git checkout`, `cp`). */
export type ChangeOrigin = 'storage' | 'external';

export interface ObjectEvent<T extends KubeObject = KubeObject> {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly key: ObjectKey;
  /** The object now; for DELETED, the last version known. Read-only (frozen). */
  readonly object: T;
  /** The version before a MODIFIED. */
  readonly previous?: T;
  /** The file that holds (or held) the object, relative to the root. */
  readonly path: string;
  readonly origin: ChangeOrigin;
}

/** A file that cannot be read as manifests (bad YAML, a refused object, a duplicate, ...). */
export interface ErrorEvent {
  readonly type: 'ERROR';
  readonly error: GitOpsError;
  readonly path?: string;
}

export type StorageEvent<T extends KubeObject = KubeObject> = ObjectEvent<T> | ErrorEvent;

export type StorageListener = (event: StorageEvent) => void;

export interface WatchOptions extends ListOptions {
  signal?: AbortSignal;
}

/**
 * The events of one storage for any number of subscribers, each selecting objects by list
 * options (error events always pass). Directory and Git storages both use it.
 */
export class StorageEventHub {
  readonly #hub = new EventHub<StorageEvent>((error) =>
    process.emitWarning(`a storage event listener threw: ${String(error)}`),
  );

  /** How many listeners and iterators are subscribed. */
  get size(): number {
    return this.#hub.size;
  }

  emit(event: StorageEvent): void {
    this.#hub.emit(event);
  }

  emitAll(events: Iterable<StorageEvent>): void {
    this.#hub.emitAll(events);
  }

  /** Calls `listener` for every event the options select; returns the unsubscribe. */
  on(listener: StorageListener, options: ListOptions = {}): () => void {
    return this.#hub.on(listener, selector(options));
  }

  /** The events the options select, from now on, until the signal aborts or the loop breaks. */
  watch<T extends KubeObject = KubeObject>(
    options: WatchOptions = {},
  ): AsyncIterableIterator<StorageEvent<T>> {
    const { signal, ...list } = options;
    return this.#hub.subscribe(signal, selector(list)) as AsyncIterableIterator<StorageEvent<T>>;
  }

  /** Ends every subscription (iterators finish; listeners are dropped). */
  close(): void {
    this.#hub.end();
  }
}

function selector(options: ListOptions): ((event: StorageEvent) => boolean) | undefined {
  const { filter, everything } = compileListOptions(options);
  if (everything) return undefined;
  return (event) => event.type === 'ERROR' || filter.matches(event.object);
}
