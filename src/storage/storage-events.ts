/**
 * Change events and their subscribers. Any number of subscribers, as listeners or async
 * iterators; each iterator has its own queue, so a slow consumer never blocks the storage or
 * the other subscribers (and never loses an event).
 */
import { compileListOptions } from '../filter/index.js';
import type { ListOptions } from '../filter/index.js';
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

type Subscriber = (event: StorageEvent) => void;

export class EventHub {
  readonly #subscribers = new Set<Subscriber>();
  /** How to end each open iterator, for close(). */
  readonly #closers = new Set<() => void>();

  get size(): number {
    return this.#subscribers.size;
  }

  emit(events: readonly StorageEvent[]): void {
    for (const event of events) {
      for (const subscriber of [...this.#subscribers]) {
        try {
          subscriber(event);
        } catch {
          // One failing listener must not keep the event from the others.
        }
      }
    }
  }

  /** Calls `listener` for every event the options select (errors always); returns the unsubscribe. */
  on(listener: StorageListener, options: ListOptions = {}): () => void {
    const selects = selector(options);
    const subscriber: Subscriber = (event) => {
      if (selects(event)) listener(event);
    };
    this.#subscribers.add(subscriber);
    return () => {
      this.#subscribers.delete(subscriber);
    };
  }

  /** The events the options select, from now on, until the signal aborts or the loop breaks. */
  watch<T extends KubeObject = KubeObject>(
    options: WatchOptions = {},
  ): AsyncIterableIterator<StorageEvent<T>> {
    const queue: StorageEvent<T>[] = [];
    let waiting: ((result: IteratorResult<StorageEvent<T>>) => void) | undefined;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.#closers.delete(finish);
      unsubscribe();
      options.signal?.removeEventListener('abort', finish);
      waiting?.({ value: undefined, done: true });
      waiting = undefined;
    };
    const unsubscribe = this.on((event) => {
      if (waiting !== undefined) {
        const resolve = waiting;
        waiting = undefined;
        resolve({ value: event as StorageEvent<T>, done: false });
      } else {
        queue.push(event as StorageEvent<T>);
      }
    }, options);
    this.#closers.add(finish);
    if (options.signal?.aborted === true) finish();
    else options.signal?.addEventListener('abort', finish, { once: true });
    const iterator: AsyncIterableIterator<StorageEvent<T>> = {
      next: () => {
        const event = queue.shift();
        if (event !== undefined) return Promise.resolve({ value: event, done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          waiting = resolve;
        });
      },
      return: () => {
        finish();
        queue.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Ends every subscription (iterators finish; listeners are dropped). */
  close(): void {
    for (const end of [...this.#closers]) end();
    this.#subscribers.clear();
  }
}

function selector(options: ListOptions): (event: StorageEvent) => boolean {
  const { filter, everything } = compileListOptions(options);
  if (everything) return () => true;
  return (event) => event.type === 'ERROR' || filter.matches(event.object);
}
