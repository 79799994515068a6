/**
 * The fast block scanner must find every node exactly where the `yaml` package's parser
 * finds it: same keys, same ranges, same styles, on real manifests and on tricky text.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import jsYaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { isGitOpsError } from '../../../../src/runtime/errors.js';
import { SourceLines } from '../../../../src/serializer/shared/lines.js';
import { editYamlDocument } from '../../../../src/serializer/edit/yaml/editor.js';
import { nodeFromAst, parseRegion } from '../../../../src/serializer/edit/yaml/nodes.js';
import type { YamlNode } from '../../../../src/serializer/edit/yaml/nodes.js';
import { BlockScanner } from '../../../../src/serializer/edit/yaml/scan.js';
import { KUBE_YAML_SCHEMA } from '../../../../src/serializer/shared/yaml11.js';
import { CORPUS } from '../../../support/corpus.js';

/** A plain description of every node and entry, for comparison. */
function describeNode(node: YamlNode | null): unknown {
  if (node === null) return null;
  const base = { kind: node.kind, start: node.start, end: node.end };
  switch (node.kind) {
    case 'map':
      return {
        ...base,
        flow: node.flow,
        pairs: node.pairs().map((pair) => ({
          key: pair.key,
          keyStart: pair.keyStart,
          colonEnd: pair.colonEnd,
          end: pair.end,
          value: describeNode(pair.value),
        })),
      };
    case 'seq':
      return {
        ...base,
        flow: node.flow,
        items: node
          .items()
          .map((item) => ({ start: item.start, end: item.end, node: describeNode(item.node) })),
      };
    case 'scalar':
      return { ...base, style: node.style };
    default:
      return base;
  }
}

function both(text: string): { scanned: unknown; parsed: unknown } {
  const lines = new SourceLines(text);
  const scanned = describeNode(new BlockScanner(lines).root());
  const parsed = describeNode(nodeFromAst(parseRegion(text), { lines, toSource: (offset) => offset }));
  return { scanned, parsed };
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

describe('BlockScanner', () => {
  it('locates every node of every corpus document exactly as the yaml parser does', () => {
    let documents = 0;
    const unreadable = new Set<string>();
    for (const file of yamlFiles(CORPUS)) {
      for (const text of readFileSync(file, 'utf8').split(/^---[^\n]*\n/m)) {
        if (!/^[ \t]*[^\s#]/m.test(text)) continue;
        let result: { scanned: unknown; parsed: unknown };
        try {
          result = both(text);
        } catch (err) {
          // Maps used as keys (`{{placeholder}}` templates): neither side edits those.
          expect(isGitOpsError(err, 'EditFailed'), file).toBe(true);
          unreadable.add(file);
          continue;
        }
        expect(result.scanned, file).toEqual(result.parsed);
        documents++;
      }
    }
    expect(documents).toBeGreaterThan(400);
    expect([...unreadable].every((file) => file.endsWith('-template.yaml'))).toBe(true);
  });

  const tricky: Record<string, string> = {
    'compact and indented lists': 'a:\n- x\n- y: 1\n  z: 2\nb:\n  - - p\n    - q\n  -\n    r: s\n',
    'block scalars with comment-like content and kept blank lines':
      'a: |\n  x\n  # y\n\nb: >-\n  f\n# real\nc: |+\n  k\n\n',
    'quoted keys and values with colons and hashes': `"a b": "x: y # z"\n'c''d': 'it''s'\ne: http://x/#f # c\n`,
    'flow values and multi-line scalars': 'a: [1, {b: 2}]\nc: {d: [e]}\nf: one\n  two\ng: "q\n  r"\n',
    'CRLF line endings and a byte-order mark': '\ufeffa: 1\r\nb:\r\n- 2 # c\r\n',
    'empty values and comments between entries': 'a:\n# c\nb: ~\n\n# d\nc:\n  # e\n  f: 1\n',
    'a list at the root': '- a\n- b: 1\n  c: [2]\n-\n',
  };
  for (const [name, text] of Object.entries(tricky)) {
    it(`agrees with the yaml parser: ${name}`, () => {
      const { scanned, parsed } = both(text);
      expect(scanned).toEqual(parsed);
    });
  }

  it('gives up with EditFailed on text it does not read, and the editor still edits it', () => {
    const text = '{"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"}}\n';
    expect(() => new BlockScanner(new SourceLines(text)).root()).toThrow(
      expect.objectContaining({ code: 'EditFailed' }),
    );
    const before = jsYaml.load(text, { schema: KUBE_YAML_SCHEMA }) as { data: Record<string, string> };
    const after = { ...before, data: { a: '2' } };
    expect(editYamlDocument(text, before, after).text).toBe(
      '{"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "2"}}\n',
    );
    try {
      editYamlDocument(text, before, after, { locator: 'scanner' });
      expect.unreachable('the scanner locator cannot read a flow document');
    } catch (err) {
      expect(isGitOpsError(err, 'EditFailed')).toBe(true);
    }
  });
});
