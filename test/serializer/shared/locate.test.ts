/** Positions in a document's text: offsets to lines and columns, field paths to positions, placed edit errors. */
import { describe, expect, it } from 'vitest';
import { isGitOpsError } from '../../../src/runtime/index.js';
import { SourceLines } from '../../../src/serializer/shared/lines.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import jsYaml from 'js-yaml';
import { splitFrames } from '../../../src/serializer/frames/frames.js';
import {
  documentRoot,
  FieldLocator,
  locateField,
  positionAt,
} from '../../../src/serializer/shared/locate.js';
import { CORPUS } from '../../support/corpus.js';
import { editJsonDocument } from '../../../src/serializer/edit/json/editor.js';
import { editYamlDocument } from '../../../src/serializer/edit/yaml/editor.js';
import { ManifestFile } from '../../../src/serializer/manifest-file.js';

const YAML = [
  'metadata:',
  '  name: a',
  '  labels: &common',
  '    team: blue',
  'spec:',
  '  empty:',
  '  items:',
  '  - ',
  '  - x: 1',
  '  copy: *common',
  '',
].join('\n');

function at(text: string, path: Array<string | number>, prefer?: 'key' | 'value'): string {
  const { line, column, found } = locateField(text, text.startsWith('{') ? 'json' : 'yaml', path, { prefer });
  return `${line}:${column}/${found}`;
}

describe('positionAt', () => {
  it('gives 1-based lines and columns, with CRLF and at the end of the text', () => {
    const lines = new SourceLines('a: 1\r\nbb: 2\r\n');
    expect(positionAt(lines, 0)).toEqual({ offset: 0, line: 1, column: 1 });
    expect(positionAt(lines, 6)).toEqual({ offset: 6, line: 2, column: 1 });
    expect(positionAt(lines, 10)).toEqual({ offset: 10, line: 2, column: 5 });
    expect(positionAt(lines, 99)).toEqual({ offset: 13, line: 3, column: 1 });
  });
});

describe('locateField', () => {
  it('finds a YAML field at its value, or at its key when asked', () => {
    expect(at(YAML, ['metadata', 'name'])).toBe('2:9/2');
    expect(at(YAML, ['metadata', 'name'], 'key')).toBe('2:3/2');
    expect(at(YAML, ['spec', 'items', 1, 'x'])).toBe('9:8/4');
  });

  it('places an empty value after its colon or dash, as the yaml package does', () => {
    expect(at(YAML, ['spec', 'empty'])).toBe('6:9/2');
    expect(at(YAML, ['spec', 'items', 0])).toBe('8:5/3');
  });

  it('follows an alias to its anchor, and stops at the deepest part of a path that is written', () => {
    expect(at(YAML, ['spec', 'copy', 'team'])).toBe('4:11/3');
    expect(at(YAML, ['spec', 'missing', 'deeper'])).toBe('6:3/1');
    expect(at(YAML, ['spec', 'items', 7])).toBe('8:3/2');
  });

  it('finds JSON members and items the same way', () => {
    const json = '{\n  "a": {"b": [10, {"c": null}]}\n}\n';
    expect(at(json, ['a', 'b', 1, 'c'])).toBe('2:25/4');
    expect(at(json, ['a', 'b', 1, 'c'], 'key')).toBe('2:20/4');
    expect(at(json, ['a', 'x'])).toBe('2:8/1');
  });
});

/** Every path to a value in `value` (maps and lists walked), and one missing key under each map. */
function paths(value: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []) {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((item, i) => paths(item, [...prefix, i], out));
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) paths(item, [...prefix, key], out);
    out.push([...prefix, 'no-such-field']);
  }
  return out;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/i.test(entry.name) ? [path] : [];
  });
}

describe('FieldLocator', () => {
  it('places every field of every corpus document where the yaml package places it', () => {
    let compared = 0;
    let fallbacks = 0;
    let documents = 0;
    const differences: string[] = [];
    for (const file of yamlFiles(CORPUS)) {
      for (const frame of splitFrames(readFileSync(file, 'utf8'), { contentType: 'yaml' })) {
        let value: unknown;
        try {
          value = jsYaml.load(frame.text);
        } catch {
          continue;
        }
        const lines = new SourceLines(frame.text);
        const fast = new FieldLocator(frame.text, 'yaml', lines);
        const root = documentRoot(frame.text, 'yaml', lines);
        // The yaml package's view has no tree for a key that is a map (`{{placeholder}}: x`).
        if (root === null) continue;
        documents++;
        for (const path of paths(value)) {
          for (const prefer of ['key', 'value'] as const) {
            const got = fast.locate(path, prefer);
            const want = locateField(frame.text, 'yaml', path, { lines, prefer, root });
            compared++;
            if (got.offset !== want.offset || got.found !== want.found)
              differences.push(
                `${file}#${frame.index} ${JSON.stringify(path)} ${prefer}: ${got.offset} != ${want.offset}`,
              );
          }
        }
        if (fast.usesFullParse) fallbacks++;
      }
    }
    expect(differences.slice(0, 10)).toEqual([]);
    expect(differences).toHaveLength(0);
    expect(compared).toBeGreaterThan(100_000);
    // Most documents are read by the fast scanner; the rest fall back and still agree.
    expect(fallbacks).toBeLessThan(documents / 10);
  });

  it('falls back to the yaml parse for a document the scanner cannot read', () => {
    const text = '{kind: Pod, spec: {containers: [{name: a, image: b}]}}\n';
    const locator = new FieldLocator(text, 'yaml', new SourceLines(text));
    expect(locator.locate(['spec', 'containers', 0, 'image'])).toMatchObject({
      line: 1,
      column: 50,
      found: 4,
    });
    expect(locator.usesFullParse).toBe(true);
    const block = 'kind: Pod\nspec:\n  containers:\n  - name: a\n    image: b\n';
    const fast = new FieldLocator(block, 'yaml', new SourceLines(block));
    expect(fast.locate(['spec', 'containers', 0, 'image'])).toMatchObject({ line: 5, column: 12, found: 4 });
    expect(fast.usesFullParse).toBe(false);
  });
});

describe('edit errors placed at their field', () => {
  it('gives a YAML and a JSON EditFailed the line and column of the field', () => {
    const yamlError = catchError(() =>
      editYamlDocument('a: 1\nb:\n  c: 1\n', { a: 1, b: { c: 1 } }, { a: 1, b: { c: new Date(0) } }),
    );
    expect(isGitOpsError(yamlError, 'EditFailed')).toBe(true);
    expect(yamlError.details).toMatchObject({ field: '.b.c', line: 3, column: 6 });
    const json = '{\n  "a": 1,\n  "b": {"c": 1}\n}';
    const jsonError = catchError(() =>
      editJsonDocument(json, { a: 1, b: { c: 1 } }, { a: 1, b: { c: Number.NaN } }),
    );
    expect(isGitOpsError(jsonError, 'EditFailed')).toBe(true);
    expect(jsonError.details).toMatchObject({ field: '.b.c', line: 3, column: 14 });
  });

  it('reports the line in the file of the deepest written part of the field when a ManifestFile edit fails', () => {
    const file = ManifestFile.parse('kind: A\n---\napiVersion: v1\nkind: B\nmetadata:\n  name: b\n', {
      file: 'f.yaml',
    });
    const err = catchError(() =>
      file.setObject(1, {
        apiVersion: 'v1',
        kind: 'B',
        metadata: { name: 'b', labels: new Date(0) },
      } as never),
    );
    expect(err.details).toMatchObject({ file: 'f.yaml', document: 1, line: 6, column: 3 });
  });
});

function catchError(run: () => unknown): { details: Record<string, unknown> } {
  try {
    run();
  } catch (err) {
    return err as { details: Record<string, unknown> };
  }
  throw new Error('expected a failure');
}
