/**
 * What a sync waits for: the CRDs of a stage until they are Established (then the REST mapper
 * learns their kinds), and, before a wave when the request asks for it (and before PostSync
 * hooks that are due), every object applied since the last wait until it is Healthy. A CRD that
 * is not established fails its kind's objects; a wave that fails, degrades or times out stops
 * the sync.
 */
import { ErrorCodes, GitOpsError, mapLimit, sleep, toGitOpsError } from '../runtime/index.js';
import { refOf } from './apply.js';
import type { SyncRun } from './engine-run.js';
import { assessHealth } from './health.js';
import type { Health } from './health.js';
import { crdKindOf, isCustomResourceDefinition } from './plan.js';
import type { PlannedObject } from './plan.js';

/** Waits until the CRDs of a stage are Established, then teaches the REST mapper their kinds. */
export async function awaitEstablished(run: SyncRun, objects: readonly PlannedObject[]): Promise<void> {
  const crds = objects.filter(
    (p) => isCustomResourceDefinition(p.key) && run.results.get(p.id)?.action !== 'failed',
  );
  await Promise.all(crds.map((p) => awaitCrd(run, p)));
}

async function awaitCrd(run: SyncRun, p: PlannedObject): Promise<void> {
  const names = crdKindOf(p.object);
  if (names === undefined) return;
  const kind = `${names.group}/${names.kind}`;
  if (run.dryRun) {
    const live = run.live.get(p.id);
    if (live !== undefined && run.results.get(p.id)?.action !== 'created')
      run.client.mapper.learnCustomResourceDefinition(live);
    return;
  }
  const timeoutMs = run.engine.crdEstablishedTimeoutMs;
  const deadline = Date.now() + timeoutMs;
  let live = run.live.get(p.id);
  for (let wait = 50; live === undefined || assessHealth(live).status !== 'Healthy';) {
    const health = assessHealth(live);
    if (health.status === 'Degraded' || Date.now() > deadline) {
      const why = health.status === 'Degraded' ? `: ${health.message}` : ` after ${timeoutMs} ms`;
      const error = new GitOpsError(
        health.status === 'Degraded' ? ErrorCodes.Unhealthy : ErrorCodes.Timeout,
        `CustomResourceDefinition ${p.key.name} is not Established${why}, so its ${names.kind} objects are not applied`,
        { details: { object: p.id } },
      );
      run.crdProblems.set(kind, error);
      setHealth(run, p, health);
      return;
    }
    try {
      await sleep(wait, run.signal);
      wait = Math.min(500, wait * 2);
      live = await run.client.get(refOf(p), run.signal);
    } catch (err) {
      run.halt(err);
      return;
    }
  }
  run.client.mapper.learnCustomResourceDefinition(live);
  run.freshKinds.add(kind);
  setHealth(run, p, assessHealth(live));
}

/**
 * Before the next wave (`wanted`: the request waits for health, or PostSync hooks are due), waits
 * until the objects applied since the last wait are Healthy; a problem stops the sync.
 */
export async function awaitHealthy(run: SyncRun, wanted: boolean): Promise<void> {
  if (!wanted || run.unsettled.length === 0 || run.stop !== undefined || run.dryRun) return;
  const problem = await waitForHealth(run, run.unsettled, run.lastWave ?? '');
  if (problem !== undefined) run.halt(problem);
  run.unsettled = [];
}

/** Polls the objects of a finished wave until all are Healthy; an error says why not. */
async function waitForHealth(
  run: SyncRun,
  objects: readonly PlannedObject[],
  wave: string,
): Promise<GitOpsError | undefined> {
  const failed = objects.filter((p) => run.results.get(p.id)?.action === 'failed');
  if (failed.length > 0) {
    return new GitOpsError(
      ErrorCodes.Unhealthy,
      `wave ${wave} had ${failed.length} failed object(s) (${failed.map((p) => p.id).join(', ')}); later waves are not applied`,
      { details: { wave } },
    );
  }
  const deadline = Date.now() + run.engine.healthTimeoutMs;
  for (;;) {
    const pending = objects.filter((p) => run.results.get(p.id)?.health.status !== 'Healthy');
    if (pending.length === 0) return undefined;
    const degraded = pending.filter((p) => run.results.get(p.id)?.health.status === 'Degraded');
    if (degraded.length > 0 || Date.now() > deadline) return unhealthyWave(run, wave, degraded, pending);
    try {
      await sleep(run.engine.healthPollIntervalMs, run.signal);
      await mapLimit(pending, run.engine.concurrency, async (p) => {
        setHealth(run, p, assessHealth(await run.client.get(refOf(p), run.signal)));
      });
    } catch (err) {
      return toGitOpsError(err);
    }
  }
}

function unhealthyWave(
  run: SyncRun,
  wave: string,
  degraded: readonly PlannedObject[],
  pending: readonly PlannedObject[],
): GitOpsError {
  const list = (degraded.length > 0 ? degraded : pending)
    .map((p) => {
      const h = run.results.get(p.id)?.health;
      return `${p.id}: ${h?.status}${h?.message ? ` (${h.message})` : ''}`;
    })
    .join('; ');
  return new GitOpsError(
    degraded.length > 0 ? ErrorCodes.Unhealthy : ErrorCodes.Timeout,
    degraded.length > 0
      ? `wave ${wave} is degraded, later waves are not applied: ${list}`
      : `wave ${wave} was not healthy within ${run.engine.healthTimeoutMs} ms, later waves are not applied: ${list}`,
    { details: { wave } },
  );
}

function setHealth(run: SyncRun, p: PlannedObject, health: Health): void {
  const result = run.results.get(p.id);
  if (result !== undefined) run.results.set(p.id, { ...result, health });
}
