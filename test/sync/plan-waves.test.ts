/**
 * The waves a sync loops over (wavesOf): phase then wave, each with its stages in order and then
 * its hooks; SyncFail hooks belong to no wave; a wave of hooks alone is a wave too.
 */
import { describe, expect, it } from 'vitest';

import { builtinIsNamespaced } from '../../src/runtime/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import { HOOK_ANNOTATION, SYNC_WAVE_ANNOTATION, planSync, wavesOf } from '../../src/sync/index.js';

function obj(
  apiVersion: string,
  kind: string,
  name: string,
  annotations: Record<string, string> = {},
): KubeObject {
  return { apiVersion, kind, metadata: { name, annotations } } as KubeObject;
}

const plan = (objects: KubeObject[]) =>
  planSync({ application: 'app', defaultNamespace: 'ns', isNamespaced: builtinIsNamespaced, objects });

describe('wavesOf', () => {
  it('groups stages and hooks by phase and wave, in sync order', () => {
    const waves = wavesOf(
      plan([
        obj('apps/v1', 'Deployment', 'late', { [SYNC_WAVE_ANNOTATION]: '2' }),
        obj('batch/v1', 'Job', 'after', { [HOOK_ANNOTATION]: 'PostSync' }),
        obj('v1', 'ConfigMap', 'config'),
        obj('v1', 'Namespace', 'ns'),
        obj('batch/v1', 'Job', 'migrate', { [HOOK_ANNOTATION]: 'PreSync' }),
        obj('batch/v1', 'Job', 'in-wave', { [HOOK_ANNOTATION]: 'Sync', [SYNC_WAVE_ANNOTATION]: '2' }),
        obj('batch/v1', 'Job', 'on-failure', { [HOOK_ANNOTATION]: 'SyncFail' }),
      ]),
    );
    expect(
      waves.map((w) => ({
        label: w.label,
        stages: w.steps.map((s) => `${s.stage}:${s.objects.map((p) => p.key.name).join(',')}`),
        hooks: w.hooks.map((p) => p.key.name),
      })),
    ).toEqual([
      { label: 'PreSync/0', stages: [], hooks: ['migrate'] },
      { label: 'Sync/0', stages: ['0:ns', '1:config'], hooks: [] },
      { label: 'Sync/2', stages: ['2:late'], hooks: ['in-wave'] },
      { label: 'PostSync/0', stages: [], hooks: ['after'] },
    ]);
  });

  it('has no wave for an empty plan', () => {
    expect(wavesOf(plan([]))).toEqual([]);
  });
});
