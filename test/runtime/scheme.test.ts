import { readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { Scheme, guessPlural, isGitOpsError } from '../../src/runtime/index.js';
import type { GitOpsError, JSONSchemaProps, KindDefinition, KubeObject } from '../../src/runtime/index.js';

const carCRD = parse(
  readFileSync(new URL('../../examples/cars/car-crd.yaml', import.meta.url), 'utf8'),
) as KubeObject;
const carFiles = ['foo.yaml', 'fleet.yaml'].flatMap((file) =>
  parseAllDocuments(readFileSync(new URL(`../../examples/cars/${file}`, import.meta.url), 'utf8')).map(
    (doc) => doc.toJS() as KubeObject,
  ),
);

const brief = (problems: GitOpsError[]): string[] =>
  problems.map((p) => `${p.code} ${p.details.field ?? ''}`);

function thrown(fn: () => unknown): GitOpsError {
  try {
    fn();
  } catch (err) {
    if (isGitOpsError(err)) return err;
    throw new Error(`expected a GitOpsError, got ${String(err)}`, { cause: err });
  }
  throw new Error('expected an error, got none');
}

const widget: KindDefinition = { group: 'example.com', version: 'v1', kind: 'Widget', scope: 'Namespaced' };

describe('register', () => {
  it('registers a kind and finds it again', () => {
    const scheme = new Scheme();
    const def = scheme.register(widget);
    expect(def).toMatchObject({ plural: 'widgets', listKind: 'WidgetList', served: true, storage: false });
    expect(scheme.has({ group: 'example.com', version: 'v1', kind: 'Widget' })).toBe(true);
    expect(scheme.has({ group: 'example.com', version: 'v2', kind: 'Widget' })).toBe(false);
    expect(scheme.lookup({ group: 'example.com', version: 'v1', kind: 'Widget' })?.scope).toBe('Namespaced');
    expect(scheme.kinds()).toHaveLength(1);
  });

  it('accepts the same definition twice and refuses a different one', () => {
    const scheme = new Scheme();
    scheme.register(widget);
    scheme.register({ ...widget });
    expect(scheme.kinds()).toHaveLength(1);
    expect(thrown(() => scheme.register({ ...widget, scope: 'Cluster' })).code).toBe('SchemeConflict');
    expect(thrown(() => scheme.register({ ...widget, schema: { type: 'object' } })).code).toBe(
      'SchemeConflict',
    );
  });

  it('keeps the versions of one kind consistent', () => {
    const scheme = new Scheme();
    scheme.register({ ...widget, storage: true });
    const twoStorage = thrown(() => scheme.register({ ...widget, version: 'v2', storage: true }));
    expect(twoStorage.code).toBe('SchemeConflict');
    expect(twoStorage.message).toMatch(/v1 is already the storage version/);
    expect(thrown(() => scheme.register({ ...widget, version: 'v2', scope: 'Cluster' })).message).toMatch(
      /scope/,
    );
    scheme.register({ ...widget, version: 'v1beta1' });
    scheme.register({ ...widget, version: 'v2alpha1' });
    const info = scheme.lookupKind('example.com', 'Widget');
    expect(info?.versions.map((v) => v.version)).toEqual(['v1', 'v1beta1', 'v2alpha1']);
    expect(info?.storageVersion).toBe('v1');
    expect(info?.hubVersion).toBe('v1');
    scheme.setHubVersion('example.com', 'Widget', 'v1beta1');
    expect(scheme.lookupKind('example.com', 'Widget')?.hubVersion).toBe('v1beta1');
    expect(thrown(() => scheme.setHubVersion('example.com', 'Widget', 'v9')).code).toBe('UnknownVersion');
  });

  it('refuses a malformed definition', () => {
    const scheme = new Scheme();
    const err = thrown(() =>
      scheme.register({ ...widget, group: 'Example_Com', scope: 'Global' as 'Cluster' }),
    );
    expect(err.code).toBe('Invalid');
    expect(brief([...err.causes])).toEqual(['Invalid .group', 'Invalid .scope']);
    expect(scheme.kinds()).toHaveLength(0);
  });

  it('refuses a bad schema with the path of the problem', () => {
    const scheme = new Scheme();
    const err = thrown(() =>
      scheme.register({
        ...widget,
        schema: { type: 'object', properties: { spec: { type: 'strnig' as 'string' } } },
      }),
    );
    expect(err.code).toBe('InvalidSchema');
    expect(err.details.field).toBe('.schema.properties.spec.type');
    expect(scheme.kinds()).toHaveLength(0);
  });

  it('guesses plurals like Kubernetes', () => {
    expect(guessPlural('Car')).toBe('cars');
    expect(guessPlural('Ingress')).toBe('ingresses');
    expect(guessPlural('NetworkPolicy')).toBe('networkpolicies');
  });
});

describe('isNamespaced', () => {
  it('knows built-in kinds, registered kinds, and not the rest', () => {
    const scheme = new Scheme();
    scheme.register({ ...widget, kind: 'Gadget', scope: 'Cluster' });
    expect(scheme.isNamespaced({ group: '', kind: 'Namespace' })).toBe(false);
    expect(scheme.isNamespaced({ group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' })).toBe(
      false,
    );
    expect(scheme.isNamespaced({ group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' })).toBe(
      false,
    );
    expect(
      scheme.isNamespaced({ group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration' }),
    ).toBe(false);
    expect(scheme.isNamespaced({ group: 'apps', kind: 'Deployment' })).toBe(true);
    expect(scheme.isNamespaced({ group: '', kind: 'ConfigMap' })).toBe(true);
    expect(scheme.isNamespaced({ group: 'example.com', kind: 'Gadget' })).toBe(false);
    expect(scheme.isNamespaced({ group: 'example.com', kind: 'Unknown' })).toBeUndefined();
  });
});

describe('registerCRD', () => {
  it('registers the Car CRD and validates the example cars', () => {
    const scheme = new Scheme();
    const [car] = scheme.registerCRD(carCRD);
    expect(car).toMatchObject({
      group: 'sample-app.weave.works',
      version: 'v1alpha1',
      kind: 'Car',
      plural: 'cars',
      listKind: 'CarList',
      scope: 'Namespaced',
      storage: true,
      subresources: { status: true },
    });
    expect(carFiles).toHaveLength(3);
    for (const obj of carFiles) expect(scheme.validate(obj, { strict: true })).toEqual([]);
    // Registering the same CRD again is harmless.
    scheme.registerCRD(carCRD);
    expect(scheme.kinds()).toHaveLength(1);
  });

  it('reads every version, the storage version and each schema', () => {
    const scheme = new Scheme();
    const crd = structuredClone(carCRD) as KubeObject<{ versions: Record<string, unknown>[] }>;
    crd.spec!.versions.push({
      name: 'v1alpha2',
      served: true,
      storage: false,
      schema: { openAPIV3Schema: { type: 'object' } },
    });
    const defs = scheme.registerCRD(crd);
    expect(defs.map((d) => [d.version, d.storage, d.subresources?.status])).toEqual([
      ['v1alpha1', true, true],
      ['v1alpha2', false, false],
    ]);
    expect(scheme.lookupKind('sample-app.weave.works', 'Car')?.hubVersion).toBe('v1alpha1');
  });

  it('names each problem of a bad CRD by its path and registers nothing', () => {
    const scheme = new Scheme();
    const crd = structuredClone(carCRD) as KubeObject<Record<string, unknown>>;
    delete crd.spec!.group;
    crd.spec!.scope = 'Everywhere';
    const err = thrown(() => scheme.registerCRD(crd));
    expect(err.code).toBe('Invalid');
    expect(brief([...err.causes])).toEqual(['Invalid .spec.group', 'Invalid .spec.scope']);
    expect(err.message).toMatch(/cars\.sample-app\.weave\.works is not valid/);
    expect(scheme.kinds()).toEqual([]);
  });

  it('refuses two storage versions, and a name that is not <plural>.<group>', () => {
    const scheme = new Scheme();
    const crd = structuredClone(carCRD) as KubeObject<{ versions: Record<string, unknown>[] }>;
    crd.spec!.versions.push({ ...crd.spec!.versions[0], name: 'v1' });
    crd.metadata.name = 'cars';
    expect(brief([...thrown(() => scheme.registerCRD(crd)).causes])).toEqual([
      'Invalid .metadata.name',
      'Invalid .spec.versions',
    ]);
  });

  it('points at a bad keyword inside the schema', () => {
    const scheme = new Scheme();
    const crd = structuredClone(carCRD) as KubeObject<{
      versions: { schema: { openAPIV3Schema: JSONSchemaProps } }[];
    }>;
    const spec = crd.spec!.versions[0]!.schema.openAPIV3Schema.properties!.spec!;
    (spec.properties!.brand as Record<string, unknown>).$ref = '#/definitions/brand';
    spec.properties!.engine!.items = [] as unknown as JSONSchemaProps;
    const err = thrown(() => scheme.registerCRD(crd));
    expect(err.code).toBe('InvalidSchema');
    expect(brief([...err.causes])).toEqual([
      'InvalidSchema .spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.brand.$ref',
      'InvalidSchema .spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.engine.items',
    ]);
    expect(scheme.kinds()).toEqual([]);
  });

  it('refuses what is not a CRD', () => {
    expect(
      thrown(() => new Scheme().registerCRD({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }))
        .code,
    ).toBe('Invalid');
    expect(thrown(() => new Scheme().registerCRD('text')).code).toBe('Invalid');
  });
});

// A Deployment-like kind that exercises every schema feature the scheme understands.
const appSchema: JSONSchemaProps = {
  type: 'object',
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 3 } } },
    spec: {
      type: 'object',
      required: ['image'],
      properties: {
        image: { type: 'string', pattern: '^[a-z0-9./:-]+$' },
        replicas: { type: 'integer', format: 'int32', minimum: 0, default: 1 },
        ratio: { type: 'number', minimum: 0, exclusiveMinimum: true },
        policy: { type: 'string', enum: ['Always', 'Never'] },
        mode: { type: 'string', pattern: '^(?i)(abort|warn)?$' },
        port: {
          'x-kubernetes-int-or-string': true,
          anyOf: [{ type: 'integer' }, { type: 'string' }],
          pattern: '^[a-z]+$',
        },
        maybePort: { 'x-kubernetes-int-or-string': true, nullable: true },
        targets: { type: 'array', items: { 'x-kubernetes-int-or-string': true } },
        started: { type: 'string', format: 'date-time' },
        blob: { type: 'string', format: 'byte' },
        weird: { type: 'string', format: 'no-such-format' },
        note: { type: 'string', nullable: true },
        values: {
          type: 'object',
          'x-kubernetes-preserve-unknown-fields': true,
          properties: { known: { type: 'integer' } },
        },
        selector: {
          type: 'object',
          additionalProperties: { type: 'string' },
          'x-kubernetes-map-type': 'atomic',
        },
        closed: { type: 'object', additionalProperties: false, properties: { a: { type: 'string' } } },
        tags: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
        ports: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name', 'protocol'],
          items: {
            type: 'object',
            properties: { name: { type: 'string' }, protocol: { type: 'string' }, port: { type: 'integer' } },
          },
        },
        template: {
          type: 'object',
          'x-kubernetes-embedded-resource': true,
          properties: { spec: { type: 'object', properties: { command: { type: 'string' } } } },
        },
        choice: {
          anyOf: [
            { type: 'integer', minimum: 10 },
            { type: 'string', maxLength: 2 },
          ],
        },
        checked: {
          type: 'object',
          'x-kubernetes-validations': [{ rule: 'self.a < self.b', message: 'a must be below b' }],
          properties: { a: { type: 'integer' }, b: { type: 'integer' } },
        },
        containers: {
          type: 'array',
          items: {
            type: 'object',
            properties: { name: { type: 'string' }, imagePullPolicy: { type: 'string' } },
          },
        },
      },
    },
  },
};

function appScheme(): Scheme {
  const scheme = new Scheme();
  scheme.register({
    group: 'example.com',
    version: 'v1',
    kind: 'App',
    scope: 'Namespaced',
    schema: appSchema,
  });
  return scheme;
}

const app = (
  spec: Record<string, unknown>,
  metadata: Record<string, unknown> = { name: 'web' },
): KubeObject => ({
  apiVersion: 'example.com/v1',
  kind: 'App',
  metadata,
  spec: { image: 'nginx:1.27', ...spec },
});

describe('validate', () => {
  it('accepts a valid object, strict or not', () => {
    const scheme = appScheme();
    const obj = app({
      replicas: 3,
      ratio: 0.5,
      policy: 'Always',
      mode: 'WARN',
      port: 8080,
      started: '2024-05-06T07:08:09Z',
      blob: 'aGVsbG8=',
      weird: 'anything',
      note: null,
      values: { known: 1, anything: { goes: ['here'] } },
      selector: { 'app.kubernetes.io/name': 'web' },
      tags: ['a', 'b'],
      ports: [
        { name: 'http', protocol: 'TCP', port: 80 },
        { name: 'http', protocol: 'UDP', port: 80 },
      ],
      template: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { labels: { app: 'web' } },
        spec: { command: 'run' },
      },
      choice: 12,
      checked: { a: 5, b: 1 },
      containers: [{ name: 'main', imagePullPolicy: 'Always' }],
    });
    expect(scheme.validate(obj)).toEqual([]);
    expect(scheme.validate(obj, { strict: true })).toEqual([]);
  });

  it('reports unknown fields only when strict, with the precise path and a suggestion', () => {
    const scheme = appScheme();
    const obj = app({ containers: [{ name: 'a' }, { name: 'b', imagePullPolicyy: 'Always' }], replica: 2 });
    expect(scheme.validate(obj)).toEqual([]);
    const problems = scheme.validate(obj, { strict: true });
    // In the order of the document.
    expect(brief(problems)).toEqual([
      'UnknownField .spec.containers[1].imagePullPolicyy',
      'UnknownField .spec.replica',
    ]);
    expect(problems[1]!.message).toBe('.spec.replica: unknown field "replica"; did you mean "replicas"?');
    expect(problems[1]!.details.object).toBe('example.com/App//web');
  });

  it('finds unknown fields at the top level, in closed maps and in embedded metadata', () => {
    const scheme = appScheme();
    const obj = {
      ...app({
        closed: { a: 'x', b: 'y' },
        template: { apiVersion: 'v1', kind: 'Pod', metadata: { labelz: {} }, spec: {} },
      }),
      extra: true,
    };
    expect(brief(scheme.validate(obj, { strict: true }))).toEqual([
      'UnknownField .spec.closed.b',
      'UnknownField .spec.template.metadata.labelz',
      'UnknownField .extra',
    ]);
  });

  it('reports wrong types as TypeMismatch', () => {
    const scheme = appScheme();
    const problems = scheme.validate(app({ replicas: '3', tags: ['a', 7], selector: { a: 1 }, note: 5 }));
    expect(brief(problems)).toEqual([
      'TypeMismatch .spec.replicas',
      'TypeMismatch .spec.note',
      'TypeMismatch .spec.selector.a',
      'TypeMismatch .spec.tags[1]',
    ]);
    expect(problems[0]!.message).toBe('.spec.replicas: must be integer, not string "3"');
  });

  it('understands int-or-string', () => {
    const scheme = appScheme();
    expect(scheme.validate(app({ port: 80 }))).toEqual([]);
    expect(scheme.validate(app({ port: 'http' }))).toEqual([]);
    expect(brief(scheme.validate(app({ port: 'HTTP' })))).toEqual(['Invalid .spec.port']);
    const problems = scheme.validate(app({ port: 1.5 }));
    expect(brief(problems)).toEqual(['TypeMismatch .spec.port']);
    expect(problems[0]!.message).toMatch(/must be an integer or a string/);
    expect(brief(scheme.validate(app({ port: true })))).toEqual(['TypeMismatch .spec.port']);
    expect(scheme.validate(app({ maybePort: null, targets: [1, 'a'] }), { strict: true })).toEqual([]);
    expect(brief(scheme.validate(app({ targets: [null, 2.5] })))).toEqual([
      'TypeMismatch .spec.targets[0]',
      'TypeMismatch .spec.targets[1]',
    ]);
  });

  it('reports value rules as Invalid', () => {
    const scheme = appScheme();
    const problems = scheme.validate(
      app({
        image: 'NGINX!',
        replicas: -1,
        ratio: 0,
        policy: 'Sometimes',
        mode: 'panic',
        started: 'yesterday',
        blob: 'not base64!',
      }),
    );
    expect(brief(problems)).toEqual([
      'Invalid .spec.image',
      'Invalid .spec.replicas',
      'Invalid .spec.ratio',
      'Invalid .spec.policy',
      'Invalid .spec.mode',
      'Invalid .spec.started',
      'Invalid .spec.blob',
    ]);
    expect(problems[3]!.message).toBe(
      '.spec.policy: unsupported value string "Sometimes": supported values: "Always", "Never"',
    );
  });

  it('checks int32 range, required fields, duplicates in sets and maps', () => {
    const scheme = appScheme();
    const obj = app({
      replicas: 2 ** 31,
      tags: ['a', 'b', 'a'],
      ports: [
        { name: 'http', protocol: 'TCP' },
        { name: 'http', protocol: 'TCP', port: 81 },
      ],
    });
    delete (obj.spec as Record<string, unknown>).image;
    const problems = scheme.validate(obj);
    expect(brief(problems)).toEqual([
      'Invalid .spec.image',
      'Invalid .spec.replicas',
      'Invalid .spec.tags[2]',
      'Invalid .spec.ports[1]',
    ]);
    expect(problems[0]!.message).toBe('.spec.image: required field is missing');
    expect(problems[2]!.message).toMatch(/index 0/);
    expect(problems[3]!.message).toMatch(/same name, protocol/);
  });

  it('folds anyOf alternatives into one problem', () => {
    const problems = appScheme().validate(app({ choice: 'long' }));
    expect(brief(problems)).toEqual(['Invalid .spec.choice']);
    expect(problems[0]!.message).toMatch(
      /must match any of the schema's alternatives \(anyOf\): .*integer.*; or .*2/,
    );
  });

  it('drops nulls of non-nullable fields, as the API server does', () => {
    const scheme = appScheme();
    expect(scheme.validate(app({ replicas: null, values: null }), { strict: true })).toEqual([]);
    // Only map fields are dropped; a null in a list of strings is still wrong.
    expect(brief(scheme.validate(app({ tags: ['a', null] })))).toEqual(['TypeMismatch .spec.tags[1]']);
  });

  it('checks metadata by ObjectMeta rules, not by the schema', () => {
    const scheme = appScheme();
    // The schema's maxLength: 3 on metadata.name is not applied; label types are.
    expect(scheme.validate(app({}, { name: 'a-long-name' }))).toEqual([]);
    expect(brief(scheme.validate(app({}, { name: 'web', labels: { replicas: 3 } })))).toEqual([
      'TypeMismatch .metadata.labels.replicas',
    ]);
    expect(
      brief(scheme.validate({ apiVersion: 'example.com/v1', kind: 'App', spec: { image: 'x' } })),
    ).toEqual(['MissingName .metadata.name']);
  });

  it('validates kinds it does not know as unstructured', () => {
    const scheme = appScheme();
    expect(
      scheme.validate({ apiVersion: 'example.com/v2', kind: 'App', metadata: { name: 'x' }, spec: 1 }),
    ).toEqual([]);
    expect(brief(scheme.validate({ kind: 'App', metadata: { name: 'x' } }))).toEqual([
      'MissingApiVersion .apiVersion',
    ]);
  });

  it('throws every problem at once from assertValid', () => {
    const err = thrown(() => appScheme().assertValid(app({ replicas: 'x', policy: 'y' })));
    expect(err.code).toBe('Invalid');
    expect(err.causes).toHaveLength(2);
    expect(err.message).toMatch(/and 1 more problem/);
  });
});

describe('default', () => {
  const schema: JSONSchemaProps = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        default: {},
        properties: {
          replicas: { type: 'integer', default: 1 },
          strategy: {
            type: 'object',
            default: { type: 'Rolling' },
            properties: {
              type: { type: 'string' },
              rolling: {
                type: 'object',
                default: {},
                properties: { maxSurge: { type: 'integer', default: 25 } },
              },
            },
          },
          template: { type: 'object', properties: { restartPolicy: { type: 'string', default: 'Always' } } },
          containers: {
            type: 'array',
            items: {
              type: 'object',
              properties: { pullPolicy: { type: 'string', default: 'IfNotPresent' } },
            },
          },
          env: {
            type: 'object',
            additionalProperties: { type: 'object', properties: { set: { type: 'boolean', default: true } } },
          },
          note: { type: 'string', nullable: true, default: 'n' },
          level: { type: 'string', default: 'info' },
        },
      },
      status: { type: 'object', properties: { persons: { type: 'integer', default: 0 } } },
    },
  };

  function scheme(): Scheme {
    const s = new Scheme();
    s.register({ group: 'example.com', version: 'v1', kind: 'Job', scope: 'Namespaced', schema });
    return s;
  }

  it('applies nested defaults where the parent exists, recursively into new objects', () => {
    const input: KubeObject = { apiVersion: 'example.com/v1', kind: 'Job', metadata: { name: 'j' } };
    const out = scheme().default(input);
    expect(out.spec).toEqual({
      replicas: 1,
      strategy: { type: 'Rolling', rolling: { maxSurge: 25 } },
      note: 'n',
      level: 'info',
    });
    // No status, no template: their defaults have no parent to land in.
    expect(out.status).toBeUndefined();
    expect(input).toEqual({ apiVersion: 'example.com/v1', kind: 'Job', metadata: { name: 'j' } });
  });

  it('defaults inside lists and maps, and keeps what is set', () => {
    const out = scheme().default({
      apiVersion: 'example.com/v1',
      kind: 'Job',
      metadata: { name: 'j' },
      spec: {
        replicas: 0,
        strategy: { type: 'Recreate' },
        template: {},
        containers: [{}, { pullPolicy: 'Always' }],
        env: { A: {}, B: { set: false } },
        note: null,
        level: null,
      },
      status: {},
    });
    expect(out.spec).toEqual({
      replicas: 0,
      strategy: { type: 'Recreate', rolling: { maxSurge: 25 } },
      template: { restartPolicy: 'Always' },
      containers: [{ pullPolicy: 'IfNotPresent' }, { pullPolicy: 'Always' }],
      env: { A: { set: true }, B: { set: false } },
      note: null,
      level: 'info',
    });
    expect(out.status).toEqual({ persons: 0 });
  });

  it('runs registered defaulters after the schema defaults', () => {
    const s = scheme();
    const seen: unknown[] = [];
    s.addDefaulter({ group: 'example.com', version: 'v1', kind: 'Job' }, (obj) => {
      seen.push(structuredClone((obj.spec as { replicas: number }).replicas));
      obj.metadata.labels = { defaulted: 'true' };
    });
    s.addDefaulter({ group: 'example.com', version: 'v1', kind: 'Job' }, (obj) => ({ ...obj, extra: 1 }));
    const out = s.default<KubeObject>({ apiVersion: 'example.com/v1', kind: 'Job', metadata: { name: 'j' } });
    expect(seen).toEqual([1]);
    expect(out.metadata.labels).toEqual({ defaulted: 'true' });
    expect(out.extra).toBe(1);
  });

  it('copies unregistered kinds unchanged', () => {
    const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } };
    const out = scheme().default(obj);
    expect(out).toEqual(obj);
    expect(out).not.toBe(obj);
    expect(out.data).not.toBe(obj.data);
  });

  it('defaults the Car status like the CRD says', () => {
    const s = new Scheme();
    s.registerCRD(carCRD);
    const car = carFiles.find((c) => c.metadata.name === 'foo')!;
    const withoutPersons = structuredClone(car);
    delete (withoutPersons.status as Record<string, unknown>).persons;
    expect((s.default(withoutPersons).status as Record<string, unknown>).persons).toBe(0);
    const bar = carFiles.find((c) => c.metadata.name === 'bar')!;
    expect(s.default(bar)).toEqual(bar);
  });
});
