/**
 * Pruning: deleting what an application applied before and no longer wants. Only objects that
 * still carry this application's tracking mark are deleted (never someone else's object, never a
 * copy), never one that opted out, in the reverse of the apply order, and with the uid as a
 * precondition so an object re-created meanwhile by someone else survives.
 */
import {
  ErrorCodes,
  GitOpsError,
  keyOf,
  mapLimit,
  objectKeyToString,
  parseApiVersion,
  parseObjectKey,
} from '../runtime/index.js';
import type { KubeObject, ObjectKey } from '../runtime/index.js';
import type { KubeClient } from '../kube/index.js';
import { assessHealth, MISSING } from './health.js';
import type { InventoryEntry } from './inventory.js';
import { APPLICATION_LABEL, PRUNE_ANNOTATION, TRACKING_ID_ANNOTATION, trackingId } from './marks.js';
import { readObjectOptions } from './object-options.js';
import { kindRank, stageOf } from './plan.js';
import type { ObjectResult } from './result.js';

export interface PruneContext {
  client: KubeClient;
  application: string;
  dryRun: boolean;
  propagationPolicy: 'Background' | 'Foreground' | 'Orphan';
  concurrency: number;
  signal?: AbortSignal;
}

export interface PruneOutcome {
  result: ObjectResult;
  /** Keep the entry in the inventory (the delete failed, or was not attempted). */
  keep: boolean;
}

/** True when `live` carries exactly this application's mark for this object. */
export function isTrackedBy(live: KubeObject, application: string, id: string): boolean {
  return (
    live.metadata?.labels?.[APPLICATION_LABEL] === application &&
    live.metadata?.annotations?.[TRACKING_ID_ANNOTATION] === trackingId(application, id)
  );
}

/** True when the object asks to be kept when it leaves the input. */
export function pruneDisabled(live: KubeObject): boolean {
  const { options } = readObjectOptions(live, objectKeyToString(keyOf(live)));
  // Flux's Ignore (and reconcile: disabled) leaves the object alone, pruning included.
  return !options.prune || options.applyPolicy === 'Ignore';
}

/** Deletes `candidates` in reverse apply order: admission first, Namespaces and CRDs last. */
export async function pruneObjects(
  ctx: PruneContext,
  candidates: readonly InventoryEntry[],
  listed: ReadonlyMap<string, KubeObject>,
  stop: () => GitOpsError | undefined,
): Promise<PruneOutcome[]> {
  const withKeys = candidates.map((entry) => ({ entry, key: parseObjectKey(entry.id) }));
  const byStage = new Map<number, typeof withKeys>();
  for (const c of withKeys) byStage.set(stageOf(c.key), [...(byStage.get(stageOf(c.key)) ?? []), c]);
  const outcomes: PruneOutcome[] = [];
  for (const stage of [...byStage.keys()].sort((a, b) => b - a)) {
    const group = byStage.get(stage)!.sort((a, b) => kindRank(b.key.kind) - kindRank(a.key.kind));
    outcomes.push(
      ...(await mapLimit(group, ctx.concurrency, async ({ entry, key }) => {
        const stopped = stop();
        if (stopped !== undefined) {
          return {
            result: base(entry, key, 'skipped', MISSING, { error: stopped, message: 'not attempted' }),
            keep: true,
          };
        }
        try {
          return await pruneOne(ctx, entry, key, listed.get(entry.id));
        } catch (err) {
          const error =
            err instanceof GitOpsError
              ? err
              : new GitOpsError(ErrorCodes.InternalError, String(err), { cause: err });
          return { result: base(entry, key, 'failed', { status: 'Unknown' }, { error }), keep: true };
        }
      })),
    );
  }
  return outcomes;
}

async function pruneOne(
  ctx: PruneContext,
  entry: InventoryEntry,
  key: ObjectKey,
  listed: KubeObject | undefined,
): Promise<PruneOutcome> {
  const ref = await refFor(ctx.client, entry, key, ctx.signal);
  if (ref === undefined) {
    // Its kind is no longer served (e.g. its CRD was pruned first): the object went with it.
    return {
      result: base(entry, key, 'pruned', MISSING, { message: 'already gone (its kind is no longer served)' }),
      keep: false,
    };
  }
  const live = listed ?? (await ctx.client.get(ref, ctx.signal));
  if (live === undefined) {
    return { result: base(entry, key, 'pruned', MISSING, { message: 'already gone' }), keep: false };
  }
  if (!isTrackedBy(live, ctx.application, entry.id)) {
    return {
      result: base(entry, key, 'skipped', assessHealth(live), {
        message: `kept: it does not carry this application's tracking mark (${TRACKING_ID_ANNOTATION}), so it is not ours`,
      }),
      keep: false,
    };
  }
  if (pruneDisabled(live)) {
    return {
      result: base(entry, key, 'skipped', assessHealth(live), {
        message: `kept: its annotations disable pruning (${PRUNE_ANNOTATION}: "false" or an equivalent of Argo CD or Flux)`,
      }),
      keep: false,
    };
  }
  const outcome = await ctx.client.delete(ref, {
    propagationPolicy: ctx.propagationPolicy,
    preconditions: live.metadata?.uid === undefined ? undefined : { uid: live.metadata.uid },
    dryRun: ctx.dryRun,
    signal: ctx.signal,
  });
  return {
    result: base(entry, key, 'pruned', MISSING, outcome === 'notFound' ? { message: 'already gone' } : {}),
    keep: false,
  };
}

async function refFor(client: KubeClient, entry: InventoryEntry, key: ObjectKey, signal?: AbortSignal) {
  const gv = parseApiVersion(entry.apiVersion);
  const served =
    (await client.mapper.find({ ...gv, kind: key.kind }, signal)) ??
    (await client.mapper.preferredVersion({ group: key.group, kind: key.kind }, signal));
  if (served === undefined) return undefined;
  return {
    apiVersion: served.group === '' ? served.version : `${served.group}/${served.version}`,
    kind: key.kind,
    name: key.name,
    ...(key.namespace === undefined ? {} : { namespace: key.namespace }),
  };
}

function base(
  entry: InventoryEntry,
  key: ObjectKey,
  action: ObjectResult['action'],
  health: ObjectResult['health'],
  extra: Partial<ObjectResult>,
): ObjectResult {
  return { id: entry.id, key, apiVersion: entry.apiVersion, stage: stageOf(key), action, health, ...extra };
}
