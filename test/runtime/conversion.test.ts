import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { Scheme, isGitOpsError } from '../../src/runtime/index.js';
import type { Converter, GitOpsError, KubeObject } from '../../src/runtime/index.js';

// The Car of the Go libgitops samples. v1alpha2 (the hub) splits the engine string into a
// structured engine; v1alpha1 keeps the string.
interface CarSpecV1alpha1 {
  brand: string;
  engine: string;
  yearModel: string;
}
interface CarSpecV1alpha2 {
  brand: string;
  engine: { name: string; electric: boolean };
  yearModel: string;
}

const group = 'sample-app.weave.works';
const v1alpha1 = { group, version: 'v1alpha1', kind: 'Car' };
const v1alpha2 = { group, version: 'v1alpha2', kind: 'Car' };

const carV1alpha1Converter: Converter = {
  toHub(obj) {
    const spec = obj.spec as CarSpecV1alpha1;
    return {
      ...obj,
      spec: {
        ...spec,
        engine: { name: spec.engine, electric: spec.engine === 'electric' },
      } satisfies CarSpecV1alpha2,
    };
  },
  fromHub(hub) {
    const spec = hub.spec as CarSpecV1alpha2;
    return { ...hub, spec: { ...spec, engine: spec.engine.name } satisfies CarSpecV1alpha1 };
  },
};

function carScheme(): Scheme {
  const scheme = new Scheme();
  scheme.register({ ...v1alpha1, scope: 'Namespaced' });
  scheme.register({ ...v1alpha2, scope: 'Namespaced', storage: true });
  return scheme;
}

const foo: KubeObject<CarSpecV1alpha1> = {
  apiVersion: 'sample-app.weave.works/v1alpha1',
  kind: 'Car',
  metadata: { name: 'foo', namespace: 'default' },
  spec: { brand: 'SAAB', engine: 'The best one', yearModel: '2008' },
  status: {
    acceleration: 0, // What a YAML reader makes of `12176941420362965433`: a rounded double.
    distance: Number('12176941420362965433'),
    persons: 0,
    speed: 53.37474583162469,
  },
};

function thrown(fn: () => unknown): GitOpsError {
  try {
    fn();
  } catch (err) {
    if (isGitOpsError(err)) return err;
    throw new Error(`expected a GitOpsError, got ${String(err)}`, { cause: err });
  }
  throw new Error('expected an error, got none');
}

describe('conversion', () => {
  it('converts spoke -> hub and back without loss', () => {
    const scheme = carScheme();
    scheme.addConversion(v1alpha1, carV1alpha1Converter);
    const hub = scheme.convertToHub(foo);
    expect(hub.apiVersion).toBe('sample-app.weave.works/v1alpha2');
    expect(hub.kind).toBe('Car');
    expect(hub.spec).toEqual({
      brand: 'SAAB',
      engine: { name: 'The best one', electric: false },
      yearModel: '2008',
    });
    expect(hub.status).toEqual(foo.status);
    const back = scheme.convert(hub, 'v1alpha1');
    expect(back).toEqual(foo);
    // Inputs are never changed.
    expect(foo.spec!.engine).toBe('The best one');
    expect((hub.spec as CarSpecV1alpha2).engine.name).toBe('The best one');
  });

  it('accepts a full apiVersion as the target and copies when nothing changes', () => {
    const scheme = carScheme();
    scheme.addConversion(v1alpha1, carV1alpha1Converter);
    expect(scheme.convert(foo, 'sample-app.weave.works/v1alpha2').apiVersion).toBe(
      'sample-app.weave.works/v1alpha2',
    );
    const same = scheme.convert(foo, 'v1alpha1');
    expect(same).toEqual(foo);
    expect(same).not.toBe(foo);
    expect(thrown(() => scheme.convert(foo, 'other.io/v1alpha2')).code).toBe('ConversionFailed');
  });

  it('converts between two spokes through the hub', () => {
    const scheme = carScheme();
    scheme.register({ group, version: 'v1beta1', kind: 'Car', scope: 'Namespaced' });
    scheme.addConversion(v1alpha1, carV1alpha1Converter);
    // v1beta1 writes the engine as "<name> (electric)" or "<name>".
    scheme.addConversion(
      { group, version: 'v1beta1', kind: 'Car' },
      {
        toHub: (obj) => {
          const spec = obj.spec as { engine: string };
          const electric = spec.engine.endsWith(' (electric)');
          return {
            ...obj,
            spec: { ...spec, engine: { name: spec.engine.replace(' (electric)', ''), electric } },
          };
        },
        fromHub: (hub) => {
          const spec = hub.spec as CarSpecV1alpha2;
          return {
            ...hub,
            spec: { ...spec, engine: `${spec.engine.name}${spec.engine.electric ? ' (electric)' : ''}` },
          };
        },
      },
    );
    const tesla = { ...foo, spec: { brand: 'Tesla', engine: 'electric', yearModel: '2023' } };
    const beta = scheme.convert(tesla, 'v1beta1');
    expect(beta.apiVersion).toBe('sample-app.weave.works/v1beta1');
    expect(beta.spec).toEqual({ brand: 'Tesla', engine: 'electric (electric)', yearModel: '2023' });
    expect(scheme.convert(beta, 'v1alpha1')).toEqual(tesla);
  });

  it('never defaults', () => {
    const scheme = new Scheme();
    scheme.register({
      ...v1alpha1,
      scope: 'Namespaced',
      schema: { type: 'object', properties: { status: { type: 'object', default: { persons: 0 } } } },
    });
    scheme.register({ ...v1alpha2, scope: 'Namespaced', storage: true });
    scheme.addConversion(v1alpha1, carV1alpha1Converter);
    const { status: _status, ...withoutStatus } = foo;
    const hub = scheme.convertToHub(withoutStatus as KubeObject);
    expect(scheme.convert(hub, 'v1alpha1').status).toBeUndefined();
  });

  it('names the versions when a converter is missing', () => {
    const err = thrown(() => carScheme().convert(foo, 'v1alpha2'));
    expect(err.code).toBe('ConversionFailed');
    expect(err.message).toMatch(
      /no conversion between Car sample-app\.weave\.works\/v1alpha1 and sample-app\.weave\.works\/v1alpha2/,
    );
    expect(err.details).toMatchObject({
      from: 'sample-app.weave.works/v1alpha1',
      to: 'sample-app.weave.works/v1alpha2',
      object: 'sample-app.weave.works/Car/default/foo',
    });
  });

  it('keeps the cause when a converter throws', () => {
    const scheme = carScheme();
    const boom = new TypeError('engine is not a string');
    scheme.addConversion(v1alpha1, {
      toHub: () => {
        throw boom;
      },
      fromHub: (hub) => hub,
    });
    const err = thrown(() => scheme.convert(foo, 'v1alpha2'));
    expect(err.code).toBe('ConversionFailed');
    expect(err.cause).toBe(boom);
    expect(err.message).toMatch(/engine is not a string/);
  });

  it('refuses a converter that returns nothing', () => {
    const scheme = carScheme();
    scheme.addConversion(v1alpha1, {
      toHub: () => undefined as unknown as KubeObject,
      fromHub: (hub) => hub,
    });
    expect(thrown(() => scheme.convert(foo, 'v1alpha2')).message).toMatch(/returned no object/);
  });

  it('refuses unknown kinds and versions', () => {
    const scheme = carScheme();
    expect(thrown(() => scheme.convert({ ...foo, kind: 'Boat' }, 'v1alpha2')).code).toBe('UnknownKind');
    expect(thrown(() => scheme.convert(foo, 'v9')).code).toBe('UnknownVersion');
    expect(thrown(() => scheme.convert({ ...foo, apiVersion: `${group}/v0` }, 'v1alpha2')).code).toBe(
      'UnknownVersion',
    );
    expect(thrown(() => scheme.addConversion({ ...v1alpha1, kind: 'Boat' }, carV1alpha1Converter)).code).toBe(
      'UnknownKind',
    );
  });

  it('uses a settable hub', () => {
    const scheme = carScheme();
    scheme.setHubVersion(group, 'Car', 'v1alpha1');
    // Now v1alpha2 is the spoke: its converter maps to and from v1alpha1.
    scheme.addConversion(v1alpha2, {
      toHub: (obj) => carV1alpha1Converter.fromHub(obj),
      fromHub: (hub) => carV1alpha1Converter.toHub(hub),
    });
    const v2 = scheme.convert(foo, 'v1alpha2');
    expect((v2.spec as CarSpecV1alpha2).engine).toEqual({ name: 'The best one', electric: false });
    expect(scheme.convertToHub(v2)).toEqual(foo);
  });

  it('converts CRD kinds with strategy None by changing apiVersion only, as the API server does', () => {
    const crd = parse(
      readFileSync(new URL('../../examples/cars/car-crd.yaml', import.meta.url), 'utf8'),
    ) as KubeObject<{
      versions: Record<string, unknown>[];
      conversion?: unknown;
    }>;
    crd.spec!.versions.push({ name: 'v1alpha2', served: true, storage: false });
    const scheme = new Scheme();
    scheme.registerCRD(crd);
    const converted = scheme.convert(foo, 'v1alpha2');
    expect(converted).toEqual({ ...foo, apiVersion: 'sample-app.weave.works/v1alpha2' });
    // With a webhook strategy, conversion needs a converter here.
    crd.spec!.conversion = { strategy: 'Webhook' };
    const webhook = new Scheme();
    webhook.registerCRD(crd);
    expect(thrown(() => webhook.convert(foo, 'v1alpha2')).code).toBe('ConversionFailed');
    // v1alpha1 is the stored version, so the hub: v1alpha2 converts to and from it.
    webhook.addConversion(v1alpha2, {
      toHub: carV1alpha1Converter.fromHub,
      fromHub: carV1alpha1Converter.toHub,
    });
    expect((webhook.convert(foo, 'v1alpha2').spec as CarSpecV1alpha2).engine).toEqual({
      name: 'The best one',
      electric: false,
    });
  });
});
