/**
 * Bringing one object to its desired state. An object is not sent at all when the live one
 * carries our hash of the same desired state and our field manager still owns every field of it
 * (nobody changed them since). When the hash matches but ownership moved, someone edited it:
 * the server's dry-run says whether our apply would change anything, and only then it is sent,
 * reported as drift.
 */
import { ErrorCodes, GitOpsError, sleep } from '../runtime/index.js';
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
  const { applyPolicy, validate } = planned.options;
  // IfNotPresent: created when missing, never touched after.
  if (known !== undefined && applyPolicy === 'IfNotPresent') {
    return { action: 'unchanged', drifted: false, object: known };
  }
  const opts = {
    force: applyPolicy === 'Merge' ? false : ctx.force,
    fieldValidation: validate ? ('Strict' as const) : ('Ignore' as const),
    signal: ctx.signal,
  };
  if (known !== undefined && isUpToDate(known, planned, ctx.fieldManager)) {
    return { action: 'unchanged', drifted: false, object: known };
  }
  const suspectDrift =
    known !== undefined && known.metadata?.annotations?.[DESIRED_HASH_ANNOTATION] === planned.desiredHash;
  let changes: FieldChange[] | undefined;
  if (dryRun || suspectDrift) {
    const trial = await applyLeniently(ctx, planned.object, { ...opts, dryRun: true });
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
  const applied = await applyOrRecreate(ctx, planned, known, opts);
  return {
    action: applied.created ? 'created' : 'configured',
    drifted: suspectDrift,
    object: applied.object,
    ...(changes === undefined ? {} : { changes }),
  };
}

/**
 * The apply; with `recreate` (Argo CD `Replace=true`, Flux `force: enabled`), an apply refused
 * because a field is immutable deletes the object, waits until it is gone, and creates it again.
 */
async function applyOrRecreate(
  ctx: ApplyContext,
  planned: PlannedObject,
  known: KubeObject | undefined,
  opts: { force: boolean; fieldValidation: 'Strict' | 'Ignore'; signal?: AbortSignal },
): Promise<{ object: KubeObject; created: boolean }> {
  try {
    return await applyLeniently(ctx, planned.object, opts);
  } catch (err) {
    if (!planned.options.recreate || !isImmutableRefusal(err)) throw err;
  }
  const ref = refOf(planned);
  const uid = known?.metadata?.uid ?? (await ctx.client.get(ref, ctx.signal))?.metadata?.uid;
  await ctx.client.delete(ref, {
    propagationPolicy: 'Foreground',
    ...(uid === undefined ? {} : { preconditions: { uid } }),
    signal: ctx.signal,
  });
  for (let wait = 50; ; wait = Math.min(1_000, wait * 2)) {
    const still = await ctx.client.get(ref, ctx.signal);
    if (still === undefined || (uid !== undefined && still.metadata?.uid !== uid)) break;
    await sleep(wait, ctx.signal);
  }
  const created = await applyLeniently(ctx, planned.object, opts);
  return { object: created.object, created: false };
}

const UNDECLARED = /(?:^|: )((?:\.[A-Za-z0-9_$-]+)+): field not declared in schema/;

/**
 * An apply; with validation off (Argo CD `Validate=false`) a field the kind's schema does not
 * declare is left out, as client-side `kubectl apply --validate=false` leaves it to the server to
 * drop: server-side apply refuses such a field whatever the validation level. Only plain dotted
 * paths are removed (at most 20); any other refusal stands.
 */
async function applyLeniently(
  ctx: ApplyContext,
  object: KubeObject,
  opts: { force: boolean; fieldValidation: 'Strict' | 'Ignore'; dryRun?: boolean; signal?: AbortSignal },
): Promise<{ object: KubeObject; created: boolean }> {
  let sent = object;
  for (let removed = 0; ; removed++) {
    try {
      return await ctx.client.apply(sent, opts);
    } catch (err) {
      const path = err instanceof GitOpsError ? UNDECLARED.exec(err.message)?.[1] : undefined;
      if (opts.fieldValidation !== 'Ignore' || path === undefined || removed >= 20) throw err;
      const next = withoutPath(sent, path.slice(1).split('.'));
      if (next === undefined) throw err;
      sent = next;
    }
  }
}

/** A copy of `object` without the field at `path`, or undefined when there is no such field. */
function withoutPath(object: KubeObject, path: string[]): KubeObject | undefined {
  const copy = structuredClone(object) as unknown as Record<string, unknown>;
  let node: unknown = copy;
  for (const segment of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  const last = path[path.length - 1]!;
  if (node === null || typeof node !== 'object' || Array.isArray(node) || !(last in node)) return undefined;
  delete (node as Record<string, unknown>)[last];
  return copy as unknown as KubeObject;
}

function isImmutableRefusal(err: unknown): boolean {
  return err instanceof GitOpsError && err.code === ErrorCodes.Invalid && /immutable/i.test(err.message);
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
