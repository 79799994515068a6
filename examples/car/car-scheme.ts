/**
 * A Scheme that knows Cars: v1alpha1 from the CustomResourceDefinition in examples/cars (the
 * version files are stored in), and v1alpha2, the hub, with the conversion between them. An
 * engine is electric when its v1alpha1 name says so ("electric", or "... (electric)").
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { parse } from 'yaml';

import { Scheme } from '../../src/runtime/index.js';
import type { JSONSchemaProps, KubeObject } from '../../src/runtime/index.js';
import { CAR_GROUP, CAR_KIND } from './car-types.js';
import type { CarSpecV1alpha1, CarSpecV1alpha2 } from './car-types.js';

const CRD_FILE = fileURLToPath(new URL('../cars/car-crd.yaml', import.meta.url));

const statusSchema: JSONSchemaProps = {
  type: 'object',
  properties: {
    acceleration: { type: 'number' },
    distance: { type: 'integer' },
    persons: { type: 'integer', default: 0 },
    speed: { type: 'number' },
  },
};

const v1alpha2Schema: JSONSchemaProps = {
  type: 'object',
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
    spec: {
      type: 'object',
      properties: {
        brand: { type: 'string' },
        engine: {
          type: 'object',
          required: ['name', 'electric'],
          properties: { name: { type: 'string' }, electric: { type: 'boolean' } },
        },
        yearModel: { type: 'string' },
      },
    },
    status: statusSchema,
  },
};

const ELECTRIC = / \(electric\)$/;

function engineToHub(engine: string): CarSpecV1alpha2['engine'] {
  if (engine === 'electric') return { name: 'electric', electric: true };
  return { name: engine.replace(ELECTRIC, ''), electric: ELECTRIC.test(engine) };
}

function engineFromHub(engine: NonNullable<CarSpecV1alpha2['engine']>): string {
  if (!engine.electric || engine.name === 'electric') return engine.name;
  return `${engine.name} (electric)`;
}

export function carScheme(): Scheme {
  const scheme = new Scheme();
  scheme.registerCRD(parse(readFileSync(CRD_FILE, 'utf8')));
  scheme.register({
    group: CAR_GROUP,
    version: 'v1alpha2',
    kind: CAR_KIND,
    scope: 'Namespaced',
    schema: v1alpha2Schema,
    subresources: { status: true },
  });
  scheme.setHubVersion(CAR_GROUP, CAR_KIND, 'v1alpha2');
  scheme.addConversion(
    { group: CAR_GROUP, version: 'v1alpha1', kind: CAR_KIND },
    {
      toHub: (obj: KubeObject): KubeObject => {
        const spec = obj.spec as CarSpecV1alpha1 | undefined;
        if (spec === undefined) return obj;
        const { engine, ...rest } = spec;
        return { ...obj, spec: engine === undefined ? rest : { ...rest, engine: engineToHub(engine) } };
      },
      fromHub: (hub: KubeObject): KubeObject => {
        const spec = hub.spec as CarSpecV1alpha2 | undefined;
        if (spec === undefined) return hub;
        const { engine, ...rest } = spec;
        return { ...hub, spec: engine === undefined ? rest : { ...rest, engine: engineFromHub(engine) } };
      },
    },
  );
  return scheme;
}
