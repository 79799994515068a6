/**
 * Per-object sync options, read in one place from our own annotations and from those of Argo CD,
 * Flux and Helm, so a repository written for either tool syncs here the way it does there.
 * Ours and theirs may both be set: when they disagree on one object, the object fails with
 * AnnotationConflict (a silent winner would change behaviour without a word). An annotation of
 * theirs that we do not support becomes a warning on the object. docs/argo-flux.md has the table.
 */
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import type { KubeObject } from '../runtime/index.js';
import { MARK_PREFIX, PRUNE_ANNOTATION, SYNC_PHASE_ANNOTATION, SYNC_WAVE_ANNOTATION } from './marks.js';

export const ARGO_PREFIX = 'argocd.argoproj.io/';
export const FLUX_PREFIX = 'kustomize.toolkit.fluxcd.io/';
export const HELM_PREFIX = 'helm.sh/';

/** Annotation set by users: the object is a hook of this phase (PreSync, Sync, PostSync, SyncFail, Skip). */
export const HOOK_ANNOTATION = `${MARK_PREFIX}hook`;
/** Annotation set by users: when a hook is deleted (HookSucceeded, HookFailed, BeforeHookCreation). */
export const HOOK_DELETE_POLICY_ANNOTATION = `${MARK_PREFIX}hook-delete-policy`;
/** Annotation set by users: how the object is applied (Override, Merge, IfNotPresent, Ignore). */
export const APPLY_POLICY_ANNOTATION = `${MARK_PREFIX}apply`;

export const HOOK_PHASES = ['PreSync', 'Sync', 'PostSync', 'SyncFail', 'Skip'] as const;
export type HookPhase = (typeof HOOK_PHASES)[number];
export const HOOK_DELETE_POLICIES = ['HookSucceeded', 'HookFailed', 'BeforeHookCreation'] as const;
export type HookDeletePolicy = (typeof HOOK_DELETE_POLICIES)[number];
/**
 * Override: server-side apply taking every field (the default); Merge: apply without taking
 * fields other managers own; IfNotPresent: create when missing, never update; Ignore: never
 * apply nor prune.
 */
export type ApplyPolicy = 'Override' | 'Merge' | 'IfNotPresent' | 'Ignore';

export interface ObjectOptions {
  /** The object's wave, when an annotation names one. */
  wave?: number;
  /** `PreSync`/`Sync`/`PostSync` of our sync-phase annotation (ordering only, not a hook). */
  phase?: 'PreSync' | 'Sync' | 'PostSync';
  /** Set when the object is a hook. */
  hook?: HookPhase;
  /** Hook delete policies (BeforeHookCreation when a hook names none, as Argo CD does). */
  hookDeletePolicies: HookDeletePolicy[];
  /** False: never pruned (ours `prune: false`, Argo CD `Prune=false`, Flux `prune: disabled`). */
  prune: boolean;
  /** False: kept when its application is deleted (Argo CD `Delete=false`). */
  delete: boolean;
  /** Argo CD `Replace=true` / Flux `force: enabled`: re-create the object when an apply is refused as immutable. */
  recreate: boolean;
  applyPolicy: ApplyPolicy;
  /** Argo CD `Validate=false`: the server ignores unknown fields instead of refusing them. */
  validate: boolean;
  /** Argo CD `SkipDryRunOnMissingResource=true`: a dry-run of a kind not served yet is not an error. */
  skipDryRunOnMissingResource: boolean;
  /** Argo CD `compare-options: IgnoreExtraneous`. */
  ignoreExtraneous: boolean;
}

export interface ReadOptionsResult {
  options: ObjectOptions;
  /** Annotations of Argo CD, Flux or Helm that we read but do not act on, one line each. */
  warnings: string[];
  /** AnnotationConflict or Invalid: the object cannot be synced as its annotations say. */
  error?: GitOpsError;
}

export function defaultObjectOptions(): ObjectOptions {
  return {
    hookDeletePolicies: [],
    prune: true,
    delete: true,
    recreate: false,
    applyPolicy: 'Override',
    validate: true,
    skipDryRunOnMissingResource: false,
    ignoreExtraneous: false,
  };
}

/** One value of an option, and the annotation it came from. */
interface Source<T> {
  value: T;
  annotation: string;
  raw: string;
}

class Reader {
  readonly warnings: string[] = [];
  readonly problems: GitOpsError[] = [];
  constructor(
    readonly id: string,
    readonly annotations: Readonly<Record<string, string>>,
  ) {}

  invalid(annotation: string, raw: string, expected: string): void {
    this.problems.push(
      new GitOpsError(
        ErrorCodes.Invalid,
        `${this.id}: annotation ${annotation} is ${JSON.stringify(raw)}; ${expected}`,
        { details: { object: this.id, field: `.metadata.annotations.${annotation}` } },
      ),
    );
  }

  /** The one value several annotations agree on; AnnotationConflict when two differ. */
  agree<T>(what: string, sources: Array<Source<T> | undefined>): T | undefined {
    const given = sources.filter((s): s is Source<T> => s !== undefined);
    const first = given[0];
    if (first === undefined) return undefined;
    const other = given.find((s) => JSON.stringify(s.value) !== JSON.stringify(first.value));
    if (other !== undefined) {
      this.problems.push(
        new GitOpsError(
          ErrorCodes.AnnotationConflict,
          `${this.id}: annotations disagree on its ${what}: ${first.annotation}=${JSON.stringify(first.raw)} ` +
            `but ${other.annotation}=${JSON.stringify(other.raw)}; keep one of them`,
          {
            details: {
              object: this.id,
              field: `.metadata.annotations.${other.annotation}`,
              annotations: [first.annotation, other.annotation],
            },
          },
        ),
      );
    }
    return first.value;
  }

  read<T>(
    annotation: string,
    parse: (raw: string) => T | undefined,
    expected: string,
  ): Source<T> | undefined {
    const raw = this.annotations[annotation];
    if (raw === undefined) return undefined;
    const value = parse(raw.trim());
    if (value === undefined) {
      this.invalid(annotation, raw, expected);
      return undefined;
    }
    return { value, annotation, raw };
  }
}

const KNOWN_ARGO = new Set(
  ['sync-wave', 'hook', 'hook-delete-policy', 'sync-options', 'compare-options'].map((s) => ARGO_PREFIX + s),
);
const KNOWN_FLUX = new Set(['prune', 'ssa', 'force', 'reconcile'].map((s) => FLUX_PREFIX + s));
const KNOWN_HELM = new Set(
  ['hook', 'hook-weight', 'hook-delete-policy', 'resource-policy'].map((s) => HELM_PREFIX + s),
);
// Argo CD and Flux write these themselves; on a manifest they change nothing there either.
const BOOKKEEPING = new Set([
  `${ARGO_PREFIX}tracking-id`,
  `${ARGO_PREFIX}instance`,
  `${FLUX_PREFIX}checksum`,
  `${FLUX_PREFIX}name`,
  `${FLUX_PREFIX}namespace`,
]);

/** Reads every option of `object` (`id` names it in messages). Never throws. */
export function readObjectOptions(object: KubeObject, id: string): ReadOptionsResult {
  const annotations = object.metadata?.annotations ?? {};
  const r = new Reader(id, annotations);
  const options = defaultObjectOptions();

  const integer = (raw: string): number | undefined => (/^[+-]?\d{1,9}$/.test(raw) ? Number(raw) : undefined);
  const waveSources: Array<Source<number> | undefined> = [
    r.read(SYNC_WAVE_ANNOTATION, integer, 'it must be an integer such as "-1" or "2"'),
    r.read(`${ARGO_PREFIX}sync-wave`, integer, 'it must be an integer such as "-1" or "2"'),
  ];

  const phase = r.read(
    SYNC_PHASE_ANNOTATION,
    (raw) => (['PreSync', 'Sync', 'PostSync'] as const).find((p) => p.toLowerCase() === raw.toLowerCase()),
    'use PreSync, Sync or PostSync',
  );
  if (phase !== undefined) options.phase = phase.value;

  // Hooks: ours, Argo CD's, and Helm's (mapped as Argo CD maps them, Argo CD's winning over Helm's there).
  const hookList = (raw: string): HookPhase[] | undefined => {
    const parts = splitList(raw);
    const phases = parts.map((p) => HOOK_PHASES.find((h) => h.toLowerCase() === p.toLowerCase()));
    return parts.length > 0 && phases.every((p) => p !== undefined) ? (phases as HookPhase[]) : undefined;
  };
  const hookExpected = `use ${HOOK_PHASES.join(', ')}`;
  const ourHook = r.read(HOOK_ANNOTATION, hookList, hookExpected);
  const argoHook = r.read(`${ARGO_PREFIX}hook`, hookList, hookExpected);
  const helmHook = argoHook === undefined ? readHelmHook(r) : undefined;
  const hooks = r.agree('hook phase', [ourHook, argoHook, helmHook]);
  if (hooks !== undefined) {
    if (hooks.length > 1) {
      r.warnings.push(
        `${hooks.join(',')}: a hook of several phases runs here in its first one only (${hooks[0]})`,
      );
    }
    options.hook = hooks[0];
  }
  if (options.hook !== undefined && options.phase !== undefined && options.phase !== options.hook) {
    r.agree('phase', [
      { value: options.phase, annotation: SYNC_PHASE_ANNOTATION, raw: options.phase },
      { value: options.hook, annotation: (ourHook ?? argoHook ?? helmHook)!.annotation, raw: options.hook },
    ]);
  }

  const helmWeight =
    options.hook !== undefined && argoHook === undefined
      ? r.read(`${HELM_PREFIX}hook-weight`, integer, 'it must be an integer such as "-5" or "5"')
      : undefined;
  options.wave = r.agree('wave', [...waveSources, helmWeight]);

  const policyList = (raw: string): HookDeletePolicy[] | undefined => {
    const parts = splitList(raw).map((p) => HELM_DELETE_POLICIES[p] ?? p);
    const found = parts.map((p) => HOOK_DELETE_POLICIES.find((h) => h.toLowerCase() === p.toLowerCase()));
    return parts.length > 0 && found.every((p) => p !== undefined)
      ? [...new Set(found as HookDeletePolicy[])].sort()
      : undefined;
  };
  const policyExpected = `use ${HOOK_DELETE_POLICIES.join(', ')} (comma-separated)`;
  const policies = r.agree('hook delete policy', [
    r.read(HOOK_DELETE_POLICY_ANNOTATION, policyList, policyExpected),
    r.read(`${ARGO_PREFIX}hook-delete-policy`, policyList, policyExpected),
    argoHook === undefined
      ? r.read(
          `${HELM_PREFIX}hook-delete-policy`,
          policyList,
          'use hook-succeeded, hook-failed, before-hook-creation',
        )
      : undefined,
  ]);
  if (options.hook !== undefined) options.hookDeletePolicies = policies ?? ['BeforeHookCreation'];

  // Prune opt-outs.
  const ourPrune = r.read(
    PRUNE_ANNOTATION,
    (raw) =>
      ({ false: false, disabled: false, true: true, enabled: true })[raw.toLowerCase()] as
        boolean | undefined,
    'use "false" to keep it when it leaves the input',
  );
  const fluxPrune = r.read(
    `${FLUX_PREFIX}prune`,
    (raw) => ({ disabled: false, enabled: true })[raw.toLowerCase()] as boolean | undefined,
    'use "disabled"',
  );

  // Argo CD sync-options: a comma-separated list of Name=value.
  const syncOptions = readArgoSyncOptions(r);
  options.prune = r.agree('pruning', [ourPrune, syncOptions.prune, fluxPrune]) ?? true;
  if (syncOptions.delete !== undefined) options.delete = syncOptions.delete.value;
  if (syncOptions.validate !== undefined) options.validate = syncOptions.validate.value;
  if (syncOptions.skipDryRun !== undefined)
    options.skipDryRunOnMissingResource = syncOptions.skipDryRun.value;

  const fluxForce = r.read(
    `${FLUX_PREFIX}force`,
    (raw) => ({ enabled: true, disabled: false })[raw.toLowerCase()] as boolean | undefined,
    'use "enabled" or "disabled"',
  );
  options.recreate = r.agree('re-creation', [syncOptions.replace, fluxForce]) ?? false;

  const policy = (raw: string): ApplyPolicy | undefined =>
    (['Override', 'Merge', 'IfNotPresent', 'Ignore'] as const).find(
      (p) => p.toLowerCase() === raw.toLowerCase(),
    );
  const fluxReconcile = r.read(
    `${FLUX_PREFIX}reconcile`,
    (raw) => ({ disabled: 'Ignore', enabled: 'Override' })[raw.toLowerCase()] as ApplyPolicy | undefined,
    'use "disabled" or "enabled"',
  );
  options.applyPolicy =
    r.agree('apply policy', [
      r.read(APPLY_POLICY_ANNOTATION, policy, 'use Override, Merge, IfNotPresent or Ignore'),
      r.read(`${FLUX_PREFIX}ssa`, policy, 'use Override, Merge, IfNotPresent or Ignore'),
      fluxReconcile?.value === 'Ignore' ? fluxReconcile : undefined,
    ]) ?? 'Override';

  const compare = annotations[`${ARGO_PREFIX}compare-options`];
  if (compare !== undefined) {
    for (const part of splitList(compare)) {
      if (part === 'IgnoreExtraneous') options.ignoreExtraneous = true;
      else r.warnings.push(`${ARGO_PREFIX}compare-options ${part} is not supported here and is ignored`);
    }
  }

  for (const name of Object.keys(annotations).sort()) {
    const theirs =
      (name.startsWith(ARGO_PREFIX) && !KNOWN_ARGO.has(name)) ||
      (name.startsWith(FLUX_PREFIX) && !KNOWN_FLUX.has(name)) ||
      (name.startsWith(HELM_PREFIX) && !KNOWN_HELM.has(name));
    if (theirs && !BOOKKEEPING.has(name)) {
      r.warnings.push(`annotation ${name} is not supported here and is ignored`);
    }
  }
  if (annotations[`${HELM_PREFIX}resource-policy`] !== undefined) {
    if (annotations[`${HELM_PREFIX}resource-policy`]!.trim() === 'keep') options.prune = false;
    else
      r.warnings.push(
        `${HELM_PREFIX}resource-policy ${annotations[`${HELM_PREFIX}resource-policy`]} is not supported here`,
      );
  }

  const result: ReadOptionsResult = { options, warnings: r.warnings };
  const first = r.problems[0];
  if (first !== undefined) {
    result.error =
      r.problems.length === 1
        ? first
        : new GitOpsError(first.code, r.problems.map((p) => p.message).join('; '), {
            details: first.details,
            causes: r.problems,
          });
  }
  return result;
}

const HELM_DELETE_POLICIES: Record<string, HookDeletePolicy> = {
  'hook-succeeded': 'HookSucceeded',
  'hook-failed': 'HookFailed',
  'before-hook-creation': 'BeforeHookCreation',
};

// Argo CD's mapping of Helm hooks; hooks of other Helm events (delete, rollback, test) do not
// run on a sync there either, so the object is skipped, with a warning.
const HELM_HOOKS: Record<string, HookPhase> = {
  'pre-install': 'PreSync',
  'pre-upgrade': 'PreSync',
  'post-install': 'PostSync',
  'post-upgrade': 'PostSync',
  'crd-install': 'PreSync',
};

function readHelmHook(r: Reader): Source<HookPhase[]> | undefined {
  const annotation = `${HELM_PREFIX}hook`;
  const raw = r.annotations[annotation];
  if (raw === undefined) return undefined;
  const phases = new Set<HookPhase>();
  const others: string[] = [];
  for (const part of splitList(raw)) {
    const phase = HELM_HOOKS[part.toLowerCase()];
    if (phase !== undefined) phases.add(phase);
    else others.push(part);
  }
  if (others.length > 0) {
    r.warnings.push(
      `${annotation} ${others.join(',')}: Helm hooks of delete, rollback and test do not run on a sync` +
        (phases.size === 0 ? '; the object is skipped' : ''),
    );
  }
  return { value: phases.size === 0 ? ['Skip'] : [...phases], annotation, raw };
}

interface ArgoSyncOptions {
  prune?: Source<boolean>;
  delete?: Source<boolean>;
  replace?: Source<boolean>;
  validate?: Source<boolean>;
  skipDryRun?: Source<boolean>;
}

function readArgoSyncOptions(r: Reader): ArgoSyncOptions {
  const annotation = `${ARGO_PREFIX}sync-options`;
  const raw = r.annotations[annotation];
  const out: ArgoSyncOptions = {};
  if (raw === undefined) return out;
  for (const part of splitList(raw)) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq).trim();
    const value =
      eq < 0
        ? ''
        : part
            .slice(eq + 1)
            .trim()
            .toLowerCase();
    const bool = value === 'true' ? true : value === 'false' ? false : undefined;
    const source = (v: boolean): Source<boolean> => ({ value: v, annotation, raw: part });
    if (bool === undefined) {
      r.warnings.push(`${annotation} ${part} is not supported here and is ignored`);
      continue;
    }
    switch (name) {
      case 'Prune':
        out.prune = source(bool);
        break;
      case 'Delete':
        out.delete = source(bool);
        break;
      case 'Replace':
        out.replace = source(bool);
        break;
      case 'Validate':
        out.validate = source(bool);
        break;
      case 'SkipDryRunOnMissingResource':
        out.skipDryRun = source(bool);
        break;
      case 'ServerSideApply':
        // Every apply here is server-side: true changes nothing, false cannot be honoured.
        if (!bool)
          r.warnings.push(`${annotation} ServerSideApply=false: objects are always applied server-side here`);
        break;
      default:
        r.warnings.push(`${annotation} ${part} is not supported here and is ignored`);
    }
  }
  return out;
}

function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
