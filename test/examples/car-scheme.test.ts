/**
 * The Car types of the samples: v1alpha1 as stored, v1alpha2 as the hub, and the conversion
 * between them, used through a GitStorage read in another version.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { carScheme } from '../../examples/car/car-scheme.js';
import { carKey } from '../../examples/car/car-types.js';
import type { CarV1alpha1, CarV1alpha2 } from '../../examples/car/car-types.js';
import { GitStorage } from '../../src/gitstorage/index.js';
import { ErrorCodes } from '../../src/runtime/index.js';
import { createBareRepo } from '../support/git-server/index.js';

const CARS = resolve(import.meta.dirname, '../../examples/cars');
const opened: GitStorage[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

const foo: CarV1alpha1 = {
  apiVersion: 'sample-app.weave.works/v1alpha1',
  kind: 'Car',
  metadata: { name: 'foo', namespace: 'default' },
  spec: { brand: 'SAAB', engine: 'The best one', yearModel: '2008' },
  status: { speed: 53.3 },
};

describe('Car versions', () => {
  it('converts v1alpha1 to v1alpha2 and back without loss', () => {
    const scheme = carScheme();
    const hub = scheme.convert<CarV1alpha2>(foo, 'v1alpha2');
    expect(hub.apiVersion).toBe('sample-app.weave.works/v1alpha2');
    expect(hub.spec?.engine).toEqual({ name: 'The best one', electric: false });
    expect(scheme.validate(hub)).toEqual([]);
    expect(scheme.convert(hub, 'v1alpha1')).toEqual(foo);
    const tesla = { ...foo, spec: { ...foo.spec, engine: 'electric' } };
    expect(scheme.convert<CarV1alpha2>(tesla, 'v1alpha2').spec?.engine).toEqual({
      name: 'electric',
      electric: true,
    });
    const hybrid = { ...foo, spec: { ...foo.spec, engine: 'Twin (electric)' } };
    const hybridHub = scheme.convert<CarV1alpha2>(hybrid, 'v1alpha2');
    expect(hybridHub.spec?.engine).toEqual({ name: 'Twin', electric: true });
    expect(scheme.convert(hybridHub, 'v1alpha1')).toEqual(hybrid);
  });

  it('validates each version against its own schema', () => {
    const scheme = carScheme();
    const wrong = { ...foo, apiVersion: 'sample-app.weave.works/v1alpha2', spec: { engine: 'a string' } };
    const problems = scheme.validate(wrong);
    expect(problems.map((p) => [p.code, p.details.field])).toEqual([
      [ErrorCodes.TypeMismatch, '.spec.engine'],
    ]);
    expect(scheme.validate(foo)).toEqual([]);
  });

  it('serves the stored v1alpha1 Cars as v1alpha2 from a GitStorage', async () => {
    const files: Record<string, string> = {};
    for (const name of readdirSync(CARS)) files[name] = readFileSync(join(CARS, name), 'utf8');
    const repo = await createBareRepo({ files });
    const storage = await GitStorage.open({
      directory: { url: repo.path, interval: 0 },
      scheme: carScheme(),
    });
    opened.push(storage);
    const baz = await storage.get<CarV1alpha2>(carKey('baz', 'fleet'), { version: 'v1alpha2' });
    expect(baz.apiVersion).toBe('sample-app.weave.works/v1alpha2');
    expect(baz.spec?.engine).toEqual({ name: 'electric', electric: true });
  });
});
