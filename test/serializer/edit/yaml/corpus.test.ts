/**
 * The editor against real manifests nobody on this project wrote: every YAML document under
 * the shared corpus gets a handful of typical program edits, and each result must decode
 * to the wanted value while its diff holds only the lines of the changed fields.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import jsYaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { editYamlDocument } from '../../../../src/serializer/edit/yaml/editor.js';
import { KUBE_YAML_SCHEMA } from '../../../../src/serializer/shared/yaml11.js';
import { CORPUS } from '../../../support/corpus.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- edits poke into arbitrary manifests */

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return yamlFiles(path);
      return /\.ya?ml$/.test(entry.name) ? [path] : [];
    });
}

/** The documents of a stream: the text between `---` lines, without them. */
function documents(text: string): string[] {
  const docs: string[] = [];
  let current = '';
  for (const line of text.split(/(?<=\n)/)) {
    if (/^---(?:[ \t]|\r?\n|$)/.test(line)) {
      docs.push(current);
      current = '';
    } else current += line;
  }
  docs.push(current);
  return docs.filter((doc) => /^[ \t]*[^\s#]/m.test(doc));
}

interface Manifest {
  file: string;
  index: number;
  text: string;
  value: any;
}

function isManifest(value: unknown): value is { apiVersion: string; kind: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as any).apiVersion === 'string' &&
    typeof (value as any).kind === 'string'
  );
}

function loadCorpus(): { manifests: Manifest[]; refused: Set<string>; duplicateKeys: Set<string> } {
  const manifests: Manifest[] = [];
  const refused = new Set<string>();
  const duplicateKeys = new Set<string>();
  for (const file of yamlFiles(CORPUS)) {
    const name = relative(CORPUS, file);
    documents(readFileSync(file, 'utf8')).forEach((text, index) => {
      let value: unknown;
      try {
        value = jsYaml.load(text, { schema: KUBE_YAML_SCHEMA });
      } catch (err) {
        // The decoder refuses these (DuplicateKey): there is no decoded value to edit from.
        if (String(err).includes('duplicated mapping key')) duplicateKeys.add(name);
        else refused.add(name);
        return;
      }
      // Keys that are maps (`{{placeholder}}` templates) decode to "[object Object]".
      if (!isManifest(value) || JSON.stringify(value).includes('[object Object]')) refused.add(name);
      else manifests.push({ file: name, index, text, value });
    });
  }
  return { manifests, refused, duplicateKeys };
}

/** Removed and added lines of the one region where two texts differ, found by LCS. */
function diff(before: string, after: string): { removed: string[]; added: string[]; hunks: number } {
  const a = before.split('\n');
  const b = after.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const x = a.slice(start, endA);
  const y = b.slice(start, endB);
  const lengths = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--) {
    for (let j = y.length - 1; j >= 0; j--) {
      lengths[i]![j] =
        x[i] === y[j] ? lengths[i + 1]![j + 1]! + 1 : Math.max(lengths[i + 1]![j]!, lengths[i]![j + 1]!);
    }
  }
  const removed: string[] = [];
  const added: string[] = [];
  let hunks = 0;
  let inHunk = false;
  for (let i = 0, j = 0; i < x.length || j < y.length;) {
    if (i < x.length && j < y.length && x[i] === y[j]) {
      i++;
      j++;
      inHunk = false;
      continue;
    }
    if (!inHunk) hunks++;
    inHunk = true;
    if (j >= y.length || (i < x.length && lengths[i + 1]![j]! >= lengths[i]![j + 1]!)) removed.push(x[i++]!);
    else added.push(y[j++]!);
  }
  return { removed, added, hunks };
}

const isContent = (line: string): boolean => /^\s*[^\s#]/.test(line);

interface CorpusEdit {
  name: string;
  /** Changes the copy; false when the manifest has nothing to change this way. */
  apply: (value: any) => boolean;
  check: (d: ReturnType<typeof diff>, value: any) => void;
}

function podSpec(value: any): any {
  return value.spec?.template?.spec ?? value.spec?.jobTemplate?.spec?.template?.spec ?? value.spec;
}

const EDITS: CorpusEdit[] = [
  {
    name: 'change metadata.name',
    apply: (v) =>
      typeof v.metadata?.name === 'string' && Boolean((v.metadata.name = `${v.metadata.name}-edited`)),
    check: (d, v) => {
      expect(d.removed).toHaveLength(1);
      expect(d.added).toHaveLength(1);
      expect(d.added[0]).toContain(v.metadata.name);
    },
  },
  {
    name: 'add an annotation',
    apply: (v) => {
      if (typeof v.metadata !== 'object' || v.metadata === null) return false;
      v.metadata.annotations = { ...v.metadata.annotations, 'gitops.example.com/edited': 'true' };
      return true;
    },
    check: (d) => {
      // One new line, two when `annotations:` is new, or the flow map `{}` rewritten.
      expect(d.added.length).toBeGreaterThanOrEqual(1);
      expect(d.added.length).toBeLessThanOrEqual(2);
      expect(d.removed.length).toBeLessThanOrEqual(1);
      for (const line of [...d.added, ...d.removed])
        expect(line).toMatch(/annotations|gitops\.example\.com\/edited/);
    },
  },
  {
    name: 'change a label',
    apply: (v) => {
      const labels = v.metadata?.labels;
      const [key] = Object.keys(labels ?? {});
      if (key === undefined) return false;
      labels[key] = 'changed';
      return true;
    },
    check: (d) => {
      expect(d.removed).toHaveLength(1);
      expect(d.added).toHaveLength(1);
      expect(d.added[0]).toContain('changed');
    },
  },
  {
    name: 'remove a label',
    apply: (v) => {
      const keys = Object.keys(v.metadata?.labels ?? {});
      if (keys.length < 2) return false;
      delete v.metadata.labels[keys[keys.length - 1]!];
      return true;
    },
    check: (d) => {
      expect(d.added).toEqual([]);
      expect(d.removed.filter(isContent)).toHaveLength(1);
    },
  },
  {
    name: 'remove the last spec field',
    apply: (v) => {
      const keys =
        typeof v.spec === 'object' && v.spec !== null && !Array.isArray(v.spec) ? Object.keys(v.spec) : [];
      if (keys.length < 2) return false;
      delete v.spec[keys[keys.length - 1]!];
      return true;
    },
    check: (d) => {
      expect(d.added).toEqual([]);
      expect(d.removed.length).toBeGreaterThan(0);
      // The field's own lines: its key line first, everything after it nested deeper.
      const content = d.removed.filter(isContent);
      const indent = (line: string): number => line.length - line.trimStart().length;
      const keyIndent = indent(content[0]!);
      expect(content[0]).toMatch(/^\s*[^\s:]+:/);
      for (const line of content.slice(1))
        expect(indent(line) >= keyIndent || /^\s*- /.test(line)).toBe(true);
    },
  },
  {
    name: 'change the image of the first container',
    apply: (v) => {
      const containers = podSpec(v)?.containers;
      if (!Array.isArray(containers) || typeof containers[0]?.image !== 'string') return false;
      containers[0].image = 'registry.example.com/app:1.2.3';
      return true;
    },
    check: (d) => {
      expect(d.removed).toHaveLength(1);
      expect(d.added).toHaveLength(1);
      expect(d.added[0]).toContain('registry.example.com/app:1.2.3');
    },
  },
];

const { manifests, refused, duplicateKeys } = loadCorpus();

describe('editYamlDocument on the corpus', () => {
  it('finds the manifests, and refuses exactly the non-manifests SOURCES.md lists', () => {
    expect(manifests.length).toBeGreaterThan(400);
    const templates = [...refused].filter((file) => /_archived\/.*-template\.yaml$/.test(file));
    const cassandra = [...refused].filter((file) => /databases\/cassandra\/.*cassandra\.yaml$/.test(file));
    expect(templates).toHaveLength(5);
    expect(cassandra).toHaveLength(2);
    expect(refused.size).toBe(7);
    // Real manifests with a key written twice; not listed in SOURCES.md, refused all the same.
    expect([...duplicateKeys].every((file) => file.startsWith('k8s-examples/_archived/'))).toBe(true);
    expect(duplicateKeys.size).toBe(5);
  });

  for (const edit of EDITS) {
    it(`${edit.name}: decodes to the wanted value, diff only in the changed field's lines`, () => {
      let edited = 0;
      for (const manifest of manifests) {
        const after = structuredClone(manifest.value);
        if (!edit.apply(after)) continue;
        const where = `${manifest.file}#${manifest.index}`;
        const result = editYamlDocument(manifest.text, manifest.value, after);
        expect(jsYaml.load(result.text, { schema: KUBE_YAML_SCHEMA }), where).toEqual(after);
        const d = diff(manifest.text, result.text);
        expect(d.hunks, where).toBe(1);
        edit.check(d, after);
        // Every comment reported removed was in a removed line.
        for (const comment of result.removedComments) {
          expect(
            d.removed.some((line) => line.includes(comment.text)),
            where,
          ).toBe(true);
        }
        // The parser locator finds the same nodes as the fast scanner.
        expect(
          editYamlDocument(manifest.text, manifest.value, after, { locator: 'parser' }).text,
          where,
        ).toBe(result.text);
        edited++;
      }
      expect(edited).toBeGreaterThan(40);
    });
  }
});
