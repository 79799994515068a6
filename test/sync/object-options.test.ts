import { describe, expect, it } from 'vitest';

import { ErrorCodes } from '../../src/runtime/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import { planSync, readObjectOptions } from '../../src/sync/index.js';

const obj = (annotations: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'c', namespace: 'n', annotations },
});
const read = (annotations: Record<string, string>) => readObjectOptions(obj(annotations), '/ConfigMap/n/c');

describe('readObjectOptions', () => {
  it('has defaults when nothing is annotated', () => {
    const r = read({});
    expect(r.error).toBeUndefined();
    expect(r.warnings).toEqual([]);
    expect(r.options).toMatchObject({
      prune: true,
      applyPolicy: 'Override',
      recreate: false,
      validate: true,
    });
    expect(r.options.wave).toBeUndefined();
    expect(r.options.hook).toBeUndefined();
  });

  it('reads Argo CD waves, hooks, delete policies and sync options', () => {
    const r = read({
      'argocd.argoproj.io/sync-wave': '-2',
      'argocd.argoproj.io/hook': 'PreSync',
      'argocd.argoproj.io/hook-delete-policy': 'HookSucceeded,BeforeHookCreation',
      'argocd.argoproj.io/sync-options':
        'Prune=false,Delete=false,Replace=true,ServerSideApply=true,SkipDryRunOnMissingResource=true,Validate=false',
      'argocd.argoproj.io/compare-options': 'IgnoreExtraneous',
    });
    expect(r.error).toBeUndefined();
    expect(r.warnings).toEqual([]);
    expect(r.options).toMatchObject({
      wave: -2,
      hook: 'PreSync',
      hookDeletePolicies: ['BeforeHookCreation', 'HookSucceeded'],
      prune: false,
      delete: false,
      recreate: true,
      validate: false,
      skipDryRunOnMissingResource: true,
      ignoreExtraneous: true,
    });
  });

  it('reads Flux prune, ssa, force and reconcile', () => {
    expect(read({ 'kustomize.toolkit.fluxcd.io/prune': 'disabled' }).options.prune).toBe(false);
    expect(read({ 'kustomize.toolkit.fluxcd.io/ssa': 'IfNotPresent' }).options.applyPolicy).toBe(
      'IfNotPresent',
    );
    expect(read({ 'kustomize.toolkit.fluxcd.io/ssa': 'Ignore' }).options.applyPolicy).toBe('Ignore');
    expect(read({ 'kustomize.toolkit.fluxcd.io/ssa': 'Merge' }).options.applyPolicy).toBe('Merge');
    expect(read({ 'kustomize.toolkit.fluxcd.io/reconcile': 'disabled' }).options.applyPolicy).toBe('Ignore');
    expect(read({ 'kustomize.toolkit.fluxcd.io/force': 'enabled' }).options.recreate).toBe(true);
  });

  it('maps Helm hooks as Argo CD does, weight as wave', () => {
    const r = read({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': '5',
      'helm.sh/hook-delete-policy': 'hook-succeeded',
    });
    expect(r.error).toBeUndefined();
    expect(r.options).toMatchObject({ hook: 'PreSync', wave: 5, hookDeletePolicies: ['HookSucceeded'] });
    expect(read({ 'helm.sh/hook': 'post-install' }).options.hook).toBe('PostSync');
    // A hook without a policy is replaced on the next sync, as in Argo CD.
    expect(read({ 'helm.sh/hook': 'post-install' }).options.hookDeletePolicies).toEqual([
      'BeforeHookCreation',
    ]);
    const test = read({ 'helm.sh/hook': 'test' });
    expect(test.options.hook).toBe('Skip');
    expect(test.warnings.join('\n')).toMatch(/test/);
  });

  it('an Argo CD hook annotation wins over a Helm one, as in Argo CD', () => {
    const r = read({
      'argocd.argoproj.io/hook': 'Sync',
      'helm.sh/hook': 'pre-install',
      'helm.sh/hook-weight': '3',
    });
    expect(r.error).toBeUndefined();
    expect(r.options.hook).toBe('Sync');
    expect(r.options.wave).toBeUndefined();
  });

  it('agreeing annotations are fine; disagreeing ones are an AnnotationConflict naming both', () => {
    expect(
      read({ 'gitops.libgitops.dev/sync-wave': '2', 'argocd.argoproj.io/sync-wave': '2' }).error,
    ).toBeUndefined();
    const wave = read({ 'gitops.libgitops.dev/sync-wave': '1', 'argocd.argoproj.io/sync-wave': '2' });
    expect(wave.error?.code).toBe(ErrorCodes.AnnotationConflict);
    expect(wave.error?.message).toMatch(/gitops\.libgitops\.dev\/sync-wave.*argocd\.argoproj\.io\/sync-wave/);
    const prune = read({
      'gitops.libgitops.dev/prune': 'true',
      'kustomize.toolkit.fluxcd.io/prune': 'disabled',
    });
    expect(prune.error?.code).toBe(ErrorCodes.AnnotationConflict);
    const apply = read({
      'gitops.libgitops.dev/apply': 'Override',
      'kustomize.toolkit.fluxcd.io/ssa': 'Ignore',
    });
    expect(apply.error?.code).toBe(ErrorCodes.AnnotationConflict);
    const phase = read({
      'gitops.libgitops.dev/sync-phase': 'PostSync',
      'argocd.argoproj.io/hook': 'PreSync',
    });
    expect(phase.error?.code).toBe(ErrorCodes.AnnotationConflict);
  });

  it('bad values are Invalid with the field', () => {
    const r = read({ 'argocd.argoproj.io/sync-wave': 'first' });
    expect(r.error?.code).toBe(ErrorCodes.Invalid);
    expect(r.error?.details.field).toBe('.metadata.annotations.argocd.argoproj.io/sync-wave');
    expect(read({ 'argocd.argoproj.io/hook': 'PreDelete' }).error?.code).toBe(ErrorCodes.Invalid);
    expect(read({ 'kustomize.toolkit.fluxcd.io/ssa': 'Sometimes' }).error?.code).toBe(ErrorCodes.Invalid);
  });

  it('warns about annotations of theirs that are not supported, never in silence', () => {
    const r = read({
      'argocd.argoproj.io/sync-options': 'PruneLast=true,CreateNamespace=true',
      'argocd.argoproj.io/manifest-generate-paths': '.',
      'kustomize.toolkit.fluxcd.io/substitute': 'disabled',
      'argocd.argoproj.io/tracking-id': 'x',
    });
    expect(r.error).toBeUndefined();
    expect(r.warnings).toHaveLength(4);
    expect(r.warnings.join('\n')).toMatch(/PruneLast=true/);
    expect(r.warnings.join('\n')).toMatch(/CreateNamespace=true/);
    expect(r.warnings.join('\n')).toMatch(/manifest-generate-paths/);
    expect(r.warnings.join('\n')).toMatch(/substitute/);
  });
});

describe('planSync with their annotations', () => {
  it('orders by Argo CD waves and rejects only the conflicting object', () => {
    const plan = planSync({
      application: 'app',
      defaultNamespace: 'n',
      isNamespaced: () => true,
      objects: [
        obj({ 'argocd.argoproj.io/sync-wave': '3' }),
        {
          ...obj({ 'argocd.argoproj.io/sync-wave': '-1' }),
          metadata: { name: 'first', annotations: { 'argocd.argoproj.io/sync-wave': '-1' } },
        },
        {
          ...obj({}),
          metadata: {
            name: 'bad',
            annotations: { 'gitops.libgitops.dev/sync-wave': '1', 'argocd.argoproj.io/sync-wave': '2' },
          },
        },
      ],
    });
    expect(plan.objects.map((p) => [p.key.name, p.wave])).toEqual([
      ['first', -1],
      ['c', 3],
    ]);
    expect(plan.rejected.map((r) => [r.key?.name, r.error.code])).toEqual([
      ['bad', ErrorCodes.AnnotationConflict],
    ]);
  });
});
