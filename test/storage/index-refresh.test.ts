import { copyFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { objectKeyToString } from '../../src/runtime/index.js';
import { Decoder } from '../../src/serializer/index.js';
import { IndexRefresh } from '../../src/storage/index-refresh.js';
import { ObjectIndex } from '../../src/storage/object-index.js';
import { ManifestDirectory } from '../../src/storage/raw-storage.js';
import type { RawStorage } from '../../src/storage/raw-storage.js';
import { StorageEventHub } from '../../src/storage/storage-events.js';
import type { StorageEvent } from '../../src/storage/storage-events.js';
import { carKey, carScheme, carsCopy, removeTempDirs } from './helpers.js';

afterEach(removeTempDirs);

/**
 * An index refresh over a real folder whose reads run one at a time, in the order asked; `during`
 * runs right after the read of the named file finished (its bytes already taken).
 */
async function refresher(root: string) {
  const raw = await ManifestDirectory.open({ root });
  const hooks = new Map<string, () => void>();
  const racing = new Proxy(raw, {
    get(target, prop) {
      if (prop === 'read') {
        return async (path: string) => {
          const content = await target.read(path);
          const hook = hooks.get(path);
          hooks.delete(path);
          hook?.();
          return content;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as RawStorage;
  const index = new ObjectIndex();
  const hub = new StorageEventHub();
  const events: StorageEvent[] = [];
  hub.on((event) => events.push(event));
  const refresh = new IndexRefresh({
    raw: racing,
    index,
    hub,
    decoder: new Decoder({ strict: true, scheme: carScheme(), unknownKinds: 'unstructured' }),
    readConcurrency: 1,
    closed: () => false,
  });
  const summary = (): string[] =>
    events.map((e) => (e.type === 'ERROR' ? `ERROR ${e.path ?? ''}` : `${e.type} ${e.key.name} ${e.path}`));
  return { refresh, index, events, summary, after: (path: string, run: () => void) => hooks.set(path, run) };
}

describe('IndexRefresh', () => {
  it('a rename between the reads of its two names is a move, not a duplicate', async () => {
    const root = carsCopy();
    const { refresh, index, events, summary, after } = await refresher(root);
    await refresh.refresh(['foo.yaml'], 'external');
    expect(summary()).toEqual(['ADDED foo foo.yaml']);
    events.length = 0;
    // foo.yaml is read (the object found there), then renamed, then family-car.yaml is read:
    // both reads saw the object.
    after('foo.yaml', () => renameSync(join(root, 'foo.yaml'), join(root, 'family-car.yaml')));
    await refresh.refresh(['foo.yaml', 'family-car.yaml'], 'external');
    expect(summary()).toEqual([]);
    expect(index.get(objectKeyToString(carKey('foo')))?.path).toBe('family-car.yaml');
    expect(index.file('foo.yaml')).toBeUndefined();
    expect(index.problems()).toEqual([]);
  });

  it('a real duplicate survives the confirming read and is reported once', async () => {
    const root = carsCopy();
    const { refresh, index, summary } = await refresher(root);
    await refresh.refresh(['foo.yaml'], 'external');
    copyFileSync(join(root, 'foo.yaml'), join(root, 'copy.yaml'));
    await refresh.refresh(['copy.yaml'], 'external');
    expect(summary()).toEqual(['ADDED foo foo.yaml', 'ERROR copy.yaml']);
    expect(index.get(objectKeyToString(carKey('foo')))?.path).toBe('foo.yaml');
  });
});
