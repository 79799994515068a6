/**
 * Fan-out of events to any number of subscribers: listeners, and async iterators that each
 * keep their own queue, so a slow reader never blocks the producer or the other readers.
 */

type Listener<T> = (event: T) => void;

export class EventHub<T> {
  private readonly listeners = new Set<Listener<T>>();
  private readonly onListenerError: (error: unknown) => void;
  private ended = false;
  private readonly enders = new Set<() => void>();

  /** `onListenerError` receives what a listener throws, so one bad listener cannot stop the others. */
  constructor(onListenerError: (error: unknown) => void = () => {}) {
    this.onListenerError = onListenerError;
  }

  /** Calls `listener` for every event; returns the function that unsubscribes it. */
  on(listener: Listener<T>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: T): void {
    if (this.ended) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  /** Every event from now on, until end() or the signal aborts. */
  subscribe(signal?: AbortSignal): AsyncIterableIterator<T> {
    const queue: T[] = [];
    let wake: (() => void) | undefined;
    let done = this.ended || signal?.aborted === true;
    const finish = (): void => {
      done = true;
      unsubscribe();
      this.enders.delete(finish);
      signal?.removeEventListener('abort', finish);
      wake?.();
    };
    const unsubscribe = this.on((event) => {
      queue.push(event);
      wake?.();
    });
    this.enders.add(finish);
    signal?.addEventListener('abort', finish, { once: true });
    if (done) finish();
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

  /** Ends every iterator (after it drains its queue) and drops every listener. */
  end(): void {
    this.ended = true;
    for (const finish of [...this.enders]) finish();
    this.listeners.clear();
  }
}
