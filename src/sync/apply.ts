/**
 * Bringing one object to its desired state. An object is not sent at all when the live one
 * carries our hash of the same desired state and our field manager still owns every field of it
 * (nobody changed them since). When the hash matches but ownership moved, someone edited it:
 * the server's dry-run says whether our apply would change anything, and only then it is sent,
 * reported as drift.
 */
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import type { KubeObject } from '../runtime/index.js';
import type { KubeClient } from '../kube/index.js';
import { diffObjects, sameObject } from './diff.js';
import type { FieldChange } from './diff.js';
import { DESIRED_HASH_ANNOTATION } from './marks.js';
import { ownsDesiredFields } from './ownership.js';
import type { PlannedObject } from './plan.js';

export interface ApplyContext {
  client: KubeClient;
  fieldManager: string;
  force: boolean;
  signal?: AbortSignal;
}

export interface ApplyOutcome {
  action: 'created' | 'configured' | 'unchanged';
  drifted: boolean;
  /** The object after the apply (or as it is, when unchanged; as it would be, for a dry-run). */
  object: KubeObject;
  changes?: FieldChange[];
}

/** True when `live` is what our last apply of `planned` left, untouched by anyone else. */
export function isUpToDate(live: KubeObject, planned: PlannedObject, fieldManager: string): boolean {
  return (
    live.metadata?.annotations?.[DESIRED_HASH_ANNOTATION] === planned.desiredHash &&
    live.metadata?.deletionTimestamp === undefined &&
    ownsDesiredFields(live, planned.object, fieldManager)
  );
}

/**
 * Applies `planned` unless it is up to date. `live` is the object as listed (undefined: not
 * found among our objects; 'unknown': its kind could not be listed).
 */
export async function applyObject(
  ctx: ApplyContext,
  planned: PlannedObject,
  live: KubeObject | undefined | 'unknown',
  dryRun: boolean,
): Promise<ApplyOutcome> {
  const known = live === 'unknown' ? undefined : live;
  if (known !== undefined && isUpToDate(known, planned, ctx.fieldManager)) {
    return { action: 'unchanged', drifted: false, object: known };
  }
  const suspectDrift =
    known !== undefined && known.metadata?.annotations?.[DESIRED_HASH_ANNOTATION] === planned.desiredHash;
  let changes: FieldChange[] | undefined;
  if (dryRun || suspectDrift) {
    const trial = await ctx.client.apply(planned.object, {
      dryRun: true,
      force: ctx.force,
      signal: ctx.signal,
    });
    const before = known ?? (trial.created ? undefined : await ctx.client.get(refOf(planned), ctx.signal));
    if (before !== undefined && sameObject(before, trial.object)) {
      return { action: 'unchanged', drifted: false, object: before };
    }
    changes = diffObjects(before, trial.object);
    if (dryRun) {
      return {
        action: trial.created ? 'created' : 'configured',
        drifted: suspectDrift,
        object: trial.object,
        changes,
      };
    }
  }
  const applied = await ctx.client.apply(planned.object, { force: ctx.force, signal: ctx.signal });
  return {
    action: applied.created ? 'created' : 'configured',
    drifted: suspectDrift,
    object: applied.object,
    ...(changes === undefined ? {} : { changes }),
  };
}

export function refOf(planned: PlannedObject): {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
} {
  return {
    apiVersion: planned.object.apiVersion,
    kind: planned.object.kind,
    name: planned.key.name,
    ...(planned.key.namespace === undefined ? {} : { namespace: planned.key.namespace }),
  };
}

/** True for the errors that mean the API server is gone, not that this object is wrong. */
export function isConnectionError(err: unknown): boolean {
  return (
    err instanceof GitOpsError && (err.code === ErrorCodes.Unreachable || err.code === ErrorCodes.AuthFailed)
  );
}
