import { describe, expect, it } from 'vitest';
import { Scheme, compileKubePattern, deepCopy, deepEqual } from '../../src/runtime/index.js';
import type { GitOpsError, JSONSchemaProps, KubeObject } from '../../src/runtime/index.js';

const brief = (problems: GitOpsError[]): string[] =>
  problems.map((p) => `${p.code} ${p.details.field ?? ''}`);

function schemeWith(spec: JSONSchemaProps): Scheme {
  const scheme = new Scheme();
  scheme.register({
    group: 'example.com',
    version: 'v1',
    kind: 'Thing',
    scope: 'Namespaced',
    schema: { type: 'object', properties: { spec } },
  });
  return scheme;
}

const thing = (spec: unknown): KubeObject => ({
  apiVersion: 'example.com/v1',
  kind: 'Thing',
  metadata: { name: 't' },
  spec,
});

describe('Go RE2 patterns', () => {
  it('rewrites inline flags and anchors JavaScript spells differently', () => {
    expect(compileKubePattern('^(?i)(abort|warn)?$')?.test('WARN')).toBe(true);
    expect(compileKubePattern('^((?i)sun|mon)day$')?.test('SUNday')).toBe(true);
    expect(compileKubePattern('\\Aab\\z')?.test('ab')).toBe(true);
    expect(compileKubePattern('\\Aab\\z')?.test('xab')).toBe(false);
    expect(compileKubePattern('^[[:alpha:]]+$')?.test('abcXYZ')).toBe(true);
    expect(compileKubePattern('^[[:alpha:]]+$')?.test('abc1')).toBe(false);
    expect(compileKubePattern('^(?P<year>[0-9]{4})$')?.test('2024')).toBe(true);
    expect(compileKubePattern('(unclosed')).toBeUndefined();
  });

  it('accepts a schema whose pattern JavaScript cannot compile, without enforcing it', () => {
    const scheme = schemeWith({
      type: 'object',
      properties: { a: { type: 'string', pattern: '(unclosed' } },
    });
    expect(scheme.validate(thing({ a: 'anything' }))).toEqual([]);
    expect(brief(scheme.validate(thing({ a: 1 })))).toEqual(['TypeMismatch .spec.a']);
  });
});

describe('formats', () => {
  const scheme = schemeWith({
    type: 'object',
    properties: {
      i32: { type: 'integer', format: 'int32' },
      i64: { type: 'integer', format: 'int64' },
      when: { type: 'string', format: 'date-time' },
      day: { type: 'string', format: 'date' },
      data: { type: 'string', format: 'byte' },
      id: { type: 'string', format: 'uuid' },
      ip: { type: 'string', format: 'ipv4' },
      net: { type: 'string', format: 'cidr' },
      secret: { type: 'string', format: 'password' },
      custom: { type: 'string', format: 'my-own-format' },
    },
  });

  it('accepts good values', () => {
    const good = {
      i32: -2147483648,
      i64: 9007199254740991,
      when: '2024-02-29T23:59:59.123+01:00',
      day: '2024-02-29',
      data: 'aGVsbG8gd29ybGQ=',
      id: '123e4567-e89b-12d3-a456-426614174000',
      ip: '10.0.0.1',
      net: 'fd00::/8',
      secret: 'x',
      custom: 'ignored',
    };
    expect(scheme.validate(thing(good), { strict: true })).toEqual([]);
  });

  it('refuses bad values, each at its field', () => {
    const bad = {
      i32: 2147483648,
      i64: 2 ** 64,
      when: '2024-13-01T00:00:00Z',
      day: '01/02/2024',
      data: 'hello world',
      id: 'not-a-uuid',
      ip: '300.0.0.1',
      net: '10.0.0.0/33',
    };
    expect(brief(scheme.validate(thing(bad)))).toEqual(Object.keys(bad).map((k) => `Invalid .spec.${k}`));
  });
});

describe('repeated subschemas', () => {
  // A big subschema used in several places, as in Argo CD's ApplicationSet: it is compiled
  // once, and problems inside each copy still get their own precise path.
  const template: JSONSchemaProps = {
    type: 'object',
    required: ['name'],
    properties: Object.fromEntries([
      ['name', { type: 'string' }],
      ...Array.from({ length: 20 }, (_, i) => [`field${i}`, { type: 'integer', minimum: 0 }]),
      ['nested', { type: 'object', properties: { list: { type: 'array', items: { type: 'string' } } } }],
    ]),
  };
  const scheme = schemeWith({
    type: 'object',
    properties: {
      first: template,
      second: template,
      many: { type: 'array', items: { anyOf: [template, { type: 'string' }] } },
    },
  });

  it('reports problems in each copy at its own path', () => {
    const problems = scheme.validate(
      thing({
        first: { name: 'a', field3: -1 },
        second: { field7: 'x', nested: { list: [1] } },
        many: ['ok', { name: 'b' }],
      }),
      { strict: true },
    );
    expect(brief(problems)).toEqual([
      'Invalid .spec.first.field3',
      'Invalid .spec.second.name',
      'TypeMismatch .spec.second.field7',
      'TypeMismatch .spec.second.nested.list[0]',
    ]);
  });

  it('folds a failing anyOf over a shared subschema into one problem', () => {
    const problems = scheme.validate(thing({ many: [{ field1: 1 }] }));
    expect(brief(problems)).toEqual(['Invalid .spec.many[0]']);
    expect(problems[0]!.message).toMatch(/required field is missing; or .*must be string/);
  });
});

describe('schema checks', () => {
  it('refuses bad x-kubernetes-* values and odd keywords, each at its path', () => {
    const scheme = new Scheme();
    let error: GitOpsError | undefined;
    try {
      scheme.register({
        group: 'example.com',
        version: 'v1',
        kind: 'Thing',
        scope: 'Namespaced',
        schema: {
          type: 'object',
          properties: {
            a: { type: 'array', 'x-kubernetes-list-type': 'bag' as 'set' },
            b: { type: 'object', 'x-kubernetes-preserve-unknown-fields': 'yes' as unknown as boolean },
            c: { type: 'array', 'x-kubernetes-list-type': 'map' },
            d: {
              type: 'string',
              minLength: '1' as unknown as number,
              exclusiveMinimum: 1 as unknown as boolean,
            },
            e: { type: 'string', examples: ['x'] } as JSONSchemaProps,
          },
        },
      });
    } catch (err) {
      error = err as GitOpsError;
    }
    expect(error?.code).toBe('InvalidSchema');
    expect(brief([...error!.causes])).toEqual([
      'InvalidSchema .schema.properties.a.x-kubernetes-list-type',
      'InvalidSchema .schema.properties.b.x-kubernetes-preserve-unknown-fields',
      'InvalidSchema .schema.properties.c.x-kubernetes-list-map-keys',
      'InvalidSchema .schema.properties.d.minLength',
      'InvalidSchema .schema.properties.d.exclusiveMinimum',
      'InvalidSchema .schema.properties.e.examples',
    ]);
  });

  it('ignores formats it does not know, even ones named like built-in properties', () => {
    const scheme = schemeWith({ type: 'object', properties: { a: { type: 'string', format: 'toString' } } });
    expect(scheme.validate(thing({ a: 'x' }))).toEqual([]);
  });
});

describe('a schema the caller changes later', () => {
  it('does not change what the scheme validates', () => {
    const spec: JSONSchemaProps = { type: 'object', properties: { a: { type: 'string' } } };
    const scheme = schemeWith(spec);
    spec.properties!.a!.type = 'integer';
    expect(scheme.validate(thing({ a: 'text' }))).toEqual([]);
  });
});

describe('plain values', () => {
  it('copies a __proto__ key as data, never as a prototype', () => {
    const parsed = JSON.parse('{"a": {"__proto__": {"polluted": true}}}') as Record<
      string,
      Record<string, unknown>
    >;
    const copy = deepCopy(parsed);
    expect(Object.keys(copy.a!)).toEqual(['__proto__']);
    expect((copy.a as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(deepEqual(copy, parsed)).toBe(true);
  });

  it('compares deeply', () => {
    expect(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 3 }] })).toBe(false);
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(deepEqual([1], { 0: 1 })).toBe(false);
  });

  it('keeps unknown fields of a __proto__-named property out of the prototype when defaulting', () => {
    const scheme = schemeWith({
      type: 'object',
      properties: { __proto__: { type: 'object', default: { polluted: true } } } as Record<
        string,
        JSONSchemaProps
      >,
    });
    const out = scheme.default(thing({}));
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(out.spec)).toBe(Object.prototype);
  });
});
