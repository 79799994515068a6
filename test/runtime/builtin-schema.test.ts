/**
 * Built-in kinds known offline: the bundled schemas (src/runtime/builtin-schemas.json) and the
 * Scheme's checks of built-in objects with them: types, unknown fields at every depth, required
 * fields, enums, quantities, int-or-string, Kubernetes versions. The agreement with the real API
 * server is test/cli/validate-server.test.ts's.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import {
  BUILTIN_KUBE_VERSIONS,
  DEFAULT_KUBE_VERSION,
  ErrorCodes,
  GitOpsError,
  Scheme,
  builtinSchemas,
  isQuantity,
} from '../../src/runtime/index.js';

const deployment = (spec: Record<string, unknown>): Record<string, unknown> => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default' },
  spec,
});

const goodSpec = (): Record<string, unknown> => ({
  replicas: 2,
  selector: { matchLabels: { app: 'web' } },
  template: {
    metadata: { labels: { app: 'web' } },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'nginx:1.27',
          imagePullPolicy: 'IfNotPresent',
          ports: [{ containerPort: 80, protocol: 'TCP' }],
          resources: { limits: { cpu: '500m', memory: '1Gi' }, requests: { cpu: 0.25 } },
          livenessProbe: { httpGet: { path: '/', port: 'http' } },
        },
      ],
    },
  },
});

const messages = (scheme: Scheme, obj: unknown, strict = true): string[] =>
  scheme.validate(obj, { strict }).map((p) => `${p.code} ${p.message}`);

describe('the bundled built-in schemas', () => {
  it('hold every version the runtime names, with the newest as default', () => {
    const file = JSON.parse(
      readFileSync(new URL('../../src/runtime/builtin-schemas.json', import.meta.url), 'utf8'),
    ) as { versions: Record<string, unknown>; releases: Record<string, string> };
    expect(Object.keys(file.versions)).toEqual([...BUILTIN_KUBE_VERSIONS]);
    expect(DEFAULT_KUBE_VERSION).toBe(BUILTIN_KUBE_VERSIONS.at(-1));
    for (const v of BUILTIN_KUBE_VERSIONS) expect(file.releases[v]!.startsWith(`${v}.`)).toBe(true);
  });

  it('know the kinds of each version, and only those', () => {
    expect(builtinSchemas('1.32').has('apps', 'v1', 'Deployment')).toBe(true);
    expect(builtinSchemas('1.32').has('', 'v1', 'ConfigMap')).toBe(true);
    // resource.k8s.io/v1 came with 1.34.
    expect(builtinSchemas('1.32').has('resource.k8s.io', 'v1', 'ResourceClaim')).toBe(false);
    expect(builtinSchemas('1.34').has('resource.k8s.io', 'v1', 'ResourceClaim')).toBe(true);
    expect(builtinSchemas('v1.32.13').version).toBe('1.32');
    expect(builtinSchemas('1.32').release).toMatch(/^1\.32\.\d+$/);
  });

  it('refuse a version that is not bundled, listing the known ones', () => {
    for (const bad of ['1.29', '1.35', 'latest', '']) {
      let error: unknown;
      try {
        new Scheme({ kubeVersion: bad });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(GitOpsError);
      expect((error as GitOpsError).code).toBe(ErrorCodes.UnknownVersion);
      expect((error as GitOpsError).message).toContain(BUILTIN_KUBE_VERSIONS.join(', '));
    }
  });
});

describe('a Scheme checks built-in kinds', () => {
  const scheme = new Scheme({ kubeVersion: '1.32' });

  it('accepts a good Deployment', () => {
    expect(messages(scheme, deployment(goodSpec()))).toEqual([]);
  });

  it("refuses the issue's examples with the field path", () => {
    const spec = goodSpec();
    spec.replicas = 'three';
    spec.selectr = {};
    expect(messages(scheme, deployment(spec))).toEqual([
      'TypeMismatch .spec.replicas: must be integer, not string "three"',
      'UnknownField .spec.selectr: unknown field "selectr"; did you mean "selector"?',
    ]);
    expect(
      messages(scheme, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 's' },
        spec: { ports: [{ port: 'eighty' }] },
      }),
    ).toEqual(['TypeMismatch .spec.ports[0].port: must be integer, not string "eighty"']);
    expect(
      messages(scheme, {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'j' },
        spec: { suspend: 'maybe', template: { spec: { containers: [{ name: 'c', imagePullPolice: 'x' }] } } },
      }),
    ).toEqual([
      'TypeMismatch .spec.suspend: must be boolean, not string "maybe"',
      'UnknownField .spec.template.spec.containers[0].imagePullPolice: unknown field "imagePullPolice"; did you mean "imagePullPolicy"?',
    ]);
  });

  it('checks enums, required fields, quantities and int-or-string', () => {
    const spec = goodSpec();
    const container = (spec.template as { spec: { containers: Record<string, unknown>[] } }).spec
      .containers[0]!;
    container.imagePullPolicy = 'Sometimes';
    container.resources = { limits: { cpu: '1.5 cores' } };
    container.livenessProbe = { httpGet: { port: 1.5 } };
    delete container.name;
    expect(messages(scheme, deployment(spec))).toEqual([
      'Invalid .spec.template.spec.containers[0].imagePullPolicy: unsupported value string "Sometimes": supported values: "Always", "IfNotPresent", "Never"',
      `Invalid .spec.template.spec.containers[0].resources.limits.cpu: string "1.5 cores" is not a quantity: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
      'TypeMismatch .spec.template.spec.containers[0].livenessProbe.httpGet.port: must be an integer or a string, not number 1.5',
      'Invalid .spec.template.spec.containers[0].name: required field is missing',
    ]);
  });

  it('checks integer ranges, bigints included', () => {
    const spec = goodSpec();
    spec.replicas = 2 ** 31;
    spec.progressDeadlineSeconds = 12176941420362965433n;
    expect(messages(scheme, deployment(spec))).toEqual([
      'TypeMismatch .spec.replicas: 2147483648 does not fit in a 32-bit integer',
      'TypeMismatch .spec.progressDeadlineSeconds: 12176941420362965433 does not fit in a 32-bit integer',
    ]);
  });

  it('leaves unknown fields alone when not strict, but not wrong types', () => {
    const spec = goodSpec();
    spec.replicas = 'three';
    spec.selectr = {};
    expect(messages(scheme, deployment(spec), false)).toEqual([
      'TypeMismatch .spec.replicas: must be integer, not string "three"',
    ]);
  });

  it('checks types and fields under status, not its required fields and enums (the API server resets it)', () => {
    const obj = {
      ...deployment(goodSpec()),
      status: { conditions: [{ status: 'Maybe' }], replicas: 1 },
    };
    expect(messages(scheme, obj)).toEqual([]);
    expect(messages(scheme, { ...obj, status: { replicas: 'one', extra: 1 } })).toEqual([
      'TypeMismatch .status.replicas: must be integer, not string "one"',
      'UnknownField .status.extra: unknown field "extra"',
    ]);
  });

  it('takes null and an empty enum as unset, as the API server decodes and defaults them', () => {
    const spec = goodSpec();
    spec.strategy = null;
    const container = (spec.template as { spec: { containers: Record<string, unknown>[] } }).spec
      .containers[0]!;
    container.imagePullPolicy = '';
    expect(messages(scheme, deployment(spec))).toEqual([]);
  });

  it('refuses a version of a built-in group that Kubernetes does not serve', () => {
    expect(
      messages(scheme, { apiVersion: 'apps/v1beta1', kind: 'Deployment', metadata: { name: 'x' } }),
    ).toEqual([
      'UnknownKind Kubernetes 1.32 has no kind Deployment apps/v1beta1; it serves Deployment in apps/v1 (choose another version with --kube-version, or register a CRD for it)',
    ]);
  });

  it('leaves kinds of other groups to their CRDs, and a registered CRD wins over the built-in schema', () => {
    expect(
      messages(scheme, {
        apiVersion: 'example.com/v1',
        kind: 'Car',
        metadata: { name: 'c' },
        spec: { x: 1 },
      }),
    ).toEqual([]);
    expect(scheme.isBuiltin({ group: 'apps', version: 'v1', kind: 'Deployment' })).toBe(true);
    expect(scheme.knows({ group: 'example.com', version: 'v1', kind: 'Car' })).toBe(false);
  });

  it('can be turned off', () => {
    const plain = new Scheme({ kubeVersion: false });
    expect(plain.kubeVersion).toBeUndefined();
    expect(messages(plain, deployment({ replicas: 'three' }))).toEqual([]);
  });

  it('uses the chosen version: a field new in 1.34 is unknown to 1.30', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'i' }], hostnameOverride: 'x' },
    };
    // hostnameOverride came with 1.34.
    expect(messages(new Scheme({ kubeVersion: '1.34' }), pod)).toEqual([]);
    expect(messages(new Scheme({ kubeVersion: '1.30' }), pod)).toEqual([
      'UnknownField .spec.hostnameOverride: unknown field "hostnameOverride"',
    ]);
  });
});

describe('isQuantity', () => {
  it("follows resource.Quantity's grammar", () => {
    for (const good of [
      '1',
      '0',
      '500m',
      '1Gi',
      '1.5',
      '.5',
      '1.',
      '+1',
      '-1',
      '1e3',
      '1E-3',
      '2Ki',
      '3k',
      '12Ei',
    ])
      expect(isQuantity(good), good).toBe(true);
    for (const bad of ['', 'one', '1 Gi', '1gi', '1KiB', '1.5.5', 'Gi', '1e', '1m5', '0x10', ' 1'])
      expect(isQuantity(bad), bad).toBe(false);
  });
});
