/**
 * Applying one stage of a wave: the inventory is recorded first (once per sync), then every
 * object of the stage is applied at once (bounded by the engine's concurrency) and its result
 * kept; CRDs of a stage 0 are then waited for until Established. An object is not attempted once
 * the sync has stopped, when its annotations say Ignore, or when its CRD could not be
 * established; in a dry-run, an object whose Namespace or CRD this very sync creates is reported
 * as to be created rather than as failed.
 */
import {
  ErrorCodes,
  GitOpsError,
  abortedError,
  isAborted,
  mapLimit,
  objectKeyToString,
  sleep,
  toGitOpsError,
} from '../runtime/index.js';
import type { KubeObject } from '../runtime/index.js';
import { applyObject, isConnectionError, refOf } from './apply.js';
import type { ApplyOutcome } from './apply.js';
import { awaitEstablished } from './engine-wait.js';
import type { SyncRun } from './engine-run.js';
import { assessHealth, MISSING } from './health.js';
import { crdKindOf, isCustomResourceDefinition } from './plan.js';
import type { PlanStep, PlannedObject } from './plan.js';
import { plannedResult } from './result.js';
import type { ObjectResult } from './result.js';

/** Records the inventory (once), applies the stage's objects, waits for its CRDs. */
export async function applyStage(run: SyncRun, step: PlanStep): Promise<void> {
  if (run.stop === undefined) await run.recordInventory();
  await mapLimit(step.objects, run.engine.concurrency, (p) => applyPlanned(run, p));
  run.unsettled.push(...step.objects);
  run.lastWave = `${step.phase}/${step.wave}`;
  if (step.stage === 0 && run.stop === undefined) await awaitEstablished(run, step.objects);
}

async function applyPlanned(run: SyncRun, p: PlannedObject): Promise<void> {
  if (run.signal?.aborted && run.stop === undefined) run.halt(abortedError(run.signal, 'the sync'));
  const skipped = notApplied(run, p);
  if (skipped !== undefined) {
    run.results.set(p.id, skipped);
    return;
  }
  const kind = `${p.key.group}/${p.key.kind}`;
  const ctx = {
    client: run.client,
    fieldManager: run.engine.fieldManager,
    force: run.force,
    signal: run.signal,
  };
  try {
    let live: KubeObject | undefined | 'unknown' = run.live.get(p.id);
    if (live === undefined && !run.listed.has(kind)) live = await run.client.get(refOf(p), run.signal);
    const outcome = await retryFresh(run, kind, () => applyObject(ctx, p, live, run.dryRun));
    run.results.set(p.id, appliedResult(p, outcome));
    if (isCustomResourceDefinition(p.key)) run.live.set(p.id, outcome.object);
  } catch (err) {
    run.results.set(p.id, failedResult(run, p, err));
  }
}

/** The result of an object that is not attempted, or undefined when it is to be applied. */
function notApplied(run: SyncRun, p: PlannedObject): ObjectResult | undefined {
  if (run.stop !== undefined)
    return plannedResult(p, 'skipped', { error: run.stop, message: 'not attempted' });
  if (p.options.applyPolicy === 'Ignore') {
    const live = run.live.get(p.id);
    return plannedResult(p, 'skipped', {
      message: 'not applied: its annotations say Ignore (or reconcile: disabled)',
      health: live === undefined ? MISSING : assessHealth(live),
    });
  }
  const crdProblem = run.crdProblems.get(`${p.key.group}/${p.key.kind}`);
  if (crdProblem !== undefined)
    return plannedResult(p, 'failed', { error: crdProblem.withDetails({ object: p.id }), health: MISSING });
  return undefined;
}

function appliedResult(p: PlannedObject, outcome: ApplyOutcome): ObjectResult {
  return plannedResult(p, outcome.action, {
    health: assessHealth(outcome.object),
    ...(outcome.drifted ? { drifted: true } : {}),
    ...(outcome.changes === undefined ? {} : { changes: outcome.changes }),
  });
}

/** A failed apply; an unreachable server or a cancel stops the run. */
function failedResult(run: SyncRun, p: PlannedObject, err: unknown): ObjectResult {
  const error =
    err instanceof GitOpsError
      ? err.withDetails({ object: p.id })
      : toGitOpsError(err, ErrorCodes.InternalError, { object: p.id });
  if (isConnectionError(error) || isAborted(error)) run.halt(error);
  const coming = run.dryRun
    ? (providedByThisSync(run, p, error) ??
      (p.options.skipDryRunOnMissingResource && error.code === ErrorCodes.UnknownKind
        ? 'not checked by the server: its kind is not served yet (SkipDryRunOnMissingResource)'
        : undefined))
    : undefined;
  if (coming !== undefined) return plannedResult(p, 'created', { health: MISSING, message: coming });
  return plannedResult(p, 'failed', { error, health: MISSING });
}

/** In a dry-run, the reason an object cannot be checked yet: its Namespace or CRD is new. */
function providedByThisSync(run: SyncRun, p: PlannedObject, error: GitOpsError): string | undefined {
  if (error.code !== ErrorCodes.NotFound && error.code !== ErrorCodes.UnknownKind) return undefined;
  const created = (id: string): boolean => run.results.get(id)?.action === 'created';
  if (
    p.key.namespace !== undefined &&
    created(objectKeyToString({ group: '', kind: 'Namespace', name: p.key.namespace }))
  ) {
    return `would be created in namespace ${p.key.namespace}, which this sync creates (not checked by the server)`;
  }
  const crd = run.plan.objects.find((o) => {
    const k = crdKindOf(o.object);
    return k !== undefined && k.group === p.key.group && k.kind === p.key.kind;
  });
  if (crd !== undefined && created(crd.id)) {
    return `would be created once its CustomResourceDefinition ${crd.key.name} exists (not checked by the server)`;
  }
  return undefined;
}

/** A resource of a CRD established moments ago may still answer 404: try again briefly. */
async function retryFresh<T>(run: SyncRun, kind: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      const fresh =
        run.freshKinds.has(kind) && err instanceof GitOpsError && err.code === ErrorCodes.NotFound;
      if (!fresh || Date.now() > deadline) throw err;
      await sleep(200, run.signal);
    }
  }
}
