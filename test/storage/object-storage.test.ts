import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { byLabels, where } from '../../src/filter/index.js';
import { ErrorCodes } from '../../src/runtime/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import { ObjectStorage, ManifestDirectory, openStorage } from '../../src/storage/index.js';
import { REMOVED_COMMENTS_HEADER } from '../../src/serializer/index.js';
import type { StorageOptions } from '../../src/storage/index.js';
import {
  car,
  CAR_GROUP,
  carKey,
  carScheme,
  carsCopy,
  changedLines,
  codeOf,
  errorOf,
  EventLog,
  removeTempDirs,
  tempDir,
} from './helpers.js';
import type { Car } from './helpers.js';

const opened: ObjectStorage[] = [];
async function open(options: StorageOptions): Promise<ObjectStorage> {
  const storage = await openStorage({ watch: false, scheme: carScheme(), ...options });
  opened.push(storage);
  return storage;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});
afterAll(() => removeTempDirs());

describe('reading a manifest directory', () => {
  it('indexes every object of every file, multi-document files included', async () => {
    const storage = await open({ root: carsCopy() });
    const cars = await storage.list<Car>({ kind: 'Car', group: CAR_GROUP });
    expect(cars.map((c) => `${c.metadata.namespace}/${c.metadata.name}`)).toEqual([
      'default/foo',
      'fleet/bar',
      'fleet/baz',
    ]);
    expect(await storage.count()).toBe(4); // and the CRD itself
    expect(await storage.locate(carKey('baz', 'fleet'))).toEqual({ path: 'fleet.yaml', document: 2 });
    expect(storage.problems()).toEqual([]);
  });

  it('get returns a copy with a content-derived resourceVersion that is never written to disk', async () => {
    const root = carsCopy();
    const storage = await open({ root });
    const foo = await storage.get<Car>(carKey('foo'));
    expect(foo.metadata.resourceVersion).toMatch(/^[0-9a-f]{20}$/);
    expect(foo.spec?.brand).toBe('SAAB');
    foo.spec!.brand = 'changed in my copy only';
    expect((await storage.get<Car>(carKey('foo'))).spec?.brand).toBe('SAAB');
    expect(readFileSync(join(root, 'foo.yaml'), 'utf8')).not.toContain('resourceVersion');
    // A second storage on the same bytes derives the same version.
    const other = await open({ root });
    expect((await other.get(carKey('foo'))).metadata.resourceVersion).toBe(foo.metadata.resourceVersion);
    expect(await codeOf(storage.get(carKey('nope')))).toBe(ErrorCodes.NotFound);
    expect((await storage.get(`${CAR_GROUP}/Car/default/foo`)).metadata.name).toBe('foo');
  });

  it('list gives the index its own frozen objects, find and get give copies', async () => {
    const storage = await open({ root: carsCopy() });
    const [first] = await storage.list<Car>({ kind: 'Car' });
    expect(Object.isFrozen(first)).toBe(true);
    expect(() => {
      (first!.spec as { brand: string }).brand = 'x';
    }).toThrow(TypeError);
    const found = await storage.find<Car>({ kind: 'Car', name: 'foo' });
    found.spec!.brand = 'mine';
    expect(Object.isFrozen(found)).toBe(false);
  });

  it('filters with namespaces, names, prefixes, label and field selectors and predicates', async () => {
    const storage = await open({ root: carsCopy() });
    const names = async (options: Parameters<ObjectStorage['list']>[0]) =>
      (await storage.list(options)).map((o) => o.metadata.name);
    expect(await names({ kind: 'Car', namespace: 'fleet' })).toEqual(['bar', 'baz']);
    expect(await names({ kind: 'Car', namePrefix: 'ba' })).toEqual(['bar', 'baz']);
    expect(await names({ labelSelector: 'owner=family' })).toEqual(['foo']);
    expect(await names({ labelSelector: '!owner', kind: 'Car' })).toEqual(['bar', 'baz']);
    expect(await names({ fieldSelector: 'spec.brand=Tesla' })).toEqual(['baz']);
    expect(await names({ fieldSelector: 'metadata.namespace!=fleet', kind: 'Car' })).toEqual(['foo']);
    expect(
      await names({ filter: where((o) => String((o.spec as Car['spec'])?.engine).startsWith('V')) }),
    ).toEqual(['bar']);
    expect(await names({ kind: 'Car', group: CAR_GROUP, namespace: 'fleet', name: 'baz' })).toEqual(['baz']);
    expect(await names({ kind: 'CustomResourceDefinition' })).toEqual(['cars.sample-app.weave.works']);
    expect(await storage.count({ kind: 'Car', filter: byLabels('owner') })).toBe(1);
  });

  it('find errors on none (NotFound) and on several (Ambiguous)', async () => {
    const storage = await open({ root: carsCopy() });
    expect((await storage.find({ kind: 'Car', labelSelector: 'owner=family' })).metadata.name).toBe('foo');
    const none = await errorOf(storage.find({ kind: 'Car', name: 'nope' }));
    expect(none.code).toBe(ErrorCodes.NotFound);
    expect(none.message).toContain('name=nope');
    expect(await codeOf(storage.find({ kind: 'Car', namespace: 'fleet' }))).toBe(ErrorCodes.Ambiguous);
    expect(await codeOf(storage.list({ labelSelector: 'a in (' }))).toBe(ErrorCodes.BadRequest);
  });

  it('reports bad files as problems and keeps the good ones', async () => {
    const root = carsCopy();
    writeFileSync(
      join(root, 'broken.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n bad: indent\n',
    );
    writeFileSync(
      join(root, 'typo.yaml'),
      `apiVersion: ${CAR_GROUP}/v1alpha1\nkind: Car\nmetadata:\n  name: t\n  namespace: default\nspec:\n  brnad: x\n`,
    );
    const storage = await open({ root });
    expect(await storage.count({ kind: 'Car' })).toBe(3);
    const problems = storage.problems();
    expect(problems.map((p) => [p.code, p.details.file])).toEqual([
      [ErrorCodes.YamlSyntax, 'broken.yaml'],
      [ErrorCodes.UnknownField, 'typo.yaml'],
    ]);
    expect(problems[0]!.details.line).toBe(5);
  });
});

describe('lossless writes', () => {
  it('changing .status.speed of a Car changes one line on disk', async () => {
    const root = carsCopy();
    const storage = await open({ root });
    const before = readFileSync(join(root, 'foo.yaml'), 'utf8');
    const foo = await storage.get<Car>(carKey('foo'));
    foo.status!.speed = 24.7;
    const updated = await storage.update(foo);
    const after = readFileSync(join(root, 'foo.yaml'), 'utf8');
    expect(changedLines(before, after)).toEqual({
      removed: ['  speed: 53.37474583162469'],
      added: ['  speed: 24.7'],
    });
    expect(updated.status?.speed).toBe(24.7);
    expect(updated.metadata.resourceVersion).not.toBe(foo.metadata.resourceVersion);
    // The 64-bit distance was never touched, so it keeps all its digits.
    expect(after).toContain('distance: 12176941420362965433');
  });

  it('edits one document of a multi-document file and leaves the others byte for byte', async () => {
    const root = carsCopy();
    const storage = await open({ root });
    const before = readFileSync(join(root, 'fleet.yaml'), 'utf8');
    await storage.patch(carKey('bar', 'fleet'), { type: 'merge', patch: { spec: { engine: 'V6' } } });
    const after = readFileSync(join(root, 'fleet.yaml'), 'utf8');
    expect(changedLines(before, after)).toEqual({ removed: ['  engine: V8'], added: ['  engine: V6'] });
    expect(after).toContain('"on" # a name, not a boolean');
  });

  it('an update that changes nothing writes nothing and keeps the version', async () => {
    const root = carsCopy();
    const storage = await open({ root });
    const log = new EventLog(storage);
    const foo = await storage.get<Car>(carKey('foo'));
    const same = await storage.update(foo);
    expect(same.metadata.resourceVersion).toBe(foo.metadata.resourceVersion);
    expect(log.events).toEqual([]);
  });
});

describe('create', () => {
  it('writes a new file by the placement rule, with uid, creationTimestamp and generation', async () => {
    const root = tempDir();
    const storage = await open({ root });
    const log = new EventLog(storage);
    const created = await storage.create(car('new'));
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(created.metadata.generation).toBe(1);
    const text = readFileSync(join(root, 'default/car-new.yaml'), 'utf8');
    expect(text).toMatch(
      /^apiVersion: sample-app.weave.works\/v1alpha1\nkind: Car\nmetadata:\n {2}name: new\n/,
    );
    expect(text).not.toContain('resourceVersion');
    expect(log.summary()).toEqual(['ADDED new']);
    expect(log.events[0]).toMatchObject({ origin: 'storage', path: 'default/car-new.yaml' });
  });

  it('appends to an existing file when the rule says so, keeping what is there', async () => {
    const root = carsCopy();
    const raw = await ManifestDirectory.open({ root, placement: { file: 'fleet.yaml' } });
    const storage = await ObjectStorage.open(raw, {
      scheme: carScheme(),
      watch: false,
      stampMetadata: false,
    });
    opened.push(storage);
    const before = readFileSync(join(root, 'fleet.yaml'), 'utf8');
    await storage.create(car('qux', 'fleet'));
    const after = readFileSync(join(root, 'fleet.yaml'), 'utf8');
    expect(after.startsWith(before)).toBe(true);
    expect(after.slice(before.length)).toBe(
      `---\napiVersion: ${CAR_GROUP}/v1alpha1\nkind: Car\nmetadata:\n  name: qux\n  namespace: fleet\nspec:\n  brand: Volvo\n`,
    );
    expect(await storage.locate(carKey('qux', 'fleet'))).toEqual({ path: 'fleet.yaml', document: 3 });
  });

  it('refuses a taken key (AlreadyExists), invalid objects (Invalid) and a resourceVersion', async () => {
    const root = carsCopy();
    const storage = await open({ root });
    expect(await codeOf(storage.create(car('foo')))).toBe(ErrorCodes.AlreadyExists);
    const invalid = await errorOf(storage.create({ ...car('bad'), spec: { brand: 7 as unknown as string } }));
    expect(invalid.code).toBe(ErrorCodes.Invalid);
    expect(invalid.message).toContain('.spec.brand');
    expect(await codeOf(storage.create({ ...car('typo'), spec: { brnad: 'x' } as never }))).toBe(
      ErrorCodes.Invalid,
    );
    const withVersion = car('v');
    withVersion.metadata.resourceVersion = 'abc';
    expect(await codeOf(storage.create(withVersion))).toBe(ErrorCodes.Invalid);
    expect(await codeOf(storage.create(car('UPPER')))).toBe(ErrorCodes.Invalid);
    expect(await codeOf(storage.create(car('ok', 'Bad_Namespace')))).toBe(ErrorCodes.Invalid);
    expect(existsSync(join(root, 'default/car-bad.yaml'))).toBe(false);
    expect(existsSync(join(root, 'default/car-typo.yaml'))).toBe(false);
  });

  it('fills a name from generateName and the namespace of a namespaced kind', async () => {
    const storage = await open({ root: tempDir() });
    const generated = await storage.create<Car>({
      apiVersion: `${CAR_GROUP}/v1alpha1`,
      kind: 'Car',
      metadata: { generateName: 'rental-' },
    });
    expect(generated.metadata.name).toMatch(/^rental-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(generated.metadata.namespace).toBe('default');
    const namespace = await storage.create<KubeObject>({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'fleet' },
    });
    expect(namespace.metadata.namespace).toBeUndefined();
    expect(
      await codeOf(
        storage.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', namespace: 'y' } }),
      ),
    ).toBe(ErrorCodes.Invalid);
  });

  it('refuses a placement that leaves the root, and writes nothing outside', async () => {
    const root = tempDir();
    const outside = tempDir();
    const raw = await ManifestDirectory.open({
      root,
      placement: () => `../${outside.split('/').pop()}/car.yaml`,
    });
    const storage = await ObjectStorage.open(raw, { watch: false });
    opened.push(storage);
    expect(await codeOf(storage.create(car('foo')))).toBe(ErrorCodes.PathEscape);
    expect(existsSync(join(outside, 'car.yaml'))).toBe(false);
  });
});

describe('update, patch and delete with optimistic concurrency', () => {
  it('a stale resourceVersion fails with Conflict and changes nothing', async () => {
    const root = carsCopy();
    const storage = await open({ root });
    const first = await storage.get<Car>(carKey('foo'));
    const second = await storage.get<Car>(carKey('foo'));
    first.spec!.engine = 'V12';
    await storage.update(first);
    const before = readFileSync(join(root, 'foo.yaml'), 'utf8');
    second.spec!.engine = 'diesel';
    const error = await errorOf(storage.update(second));
    expect(error.code).toBe(ErrorCodes.Conflict);
    expect(error.message).toContain('has been modified');
    expect(
      await codeOf(storage.delete(carKey('foo'), { resourceVersion: second.metadata.resourceVersion! })),
    ).toBe(ErrorCodes.Conflict);
    expect(
      await codeOf(
        storage.patch(
          carKey('foo'),
          { type: 'merge', patch: { spec: { engine: 'x' } } },
          { resourceVersion: 'stale' },
        ),
      ),
    ).toBe(ErrorCodes.Conflict);
    expect(readFileSync(join(root, 'foo.yaml'), 'utf8')).toBe(before);
  });

  it('keeps the comments of fields an update or a patch removes at the top of the document', async () => {
    const root = carsCopy();
    const storage = await open({ root });
    const foo = await storage.get<Car>(carKey('foo'));
    delete foo.metadata.labels;
    await storage.update(foo);
    const once = readFileSync(join(root, 'foo.yaml'), 'utf8');
    expect(once).toMatch(
      /^# Comments of removed fields:\n# \.metadata\.labels: # who drives it most\n# Our family car\. /,
    );
    expect(once).not.toContain('owner: family');
    await storage.patch(carKey('foo'), { type: 'merge', patch: { spec: { yearModel: null } } });
    const twice = readFileSync(join(root, 'foo.yaml'), 'utf8');
    // One header; the new comment joins the block.
    expect(twice.split(REMOVED_COMMENTS_HEADER)).toHaveLength(2);
    expect(twice).toContain(
      `${REMOVED_COMMENTS_HEADER}\n# .metadata.labels: # who drives it most\n` +
        '# .spec.yearModel: # quoted: a year model is a string, not a number\n# Our family car. ',
    );
    const read = await storage.get<Car>(carKey('foo'));
    expect(read.metadata.labels).toBeUndefined();
    expect(read.spec).toEqual({ brand: 'SAAB', engine: 'The best one' });
    // A write that removes no commented field adds nothing.
    read.spec!.engine = 'V8';
    await storage.update(read);
    expect(readFileSync(join(root, 'foo.yaml'), 'utf8')).toBe(twice.replace('The best one', 'V8'));
  });

  it('keeps the seed Car distance (beyond 2^53) exact through create, update and patch', async () => {
    for (const contentType of ['yaml', 'json'] as const) {
      const root = carsCopy();
      const storage = await open({ root, layout: 'kind-namespace-name', contentType });
      const foo = await (await open({ root: carsCopy() })).get<Car>(carKey('foo'));
      expect(foo.status!.distance).toBe(12176941420362965433n);
      const copy = structuredClone(foo);
      copy.metadata = { name: 'copy', namespace: 'default' };
      await storage.create(copy);
      const file = join(root, `Car/default/copy/metadata.${contentType}`);
      expect(readFileSync(file, 'utf8')).toMatch(/"?distance"?: 12176941420362965433\b/);
      const read = await storage.get<Car>(carKey('copy'));
      expect(read.status!.distance).toBe(12176941420362965433n);
      read.spec!.engine = 'V8';
      await storage.update(read);
      expect(readFileSync(file, 'utf8')).toMatch(/"?distance"?: 12176941420362965433\b/);
      await storage.patch(carKey('copy'), {
        type: 'merge',
        patch: { status: { distance: 18446744073709551615n } },
      });
      expect(readFileSync(file, 'utf8')).toMatch(/"?distance"?: 18446744073709551615\b/);
      await storage.patch(carKey('copy'), {
        type: 'json',
        operations: [{ op: 'test', path: '/status/distance', value: 18446744073709551615n }],
      });
      const patched = await storage.get<Car>(carKey('copy'));
      expect(patched.status!.distance).toBe(18446744073709551615n);
      expect(patched.spec!.engine).toBe('V8');
    }
  });

  it('concurrent updates with the same resourceVersion: exactly one wins', async () => {
    const root = carsCopy();
    const one = await open({ root });
    const two = await open({ root });
    const base = await one.get<Car>(carKey('foo'));
    const attempts = ['V6', 'V8', 'V10', 'V12'].map((engine, i) => {
      const copy = structuredClone(base);
      copy.spec!.engine = engine;
      return (i % 2 === 0 ? one : two).update(copy).then(
        () => 'ok',
        (err: { code: string }) => err.code,
      );
    });
    const results = await Promise.all(attempts);
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r === ErrorCodes.Conflict)).toHaveLength(3);
  });

  it('update bumps generation when the spec changes, not for status or metadata', async () => {
    const storage = await open({ root: tempDir() });
    const created = await storage.create<Car>({ ...car('gen'), status: { speed: 1 } });
    created.status = { speed: 2 };
    created.metadata.labels = { a: 'b' };
    const statusOnly = await storage.update(created);
    expect(statusOnly.metadata.generation).toBe(1);
    statusOnly.spec = { brand: 'SAAB' };
    expect((await storage.update(statusOnly)).metadata.generation).toBe(2);
  });

  it('keeps uid and creationTimestamp, and refuses to change them', async () => {
    const storage = await open({ root: tempDir() });
    const created = await storage.create<Car>(car('ids'));
    const without = structuredClone(created);
    delete without.metadata.uid;
    delete without.metadata.creationTimestamp;
    without.spec = { brand: 'Tesla' };
    const updated = await storage.update(without);
    expect(updated.metadata.uid).toBe(created.metadata.uid);
    expect(updated.metadata.creationTimestamp).toBe(created.metadata.creationTimestamp);
    updated.metadata.uid = 'other';
    expect(await codeOf(storage.update(updated))).toBe(ErrorCodes.Invalid);
  });

  it('patches with JSON Patch, merge patch, strategic merge patch and field-level apply', async () => {
    const root = carsCopy();
    const storage = await open({ root });
    const key = carKey('foo');
    await storage.patch(key, {
      type: 'json',
      operations: [{ op: 'replace', path: '/spec/engine', value: 'V8' }],
    });
    await storage.patch(key, {
      type: 'merge',
      patch: { metadata: { labels: { owner: null, color: 'red' } } },
    });
    const applied = await storage.patch<Car>(key, { type: 'apply', patch: { status: { persons: 4 } } });
    expect(applied.spec?.engine).toBe('V8');
    // A custom resource takes a strategic merge patch as a merge patch, as the API server does.
    const strategic = await storage.patch<Car>(key, {
      type: 'strategic',
      patch: { spec: { yearModel: '2009' }, metadata: { labels: { color: 'blue' } } },
    });
    expect(strategic.spec?.yearModel).toBe('2009');
    expect(strategic.metadata.labels).toEqual({ color: 'blue' });
    await storage.patch(key, { type: 'strategic', patch: { spec: { yearModel: '2008' } } });
    expect(applied.metadata.labels).toEqual({ color: 'red' });
    expect(applied.status).toMatchObject({ persons: 4, speed: 53.37474583162469 });
    const text = readFileSync(join(root, 'foo.yaml'), 'utf8');
    expect(text).toContain('# Our family car.');
    expect(text).toContain('yearModel: "2008" # quoted');
    expect(
      await codeOf(
        storage.patch(key, { type: 'json', operations: [{ op: 'test', path: '/spec/engine', value: 'x' }] }),
      ),
    ).toBe(ErrorCodes.Invalid);
    expect(
      await codeOf(storage.patch(key, { type: 'merge', patch: { metadata: { name: 'renamed' } } })),
    ).toBe(ErrorCodes.Invalid);
    expect(await codeOf(storage.patch(key, { type: 'merge', patch: { spec: { brand: 3 } } }))).toBe(
      ErrorCodes.Invalid,
    );
    expect(await codeOf(storage.patch(carKey('nope'), { type: 'merge', patch: {} }))).toBe(
      ErrorCodes.NotFound,
    );
    // A resourceVersion inside the patch is a precondition.
    expect(
      await codeOf(
        storage.patch(key, {
          type: 'merge',
          patch: { metadata: { resourceVersion: 'old' }, spec: { engine: 'x' } },
        }),
      ),
    ).toBe(ErrorCodes.Conflict);
  });

  it('deletes one document of a multi-document file, and the file with its last object', async () => {
    const root = carsCopy();
    const storage = await open({ root });
    const log = new EventLog(storage);
    await storage.delete(carKey('bar', 'fleet'));
    const fleet = readFileSync(join(root, 'fleet.yaml'), 'utf8');
    expect(fleet).not.toContain('name: bar');
    expect(fleet).toContain('name: baz');
    expect(await storage.locate(carKey('baz', 'fleet'))).toEqual({ path: 'fleet.yaml', document: 1 });
    await storage.delete(carKey('baz', 'fleet'));
    expect(existsSync(join(root, 'fleet.yaml'))).toBe(false);
    await storage.delete(carKey('foo'));
    expect(existsSync(join(root, 'foo.yaml'))).toBe(false);
    expect(log.summary()).toEqual(['DELETED bar', 'DELETED baz', 'DELETED foo']);
    expect(await codeOf(storage.delete(carKey('foo')))).toBe(ErrorCodes.NotFound);
  });

  it('dry runs check everything and write nothing', async () => {
    const root = carsCopy();
    const storage = await open({ root });
    const before = readFileSync(join(root, 'foo.yaml'), 'utf8');
    const foo = await storage.get<Car>(carKey('foo'));
    foo.spec!.engine = 'dry';
    expect((await storage.update(foo, { dryRun: true })).spec?.engine).toBe('dry');
    await storage.delete(carKey('foo'), { dryRun: true });
    expect((await storage.create(car('dry'), { dryRun: true })).metadata.name).toBe('dry');
    expect(readFileSync(join(root, 'foo.yaml'), 'utf8')).toBe(before);
    expect(existsSync(join(root, 'default/car-dry.yaml'))).toBe(false);
    expect((await storage.get<Car>(carKey('foo'))).spec?.engine).toBe('The best one');
  });

  it('edits items of a List document in place', async () => {
    const root = tempDir();
    writeFileSync(
      join(root, 'list.yaml'),
      [
        'apiVersion: v1',
        'kind: List',
        'items:',
        '  - apiVersion: v1',
        '    kind: ConfigMap',
        '    metadata: {name: one, namespace: default}',
        '    data: {a: "1"}',
        '  - apiVersion: v1',
        '    kind: ConfigMap',
        '    metadata: {name: two, namespace: default}',
        '    data: {a: "2"}',
        '',
      ].join('\n'),
    );
    const storage = await open({ root });
    const key = { group: '', kind: 'ConfigMap', namespace: 'default', name: 'two' };
    expect(await storage.locate(key)).toEqual({ path: 'list.yaml', document: 0, item: 1 });
    const one = await storage.get({ ...key, name: 'one' });
    await storage.patch(key, { type: 'merge', patch: { data: { a: '3' } } });
    expect(readFileSync(join(root, 'list.yaml'), 'utf8')).toContain('data: {a: "3"}');
    expect((await storage.get({ ...key, name: 'one' })).metadata.resourceVersion).not.toBe(
      one.metadata.resourceVersion,
    );
    await storage.delete(key);
    expect(await storage.count({ kind: 'ConfigMap' })).toBe(1);
    expect(readFileSync(join(root, 'list.yaml'), 'utf8')).not.toContain('two');
  });
});

describe('status subresource', () => {
  it('keeps status out of updates, and spec out of status updates', async () => {
    const root = carsCopy();
    const storage = await open({ root, statusSubresource: true });
    const foo = await storage.get<Car>(carKey('foo'));
    foo.spec!.engine = 'V8';
    foo.status!.speed = 1;
    const updated = await storage.update(foo);
    expect(updated.spec?.engine).toBe('V8');
    expect(updated.status?.speed).toBe(53.37474583162469);
    updated.spec!.engine = 'ignored';
    updated.status!.speed = 2;
    const status = await storage.updateStatus(updated);
    expect(status.spec?.engine).toBe('V8');
    expect(status.status?.speed).toBe(2);
    const created = await storage.create<Car>({ ...car('s'), status: { speed: 9 } });
    expect(created.status).toBeUndefined();
    expect(
      await codeOf(storage.updateStatus({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } })),
    ).toBe(ErrorCodes.NotFound);
  });

  it('refuses a status update for kinds without the subresource', async () => {
    const storage = await open({ root: carsCopy() });
    expect(await codeOf(storage.updateStatus(await storage.get(carKey('foo'))))).toBe(ErrorCodes.BadRequest);
  });
});

describe('layouts: the Go library sample-app', () => {
  it('stores Cars at <Kind>/<namespace>/<name>/metadata.yaml and serves them as in its README', async () => {
    const root = tempDir();
    const storage = await open({ root, layout: 'kind-namespace-name' });
    // POST /plain/:name creates a Car in namespace default with a random brand.
    const brands = ['Volvo', 'SAAB', 'Tesla'];
    await storage.create(car('my-car', 'default', { brand: brands[Math.floor(Math.random() * 3)] }));
    expect(existsSync(join(root, 'Car/default/my-car/metadata.yaml'))).toBe(true);
    // GET returns it as JSON.
    const got = await storage.get<Car>(carKey('my-car'));
    expect(JSON.parse(JSON.stringify(got)).spec.brand).toMatch(/^(Volvo|SAAB|Tesla)$/);
    // PUT sets a random status.distance and speed and calls Update.
    got.status = { distance: 7, speed: 3.5 };
    await storage.update(got);
    expect(readFileSync(join(root, 'Car/default/my-car/metadata.yaml'), 'utf8')).toContain('speed: 3.5');
    // The Go library's List missed namespaced objects; this one does not.
    expect((await storage.list({ kind: 'Car' })).map((c) => c.metadata.name)).toEqual(['my-car']);
    await storage.delete(carKey('my-car'));
    expect(existsSync(join(root, 'Car'))).toBe(false);
  });

  it('kind-name keeps one object per kind and name, and writes JSON when asked', async () => {
    const root = tempDir();
    const storage = await open({ root, layout: 'kind-name', contentType: 'json' });
    await storage.create(car('foo', 'default'));
    expect(JSON.parse(readFileSync(join(root, 'Car/foo/metadata.json'), 'utf8')).metadata.name).toBe('foo');
    const clash = await errorOf(storage.create(car('foo', 'other')));
    expect(clash.code).toBe(ErrorCodes.AlreadyExists);
    expect(clash.message).toContain('Car/foo/metadata.json');
  });

  it('reports an object defined in two files with the file, line and column of both', async () => {
    const root = tempDir();
    const doc = (name: string): string =>
      `apiVersion: ${CAR_GROUP}/v1alpha1\nkind: Car\nmetadata:\n  name: ${name}\n  namespace: default\nspec:\n  brand: Volvo\n`;
    writeFileSync(join(root, 'a.yaml'), `# the fleet\n${doc('foo')}---\n${doc('bar')}`);
    writeFileSync(join(root, 'b.yaml'), `# again\n\n---\n${doc('bar')}`);
    const raw = await ManifestDirectory.open({ root, placement: { file: 'fleet.yaml' } });
    const storage = await ObjectStorage.open(raw, { scheme: carScheme(), watch: false });
    opened.push(storage);
    const [problem, ...more] = storage.problems();
    expect(more).toEqual([]);
    expect(problem!.code).toBe(ErrorCodes.AlreadyExists);
    expect(problem!.details).toMatchObject({ file: 'b.yaml', document: 1, line: 4, column: 1 });
    expect(problem!.message).toContain('in a.yaml:10:1 (document 1) and in b.yaml:4:1 (document 1)');
    // The first one counts.
    expect(await storage.locate(carKey('bar'))).toEqual({ path: 'a.yaml', document: 1 });
  });

  it('reports a file whose object belongs at another path of the layout', async () => {
    const root = tempDir();
    const storage = await open({ root, layout: 'group-kind-namespace-name' });
    await storage.create(car('foo'));
    const misplaced = join(root, `${CAR_GROUP}/Car/default/bar.yaml`);
    writeFileSync(misplaced, readFileSync(join(root, `${CAR_GROUP}/Car/default/foo.yaml`)));
    await storage.refresh();
    expect(storage.problems().map((p) => p.message)).toEqual([
      expect.stringContaining(
        `holds Car default/foo, which this storage's layout keeps in ${CAR_GROUP}/Car/default/foo.yaml`,
      ),
    ]);
    expect(await storage.count()).toBe(1);
  });
});

describe('conversion', () => {
  it('gets an object in another version of its kind, and writes it back in the version of its file', async () => {
    const scheme = carScheme();
    scheme.register({ group: CAR_GROUP, version: 'v1alpha2', kind: 'Car', scope: 'Namespaced' });
    const root = carsCopy();
    const storage = await open({ root, scheme });
    const v2 = await storage.get<Car>(carKey('foo'), { version: 'v1alpha2' });
    expect(v2.apiVersion).toBe(`${CAR_GROUP}/v1alpha2`);
    v2.spec!.engine = 'converted';
    const stored = await storage.update(v2);
    expect(stored.apiVersion).toBe(`${CAR_GROUP}/v1alpha1`);
    expect(stored.spec?.engine).toBe('converted');
    expect(readFileSync(join(root, 'foo.yaml'), 'utf8')).toContain(`apiVersion: ${CAR_GROUP}/v1alpha1`);
  });
});
