import { describe, expect, it } from 'vitest';

import type { KubeObject } from '../../src/runtime/index.js';
import { covers, ownsDesiredFields } from '../../src/sync/index.js';

// Field sets as a v1.32 API server recorded them for objects applied by the engine.
const serviceFields = {
  'f:metadata': { 'f:labels': { 'f:app': {} } },
  'f:spec': {
    'f:ports': {
      'k:{"port":8080,"protocol":"TCP"}': { '.': {}, 'f:name': {}, 'f:port': {}, 'f:targetPort': {} },
    },
    'f:selector': {},
  },
};

function live(fields: Record<string, unknown>, manager = 'libgitops'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 's',
      managedFields: [{ manager, operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: fields }],
    },
  };
}

const desired: KubeObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 's', namespace: 'x', labels: { app: 'web' } },
  spec: {
    selector: { app: 'web', tier: 'front' },
    ports: [{ name: 'http', port: 8080, targetPort: 'http' }],
  },
};

describe('ownsDesiredFields', () => {
  it('is true when our Apply entry covers every field (defaulted list keys and atomic maps included)', () => {
    expect(ownsDesiredFields(live(serviceFields), desired, 'libgitops')).toBe(true);
  });

  it('is false once someone else took a field (kubectl edit moves it out of our set)', () => {
    const taken = structuredClone(serviceFields);
    delete (taken['f:spec']['f:ports']['k:{"port":8080,"protocol":"TCP"}'] as Record<string, unknown>)[
      'f:targetPort'
    ];
    expect(ownsDesiredFields(live(taken), desired, 'libgitops')).toBe(false);
  });

  it('is false for another manager, or an Update entry of ours', () => {
    expect(ownsDesiredFields(live(serviceFields, 'kubectl'), desired, 'libgitops')).toBe(false);
    const update = live(serviceFields);
    update.metadata.managedFields![0]!.operation = 'Update';
    expect(ownsDesiredFields(update, desired, 'libgitops')).toBe(false);
  });

  it('ignores empty collections and status, which the server never records', () => {
    const withEmpty = {
      ...desired,
      spec: { ...(desired.spec as object), externalIPs: [] },
      status: { loadBalancer: {} },
    };
    expect(ownsDesiredFields(live(serviceFields), withEmpty, 'libgitops')).toBe(true);
  });
});

describe('covers', () => {
  it('needs each member of a set-like list', () => {
    expect(covers(['a', 'b'], { 'v:"a"': {}, 'v:"b"': {} })).toBe(true);
    expect(covers(['a', 'c'], { 'v:"a"': {}, 'v:"b"': {} })).toBe(false);
  });
  it('treats a list without members as atomic', () => {
    expect(covers(['--flag', '--other'], {})).toBe(true);
  });
  it('is false when a field is absent', () => {
    expect(covers({ a: 1, b: 2 }, { 'f:a': {}, 'f:c': {} })).toBe(false);
  });
});
