import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { ErrorCodes } from '../../src/runtime/index.js';
import { openStorage } from '../../src/storage/index.js';
import type { ObjectEvent, ObjectStorage, StorageEvent, StorageOptions } from '../../src/storage/index.js';
import {
  CAR_GROUP,
  car,
  carKey,
  carScheme,
  carsCopy,
  EventLog,
  git,
  pause,
  removeTempDirs,
  tempDir,
} from './helpers.js';
import type { Car } from './helpers.js';

const opened: ObjectStorage[] = [];
async function open(options: StorageOptions): Promise<ObjectStorage> {
  const storage = await openStorage({ scheme: carScheme(), ...options });
  opened.push(storage);
  return storage;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});
afterAll(() => removeTempDirs());

function carYaml(name: string, brand: string, namespace = 'default'): string {
  return `apiVersion: ${CAR_GROUP}/v1alpha1\nkind: Car\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\nspec:\n  brand: ${brand}\n`;
}

const typeOf = (type: string, name: string) => (events: StorageEvent[]) =>
  events.some((e) => e.type === type && e.type !== 'ERROR' && e.key.name === name);

describe('changes by other programs', () => {
  it('an editor adding, changing and removing a file gives ADDED, MODIFIED (with previous) and DELETED', async () => {
    const root = carsCopy();
    const storage = await open({ root });
    const log = new EventLog(storage);
    writeFileSync(join(root, 'qux.yaml'), carYaml('qux', 'Volvo'));
    await log.waitFor('ADDED qux', typeOf('ADDED', 'qux'));
    writeFileSync(join(root, 'qux.yaml'), carYaml('qux', 'SAAB'));
    await log.waitFor('MODIFIED qux', typeOf('MODIFIED', 'qux'));
    unlinkSync(join(root, 'qux.yaml'));
    await log.waitFor('DELETED qux', typeOf('DELETED', 'qux'));
    expect(log.summary()).toEqual(['ADDED qux', 'MODIFIED qux', 'DELETED qux']);
    const modified = log.events[1] as ObjectEvent;
    expect((modified.previous as Car).spec?.brand).toBe('Volvo');
    expect((modified.object as Car).spec?.brand).toBe('SAAB');
    expect(modified.origin).toBe('external');
    expect(await storage.exists(carKey('qux'))).toBe(false);
  });

  it("the storage's own writes give one event each, not a second one from the watcher", async () => {
    const root = carsCopy();
    const storage = await open({ root });
    const log = new EventLog(storage);
    await storage.create(car('own'));
    const own = await storage.get<Car>(carKey('own'));
    own.spec = { brand: 'SAAB' };
    await storage.update(own);
    await storage.delete(carKey('own'));
    await pause(400);
    await storage.sync();
    expect(log.summary()).toEqual(['ADDED own', 'MODIFIED own', 'DELETED own']);
    expect(log.events.every((e) => e.type !== 'ERROR' && e.origin === 'storage')).toBe(true);
  });

  it('an editor that saves through a temporary file and a rename gives one MODIFIED', async () => {
    const root = carsCopy();
    const storage = await open({ root });
    const log = new EventLog(storage);
    const text = readFileSync(join(root, 'foo.yaml'), 'utf8').replace('engine: The best one', 'engine: V8');
    writeFileSync(join(root, '.foo.yaml.swp'), text);
    renameSync(join(root, '.foo.yaml.swp'), join(root, 'foo.yaml'));
    await log.waitFor('MODIFIED foo', typeOf('MODIFIED', 'foo'));
    await pause(300);
    expect(log.summary()).toEqual(['MODIFIED foo']);
    expect((await storage.get<Car>(carKey('foo'))).spec?.engine).toBe('V8');
  });

  it('deleting a multi-document file gives a DELETED per object', async () => {
    const root = carsCopy();
    const storage = await open({ root });
    const log = new EventLog(storage);
    unlinkSync(join(root, 'fleet.yaml'));
    await log.waitFor('two DELETED', (events) => events.filter((e) => e.type === 'DELETED').length === 2);
    expect(log.summary().sort()).toEqual(['DELETED bar', 'DELETED baz']);
  });

  it('moving or renaming a file gives no DELETED/ADDED pair, only a new location', async () => {
    const root = carsCopy();
    const storage = await open({ root });
    const log = new EventLog(storage);
    mkdirSync(join(root, 'cars/fleet'), { recursive: true });
    renameSync(join(root, 'fleet.yaml'), join(root, 'cars/fleet/all.yaml'));
    renameSync(join(root, 'foo.yaml'), join(root, 'family-car.yaml'));
    const deadline = Date.now() + 10_000;
    while (
      (await storage.locate(carKey('baz', 'fleet')))?.path !== 'cars/fleet/all.yaml' ||
      (await storage.locate(carKey('foo')))?.path !== 'family-car.yaml'
    ) {
      if (Date.now() > deadline)
        throw new Error(`the moves were not seen; events: ${log.summary().join(', ')}`);
      await pause(10);
    }
    await pause(300);
    expect(log.summary()).toEqual([]);
    expect(await storage.count({ kind: 'Car' })).toBe(3);
    // Writes follow the object to its new file.
    await storage.patch(carKey('foo'), { type: 'merge', patch: { spec: { engine: 'moved' } } });
    expect(readFileSync(join(root, 'family-car.yaml'), 'utf8')).toContain('engine: moved');
  });

  it('removing a folder gives a DELETED for each object in it', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'team/a'), { recursive: true });
    writeFileSync(join(root, 'team/a/one.yaml'), carYaml('one', 'Volvo'));
    writeFileSync(join(root, 'team/two.yaml'), carYaml('two', 'Volvo'));
    const storage = await open({ root });
    const log = new EventLog(storage);
    rmSync(join(root, 'team'), { recursive: true });
    await log.waitFor('two DELETED', (events) => events.filter((e) => e.type === 'DELETED').length === 2);
    expect(await storage.count()).toBe(0);
  });

  it('a folder tree created at once gives an ADDED for every file in it, and its new files are watched', async () => {
    const root = tempDir();
    const storage = await open({ root });
    const log = new EventLog(storage);
    // Files written right after mkdir, before any watch on the new folders can exist.
    const staged = tempDir();
    mkdirSync(join(staged, 'b/c'), { recursive: true });
    writeFileSync(join(staged, 'b/one.yaml'), carYaml('one', 'Volvo'));
    writeFileSync(join(staged, 'b/c/two.yaml'), carYaml('two', 'Volvo'));
    cpSync(join(staged, 'b'), join(root, 'a/b'), { recursive: true });
    mkdirSync(join(root, 'x/y/z'), { recursive: true });
    writeFileSync(join(root, 'x/y/z/three.yaml'), carYaml('three', 'Volvo'));
    await log.waitFor('three ADDED', (events) => events.filter((e) => e.type === 'ADDED').length === 3);
    // The new deepest folder is watched too.
    writeFileSync(join(root, 'x/y/z/three.yaml'), carYaml('three', 'SAAB'));
    await log.waitFor('MODIFIED three', typeOf('MODIFIED', 'three'));
    renameSync(join(root, 'a'), join(root, 'moved'));
    writeFileSync(join(root, 'moved/b/c/four.yaml'), carYaml('four', 'Volvo'));
    await log.waitFor('ADDED four', typeOf('ADDED', 'four'));
    expect(log.summary().filter((l) => l.startsWith('DELETED'))).toEqual([]);
    expect(await storage.count()).toBe(4);
  });

  it('a folder removed and made again, or swapped in by a rename, is watched again', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'apps'));
    writeFileSync(join(root, 'apps/old.yaml'), carYaml('old', 'Volvo'));
    const storage = await open({ root });
    const log = new EventLog(storage);
    // Removed and made again at once: the new folder may even get the old one's inode number.
    rmSync(join(root, 'apps'), { recursive: true });
    mkdirSync(join(root, 'apps'));
    await log.waitFor('DELETED old', typeOf('DELETED', 'old'));
    writeFileSync(join(root, 'apps/later.yaml'), carYaml('later', 'Volvo'));
    await log.waitFor('ADDED later', typeOf('ADDED', 'later'));
    // A tool that renders into a temporary folder and swaps it in.
    mkdirSync(join(root, 'next'));
    writeFileSync(join(root, 'next/inside.yaml'), carYaml('inside', 'Volvo'));
    rmSync(join(root, 'apps'), { recursive: true });
    renameSync(join(root, 'next'), join(root, 'apps'));
    await log.waitFor(
      'ADDED inside, DELETED later',
      (events) => typeOf('ADDED', 'inside')(events) && typeOf('DELETED', 'later')(events),
    );
    writeFileSync(join(root, 'apps/last.yaml'), carYaml('last', 'Volvo'));
    await log.waitFor('ADDED last', typeOf('ADDED', 'last'));
    expect((await storage.list()).map((c) => c.metadata?.name).sort()).toEqual(['inside', 'last']);
  });

  it('a file that goes bad gives an error event naming it, and the rest keeps working', async () => {
    const root = carsCopy();
    const storage = await open({ root });
    const log = new EventLog(storage);
    writeFileSync(join(root, 'fleet.yaml'), 'apiVersion: v1\nkind: [unclosed\n');
    await log.waitFor('ERROR fleet.yaml', (events) => events.some((e) => e.type === 'ERROR'));
    const error = log.events.find((e) => e.type === 'ERROR');
    expect(error).toMatchObject({ type: 'ERROR', path: 'fleet.yaml' });
    expect((error as { error: { code: string; details: { file: string } } }).error.details.file).toBe(
      'fleet.yaml',
    );
    // Its objects are kept (not reported deleted) but cannot be written until it is fixed.
    expect(log.summary().filter((s) => s.startsWith('DELETED'))).toEqual([]);
    expect((await storage.get(carKey('bar', 'fleet'))).metadata.name).toBe('bar');
    expect(
      await storage
        .patch(carKey('bar', 'fleet'), { type: 'merge', patch: { spec: { engine: 'x' } } })
        .catch((e: { code: string }) => e.code),
    ).toBe(ErrorCodes.Conflict);
    // Other files still work, both ways.
    await storage.patch(carKey('foo'), { type: 'merge', patch: { spec: { engine: 'V8' } } });
    writeFileSync(join(root, 'qux.yaml'), carYaml('qux', 'Volvo'));
    await log.waitFor('ADDED qux', typeOf('ADDED', 'qux'));
    // Fixed without bar: now bar is gone for real.
    writeFileSync(join(root, 'fleet.yaml'), carYaml('baz', 'Tesla', 'fleet'));
    await log.waitFor('DELETED bar', typeOf('DELETED', 'bar'));
    expect(storage.problems()).toEqual([]);
  });

  it('a duplicate of an existing object is reported, and the first one keeps counting', async () => {
    const root = carsCopy();
    const storage = await open({ root });
    const log = new EventLog(storage);
    const before = await storage.get(carKey('foo'));
    cpSync(join(root, 'foo.yaml'), join(root, 'foo-copy.yaml'));
    await log.waitFor('the duplicate error', (events) => events.some((e) => e.type === 'ERROR'));
    const error = log.events.find((e) => e.type === 'ERROR') as { error: { code: string; message: string } };
    expect(error.error.code).toBe(ErrorCodes.AlreadyExists);
    expect(error.error.message).toContain('foo-copy.yaml');
    expect((await storage.locate(carKey('foo')))?.path).toBe('foo.yaml');
    expect((await storage.get(carKey('foo'))).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });
});

describe('git checkout', () => {
  it('1,000 rewritten files give one event per changed object, and a same-bytes copy gives none', async () => {
    const root = tempDir();
    const files = 1000;
    git(root, 'init', '-q', '-b', 'main');
    for (let i = 0; i < files; i += 1)
      writeFileSync(join(root, `car-${i}.yaml`), carYaml(`car-${i}`, 'Volvo'));
    git(root, 'add', '-A');
    git(root, 'commit', '-q', '-m', 'a thousand Volvos');
    git(root, 'checkout', '-q', '-b', 'saab');
    for (let i = 0; i < files; i += 1)
      writeFileSync(join(root, `car-${i}.yaml`), carYaml(`car-${i}`, i < 10 ? 'Volvo' : 'SAAB'));
    git(root, 'commit', '-q', '-am', 'SAABs');
    git(root, 'checkout', '-q', 'main');

    const storage = await open({ root });
    expect(await storage.count()).toBe(files);
    const log = new EventLog(storage);
    git(root, 'checkout', '-q', 'saab');
    await log.waitFor('990 MODIFIED', (events) => events.length >= files - 10, 30_000);
    await pause(500);
    await storage.sync();
    expect(log.events.filter((e) => e.type === 'MODIFIED')).toHaveLength(files - 10);
    expect(new Set(log.events.map((e) => (e.type === 'ERROR' ? 'error' : e.key.name))).size).toBe(files - 10);
    expect(log.events.every((e) => e.type === 'MODIFIED')).toBe(true);

    // Every file rewritten with the bytes it already has: no event at all.
    log.clear();
    const copy = tempDir();
    cpSync(root, copy, { recursive: true, filter: (src) => !src.includes('.git') });
    cpSync(copy, root, { recursive: true });
    await pause(800);
    await storage.sync();
    expect(log.events).toEqual([]);
  });
});

describe('subscribers', () => {
  it('any number of iterators and listeners each get every event; one stopping leaves the others', async () => {
    const root = carsCopy();
    const storage = await open({ root });
    const first = storage.watch();
    const second = storage.watch();
    const fleetOnly = storage.watch({ namespace: 'fleet' });
    const heard: string[] = [];
    const stop = storage.on((e) => heard.push(e.type));
    await storage.create(car('a'));
    await storage.create(car('b', 'fleet'));
    expect((await first.next()).value).toMatchObject({ type: 'ADDED', key: carKey('a') });
    expect((await second.next()).value).toMatchObject({ type: 'ADDED', key: carKey('a') });
    expect((await fleetOnly.next()).value).toMatchObject({ type: 'ADDED', key: carKey('b', 'fleet') });
    await first.return!();
    stop();
    await storage.delete(carKey('a'));
    expect((await first.next()).done).toBe(true);
    expect((await second.next()).value).toMatchObject({ type: 'ADDED', key: carKey('b', 'fleet') });
    expect((await second.next()).value).toMatchObject({ type: 'DELETED', key: carKey('a') });
    expect(heard).toEqual(['ADDED', 'ADDED']);
  });

  it('a for-await loop ends when its signal aborts or the storage closes', async () => {
    const root = carsCopy();
    const storage = await open({ root });
    const controller = new AbortController();
    const seen: string[] = [];
    const loop = (async () => {
      for await (const event of storage.watch({ signal: controller.signal })) {
        if (event.type !== 'ERROR') seen.push(event.key.name);
        if (seen.length === 2) controller.abort();
      }
    })();
    await storage.create(car('one'));
    await storage.create(car('two'));
    await storage.create(car('three'));
    await loop;
    expect(seen).toEqual(['one', 'two']);
    const closing = (async () => {
      const names: string[] = [];
      for await (const event of storage.watch()) if (event.type !== 'ERROR') names.push(event.key.name);
      return names;
    })();
    await storage.create(car('four'));
    await storage.close();
    expect(await closing).toEqual(['four']);
    expect((await storage.watch().next()).done).toBe(true);
  });
});

describe('the Go library sample-watch', () => {
  it('logs the events of a watched folder and serves GET and PUT of its Cars', async () => {
    const root = tempDir();
    const storage = await open({ root });
    const logged: string[] = [];
    storage.on((e) =>
      logged.push(e.type === 'ERROR' ? `ERROR ${e.error.message}` : `${e.type} ${e.key.name} (${e.origin})`),
    );
    // Someone drops a manifest into the watched folder.
    writeFileSync(join(root, 'my-car.yaml'), carYaml('my-car', 'Volvo'));
    const deadline = Date.now() + 10_000;
    while (!logged.includes('ADDED my-car (external)')) {
      if (Date.now() > deadline) throw new Error(`no ADDED event for my-car; logged: ${logged.join(', ')}`);
      await pause(10);
    }
    // GET /watch/:name returns the Car as JSON.
    const got = await storage.find<Car>({ kind: 'Car', namespace: 'default', name: 'my-car' });
    expect(JSON.parse(JSON.stringify(got)).spec.brand).toBe('Volvo');
    // PUT /watch/:name sets a random status and updates the Car in its file.
    got.status = { distance: Math.floor(Math.random() * 1000), speed: Math.random() * 100 };
    await storage.update(got);
    expect(readFileSync(join(root, 'my-car.yaml'), 'utf8')).toContain(`distance: ${got.status.distance}`);
    await pause(300);
    expect(logged).toEqual(['ADDED my-car (external)', 'MODIFIED my-car (storage)']);
  });
});
