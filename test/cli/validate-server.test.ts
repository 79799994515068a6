/**
 * `gitops validate` on built-in kinds, differential: the corpus's built-in objects and mutations
 * generated from them (wrong types, unknown fields at every depth, bad names, bad quantities,
 * missing required fields, bad enum values) are decoded as `gitops validate --kube-version 1.32`
 * decodes them (the strict Decoder with a Scheme of Kubernetes 1.32) and sent to the real API
 * server (v1.32, test/support/cluster) as a server-side dry-run create with fieldValidation=Strict,
 * what `kubectl apply --dry-run=server --validate=strict` does for a new object. Both must accept
 * or refuse each one alike; the test prints every disagreement.
 *
 * What the offline check cannot decide is left out of the generated set, each for the reason
 * written beside it in `mutate`; objects the server refuses in admission (403: a plugin's policy,
 * not validation) would be reported apart, never counted as agreement.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  Scheme,
  builtinIsNamespaced,
  deepCopy,
  formatApiVersion,
  gvkOf,
  mapLimit,
  stringifyJson,
} from '../../src/runtime/index.js';
import type { BuiltinSchemaSet, FieldPathSegment, KubeObject } from '../../src/runtime/index.js';
import { Decoder } from '../../src/serializer/index.js';
import { collectManifestFiles } from '../../src/cli/files.js';
import { clusterSetupTimeoutMs, kubeRequest, testNamespace, useCluster } from '../support/cluster/index.js';
import type { TestCluster } from '../support/cluster/index.js';
import { CORPUS } from '../support/corpus.js';

const KUBE_VERSION = '1.32';

let cluster: TestCluster;
let ns: string;
/** `group/version/kind` -> resource name and scope, from the server's discovery. */
const resources = new Map<string, { plural: string; namespaced: boolean }>();

beforeAll(async () => {
  cluster = await useCluster();
  ns = (await testNamespace(cluster, 'validate')).name;
  const groups = await kubeRequest<{
    groups: { preferredVersion: unknown; versions: { groupVersion: string }[] }[];
  }>(cluster, 'GET', '/apis');
  const groupVersions = ['v1', ...groups.body.groups.flatMap((g) => g.versions.map((v) => v.groupVersion))];
  await mapLimit(groupVersions, 8, async (gv) => {
    const list = await kubeRequest<{ resources: { name: string; kind: string; namespaced: boolean }[] }>(
      cluster,
      'GET',
      gv === 'v1' ? '/api/v1' : `/apis/${gv}`,
    );
    for (const r of list.body.resources ?? []) {
      if (r.name.includes('/')) continue;
      resources.set(`${gv}/${r.kind}`, { plural: r.name, namespaced: r.namespaced });
    }
  });
}, clusterSetupTimeoutMs);

interface Case {
  id: string;
  object: KubeObject;
}

/** A small deterministic random source, so the generated set is the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

interface Site {
  path: FieldPathSegment[];
  /** The field's type code (see scripts/gen-builtin-schemas.ts). */
  code: string;
  /** The type of the map holding the field. */
  parent: string;
}

interface Struct {
  path: FieldPathSegment[];
  type: string;
}

/** Every present field and every struct of `obj`, below the top-level metadata and status. */
function sitesOf(set: BuiltinSchemaSet, obj: KubeObject): { fields: Site[]; structs: Struct[] } {
  const gvk = gvkOf(obj);
  const root = set.typeOf(gvk.group, gvk.version, gvk.kind)!;
  const fields: Site[] = [];
  const structs: Struct[] = [];
  const visit = (value: unknown, code: string, path: FieldPathSegment[]): void => {
    if (value === null || value === undefined) return;
    if (code.startsWith('[]')) {
      if (Array.isArray(value)) value.forEach((item, i) => visit(item, code.slice(2), [...path, i]));
      return;
    }
    if (code.startsWith('{}')) {
      if (typeof value === 'object' && !Array.isArray(value))
        for (const [k, v] of Object.entries(value)) visit(v, code.slice(2), [...path, k]);
      return;
    }
    const type = set.fields(code);
    if (type === undefined || typeof value !== 'object' || Array.isArray(value)) return;
    structs.push({ path, type: code });
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      if (path.length === 0 && ['metadata', 'status', 'apiVersion', 'kind'].includes(key)) continue;
      const childCode = type.properties[key];
      if (childCode === undefined) continue;
      fields.push({ path: [...path, key], code: childCode, parent: code });
      visit(child, childCode, [...path, key]);
    }
  };
  visit(obj, root, []);
  return { fields, structs };
}

function setAt(obj: unknown, path: FieldPathSegment[], value: unknown): void {
  let parent = obj as Record<string | number, unknown>;
  for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined) delete parent[last];
  else parent[last] = value;
}

const show = (path: FieldPathSegment[]): string =>
  path.map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`)).join('');

/** A value of the wrong type for a field of type `code`. */
function wrongValue(code: string): unknown {
  if (code.startsWith('[]')) return 'not a list';
  if (code.startsWith('{}')) return 42;
  if (code.startsWith('=') || code === 's' || code === 't' || code === 'y') return 12345;
  if (code === 'b') return 'maybe';
  if (code === 'i32' || code === 'i' || code === 'n') return 'three';
  if (code === 'q' || code === 'is') return true;
  if (code === 'a') return undefined;
  return 'not a map';
}

const BAD_NAMES = ['Upper_Case', 'has space', '-starts-with-dash', 'a'.repeat(254)];
const BAD_QUANTITIES = ['1.5 cores', '12XB', '1Gb', 'lots'];

/**
 * The mutations of one object. Left out, each for its reason:
 * - required fields the API server fills in or takes as zero (the generator leaves them out of
 *   the schemas: REQUIRED_NOT_ENFORCED in scripts/gen-builtin-schemas.ts);
 * - list items and map values, for a wrong type at their own place is the same check as a field's;
 * - fields of the `a` (any JSON) type, which have no wrong type.
 */
function mutate(set: BuiltinSchemaSet, base: Case, next: () => number): Case[] {
  const out: Case[] = [];
  const pick = <T>(items: T[]): T | undefined => items[Math.floor(next() * items.length)];
  const { fields, structs } = sitesOf(set, base.object);
  const add = (what: string, change: (obj: KubeObject) => void): void => {
    const object = deepCopy(base.object);
    change(object);
    out.push({ id: `${base.id} with ${what}`, object });
  };
  const typed = fields.filter((f) => wrongValue(f.code) !== undefined);
  const wrong = pick(typed);
  if (wrong !== undefined) {
    const value = wrongValue(wrong.code);
    add(`${show(wrong.path)} = ${JSON.stringify(value)}`, (o) => setAt(o, wrong.path, value));
  }
  // Unknown fields at every depth: the top, the deepest struct, and one between.
  const byDepth = [...structs].sort((a, b) => a.path.length - b.path.length);
  const depths = new Set([byDepth[0], byDepth[byDepth.length - 1], pick(byDepth)]);
  for (const struct of depths) {
    if (struct === undefined) continue;
    add(`unknown field ${show([...struct.path, 'bogusField'])}`, (o) =>
      setAt(o, [...struct.path, 'bogusField'], 'x'),
    );
  }
  add('an unknown field in metadata', (o) => setAt(o, ['metadata', 'bogusField'], 'x'));
  const name = pick(BAD_NAMES)!;
  add(`metadata.name ${JSON.stringify(name)}`, (o) => setAt(o, ['metadata', 'name'], name));
  const quantity = pick(fields.filter((f) => f.code === 'q'));
  if (quantity !== undefined) {
    const bad = pick(BAD_QUANTITIES)!;
    add(`${show(quantity.path)} = ${JSON.stringify(bad)}`, (o) => setAt(o, quantity.path, bad));
  }
  const required = pick(
    fields.filter((f) => (set.fields(f.parent)?.required ?? []).includes(String(f.path.at(-1)))),
  );
  if (required !== undefined)
    add(`${show(required.path)} removed (required)`, (o) => setAt(o, required.path, undefined));
  const enumField = pick(fields.filter((f) => f.code.startsWith('=')));
  if (enumField !== undefined)
    add(`${show(enumField.path)} = "NotAValue"`, (o) => setAt(o, enumField.path, 'NotAValue'));
  return out;
}

/**
 * Corpus objects the API server refuses by a rule that ties fields together, which the offline
 * check does not model: left out, each with the reason.
 */
const EXCLUDED_ORIGINALS: Record<string, string> = {
  'k8s-examples/_archived/sysdig-cloud/sysdig-rc.yaml#0 ReplicationController':
    'a ReplicationController without spec.selector takes the pod template labels as its selector; ' +
    'with no labels either, spec.selector is refused as missing (a cross-field default)',
};

function corpusCases(set: BuiltinSchemaSet): Promise<Case[]> {
  return collectManifestFiles([CORPUS]).then((files) => {
    const decoder = new Decoder({ strict: false });
    const cases: Case[] = [];
    for (const file of files) {
      const decoded = decoder.decodeText(readFileSync(file, 'utf8'), { file });
      decoded.objects.forEach((object, i) => {
        let gvk;
        try {
          gvk = gvkOf(object);
        } catch {
          return;
        }
        if (!set.hasGroup(gvk.group)) return;
        const copy = deepCopy(object);
        if (builtinIsNamespaced(gvk) !== false) copy.metadata = { ...copy.metadata, namespace: ns };
        const id = `${file.slice(CORPUS.length + 1)}#${i} ${object.kind}`;
        if (EXCLUDED_ORIGINALS[id] === undefined) cases.push({ id, object: copy });
      });
    }
    return cases;
  });
}

type Verdict = { accepts: boolean; why: string } | { excluded: string };

async function serverVerdict(object: KubeObject): Promise<Verdict> {
  const gvk = gvkOf(object);
  const apiVersion = formatApiVersion(gvk);
  const known = resources.get(`${apiVersion}/${object.kind}`);
  // A version the server does not serve: a guessed URL that it answers 404.
  const plural = known?.plural ?? `${object.kind.toLowerCase()}s`;
  const namespaced = known?.namespaced ?? builtinIsNamespaced(gvk) !== false;
  const base = gvk.group === '' ? `/api/${gvk.version}` : `/apis/${apiVersion}`;
  const path = `${base}${namespaced ? `/namespaces/${ns}` : ''}/${plural}?dryRun=All&fieldValidation=Strict`;
  const response = await kubeRequest<{ message?: string; reason?: string }>(cluster, 'POST', path, {
    body: stringifyJson(object),
  });
  const why = typeof response.body === 'object' ? (response.body.message ?? '') : String(response.body);
  // AlreadyExists comes after validation passed (a dry run checks the name's existence too).
  if (response.status < 300 || response.status === 409) return { accepts: true, why };
  if (response.status === 403) return { excluded: `refused in admission: ${why}` };
  return { accepts: false, why: `${response.status} ${why}` };
}

describe(`gitops validate --kube-version ${KUBE_VERSION} against the real API server`, () => {
  it('accepts and refuses the same built-in objects', async () => {
    const scheme = new Scheme({ kubeVersion: KUBE_VERSION });
    const set = (await import('../../src/runtime/index.js')).builtinSchemas(KUBE_VERSION);
    const originals = await corpusCases(set);
    const next = random(12);
    // Mutations of every third corpus object keep the request count near a thousand.
    const mutated = originals.filter(
      (c, i) => i % 3 === 0 && set.typeOf(gvkOf(c.object).group, gvkOf(c.object).version, c.object.kind),
    );
    const cases = [...originals, ...mutated.flatMap((c) => mutate(set, c, next))];
    const decoder = new Decoder({ strict: true, scheme });
    const verdicts = await mapLimit(cases, 8, async (c) => serverVerdict(c.object));
    const disagreements: string[] = [];
    const excluded: string[] = [];
    let refusedByBoth = 0;
    cases.forEach((c, i) => {
      const server = verdicts[i]!;
      if ('excluded' in server) {
        excluded.push(`${c.id}: ${server.excluded}`);
        return;
      }
      const problems = decoder.decodeText(stringifyJson(c.object), { contentType: 'json' }).errors;
      const weAccept = problems.length === 0;
      if (!weAccept && !server.accepts) refusedByBoth++;
      if (weAccept !== server.accepts) {
        disagreements.push(
          `${c.id}: server ${server.accepts ? 'accepts' : `refuses (${server.why})`}, we ` +
            (weAccept ? 'accept' : `refuse (${problems.map((p) => p.message).join('; ')})`),
        );
      }
    });
    console.log(
      `${cases.length} objects (${originals.length} from the corpus), ${refusedByBoth} refused by both, ` +
        `${disagreements.length} disagreements, ${excluded.length} refused in admission`,
    );
    if (excluded.length > 0) console.log(`refused in admission (not counted):\n${excluded.join('\n')}`);
    if (disagreements.length > 0) console.log(disagreements.join('\n'));
    expect(cases.length - excluded.length).toBeGreaterThanOrEqual(300);
    // Both refusals and acceptances are exercised, not one of them only.
    expect(refusedByBoth).toBeGreaterThan(100);
    expect(disagreements).toEqual([]);
  }, 600_000);
});
