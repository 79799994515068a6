/**
 * Every manifest of the shared corpus (real files from argo-cd, kube-prometheus and
 * kubernetes/examples) decodes; the few that are not manifests are refused with the file
 * and the line of the problem. See the shared corpus/SOURCES.md.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Decoder } from '../../../src/serializer/decode/decode.js';
import { joinFrames, splitFrames } from '../../../src/serializer/frames/frames.js';
import { CORPUS } from '../../support/corpus.js';

function manifestFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...manifestFiles(path));
    else if (/\.(ya?ml|json)$/i.test(entry.name)) out.push(path);
  }
  return out.sort();
}

const files = manifestFiles(CORPUS);

// Unrendered `{{placeholder}}` values: a map used as a key (SOURCES.md names five).
const TEMPLATES = [
  'k8s-examples/_archived/newrelic-infrastructure/newrelic-config-template.yaml',
  'k8s-examples/_archived/newrelic/newrelic-config-template.yaml',
  'k8s-examples/_archived/storage/vitess/etcd-controller-template.yaml',
  'k8s-examples/_archived/storage/vitess/etcd-service-template.yaml',
  'k8s-examples/_archived/storage/vitess/vtgate-controller-template.yaml',
];
// Cassandra configuration, not Kubernetes objects.
const NOT_OBJECTS = [
  'k8s-examples/databases/cassandra/image/files/cassandra.yaml',
  'k8s-examples/databases/cassandra/java/src/test/resources/cassandra.yaml',
];
// A template whose placeholders are quoted: valid YAML, but "{{keyspace}}" is no label value.
const BAD_LABELS = ['k8s-examples/_archived/storage/vitess/vttablet-pod-template.yaml'];
// Real files with a key written twice; the API server's strict field validation refuses them too.
const DUPLICATE_KEYS = [
  'k8s-examples/_archived/openshift-origin/etcd-controller.yaml',
  'k8s-examples/_archived/openshift-origin/etcd-discovery-controller.yaml',
  'k8s-examples/_archived/openshift-origin/openshift-controller.yaml',
  'k8s-examples/_archived/persistent-volume-provisioning/quobyte/quobyte-admin-secret.yaml',
  'k8s-examples/_archived/volumes/scaleio/sc-pvc.yaml',
];

describe('the corpus', () => {
  it('has the files SOURCES.md describes', () => {
    expect(files.length).toBeGreaterThan(340);
    for (const file of [...TEMPLATES, ...NOT_OBJECTS, ...BAD_LABELS, ...DUPLICATE_KEYS]) {
      expect(files).toContain(join(CORPUS, file));
    }
  });

  it('decodes every manifest strictly and refuses exactly the files that are not valid, naming file and line', () => {
    const decoder = new Decoder();
    const refused = new Map<string, string[]>();
    let objects = 0;
    for (const path of files) {
      const file = relative(CORPUS, path);
      const result = decoder.decodeText(readFileSync(path, 'utf8'), { file });
      objects += result.objects.length;
      if (result.errors.length === 0) continue;
      for (const err of result.errors) {
        expect(err.details.file).toBe(file);
        expect(err.details.line).toBeGreaterThan(0);
        expect(err.details.column).toBeGreaterThan(0);
        expect(err.format()).toMatch(
          new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `),
        );
      }
      refused.set(file, [...new Set(result.errors.map((e) => e.code))]);
    }
    const expected = new Map<string, string[]>([
      ...TEMPLATES.map((f): [string, string[]] => [f, ['YamlSyntax']]),
      ...NOT_OBJECTS.map((f): [string, string[]] => [f, ['MissingApiVersion', 'MissingKind', 'MissingName']]),
      ...BAD_LABELS.map((f): [string, string[]] => [f, ['Invalid']]),
      ...DUPLICATE_KEYS.map((f): [string, string[]] => [f, ['DuplicateKey']]),
    ]);
    expect(Object.fromEntries([...refused].sort())).toEqual(Object.fromEntries([...expected].sort()));
    expect(objects).toBeGreaterThan(440);
  });

  it('names the line of each placeholder and of each missing apiVersion', () => {
    const decoder = new Decoder();
    const first = (file: string): string => {
      const [err] = decoder.decodeText(readFileSync(join(CORPUS, file), 'utf8'), { file }).errors;
      return err === undefined ? 'none' : `${err.details.line}:${err.details.column}`;
    };
    expect(first(TEMPLATES[0] as string)).toBe('7:12');
    expect(first('k8s-examples/_archived/storage/vitess/etcd-controller-template.yaml')).toBe('6:14');
    expect(first(NOT_OBJECTS[0] as string)).toBe('10:1');
  });

  it('decodes the files with duplicate keys when not strict, keeping the last value', () => {
    const loose = new Decoder({ strict: false });
    for (const file of DUPLICATE_KEYS) {
      const result = loose.decodeText(readFileSync(join(CORPUS, file), 'utf8'), { file });
      expect(result.errors).toEqual([]);
      expect(result.objects.length).toBeGreaterThan(0);
    }
  });

  it('splits every file into frames that re-assemble byte for byte', () => {
    for (const path of files) {
      const text = readFileSync(path, 'utf8');
      expect(joinFrames(splitFrames(text))).toBe(text);
    }
  });
});
