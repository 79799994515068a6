import { describe, expect, it } from 'vitest';

import { fieldValue, parseFieldSelector } from '../../src/filter/index.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'default' },
  spec: { replicas: 3, paused: false, template: { a: 1 } },
  status: { phase: 'Running' },
};

describe('parseFieldSelector', () => {
  it('selects on any dotted path with =, == and !=', () => {
    expect(parseFieldSelector('metadata.name=web').matches(pod)).toBe(true);
    expect(parseFieldSelector('metadata.name==web,metadata.namespace=default').matches(pod)).toBe(true);
    expect(parseFieldSelector('status.phase!=Running').matches(pod)).toBe(false);
    expect(parseFieldSelector('status.phase!=Pending').matches(pod)).toBe(true);
    expect(parseFieldSelector('spec.replicas=3,spec.paused=false').matches(pod)).toBe(true);
    expect(parseFieldSelector('').matches(pod)).toBe(true);
  });

  it('reads a missing field as the empty string, and maps as equal to nothing', () => {
    expect(parseFieldSelector('spec.nodeName=').matches(pod)).toBe(true);
    expect(parseFieldSelector('spec.nodeName!=').matches(pod)).toBe(false);
    expect(parseFieldSelector('spec.template=').matches(pod)).toBe(false);
    expect(parseFieldSelector('spec.template!=x').matches(pod)).toBe(true);
    expect(fieldValue(pod, 'spec.template')).toBeUndefined();
    expect(fieldValue(pod, 'spec.missing.deeper')).toBe('');
  });

  it('unescapes values and escapes them back', () => {
    const selector = parseFieldSelector('metadata.name=a\\,b\\=c\\\\d');
    expect(selector.requirements[0]!.value).toBe('a,b=c\\d');
    expect(selector.matches({ ...pod, metadata: { name: 'a,b=c\\d' } })).toBe(true);
    expect(parseFieldSelector(selector.toString()).requirements).toEqual(selector.requirements);
    expect(selector.exactValue('metadata.name')).toBe('a,b=c\\d');
    expect(selector.exactValue('metadata.namespace')).toBeUndefined();
  });

  it('refuses terms without an operator, bad paths and bad escapes', () => {
    for (const text of ['metadata.name', 'metadata..name=x', 'a=b=c', 'a=\\q', 'a=b,c']) {
      let error: unknown;
      try {
        parseFieldSelector(text);
      } catch (err) {
        error = err;
      }
      expect(error, text).toBeInstanceOf(GitOpsError);
      expect((error as GitOpsError).code).toBe(ErrorCodes.BadRequest);
      expect((error as GitOpsError).details.field).toBe('fieldSelector');
    }
  });
});
