/**
 * The object storage's create and update strategy, called directly: pure functions, so no
 * folder, file or storage is needed, and the same input must give the same output.
 */
import { describe, expect, it } from 'vitest';

import { ErrorCodes, GitOpsError, Scheme } from '../../src/runtime/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import {
  checkDeleteVersion,
  checkResourceVersion,
  hasStatusSubresource,
  nameIsGenerated,
  nameSuffix,
  prepareForCreate,
  prepareForPatch,
  prepareForUpdate,
  validateObject,
  versionAsOnDisk,
  withoutVersion,
} from '../../src/storage/write-strategy.js';
import type { WritePolicy } from '../../src/storage/write-strategy.js';
import { car, carKey, carScheme } from './helpers.js';
import type { Car } from './helpers.js';

const STAMP = { uid: '11111111-2222-4333-8444-555555555555', creationTimestamp: '2026-01-02T03:04:05Z' };

function policy(overrides: Partial<WritePolicy> = {}): WritePolicy {
  return { scheme: carScheme(), strict: true, statusSubresource: false, ...overrides };
}

/** The GitOpsError `fn` throws. */
function thrown(fn: () => unknown): GitOpsError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GitOpsError) return error;
    throw error;
  }
  throw new GitOpsError(ErrorCodes.InternalError, 'expected a GitOpsError, but the call succeeded');
}

/** A Car as the storage hands it to an update: stamped, with a derived resourceVersion. */
function stored(overrides: Partial<Car> = {}): Car {
  const base = car('foo');
  return {
    ...base,
    metadata: {
      ...base.metadata,
      uid: STAMP.uid,
      creationTimestamp: STAMP.creationTimestamp,
      generation: 3,
      resourceVersion: 'abc',
    },
    status: { speed: 10 },
    ...overrides,
  };
}

describe('prepareForCreate', () => {
  it('fills the namespace of a namespaced kind and the stamp, on a copy, the same way every time', () => {
    const input: Car = { apiVersion: car('x').apiVersion, kind: 'Car', metadata: { name: 'x' }, spec: {} };
    const before = structuredClone(input);
    const first = prepareForCreate(input, policy(), STAMP);
    expect(first.metadata).toEqual({
      name: 'x',
      namespace: 'default',
      uid: STAMP.uid,
      creationTimestamp: STAMP.creationTimestamp,
      generation: 1,
    });
    expect(input).toEqual(before);
    expect(prepareForCreate(input, policy(), STAMP)).toEqual(first);
  });

  it('keeps what the object already has, and stamps nothing without a stamp', () => {
    const own = car('x');
    own.metadata = { ...own.metadata, uid: 'mine', creationTimestamp: '2020-01-01T00:00:00Z', generation: 7 };
    expect(prepareForCreate(own, policy(), STAMP).metadata).toMatchObject({
      uid: 'mine',
      creationTimestamp: '2020-01-01T00:00:00Z',
      generation: 7,
    });
    const plain = prepareForCreate(car('y'), policy(), undefined).metadata;
    expect(plain.uid).toBeUndefined();
    expect(plain.creationTimestamp).toBeUndefined();
    expect(plain.generation).toBeUndefined();
  });

  it('drops status only under the status subresource', () => {
    const withStatus: Car = { ...car('x'), status: { speed: 1 } };
    expect(prepareForCreate(withStatus, policy({ statusSubresource: true }), STAMP).status).toBeUndefined();
    expect(prepareForCreate(withStatus, policy(), STAMP).status).toEqual({ speed: 1 });
  });

  it('refuses a resourceVersion, a namespace on a cluster-scoped kind and a non-object', () => {
    const versioned = car('x');
    versioned.metadata.resourceVersion = '42';
    const version = thrown(() => prepareForCreate(versioned, policy(), STAMP));
    expect(version.code).toBe(ErrorCodes.Invalid);
    expect(version.details.field).toBe('.metadata.resourceVersion');
    // An empty resourceVersion is no version: it is dropped.
    versioned.metadata.resourceVersion = '';
    expect(prepareForCreate(versioned, policy(), STAMP).metadata.resourceVersion).toBeUndefined();

    const ns: KubeObject = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'team', namespace: 'x' },
    };
    const scoped = thrown(() => prepareForCreate(ns, policy(), STAMP));
    expect(scoped.code).toBe(ErrorCodes.Invalid);
    expect(scoped.details.field).toBe('.metadata.namespace');

    const notAnObject = thrown(() => prepareForCreate('car' as unknown as KubeObject, policy(), STAMP));
    expect(notAnObject.code).toBe(ErrorCodes.BadRequest);
  });
});

describe('generated names', () => {
  it('tells a generated name from a given one', () => {
    expect(nameIsGenerated({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'cm-' } })).toBe(
      true,
    );
    expect(
      nameIsGenerated({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', generateName: 'cm-' } }),
    ).toBe(false);
    expect(nameIsGenerated({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: '' } })).toBe(
      false,
    );
  });

  it('draws five letters of the Kubernetes alphabet from the random source', () => {
    expect(nameSuffix(() => 0)).toBe('bbbbb');
    expect(nameSuffix(() => 0.99999)).toBe('99999');
    const values = [0, 0.2, 0.4, 0.6, 0.8];
    let i = 0;
    const suffix = nameSuffix(() => values[i++]!);
    expect(suffix).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(new Set(suffix).size).toBe(5);
  });
});

describe('resourceVersion preconditions', () => {
  it('an update or patch without a version (or with an empty one) is unconditional', () => {
    expect(() => checkResourceVersion(carKey('foo'), undefined, 'abc')).not.toThrow();
    expect(() => checkResourceVersion(carKey('foo'), '', 'abc')).not.toThrow();
    expect(() => checkResourceVersion(carKey('foo'), 'abc', 'abc')).not.toThrow();
    const stale = thrown(() => checkResourceVersion(carKey('foo'), 'old', 'abc'));
    expect(stale.code).toBe(ErrorCodes.Conflict);
    expect(stale.details).toMatchObject({ resourceVersion: 'old', currentResourceVersion: 'abc' });
  });

  it('a delete with any given version, even an empty one, needs it to be current', () => {
    expect(() => checkDeleteVersion(carKey('foo'), undefined, 'abc')).not.toThrow();
    expect(() => checkDeleteVersion(carKey('foo'), 'abc', 'abc')).not.toThrow();
    expect(thrown(() => checkDeleteVersion(carKey('foo'), '', 'abc')).code).toBe(ErrorCodes.Conflict);
  });
});

describe('prepareForUpdate', () => {
  it('keeps uid and creationTimestamp, refuses changing them, and counts generation on spec changes', () => {
    const current = stored();
    const desired: Car = { ...car('foo'), spec: { brand: 'Volvo', engine: 'V8' } };
    const next = prepareForUpdate(current, desired, undefined, policy());
    expect(next.metadata).toMatchObject({
      uid: STAMP.uid,
      creationTimestamp: STAMP.creationTimestamp,
      generation: 4,
    });
    expect(next.spec).toEqual({ brand: 'Volvo', engine: 'V8' });
    expect(desired.metadata.uid).toBeUndefined();

    const labelsOnly: Car = { ...current, metadata: { ...current.metadata, labels: { a: 'b' } } };
    expect(prepareForUpdate(current, labelsOnly, undefined, policy()).metadata.generation).toBe(3);

    const moved: Car = { ...current, metadata: { ...current.metadata, uid: 'another' } };
    const immutable = thrown(() => prepareForUpdate(current, moved, undefined, policy()));
    expect(immutable.code).toBe(ErrorCodes.Invalid);
    expect(immutable.details.field).toBe('.metadata.uid');
  });

  it('under the status subresource, an update keeps status and a status update keeps the rest', () => {
    const sub = policy({ statusSubresource: true });
    const current = stored();
    const desired: Car = { ...current, spec: { brand: 'Tesla' }, status: { speed: 99 } };
    const update = prepareForUpdate(current, desired, undefined, sub);
    expect(update.spec).toEqual({ brand: 'Tesla' });
    expect(update.status).toEqual({ speed: 10 });
    const status = prepareForUpdate(current, desired, 'status', sub);
    expect(status.spec).toEqual(current.spec);
    expect(status.status).toEqual({ speed: 99 });
    expect(status.metadata.generation).toBe(3);
    // Without the subresource the whole object is replaced, and a status update is refused.
    expect(prepareForUpdate(current, desired, undefined, policy()).status).toEqual({ speed: 99 });
    expect(thrown(() => prepareForUpdate(current, desired, 'status', policy())).code).toBe(
      ErrorCodes.BadRequest,
    );
  });

  it('writes in the version the file already uses', () => {
    const group = 'example.com';
    const scheme = new Scheme();
    scheme.register({ group, version: 'v1', kind: 'Widget', scope: 'Namespaced' });
    scheme.register({ group, version: 'v2', kind: 'Widget', scope: 'Namespaced', storage: true });
    scheme.addConversion(
      { group, version: 'v1', kind: 'Widget' },
      {
        toHub: (obj) => ({ ...obj, spec: { size: { value: (obj.spec as { size: number }).size } } }),
        fromHub: (hub) => ({ ...hub, spec: { size: (hub.spec as { size: { value: number } }).size.value } }),
      },
    );
    const current: KubeObject = {
      apiVersion: `${group}/v1`,
      kind: 'Widget',
      metadata: { name: 'w', namespace: 'default' },
      spec: { size: 1 },
    };
    const desired: KubeObject = { ...current, apiVersion: `${group}/v2`, spec: { size: { value: 2 } } };
    const next = prepareForUpdate(current, desired, undefined, policy({ scheme, strict: false }));
    expect(next.apiVersion).toBe(`${group}/v1`);
    expect(next.spec).toEqual({ size: 2 });
  });
});

describe('prepareForPatch', () => {
  it('applies the patch, then the update rules', () => {
    const current = stored();
    const next = prepareForPatch(
      carKey('foo'),
      current,
      { type: 'merge', patch: { spec: { engine: 'V6' }, metadata: { uid: null } } },
      undefined,
      policy(),
    );
    expect(next.spec).toEqual({ brand: 'Volvo', engine: 'V6' });
    expect(next.metadata.uid).toBe(STAMP.uid);
    expect(next.metadata.generation).toBe(4);
    expect(current.spec).toEqual({ brand: 'Volvo' });
  });

  it('refuses a patch that renames the object, writes a stale version or leaves no object', () => {
    const current = stored();
    const rename = thrown(() =>
      prepareForPatch(
        carKey('foo'),
        current,
        { type: 'merge', patch: { metadata: { name: 'bar' } } },
        undefined,
        policy(),
      ),
    );
    expect(rename.code).toBe(ErrorCodes.Invalid);
    const stale = thrown(() =>
      prepareForPatch(
        carKey('foo'),
        current,
        { type: 'merge', patch: { metadata: { resourceVersion: 'old' } } },
        undefined,
        policy(),
      ),
    );
    expect(stale.code).toBe(ErrorCodes.Conflict);
    const gone = thrown(() =>
      prepareForPatch(
        carKey('foo'),
        current,
        { type: 'json', operations: [{ op: 'remove', path: '/metadata' }] },
        undefined,
        policy(),
      ),
    );
    expect(gone.code).toBe(ErrorCodes.BadRequest);
  });
});

describe('validation and what goes into the file', () => {
  it('names the object and counts the problems', () => {
    const bad = { ...car('foo'), spec: { brand: 7, engine: 8 } } as unknown as KubeObject;
    const error = thrown(() => validateObject(bad, policy()));
    expect(error.code).toBe(ErrorCodes.Invalid);
    expect(error.message).toMatch(/^Car default\/foo is invalid: .*\(and 1 more problem\(s\)\)$/);
    expect(error.causes).toHaveLength(2);
    expect(() => validateObject(car('foo'), policy())).not.toThrow();
  });

  it('checks unknown fields only when strict', () => {
    const extra = { ...car('foo'), spec: { brand: 'Volvo', wings: 2 } } as unknown as KubeObject;
    expect(thrown(() => validateObject(extra, policy())).code).toBe(ErrorCodes.Invalid);
    expect(() => validateObject(extra, policy({ strict: false }))).not.toThrow();
  });

  it('a status subresource needs the option and the kind to declare one', () => {
    expect(hasStatusSubresource(car('foo'), policy({ statusSubresource: true }))).toBe(true);
    expect(hasStatusSubresource(car('foo'), policy())).toBe(false);
    expect(hasStatusSubresource(car('foo'), policy({ statusSubresource: true, scheme: undefined }))).toBe(
      false,
    );
  });

  it('keeps the resourceVersion the file has (usually none) and writes new objects without one', () => {
    const next = stored();
    expect(versionAsOnDisk(next, car('foo')).metadata.resourceVersion).toBeUndefined();
    const onDisk = car('foo');
    onDisk.metadata.resourceVersion = 'in-the-file';
    expect(versionAsOnDisk(next, onDisk).metadata.resourceVersion).toBe('in-the-file');
    expect(withoutVersion(next).metadata.resourceVersion).toBeUndefined();
    expect(next.metadata.resourceVersion).toBe('abc');
  });
});
