/** The public entry of the serializer: the whole round trip through it, as storage uses it. */
import { describe, expect, it } from 'vitest';
import * as serializer from '../../src/serializer/index.js';
import { editJsonDocument } from '../../src/serializer/edit/json/editor.js';
import { editYamlDocument } from '../../src/serializer/edit/yaml/editor.js';

describe('the serializer entry', () => {
  it('exports the editors, YAML 1.1 helpers, and the read/write API', () => {
    expect(serializer.editYamlDocument).toBe(editYamlDocument);
    expect(serializer.editJsonDocument).toBe(editJsonDocument);
    expect(serializer.isAmbiguousPlainString('on')).toBe(true);
    expect(serializer.isAmbiguousPlainString('nginx')).toBe(false);
    expect(serializer.DEFAULT_LIMITS.maxFrames).toBe(10_000);
  });

  it('decodes, edits, appends and removes through the public API', () => {
    const text = '# apps\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a # first\ndata:\n  k: v\n';
    const file = serializer.ManifestFile.parse(text, { file: 'apps.yaml' });
    expect(file.objects.map((o) => o.metadata.name)).toEqual(['a']);
    file.appendObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b' }, data: { on: 'yes' } });
    file.setObject(0, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { k: 'w' } });
    expect(file.toString()).toBe(
      '# apps\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a # first\ndata:\n  k: w\n' +
        '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  "on": "yes"\n',
    );
    const decoded = new serializer.Decoder().decodeText(file.toString());
    expect(decoded.objects.map((o) => o.data)).toEqual([{ k: 'w' }, { on: 'yes' }]);
    file.removeObject(1);
    expect(file.toString()).toBe(text.replace('k: v', 'k: w'));
  });
});
