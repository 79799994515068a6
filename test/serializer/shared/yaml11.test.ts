import { describe, expect, it } from 'vitest';

import { deepCopy, ErrorCodes } from '../../../src/runtime/index.js';
import type { KubeObject } from '../../../src/runtime/index.js';
import { Decoder } from '../../../src/serializer/decode/decode.js';
import { ManifestFile } from '../../../src/serializer/manifest-file.js';

const header = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: values\n';

describe('values JSON cannot carry', () => {
  it('refuses .nan and .inf with UnsupportedValue at their line, and keeps quoted ones as strings', () => {
    for (const [value, line] of [
      ['.nan', 6],
      ['.inf', 6],
      ['-.Inf', 6],
      ['[1, .NaN]', 6],
    ] as const) {
      const { objects, errors } = new Decoder({ strict: false }).decodeText(
        `${header}data:\n  a: ${value}\n`,
      );
      expect(objects, value).toEqual([]);
      expect(
        errors.map((e) => e.code),
        value,
      ).toEqual([ErrorCodes.UnsupportedValue]);
      expect(errors[0]?.details.line, value).toBe(line);
    }
    const quoted = new Decoder().decodeText(`${header}data:\n  a: ".nan"\n  b: '.inf'\n`);
    expect(quoted.errors).toEqual([]);
    expect(quoted.objects[0]?.data).toEqual({ a: '.nan', b: '.inf' });
  });
});

describe('!!binary', () => {
  it('is kept as its base64 text (a string), and invalid base64 is refused', () => {
    const { objects, errors } = new Decoder().decodeText(
      `${header}binaryData:\n  k: !!binary |\n    aGVsbG8g\n    d29ybGQ=\n`,
    );
    expect(errors).toEqual([]);
    expect(objects[0]?.binaryData).toEqual({ k: 'aGVsbG8gd29ybGQ=' });
    const bad = new Decoder().decodeText(`${header}binaryData:\n  k: !!binary "not base64!"\n`);
    expect(bad.objects).toEqual([]);
    expect(bad.errors.map((e) => e.code)).toEqual([ErrorCodes.YamlSyntax]);
  });

  it('is left byte for byte when an unrelated field is updated', () => {
    const text = `${header}  labels:\n    a: "1"\nbinaryData:\n  k: !!binary aGVsbG8=\n`;
    const file = ManifestFile.parse(text);
    const obj = deepCopy(file.objects[0] as KubeObject);
    obj.metadata.labels = { a: '2' };
    file.setObject(0, obj);
    expect(file.toString()).toBe(text.replace('a: "1"', 'a: "2"'));
    expect(new Decoder().decodeText(file.toString()).objects[0]?.binaryData).toEqual({ k: 'aGVsbG8=' });
  });
});
