/**
 * The end of a sync: prune what left the input (held back when the sync stopped early, when
 * the input had problems, or when it is empty without allowEmpty), then store the inventory:
 * every planned object, the stored entries of rejected input, and whatever was not pruned.
 * Deleting the objects is prune.ts's job.
 */
import {
  ErrorCodes,
  GitOpsError,
  abortedError,
  isAborted,
  parseObjectKey,
  withContext,
} from '../runtime/index.js';
import { isConnectionError } from './apply.js';
import type { SyncRun } from './engine-run.js';
import type { InventoryEntry } from './inventory.js';
import { pruneObjects } from './prune.js';
import type { PruneOutcome } from './prune.js';

/** Prunes the inventory's objects that left the input, when the request asks for it. */
export async function pruneLeftovers(run: SyncRun): Promise<PruneOutcome[]> {
  if (!run.request.prune) return [];
  const desired = new Set<string>([...run.plan.objects, ...run.plan.skipped].map((p) => p.id));
  for (const r of run.plan.rejected) if (r.id !== undefined) desired.add(r.id);
  const candidates = [...run.stored.values()].filter((e) => !desired.has(e.id));
  if (candidates.length === 0) return [];
  const refused = pruneRefusal(run, candidates.length);
  if (refused !== undefined) return hold(candidates, refused.message, refused.error);
  const outcomes = await pruneObjects(
    {
      client: run.client,
      application: run.request.application,
      dryRun: run.dryRun,
      propagationPolicy: run.request.propagationPolicy ?? 'Background',
      concurrency: run.engine.concurrency,
      signal: run.signal,
    },
    candidates,
    run.live,
    () => {
      if (run.signal?.aborted && run.stop === undefined) run.halt(abortedError(run.signal, 'the sync'));
      return run.stop;
    },
  );
  for (const o of outcomes)
    if (o.result.error && (isConnectionError(o.result.error) || isAborted(o.result.error)))
      run.halt(o.result.error);
  return outcomes;
}

/** Why nothing is pruned this time, if so (a refusal is also an error of the sync). */
function pruneRefusal(run: SyncRun, count: number): { message: string; error?: GitOpsError } | undefined {
  if (run.stop !== undefined) return { message: 'not pruned: the sync stopped early', error: run.stop };
  const problems = run.request.inputErrors?.length ?? 0;
  if (problems > 0) {
    const error = new GitOpsError(
      ErrorCodes.PruneRefused,
      `nothing is pruned: the input had ${problems} problem(s), so objects missing from it may only be unreadable`,
    );
    run.errors.push(error);
    return { message: 'not pruned: the input had problems', error };
  }
  if (run.plan.objects.length === 0 && run.plan.rejected.length === 0 && !run.request.allowEmpty) {
    const error = new GitOpsError(
      ErrorCodes.PruneRefused,
      `refusing to prune all ${count} object(s) of application ${run.request.application}: the input is empty ` +
        '(an empty directory or a wrong path?); sync with allowEmpty to really delete everything',
    );
    run.errors.push(error);
    return { message: 'not pruned: the input is empty', error };
  }
  return undefined;
}

function hold(candidates: readonly InventoryEntry[], message: string, error?: GitOpsError): PruneOutcome[] {
  return candidates.map((entry) => ({
    keep: true,
    result: {
      id: entry.id,
      key: parseObjectKey(entry.id),
      apiVersion: entry.apiVersion,
      action: 'skipped',
      message,
      ...(error === undefined ? {} : { error }),
      health: { status: 'Unknown' },
    },
  }));
}

/** Stores the inventory after a sync that was not cut short (not in a dry-run). */
export async function storeInventory(run: SyncRun, pruned: readonly PruneOutcome[]): Promise<void> {
  if (run.dryRun || run.stop !== undefined) return;
  try {
    await run.inventory.write(finalInventory(run, pruned), run.signal);
  } catch (err) {
    run.errors.push(
      withContext(err, `cannot store the inventory ${run.inventory.namespace}/${run.inventory.name}`),
    );
  }
}

function finalInventory(run: SyncRun, pruned: readonly PruneOutcome[]): Map<string, InventoryEntry> {
  const entries = new Map<string, InventoryEntry>();
  for (const p of run.plan.objects) entries.set(p.id, { id: p.id, apiVersion: p.object.apiVersion });
  for (const r of run.plan.rejected) {
    const before = r.id === undefined ? undefined : run.stored.get(r.id);
    if (before !== undefined) entries.set(before.id, before);
  }
  const outcomes = new Map(pruned.map((o) => [o.result.id ?? '', o]));
  for (const entry of run.stored.values()) {
    if (entries.has(entry.id)) continue;
    const outcome = outcomes.get(entry.id);
    // Without prune, what left the input stays ours, to be pruned by a later sync.
    if (!run.request.prune || outcome === undefined || outcome.keep) entries.set(entry.id, entry);
  }
  return entries;
}
