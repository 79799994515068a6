import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deepCopy, ErrorCodes, GitOpsError } from '../../src/runtime/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import { Decoder } from '../../src/serializer/decode/decode.js';
import { ManifestFile } from '../../src/serializer/manifest-file.js';
import { CORPUS } from '../support/corpus.js';

const ARGO = join(CORPUS, 'argo-cd/install.yaml');

function corpusFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return corpusFiles(path);
    return /\.(ya?ml|json)$/.test(e.name) ? [path] : [];
  });
}

function caught(fn: () => unknown): GitOpsError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GitOpsError);
    return err as GitOpsError;
  }
  throw new Error('expected a GitOpsError, nothing was thrown');
}

/** Lines of `a` and `b` that differ, compared position by position (for edits that keep the line count). */
function changedLines(a: string, b: string): string[] {
  const left = a.split('\n');
  const right = b.split('\n');
  return right.filter((line, i) => line !== left[i]);
}

const cm = (name: string, data: Record<string, string> = { k: 'v' }): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data,
});

describe('ManifestFile.parse', () => {
  it('prints every corpus file back byte for byte and finds the objects the decoder finds', () => {
    const decoder = new Decoder();
    for (const path of corpusFiles(CORPUS)) {
      const text = readFileSync(path, 'utf8');
      const file = ManifestFile.parse(text, { file: path, decoder });
      expect(file.toString()).toBe(text);
      expect(file.modified).toBe(false);
      expect(file.objects).toEqual(decoder.decodeText(text, { file: path }).objects);
    }
  });

  it('keeps comment-only documents as documents without an object', () => {
    const file = ManifestFile.parse('# header\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n');
    expect(file.documents.map((d) => [d.index, d.empty, d.object?.metadata.name])).toEqual([
      [0, true, undefined],
      [1, false, 'a'],
    ]);
  });

  it('collects problems with file and line instead of throwing', () => {
    const file = ManifestFile.parse('apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n', { file: 'x.yaml' });
    expect(file.errors.map((e) => [e.code, e.details.file, e.details.line])).toEqual([
      ['MissingName', 'x.yaml', 3],
    ]);
    expect(file.documents[0]?.object).toBeUndefined();
  });

  it('takes the content type from the file name, else sniffs it', () => {
    expect(ManifestFile.parse('{"a": 1}', { file: 'a.json' }).contentType).toBe('json');
    expect(ManifestFile.parse('{a: 1}', { file: 'a.yaml' }).contentType).toBe('yaml');
    expect(ManifestFile.parse('{"a": 1}').contentType).toBe('json');
  });

  it('cannot edit a file that could not be split, but prints it back unchanged', () => {
    const text = 'a: 1\n---\nb: 2\n---\nc: 3\n';
    const file = ManifestFile.parse(text, { decoder: { limits: { maxFrames: 2 } } });
    expect(file.errors.map((e) => e.code)).toEqual([ErrorCodes.TooManyFrames]);
    expect(file.toString()).toBe(text);
    expect(caught(() => file.appendObject(cm('x'))).code).toBe(ErrorCodes.BadRequest);
  });
});

describe('setObject', () => {
  const argo = readFileSync(ARGO, 'utf8');

  it('edits one document of argo-cd/install.yaml and leaves every other byte as it was', () => {
    const file = ManifestFile.parse(argo, { file: 'install.yaml' });
    const index = file.findDocument((o) => o.kind === 'Deployment' && o.metadata.name === 'argocd-server');
    expect(index).toBeGreaterThan(0);
    const before = file.documents.map((d) => d.frame.separator + d.frame.text + d.frame.terminator);
    const deployment = deepCopy(file.documents[index]?.object as KubeObject) as KubeObject & {
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    const container = deployment.spec.template.spec.containers[0] as { image: string };
    container.image = 'quay.io/argoproj/argocd:v9.9.9';
    file.setObject(index, deployment);

    const out = file.toString();
    expect(out).not.toBe(argo);
    expect(changedLines(argo, out)).toEqual(['        image: quay.io/argoproj/argocd:v9.9.9']);
    const after = file.documents.map((d) => d.frame.separator + d.frame.text + d.frame.terminator);
    expect(after.filter((text, i) => text !== before[i])).toHaveLength(1);
    expect(file.modified).toBe(true);
    expect(file.documents[index]?.object).toEqual(deployment);
    // The text reads back to exactly what was set.
    expect(new Decoder().decodeText(out).objects).toEqual(file.objects);
    expect(file.objects).toContainEqual(deployment);
  });

  it('keeps the comments of the edited document', () => {
    const text =
      '# the app settings\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app # the name\ndata:\n  # log level\n  level: info\n  mode: fast\n';
    const file = ManifestFile.parse(text);
    file.setObject(0, cm('app', { level: 'debug', mode: 'fast' }));
    expect(file.toString()).toBe(text.replace('level: info', 'level: debug'));
  });

  it('edits from the text, even when the caller changed the object it was given in place', () => {
    const file = ManifestFile.parse('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n');
    const obj = file.documents[0]?.object as KubeObject;
    (obj.data as Record<string, string>).k = 'changed';
    file.setObject(0, obj);
    expect(file.toString()).toBe(
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: changed\n',
    );
  });

  it('refuses an object the decoder would refuse, and changes nothing', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n';
    const file = ManifestFile.parse(text, { file: 'a.yaml' });
    const err = caught(() => file.setObject(0, { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }));
    expect(err.code).toBe(ErrorCodes.MissingName);
    expect(err.details.file).toBe('a.yaml');
    expect(file.toString()).toBe(text);
    expect(file.modified).toBe(false);
    expect(caught(() => file.setObject(3, cm('a'))).code).toBe(ErrorCodes.NotFound);
  });

  it('writes an object into a comment-only document after its comments', () => {
    const file = ManifestFile.parse('a: 1\n---\n# reserved\n');
    file.setObject(1, cm('x'));
    expect(file.toString()).toBe(
      'a: 1\n---\n# reserved\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  k: v\n',
    );
  });

  it('reports removed comments at their line in the file', () => {
    const text =
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  # the old key\n  old: x\n  k: v\n';
    const file = ManifestFile.parse(text);
    const { removedComments } = file.setObject(1, cm('b'));
    expect(removedComments.map((c) => [c.text, c.line])).toEqual([['# the old key', 10]]);
    expect(file.toString()).not.toContain('old');
  });

  it('edits a JSON document in place', () => {
    const text =
      '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}\n{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}\n';
    const file = ManifestFile.parse(text, { file: 'a.json' });
    file.setObject(0, cm('a', { k: 'w' }));
    const out = file.toString();
    expect(out.split('\n')[1]).toBe(text.split('\n')[1]);
    expect(new Decoder().decodeText(out, { contentType: 'json' }).objects.map((o) => o.data)).toEqual([
      { k: 'w' },
      undefined,
    ]);
  });
});

describe('appendObject', () => {
  const appended = '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: new\ndata:\n  k: v\n';

  it('adds a document with a --- separator', () => {
    const file = ManifestFile.parse('a: 1\n');
    expect(file.appendObject(cm('new'))).toBe(1);
    expect(file.toString()).toBe(`a: 1\n${appended}`);
    expect(file.documents[1]?.object?.metadata.name).toBe('new');
  });

  it('ends the last line first when the file has no final newline', () => {
    const file = ManifestFile.parse('a: 1');
    file.appendObject(cm('new'));
    expect(file.toString()).toBe(`a: 1\n${appended}`);
  });

  it('fills a trailing empty document instead of adding a separator', () => {
    const file = ManifestFile.parse('a: 1\n---\n');
    expect(file.appendObject(cm('new'))).toBe(1);
    expect(file.toString()).toBe(`a: 1\n${appended}`);
  });

  it('writes the first document of an empty file without a separator', () => {
    const file = ManifestFile.parse('', { file: 'new.yaml' });
    file.appendObject(cm('new'));
    expect(file.toString()).toBe(appended.slice(4));
  });

  it('follows the file: CRLF line endings and unindented lists', () => {
    const file = ManifestFile.parse('a:\r\n- x\r\n');
    file.appendObject({ ...cm('new'), list: ['z'] });
    expect(file.toString()).toBe(`a:\r\n- x\r\n${appended.replace(/\n/g, '\r\n')}list:\r\n- z\r\n`);
  });

  it('appends one line to NDJSON and an indented object to indented JSON', () => {
    const ndjson = ManifestFile.parse('{"a":1}\n', { file: 'a.json' });
    ndjson.appendObject(cm('new'));
    expect(ndjson.toString()).toBe(
      '{"a":1}\n{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"new"},"data":{"k":"v"}}\n',
    );
    const pretty = ManifestFile.parse('{\n  "a": 1\n}', { file: 'a.json' });
    pretty.appendObject(cm('new'));
    expect(pretty.toString()).toBe(
      '{\n  "a": 1\n}\n{\n  "apiVersion": "v1",\n  "kind": "ConfigMap",\n  "metadata": {\n    "name": "new"\n  },\n  "data": {\n    "k": "v"\n  }\n}\n',
    );
  });

  it('refuses an invalid object and changes nothing', () => {
    const file = ManifestFile.parse('a: 1\n');
    expect(caught(() => file.appendObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} })).code).toBe(
      ErrorCodes.MissingName,
    );
    expect(file.toString()).toBe('a: 1\n');
    expect(file.documents).toHaveLength(1);
  });
});

describe('removeObject', () => {
  const three = 'a: 1\n---\nb: 2\n--- # third\nc: 3\n';

  it('removes a document in the middle with its separator', () => {
    const file = ManifestFile.parse(three);
    file.removeObject(1);
    expect(file.toString()).toBe('a: 1\n--- # third\nc: 3\n');
    expect(file.documents.map((d) => [d.index, d.frame.startLine])).toEqual([
      [0, 1],
      [1, 3],
    ]);
  });

  it('removes the first document without leaving a leading ---', () => {
    const file = ManifestFile.parse(three);
    file.removeObject(0);
    expect(file.toString()).toBe('b: 2\n--- # third\nc: 3\n');
    const leading = ManifestFile.parse('---\na: 1\n---\nb: 2\n');
    leading.removeObject(0);
    expect(leading.toString()).toBe('---\nb: 2\n');
  });

  it('keeps a header comment, a BOM and directives that belong to the file', () => {
    const header = ManifestFile.parse('# License\n---\na: 1\n---\nb: 2\n');
    header.removeObject(1);
    expect(header.toString()).toBe('# License\n---\nb: 2\n');
    const bom = ManifestFile.parse('\uFEFFa: 1\n---\nb: 2\n');
    bom.removeObject(0);
    expect(bom.toString()).toBe('\uFEFFb: 2\n');
    const directive = ManifestFile.parse('%YAML 1.1\n--- # first\na: 1\n---\nb: 2\n');
    directive.removeObject(0);
    expect(directive.toString()).toBe('%YAML 1.1\n---\nb: 2\n');
  });

  it('removes the last and the only document', () => {
    const file = ManifestFile.parse(three);
    file.removeObject(2);
    expect(file.toString()).toBe('a: 1\n---\nb: 2\n');
    file.removeObject(1);
    file.removeObject(0);
    expect(file.toString()).toBe('');
    expect(file.documents).toEqual([]);
  });

  it('removes one JSON object', () => {
    const file = ManifestFile.parse('{"a":1}\n{"b":2}\n{"c":3}\n', { file: 'a.json' });
    file.removeObject(1);
    expect(file.toString()).toBe('{"a":1}\n{"c":3}\n');
  });

  it('undoes an append', () => {
    for (const text of ['a: 1', 'a: 1\n', '{"a":1}']) {
      const file = ManifestFile.parse(text);
      file.removeObject(file.appendObject(cm('x')));
      expect(file.toString()).toBe(text);
    }
  });
});
