/**
 * The plan of a sync: every desired object, marked as ours and hashed, in the order it is
 * applied. Order: phase (PreSync, Sync, PostSync), then wave (the sync-wave annotation), then
 * stage, then kind, then namespace and name.
 *
 * Stages, inside one wave, are applied one after the other (objects of a stage in parallel):
 *   0 Namespaces and CRDs, then a wait until the CRDs are Established;
 *   1 what workloads depend on: policies, quotas, service accounts, config, storage, RBAC, *Classes;
 *   2 Services, workloads and every other kind (custom resources included);
 *   3 admission webhooks, admission policies and APIServices, last, as Flux does: a webhook whose
 *     server is not running yet would reject everything applied after it.
 * The kind order inside a stage is gitops-engine's (from Helm), so a plan reads the way Argo CD
 * users expect. A Namespace or CRD is moved to the earliest phase and wave of any object that
 * needs it, whatever its own annotations or file say.
 */
import {
  ErrorCodes,
  GitOpsError,
  deepCopy,
  gvkOf,
  isKubeObject,
  isList,
  isPlainObject,
  keyOf,
  objectKeyToString,
  toGitOpsError,
} from '../runtime/index.js';
import type { GroupKind, KubeObject, ObjectKey } from '../runtime/index.js';
import { desiredHash } from './desired-hash.js';
import { readObjectOptions } from './object-options.js';
import type { ObjectOptions } from './object-options.js';
import {
  APPLICATION_LABEL,
  DESIRED_HASH_ANNOTATION,
  checkApplicationName,
  trackingId,
  TRACKING_ID_ANNOTATION,
} from './marks.js';

export const APPLY_PHASES = ['PreSync', 'Sync', 'PostSync'] as const;
export type ApplyPhase = (typeof APPLY_PHASES)[number];
export type Stage = 0 | 1 | 2 | 3;

export interface PlannedObject {
  /** ObjectKey string: `<group>/<kind>/<namespace>/<name>`. */
  id: string;
  key: ObjectKey;
  /** What will be sent: the input, namespaced, with our label, tracking id and desired hash. */
  object: KubeObject;
  desiredHash: string;
  phase: ApplyPhase;
  wave: number;
  stage: Stage;
  /** Position of the kind in the kind order. */
  kindRank: number;
  /** Position in the input, for messages. */
  index: number;
  /** What its annotations (ours, Argo CD's, Flux's, Helm's) ask for. */
  options: ObjectOptions;
  /** Annotations of other tools it carries that are not acted on. */
  warnings: string[];
}

/** Objects applied together: one stage of one wave of one phase. */
export interface PlanStep {
  phase: ApplyPhase;
  wave: number;
  stage: Stage;
  objects: PlannedObject[];
}

/** An input object that cannot be applied, and why. */
export interface RejectedObject {
  index: number;
  id?: string;
  key?: ObjectKey;
  object: unknown;
  error: GitOpsError;
}

export interface Plan {
  application: string;
  objects: PlannedObject[];
  /** Objects never applied: hooks of the Skip phase (e.g. Helm test hooks). */
  skipped: PlannedObject[];
  /**
   * Hooks (PreSync, Sync, PostSync, SyncFail), in plan order: run in their phase and wave, waited
   * for, never in the inventory and never pruned.
   */
  hooks: PlannedObject[];
  steps: PlanStep[];
  rejected: RejectedObject[];
}

/**
 * One wave of a sync: a phase and sync-wave, its stages in order, then its hooks (SyncFail hooks
 * are in no wave: they run at the end of a sync that failed).
 */
export interface Wave {
  phase: ApplyPhase;
  wave: number;
  /** `<phase>/<wave>`, as messages name it. */
  label: string;
  steps: PlanStep[];
  hooks: PlannedObject[];
}

export interface PlanInput {
  application: string;
  objects: readonly unknown[];
  /** Namespace for namespaced objects that name none. */
  defaultNamespace: string;
  /**
   * Scope of a kind: true (namespaced), false (cluster-scoped) or undefined (unknown; the
   * object then keeps the namespace it has). CRDs in the input are consulted first.
   */
  isNamespaced: (gk: GroupKind) => boolean | undefined;
}

// gitops-engine's order (from Helm), with CRDs moved up beside Namespaces, the *Class kinds that
// admission checks placed with the foundations, and admission configuration last.
const KIND_ORDER = [
  'Namespace',
  'CustomResourceDefinition',
  'NetworkPolicy',
  'ResourceQuota',
  'LimitRange',
  'PodSecurityPolicy',
  'PodDisruptionBudget',
  'PriorityClass',
  'RuntimeClass',
  'ServiceAccount',
  'Secret',
  'SecretList',
  'ConfigMap',
  'StorageClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'ClusterRole',
  'ClusterRoleList',
  'ClusterRoleBinding',
  'ClusterRoleBindingList',
  'Role',
  'RoleList',
  'RoleBinding',
  'RoleBindingList',
  'IngressClass',
  'Service',
  'DaemonSet',
  'Pod',
  'ReplicationController',
  'ReplicaSet',
  'Deployment',
  'HorizontalPodAutoscaler',
  'StatefulSet',
  'Job',
  'CronJob',
  'Ingress',
];
const LAST_KINDS = [
  'APIService',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'MutatingAdmissionPolicy',
  'MutatingAdmissionPolicyBinding',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
];
const STAGE_ZERO = new Set(['/Namespace', 'apiextensions.k8s.io/CustomResourceDefinition']);
const STAGE_ONE_KINDS = new Set(KIND_ORDER.slice(2, KIND_ORDER.indexOf('Service')));
const UNKNOWN_RANK = KIND_ORDER.length;

/** Rank of a kind in the kind order: built-in kinds first, other kinds after, admission last. */
export function kindRank(kind: string): number {
  const last = LAST_KINDS.indexOf(kind);
  if (last >= 0) return UNKNOWN_RANK + 1 + last;
  const i = KIND_ORDER.indexOf(kind);
  return i >= 0 ? i : UNKNOWN_RANK;
}

/** The stage of a kind (see the file comment). */
export function stageOf(gk: GroupKind): Stage {
  if (STAGE_ZERO.has(`${gk.group}/${gk.kind}`)) return 0;
  if (LAST_KINDS.includes(gk.kind)) return 3;
  if (STAGE_ONE_KINDS.has(gk.kind)) return 1;
  return 2;
}

export function isCustomResourceDefinition(gk: GroupKind): boolean {
  return gk.group === 'apiextensions.k8s.io' && gk.kind === 'CustomResourceDefinition';
}

export function isNamespaceKind(gk: GroupKind): boolean {
  return gk.group === '' && gk.kind === 'Namespace';
}

/** Builds the plan; never throws for a bad object (it is rejected, with the reason). */
export function planSync(input: PlanInput): Plan {
  checkApplicationName(input.application);
  const rejected: RejectedObject[] = [];
  const flat = flatten(input.objects, rejected);
  const crdScopes = new Map<string, boolean>();
  for (const { object } of flat) {
    const crd = crdKindOf(object);
    if (crd !== undefined) crdScopes.set(`${crd.group}/${crd.kind}`, crd.namespaced);
  }
  const scopeOf = (gk: GroupKind): boolean | undefined =>
    crdScopes.get(`${gk.group}/${gk.kind}`) ?? input.isNamespaced(gk);

  const candidates: PlannedObject[] = [];
  for (const { object, index } of flat) {
    try {
      candidates.push(planObject(object, index, input, scopeOf));
    } catch (err) {
      rejected.push({ index, object, error: toGitOpsError(err), ...identify(object) });
    }
  }

  // The same object twice: neither copy is applied, since either could be the wrong one.
  const byId = new Map<string, PlannedObject[]>();
  for (const p of candidates) byId.set(p.id, [...(byId.get(p.id) ?? []), p]);
  const objects: PlannedObject[] = [];
  const skipped: PlannedObject[] = [];
  const hooks: PlannedObject[] = [];
  for (const [id, copies] of byId) {
    if (copies.length === 1) {
      const hook = copies[0]!.options.hook;
      (hook === 'Skip' ? skipped : hook !== undefined ? hooks : objects).push(copies[0]!);
      continue;
    }
    for (const copy of copies) {
      rejected.push({
        index: copy.index,
        id,
        key: copy.key,
        object: copy.object,
        error: new GitOpsError(
          ErrorCodes.Ambiguous,
          `${id} is defined ${copies.length} times in the input (objects ${copies.map((c) => c.index).join(', ')}); ` +
            'keep one definition',
          { details: { object: id } },
        ),
      });
    }
  }

  moveDependenciesForward(objects);
  objects.sort(compareByOrder);
  hooks.sort(compareByOrder);
  return { application: input.application, objects, skipped, hooks, steps: stepsOf(objects), rejected };
}

/** The waves of a plan in the order they are synced: phase, then wave. */
export function wavesOf(plan: Pick<Plan, 'steps' | 'hooks'>): Wave[] {
  const waves = new Map<string, Wave>();
  const waveOf = (phase: ApplyPhase, wave: number): Wave => {
    const label = `${phase}/${wave}`;
    let found = waves.get(label);
    if (found === undefined) waves.set(label, (found = { phase, wave, label, steps: [], hooks: [] }));
    return found;
  };
  for (const step of plan.steps) waveOf(step.phase, step.wave).steps.push(step);
  for (const hook of plan.hooks)
    if (hook.options.hook !== 'SyncFail') waveOf(hook.phase, hook.wave).hooks.push(hook);
  return [...waves.values()].sort(
    (a, b) => APPLY_PHASES.indexOf(a.phase) - APPLY_PHASES.indexOf(b.phase) || a.wave - b.wave,
  );
}

/** Sort order of the plan: phase, wave, stage, kind, namespace, name. */
export function compareByOrder(a: PlannedObject, b: PlannedObject): number {
  return (
    APPLY_PHASES.indexOf(a.phase) - APPLY_PHASES.indexOf(b.phase) ||
    a.wave - b.wave ||
    a.stage - b.stage ||
    a.kindRank - b.kindRank ||
    compareText(a.key.kind, b.key.kind) ||
    compareText(a.key.group, b.key.group) ||
    compareText(a.key.namespace ?? '', b.key.namespace ?? '') ||
    compareText(a.key.name, b.key.name)
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function stepsOf(objects: PlannedObject[]): PlanStep[] {
  const steps: PlanStep[] = [];
  for (const object of objects) {
    const last = steps[steps.length - 1];
    if (
      last !== undefined &&
      last.phase === object.phase &&
      last.wave === object.wave &&
      last.stage === object.stage
    ) {
      last.objects.push(object);
    } else {
      steps.push({ phase: object.phase, wave: object.wave, stage: object.stage, objects: [object] });
    }
  }
  return steps;
}

function flatten(
  objects: readonly unknown[],
  rejected: RejectedObject[],
): Array<{ object: unknown; index: number }> {
  const out: Array<{ object: unknown; index: number }> = [];
  objects.forEach((object, index) => {
    if (isList(object)) {
      for (const item of object.items) out.push({ object: item, index });
    } else if (isKubeObject(object) || isPlainObject(object)) {
      out.push({ object, index });
    } else {
      rejected.push({
        index,
        object,
        error: new GitOpsError(ErrorCodes.NotAnObject, `input ${index} is not a Kubernetes object`),
      });
    }
  });
  return out;
}

function planObject(
  input: unknown,
  index: number,
  plan: PlanInput,
  scopeOf: (gk: GroupKind) => boolean | undefined,
): PlannedObject {
  if (!isKubeObject(input)) {
    // Names the missing field (apiVersion, kind or metadata).
    gvkOf(input);
    throw new GitOpsError(ErrorCodes.NotAnObject, 'the object has no metadata map', {
      details: { field: '.metadata' },
    });
  }
  const gvk = gvkOf(input);
  const object = deepCopy(input);
  placeInNamespace(object, scopeOf(gvk), plan.defaultNamespace);
  const { key, generated } = keyOfPlanned(object);
  const id = objectKeyToString(key);
  const read = readObjectOptions(object, id);
  if (read.error !== undefined) throw read.error;
  if (generated && (read.options.hook === undefined || read.options.hook === 'Skip')) {
    throw new GitOpsError(
      ErrorCodes.MissingName,
      `${id}: metadata.generateName is allowed on hooks only (a new object each sync); give it a metadata.name`,
      { details: { object: id, field: '.metadata.name' } },
    );
  }
  return {
    id,
    key,
    object,
    desiredHash: markAsOurs(object, plan.application, id),
    phase: phaseOf(read.options),
    wave: read.options.wave ?? 0,
    stage: stageOf(gvk),
    kindRank: kindRank(gvk.kind),
    index,
    options: read.options,
    warnings: read.warnings,
  };
}

/** Drops the server's own fields and sets (or drops) the namespace as the kind's scope says. */
function placeInNamespace(
  object: KubeObject,
  namespaced: boolean | undefined,
  defaultNamespace: string,
): void {
  const metadata = object.metadata;
  for (const field of ['resourceVersion', 'uid', 'managedFields', 'selfLink', 'generation'] as const) {
    delete metadata[field];
  }
  if (namespaced === true && (metadata.namespace === undefined || metadata.namespace === '')) {
    metadata.namespace = defaultNamespace;
  } else if (namespaced === false) {
    delete metadata.namespace;
  }
}

/** The object's key; a hook may have generateName (a new object each run): its key then names the prefix. */
function keyOfPlanned(object: KubeObject): { key: ObjectKey; generated: boolean } {
  const metadata = object.metadata;
  const generated =
    (metadata.name === undefined || metadata.name === '') &&
    typeof metadata.generateName === 'string' &&
    metadata.generateName !== '';
  const key = keyOf(
    generated ? { ...object, metadata: { ...metadata, name: metadata.generateName } } : object,
  );
  return { key, generated };
}

/** The apply phase: a hook's own, SyncFail hooks with PostSync, other objects as annotated. */
function phaseOf(options: ObjectOptions): ApplyPhase {
  const hook = options.hook;
  if (hook === 'PreSync' || hook === 'Sync' || hook === 'PostSync') return hook;
  return hook === 'SyncFail' ? 'PostSync' : (options.phase ?? 'Sync');
}

/** Adds our label, tracking id and desired hash to `object`; returns the hash. */
function markAsOurs(object: KubeObject, application: string, id: string): string {
  const metadata = object.metadata;
  const annotations = { ...(metadata.annotations ?? {}) };
  metadata.labels = { ...(metadata.labels ?? {}), [APPLICATION_LABEL]: application };
  delete annotations[DESIRED_HASH_ANNOTATION];
  annotations[TRACKING_ID_ANNOTATION] = trackingId(application, id);
  metadata.annotations = annotations;
  const hash = desiredHash(object);
  metadata.annotations = { ...annotations, [DESIRED_HASH_ANNOTATION]: hash };
  return hash;
}

/** A CRD's group, kind and scope, if `object` is a CRD. */
export function crdKindOf(object: unknown): (GroupKind & { namespaced: boolean }) | undefined {
  if (!isPlainObject(object) || object.kind !== 'CustomResourceDefinition') return undefined;
  if (typeof object.apiVersion !== 'string' || !object.apiVersion.startsWith('apiextensions.k8s.io/'))
    return undefined;
  const spec = isPlainObject(object.spec) ? object.spec : {};
  const names = isPlainObject(spec.names) ? spec.names : {};
  if (typeof spec.group !== 'string' || typeof names.kind !== 'string') return undefined;
  return { group: spec.group, kind: names.kind, namespaced: spec.scope !== 'Cluster' };
}

/** Namespaces and CRDs go no later than the first object that needs them. */
function moveDependenciesForward(objects: PlannedObject[]): void {
  const providers = new Map<string, PlannedObject>();
  for (const p of objects) {
    if (isNamespaceKind(p.key)) providers.set(`ns:${p.key.name}`, p);
    const crd = crdKindOf(p.object);
    if (crd !== undefined) providers.set(`kind:${crd.group}/${crd.kind}`, p);
  }
  if (providers.size === 0) return;
  for (const p of objects) {
    const needs = [`kind:${p.key.group}/${p.key.kind}`];
    if (p.key.namespace !== undefined) needs.push(`ns:${p.key.namespace}`);
    for (const need of needs) {
      const provider = providers.get(need);
      if (provider === undefined || provider === p) continue;
      if (
        APPLY_PHASES.indexOf(p.phase) < APPLY_PHASES.indexOf(provider.phase) ||
        (p.phase === provider.phase && p.wave < provider.wave)
      ) {
        provider.phase = p.phase;
        provider.wave = p.wave;
      }
    }
  }
}

function identify(object: unknown): { id?: string; key?: ObjectKey } {
  try {
    const key = keyOf(object);
    return { id: objectKeyToString(key), key };
  } catch {
    return {};
  }
}
