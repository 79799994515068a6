/**
 * What an apply would change: the live object against the server's own dry-run of our apply.
 * Both went through the same defaulting and normalisation on the server, so what differs is
 * what we would really change; fields only the server sets (managedFields, resourceVersion,
 * generation, status) are left out. Secret values are never shown, only their paths.
 */
import { deepEqual, formatFieldPath, isPlainObject } from '../runtime/index.js';
import type { FieldPathSegment, KubeObject } from '../runtime/index.js';
import { DESIRED_HASH_ANNOTATION } from './marks.js';

export interface FieldChange {
  /** e.g. `.spec.template.spec.containers[0].image`. */
  path: string;
  change: 'added' | 'removed' | 'changed';
  /** The value now on the cluster (absent when added; `(secret)` for Secret data). */
  live?: unknown;
  /** The value after the apply (absent when removed). */
  desired?: unknown;
}

const IGNORED_METADATA = new Set([
  'managedFields',
  'resourceVersion',
  'generation',
  'uid',
  'creationTimestamp',
  'selfLink',
]);
const REDACTED = '(secret)';

/**
 * Changes from `live` to `after` (the dry-run result); `live` undefined means a creation,
 * reported as one `added` change of the whole object.
 */
export function diffObjects(live: KubeObject | undefined, after: KubeObject): FieldChange[] {
  const secret = after.kind === 'Secret' && (after.apiVersion === 'v1' || after.apiVersion === undefined);
  if (live === undefined) {
    return [
      { path: '', change: 'added', desired: secret ? redactSecret(comparable(after)) : comparable(after) },
    ];
  }
  const changes: FieldChange[] = [];
  walk(comparable(live), comparable(after), [], changes);
  if (!secret) return changes;
  return changes.map((c) =>
    c.path.startsWith('.data') || c.path.startsWith('.stringData')
      ? {
          ...c,
          ...(c.live === undefined ? {} : { live: REDACTED }),
          ...(c.desired === undefined ? {} : { desired: REDACTED }),
        }
      : c,
  );
}

/** True when an apply would change nothing that matters (see diffObjects). */
export function sameObject(live: KubeObject, after: KubeObject): boolean {
  return deepEqual(comparable(live), comparable(after));
}

/** The object without the fields only the server sets, and without our hash annotation. */
export function comparable(object: KubeObject): Record<string, unknown> {
  const { status: _status, metadata, ...rest } = object;
  const meta: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) if (!IGNORED_METADATA.has(k)) meta[k] = v;
  if (isPlainObject(meta.annotations)) {
    const { [DESIRED_HASH_ANNOTATION]: _hash, ...annotations } = meta.annotations;
    meta.annotations = annotations;
  }
  return { ...rest, metadata: meta };
}

function redactSecret(object: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...object };
  for (const field of ['data', 'stringData']) {
    if (isPlainObject(copy[field])) {
      copy[field] = Object.fromEntries(Object.keys(copy[field] as object).map((k) => [k, REDACTED]));
    }
  }
  return copy;
}

function walk(before: unknown, after: unknown, path: FieldPathSegment[], out: FieldChange[]): void {
  if (deepEqual(before, after)) return;
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const key of [...keys].sort()) {
      const b = before[key];
      const a = after[key];
      if (b === undefined) out.push({ path: formatFieldPath([...path, key]), change: 'added', desired: a });
      else if (a === undefined)
        out.push({ path: formatFieldPath([...path, key]), change: 'removed', live: b });
      else walk(b, a, [...path, key], out);
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    before.forEach((item, i) => walk(item, after[i], [...path, i], out));
    return;
  }
  out.push({ path: formatFieldPath(path), change: 'changed', live: before, desired: after });
}
