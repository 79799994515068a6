/**
 * The object events of a GitStorage, for any number of subscribers: listeners and async
 * iterators, each with its own queue (git's EventHub), filtered by list options the way the
 * directory storage filters them (error events always pass).
 */
import { compileListOptions } from '../filter/index.js';
import type { ListOptions } from '../filter/index.js';
import { EventHub } from '../git/index.js';
import type { KubeObject } from '../runtime/index.js';
import type { StorageEvent, StorageListener, WatchOptions } from '../storage/index.js';

export class StorageEventHub {
  readonly #hub = new EventHub<StorageEvent>((error) =>
    process.emitWarning(`a GitStorage listener threw: ${String(error)}`),
  );

  emit(event: StorageEvent): void {
    this.#hub.emit(event);
  }

  on(listener: StorageListener, options: ListOptions = {}): () => void {
    const selects = selector(options);
    return this.#hub.on((event) => {
      if (selects(event)) listener(event);
    });
  }

  watch<T extends KubeObject = KubeObject>(
    options: WatchOptions = {},
  ): AsyncIterableIterator<StorageEvent<T>> {
    const { signal, ...list } = options;
    const selects = selector(list);
    const source = this.#hub.subscribe(signal);
    const iterator: AsyncIterableIterator<StorageEvent<T>> = {
      next: async () => {
        for (;;) {
          const result = await source.next();
          if (result.done === true) return { value: undefined, done: true };
          if (selects(result.value)) return { value: result.value as StorageEvent<T>, done: false };
        }
      },
      return: async () => {
        await source.return?.();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  close(): void {
    this.#hub.end();
  }
}

function selector(options: ListOptions): (event: StorageEvent) => boolean {
  const { filter, everything } = compileListOptions(options);
  if (everything) return () => true;
  return (event) => event.type === 'ERROR' || filter.matches(event.object);
}
