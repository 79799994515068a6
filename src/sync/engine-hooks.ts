/**
 * Hooks inside a sync: a wave's hooks run after its objects (and, for PostSync hooks, once
 * everything before them is healthy, as in Argo CD), only when the desired state differs from
 * the one whose hooks last ran to the end; a failed hook stops the sync. SyncFail hooks run once
 * at the end of a sync that failed. In a dry-run, or when not due, each hook says why it did
 * not run. Running one hook is hooks.ts's job.
 */
import { ErrorCodes, GitOpsError, isAborted, mapLimit } from '../runtime/index.js';
import { isConnectionError } from './apply.js';
import { awaitHealthy } from './engine-wait.js';
import type { SyncRun } from './engine-run.js';
import { hookNotRun, runHook } from './hooks.js';
import type { PlannedObject } from './plan.js';
import type { Wave } from './plan.js';

/** A wave's hooks, after its objects (PostSync hooks that are due wait for health first). */
export async function runWaveHooks(run: SyncRun, wave: Wave): Promise<void> {
  if (wave.hooks.length === 0) return;
  const postSync = wave.phase === 'PostSync' && run.hooksDue;
  await awaitHealthy(run, run.request.waitForHealth === true || postSync);
  run.lastWave = wave.label;
  await runHooks(run, wave.hooks);
}

/**
 * The end of a sync's hooks: SyncFail hooks when it failed (not when the server was unreachable
 * or it was cancelled), and, when it succeeded, a note that this desired state's hooks ran.
 */
export async function finishHooks(run: SyncRun): Promise<void> {
  const failed = run.stop !== undefined || [...run.results.values()].some((r) => r.action === 'failed');
  const syncFail = run.plan.hooks.filter((p) => p.options.hook === 'SyncFail');
  if (syncFail.length > 0) {
    const unreachable = run.stop !== undefined && (isConnectionError(run.stop) || isAborted(run.stop));
    if (failed && run.hooksDue && !run.dryRun && !unreachable) {
      const stop = run.stop;
      run.stop = undefined;
      await runHooks(run, syncFail);
      run.stop = stop ?? run.stop;
    } else {
      run.hookResults.push(...syncFail.map((p) => hookNotRun(p, 'not run: the sync did not fail')));
    }
  }
  if (run.hooksDue && !run.dryRun && !failed && run.stop === undefined)
    run.inventory.setHooksRanFor(run.stateHash);
}

async function runHooks(run: SyncRun, hooks: readonly PlannedObject[]): Promise<void> {
  if (hooks.length === 0) return;
  if (run.stop !== undefined) {
    run.hookResults.push(...hooks.map((p) => hookNotRun(p, 'not attempted', run.stop)));
    return;
  }
  if (run.dryRun || !run.hooksDue) {
    run.hookResults.push(...hooks.map((p) => hookNotRun(p, notRunMessage(run))));
    return;
  }
  await run.recordInventory();
  const ctx = {
    client: run.client,
    force: run.force,
    timeoutMs: run.engine.hookTimeoutMs,
    pollIntervalMs: run.engine.healthPollIntervalMs,
    signal: run.signal,
  };
  const results = await mapLimit(hooks, run.engine.concurrency, (p) => runHook(ctx, p));
  run.hookResults.push(...results);
  const failed = results.filter((r) => r.action === 'failed');
  if (failed.length > 0) {
    run.halt(
      new GitOpsError(
        ErrorCodes.HookFailed,
        `${failed.map((r) => r.error?.message ?? r.id).join('; ')}; later phases are not applied`,
        { details: { object: failed[0]!.id } },
      ),
    );
  }
}

function notRunMessage(run: SyncRun): string {
  if (!run.dryRun) return 'not run: the desired state is the one whose hooks last ran';
  return run.hooksDue ? 'would run' : 'would not run: the desired state is the one whose hooks last ran';
}
