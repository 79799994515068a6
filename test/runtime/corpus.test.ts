// The scheme against real manifests: every CRD of the shared corpus registers, and every
// object of those kinds in the corpus validates, strictly, against its CRD's schema.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { Scheme, formatProblem, gvkOf, validateUnstructured } from '../../src/runtime/index.js';
import type { GitOpsError, KubeObject } from '../../src/runtime/index.js';
import { CORPUS } from '../support/corpus.js';

interface CorpusDocument {
  file: string;
  index: number;
  object: KubeObject;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return yamlFiles(path);
      return /\.ya?ml$/.test(name) ? [path] : [];
    });
}

function documents(files: string[]): CorpusDocument[] {
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8')).flatMap((doc, index) => {
      // Files that are not YAML-clean are the serializer's to refuse, not the scheme's.
      if (doc.errors.length > 0) return [];
      const object = doc.toJS({ maxAliasCount: 100 }) as unknown;
      return object === null || typeof object !== 'object'
        ? []
        : [{ file: relative(CORPUS, file), index, object: object as KubeObject }];
    }),
  );
}

const show = (problems: GitOpsError[]): string[] => problems.map((p) => formatProblem(p));

describe('the corpus', () => {
  let all: CorpusDocument[];
  let crds: CorpusDocument[];
  let scheme: Scheme;

  beforeAll(() => {
    expect(statSync(CORPUS).isDirectory(), `the test corpus is missing at ${CORPUS}`).toBe(true);
    const files = yamlFiles(CORPUS);
    const withCRDs = files.filter((file) =>
      /^kind: CustomResourceDefinition\s*$/m.test(readFileSync(file, 'utf8')),
    );
    all = documents(files);
    crds = all.filter((d) => d.object.kind === 'CustomResourceDefinition');
    expect(new Set(crds.map((d) => d.file)).size).toBe(withCRDs.length);
    scheme = new Scheme();
  });

  it('registers every CustomResourceDefinition with all its versions', () => {
    expect(crds.length).toBe(13);
    for (const { object } of crds) {
      const definitions = scheme.registerCRD(object);
      const versions = (object.spec as { versions: { name: string; storage: boolean }[] }).versions;
      expect(definitions.map((d) => d.version)).toEqual(versions.map((v) => v.name));
      expect(definitions.filter((d) => d.storage).map((d) => d.version)).toEqual(
        versions.filter((v) => v.storage).map((v) => v.name),
      );
      expect(definitions.every((d) => d.schema !== undefined)).toBe(true);
    }
    expect(scheme.lookupKind('argoproj.io', 'ApplicationSet')?.scope).toBe('Namespaced');
    expect(scheme.isNamespaced({ group: 'monitoring.coreos.com', kind: 'Prometheus' })).toBe(true);
  });

  it('compiles every schema', () => {
    for (const definition of scheme.kinds()) {
      const probe = {
        apiVersion: `${definition.group}/${definition.version}`,
        kind: definition.kind,
        metadata: { name: 'probe' },
      };
      const problems = scheme.validate(probe).filter((p) => p.code === 'InvalidSchema');
      expect(show(problems), `${definition.kind} ${definition.version}`).toEqual([]);
    }
  });

  it('validates every corpus object of those kinds, strictly, without a problem', () => {
    const registered = all.filter((d) => {
      try {
        return scheme.has(gvkOf(d.object));
      } catch {
        return false;
      }
    });
    expect(registered.length).toBeGreaterThanOrEqual(27);
    expect(new Set(registered.map((d) => d.object.kind))).toEqual(
      new Set(['Prometheus', 'Alertmanager', 'ServiceMonitor', 'PrometheusRule']),
    );
    for (const { file, index, object } of registered) {
      expect(show(scheme.validate(object, { strict: true })), `${file} #${index}`).toEqual([]);
    }
  });

  it('finds a mistake in a real object at its precise path', () => {
    const prometheus = all.find((d) => d.object.kind === 'Prometheus')!.object;
    const broken = structuredClone(prometheus) as KubeObject<Record<string, unknown>>;
    broken.spec!.replicas = 'two';
    (broken.spec!.securityContext as Record<string, unknown>).runAsUsr = 1000;
    (broken.spec!.alerting as { alertmanagers: Record<string, unknown>[] }).alertmanagers[0]!.port = 9.5;
    broken.spec!.serviceDiscoveryRole = 'Pods';
    const problems = scheme.validate(broken, { strict: true });
    expect(problems.map((p) => `${p.code} ${p.details.field}`).sort()).toEqual(
      [
        'UnknownField .spec.securityContext.runAsUsr',
        'TypeMismatch .spec.replicas',
        'TypeMismatch .spec.alerting.alertmanagers[0].port',
        'Invalid .spec.serviceDiscoveryRole',
      ].sort(),
    );
    expect(problems.find((p) => p.code === 'UnknownField')!.message).toMatch(/did you mean "runAsUser"/);
  });

  it('applies the defaults of a real CRD without touching what is set', () => {
    const monitor = all.find((d) => d.object.kind === 'ServiceMonitor')!.object;
    const defaulted = scheme.default(monitor);
    expect(scheme.validate(defaulted, { strict: true })).toEqual([]);
    expect(defaulted.metadata).toEqual(monitor.metadata);
    expect((defaulted.spec as Record<string, unknown>).selector).toEqual(
      (monitor.spec as Record<string, unknown>).selector,
    );
  });

  it('accepts every other manifest as unstructured, and refuses the non-manifests', () => {
    const refused = all
      .filter((d) => validateUnstructured(d.object, { strict: true }).length > 0)
      .map((d) => d.file);
    // The documented non-manifests (SOURCES.md): placeholder templates and Cassandra configuration.
    expect(refused.length).toBeGreaterThan(0);
    for (const file of refused) expect(file).toMatch(/(-template\.yaml|\/cassandra\.yaml)$/);
    expect(refused.filter((f) => f.endsWith('/cassandra.yaml'))).toHaveLength(2);
  });
});
