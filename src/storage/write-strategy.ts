/**
 * The create and update strategy of the object storage, as pure functions (the same input
 * gives the same output; nothing is read, written or drawn at random here): what create fills
 * in, what an update or a patch may change, the resourceVersion precondition, validation
 * against the scheme, and how a computed object is written back (its resourceVersion as the
 * file has it). The storage calls them under the file's lock; tests call them directly.
 */
import {
  deepCopy,
  deepEqual,
  ErrorCodes,
  GitOpsError,
  gvkOf,
  isKubeObject,
  isPlainObject,
  keyOf,
  objectKeyToString,
  validateUnstructured,
} from '../runtime/index.js';
import type { KubeObject, ObjectKey, Scheme } from '../runtime/index.js';
import { applyPatch } from '../patch/index.js';
import type { Patch } from '../patch/index.js';
import { badObject, conflict, describeKey } from './object-errors.js';

/** What the strategy follows: the storage's options. */
export interface WritePolicy {
  /** Kinds, schemas and scopes; without one, objects are checked as unstructured. */
  readonly scheme: Scheme | undefined;
  /** Refuse unknown fields. */
  readonly strict: boolean;
  /** The status subresource of kinds that declare one. */
  readonly statusSubresource: boolean;
}

/** The values create stamps on a new object (drawn by the caller, so the strategy stays pure). */
export interface CreateStamp {
  readonly uid: string;
  /** RFC 3339 in seconds, as Kubernetes writes timestamps. */
  readonly creationTimestamp: string;
}

// Letters Kubernetes uses for generateName suffixes (no vowels, no look-alikes).
const NAME_SUFFIX_LETTERS = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * A checked copy of a new object with what create fills in: no resourceVersion, the namespace
 * of a namespaced kind (`default`), the stamp (when given) where the object has none, and no
 * status when the kind has a status subresource.
 */
export function prepareForCreate(
  obj: KubeObject,
  policy: WritePolicy,
  stamp: CreateStamp | undefined,
): KubeObject {
  if (!isPlainObject(obj) || !isPlainObject(obj.metadata)) throw badObject();
  const desired = deepCopy(obj) as KubeObject;
  const meta = desired.metadata;
  if (meta.resourceVersion !== undefined && meta.resourceVersion !== '') {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      '.metadata.resourceVersion: must not be set when creating an object',
      {
        details: { field: '.metadata.resourceVersion' },
      },
    );
  }
  delete meta.resourceVersion;
  const gvk = gvkOf(desired);
  const namespaced = policy.scheme?.isNamespaced(gvk);
  if (namespaced === true && (meta.namespace === undefined || meta.namespace === ''))
    meta.namespace = 'default';
  if (namespaced === false && meta.namespace !== undefined && meta.namespace !== '') {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      `.metadata.namespace: ${gvk.kind} is cluster-scoped, so it has no namespace; remove "${meta.namespace}"`,
      { details: { field: '.metadata.namespace' } },
    );
  }
  if (stamp !== undefined) {
    meta.uid ??= stamp.uid;
    if (meta.creationTimestamp === undefined || meta.creationTimestamp === null)
      meta.creationTimestamp = stamp.creationTimestamp;
    meta.generation ??= 1;
  }
  if (hasStatusSubresource(desired, policy)) delete desired.status;
  return desired;
}

/** True when the object has no name but a generateName to make one from. */
export function nameIsGenerated(obj: KubeObject): boolean {
  const { name, generateName } = obj.metadata;
  return (name === undefined || name === '') && typeof generateName === 'string' && generateName !== '';
}

/** A five-letter suffix for generateName, from `random` (values in [0, 1), as Math.random gives). */
export function nameSuffix(random: () => number): string {
  let out = '';
  for (let i = 0; i < 5; i += 1)
    out += NAME_SUFFIX_LETTERS[Math.floor(random() * NAME_SUFFIX_LETTERS.length)];
  return out;
}

/** Whether writes of `obj` follow the status subresource rules. */
export function hasStatusSubresource(obj: KubeObject, policy: WritePolicy): boolean {
  if (!policy.statusSubresource || policy.scheme === undefined) return false;
  try {
    return policy.scheme.lookup(gvkOf(obj))?.subresources?.status === true;
  } catch {
    return false;
  }
}

/** Throws Invalid (naming the object and the first problem) when the scheme refuses `obj`. */
export function validateObject(obj: KubeObject, policy: WritePolicy): void {
  const problems =
    policy.scheme !== undefined
      ? policy.scheme.validate(obj, { strict: policy.strict })
      : validateUnstructured(obj, { strict: policy.strict });
  if (problems.length === 0) return;
  const first = problems[0]!;
  const name = (() => {
    try {
      return describeKey(keyOf(obj));
    } catch {
      return 'the object';
    }
  })();
  throw new GitOpsError(
    ErrorCodes.Invalid,
    `${name} is invalid: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : ''}`,
    { details: first.details, causes: problems },
  );
}

/**
 * The precondition of update and patch: a given resourceVersion (not empty) must be the
 * current one; Conflict otherwise. Without one the write is unconditional.
 */
export function checkResourceVersion(key: ObjectKey, expected: string | undefined, actual: string): void {
  if (expected !== undefined && expected !== '' && expected !== actual) throw conflict(key, expected, actual);
}

/** The precondition of delete: a given resourceVersion (even empty) must be the current one. */
export function checkDeleteVersion(key: ObjectKey, expected: string | undefined, actual: string): void {
  if (expected !== undefined && expected !== actual) throw conflict(key, expected, actual);
}

/**
 * What an update writes: `desired` with what it may not change taken from `current` (the
 * object on disk, with its resourceVersion): status or everything but status under the
 * status subresource, uid and creationTimestamp, the version the file is written in; and the
 * generation, counted up when anything but metadata and status changed.
 */
export function prepareForUpdate(
  current: KubeObject,
  desired: KubeObject,
  subresource: 'status' | undefined,
  policy: WritePolicy,
): KubeObject {
  if (!isKubeObject(desired)) throw badObject();
  let next = desired;
  if (subresource === 'status' && !hasStatusSubresource(current, policy)) {
    throw new GitOpsError(
      ErrorCodes.BadRequest,
      `${current.kind} has no status subresource here (it needs statusSubresource and a scheme kind with subresources.status)`,
    );
  }
  const scheme = policy.scheme;
  if (
    scheme !== undefined &&
    next.apiVersion !== current.apiVersion &&
    scheme.has(gvkOf(next)) &&
    scheme.has(gvkOf(current))
  ) {
    // Written in the version the file already uses, so the file keeps its apiVersion.
    next = scheme.convert(next, current.apiVersion);
  }
  if (subresource === 'status') {
    next = { ...deepCopy(current), status: next.status };
    if (next.status === undefined) delete next.status;
  } else if (hasStatusSubresource(current, policy)) {
    next = { ...next };
    if (current.status === undefined) delete next.status;
    else next.status = deepCopy(current.status);
  }
  const meta = { ...next.metadata };
  next = { ...next, metadata: meta };
  for (const field of ['uid', 'creationTimestamp'] as const) {
    const was = current.metadata[field];
    if (meta[field] === undefined) {
      if (was !== undefined) (meta as Record<string, unknown>)[field] = was;
    } else if (was !== undefined && meta[field] !== was) {
      throw new GitOpsError(
        ErrorCodes.Invalid,
        `.metadata.${field}: field is immutable (it is ${JSON.stringify(was)})`,
        {
          details: { field: `.metadata.${field}` },
        },
      );
    }
  }
  // generation counts changes of anything but metadata and status, for objects that keep one.
  if (
    typeof current.metadata.generation === 'number' &&
    !deepEqual(withoutMetaAndStatus(current), withoutMetaAndStatus(next))
  ) {
    meta.generation = current.metadata.generation + 1;
  } else if (current.metadata.generation !== undefined) {
    meta.generation = current.metadata.generation;
  }
  return next;
}

/**
 * What a patch writes: `patch` applied to `current`, which must stay an object of the same key
 * (a resourceVersion the patch writes is a precondition, as in Kubernetes), then the update
 * rules of prepareForUpdate.
 */
export function prepareForPatch(
  key: ObjectKey,
  current: KubeObject,
  patch: Patch,
  subresource: 'status' | undefined,
  policy: WritePolicy,
): KubeObject {
  const patched = applyPatch(current, patch);
  if (!isKubeObject(patched)) throw badObject('the patched object');
  const after = patched.metadata.resourceVersion;
  if (after !== undefined && after !== current.metadata.resourceVersion) {
    throw conflict(key, String(after), String(current.metadata.resourceVersion));
  }
  if (objectKeyToString(keyOf(patched)) !== objectKeyToString(key)) {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      'a patch cannot change apiVersion group, kind, namespace or name; create a new object instead',
      { details: { object: objectKeyToString(key) } },
    );
  }
  return prepareForUpdate(current, patched, subresource, policy);
}

/** `obj` without metadata.resourceVersion, as a new object goes into its file. */
export function withoutVersion(obj: KubeObject): KubeObject {
  const meta = { ...obj.metadata };
  delete meta.resourceVersion;
  return { ...obj, metadata: meta };
}

/**
 * `next` as it goes into the file: with metadata.resourceVersion as the file has it in
 * `onDisk` (most often: absent, since the storage derives it and never writes it).
 */
export function versionAsOnDisk(next: KubeObject, onDisk: KubeObject): KubeObject {
  const meta = { ...next.metadata };
  const was = onDisk.metadata?.resourceVersion;
  if (was === undefined) delete meta.resourceVersion;
  else meta.resourceVersion = was;
  return { ...next, metadata: meta };
}

function withoutMetaAndStatus(obj: KubeObject): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...obj };
  delete rest.metadata;
  delete rest.status;
  return rest;
}
