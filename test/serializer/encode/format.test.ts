import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import jsYaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { isGitOpsError } from '../../../src/runtime/errors.js';
import { formatJsonDocument, formatYamlDocument } from '../../../src/serializer/encode/format.js';
import { KUBE_YAML_SCHEMA } from '../../../src/serializer/shared/yaml11.js';
import { CORPUS } from '../../support/corpus.js';

function load(text: string): unknown {
  return jsYaml.load(text, { schema: KUBE_YAML_SCHEMA });
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

describe('formatYamlDocument', () => {
  it('writes 2-space indentation, kubectl-style lists, YAML 1.1-safe quotes, keeps comments', () => {
    const source = [
      '# head',
      '',
      'apiVersion: v1   ',
      'kind: Pod',
      'metadata:',
      '    name: x # trailing',
      '    labels: { a: b, c: [1,2] }',
      'spec:',
      '    containers:',
      '        # the app',
      '        -   name: app',
      '            args: ["on", 0755, yes, \'2024-01-01\', 2024-01-01, 1.0]',
      '            command: |',
      '                echo hi',
      '',
      '        -   name: other',
      '# tail',
      '',
      '',
    ].join('\r\n');
    expect(formatYamlDocument(source)).toBe(
      [
        '# head',
        '',
        'apiVersion: v1',
        'kind: Pod',
        'metadata:',
        '  name: x # trailing',
        '  labels: {a: b, c: [1, 2]}',
        'spec:',
        '  containers:',
        '  # the app',
        '  - name: app',
        '    args: ["on", 0755, yes, \'2024-01-01\', "2024-01-01", 1.0]',
        '    command: |',
        '      echo hi',
        '',
        '  - name: other',
        '',
        '# tail',
        '',
      ].join('\n'),
    );
  });

  it('keeps a document that holds only comments, tidied', () => {
    expect(formatYamlDocument('# one   \r\n\r\n# two\n\n\n')).toBe('# one\n\n# two\n');
  });

  it('refuses text that is not YAML with YamlSyntax and a position', () => {
    try {
      formatYamlDocument('a: [1\n');
      expect.unreachable('invalid YAML must be refused');
    } catch (err) {
      expect(isGitOpsError(err, 'YamlSyntax')).toBe(true);
      expect((err as { details: { line?: number } }).details.line).toBeGreaterThan(0);
    }
  });

  it('on every corpus document: keeps the value and the comments, is idempotent, leaves no trailing spaces', () => {
    let documents = 0;
    for (const file of yamlFiles(CORPUS)) {
      for (const text of readFileSync(file, 'utf8').split(/^---[^\n]*\n/m)) {
        if (!/\S/.test(text)) continue;
        let value: unknown;
        try {
          value = load(text);
        } catch {
          continue; // Duplicate keys: the decoder refuses those documents.
        }
        const formatted = formatYamlDocument(text);
        expect(load(formatted), file).toEqual(value);
        expect(formatYamlDocument(formatted), file).toBe(formatted);
        expect(formatted, file).not.toMatch(/[ \t]$/m);
        expect(formatted.endsWith('\n') && !formatted.endsWith('\n\n'), file).toBe(true);
        const comments = (s: string): number => s.match(/(?:^|\s)#/gm)?.length ?? 0;
        expect(comments(formatted), file).toBe(comments(text));
        documents++;
      }
    }
    expect(documents).toBeGreaterThan(400);
  });
});

describe('formatJsonDocument', () => {
  it('writes 2-space indentation and keeps numbers and strings exactly as written', () => {
    const source = '{"a":1,"b":[],"c":{"d":[1,{"e":12176941420362965433}],"f":"\\u00e9"},"g":{}}';
    const expected = [
      '{',
      '  "a": 1,',
      '  "b": [],',
      '  "c": {',
      '    "d": [',
      '      1,',
      '      {',
      '        "e": 12176941420362965433',
      '      }',
      '    ],',
      '    "f": "\\u00e9"',
      '  },',
      '  "g": {}',
      '}',
      '',
    ].join('\n');
    expect(formatJsonDocument(source)).toBe(expected);
    expect(formatJsonDocument(expected)).toBe(expected);
  });

  it('refuses invalid JSON with JsonSyntax and a position', () => {
    try {
      formatJsonDocument('{\n  "a": 1,\n}');
      expect.unreachable('invalid JSON must be refused');
    } catch (err) {
      expect(isGitOpsError(err, 'JsonSyntax')).toBe(true);
      expect((err as { details: { line?: number } }).details.line).toBe(3);
    }
  });

  it('refuses a malformed escape in a key or a value with JsonSyntax, and keeps valid ones', () => {
    for (const text of ['{"\\q": 1}', '{"a": "\\q"}', '{"a": "\\u12"}']) {
      expect(() => formatJsonDocument(text), text).toThrow(expect.objectContaining({ code: 'JsonSyntax' }));
    }
    expect(formatJsonDocument('{"\\u00e9": "\\n\\/"}')).toBe('{\n  "\\u00e9": "\\n\\/"\n}\n');
  });
});
