/**
 * Fan-out of events to any number of subscribers: listeners, and async iterators that each keep
 * their own queue, so a slow reader never blocks the producer or the other readers and never
 * loses an event. Every layer that emits events (storage, git, the operator) uses this one.
 */

export type Listener<T> = (event: T) => void;

export class EventHub<T> {
  readonly #listeners = new Set<Listener<T>>();
  readonly #enders = new Set<() => void>();
  #ended = false;

  /** `onListenerError` receives what a listener throws, so one bad listener cannot stop the others. */
  constructor(private readonly onListenerError: (error: unknown) => void = () => {}) {}

  /** How many listeners and iterators are subscribed. */
  get size(): number {
    return this.#listeners.size;
  }

  /** Calls `listener` for every event (that `accepts` lets through); returns the unsubscribe. */
  on(listener: Listener<T>, accepts?: (event: T) => boolean): () => void {
    const subscriber: Listener<T> =
      accepts === undefined
        ? listener
        : (event) => {
            if (accepts(event)) listener(event);
          };
    this.#listeners.add(subscriber);
    return () => {
      this.#listeners.delete(subscriber);
    };
  }

  emit(event: T): void {
    if (this.#ended) return;
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  emitAll(events: Iterable<T>): void {
    for (const event of events) this.emit(event);
  }

  /** Every event from now on (that `accepts` lets through), until end(), `return()` or the signal aborts. */
  subscribe(signal?: AbortSignal, accepts?: (event: T) => boolean): AsyncIterableIterator<T> {
    const queue: T[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      unsubscribe();
      this.#enders.delete(finish);
      signal?.removeEventListener('abort', finish);
      wake?.();
    };
    const unsubscribe = this.on((event) => {
      queue.push(event);
      wake?.();
    }, accepts);
    this.#enders.add(finish);
    if (this.#ended || signal?.aborted === true) finish();
    else signal?.addEventListener('abort', finish, { once: true });
    const iterator: AsyncIterableIterator<T> = {
      next: async (): Promise<IteratorResult<T>> => {
        for (;;) {
          if (queue.length > 0) return { value: queue.shift() as T, done: false };
          if (done) return { value: undefined, done: true };
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      },
      return: async (): Promise<IteratorResult<T>> => {
        finish();
        queue.length = 0;
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /** Ends every iterator (after it drains its queue) and drops every listener; later events are dropped. */
  end(): void {
    this.#ended = true;
    for (const finish of [...this.#enders]) finish();
    this.#listeners.clear();
  }
}
