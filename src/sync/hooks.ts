/**
 * Hooks: objects that run at a point of a sync instead of being kept in step with Git (Argo CD's
 * PreSync, Sync, PostSync and SyncFail). Each is created (a new one each run with
 * generateName), waited for until it succeeds or fails (a Job completes, a Pod succeeds, any other
 * kind turns Healthy), and deleted as its delete policy says. Hooks are never in the inventory
 * and never pruned.
 */
import { createHash } from 'node:crypto';

import { ErrorCodes, GitOpsError, objectKeyToString, sleep, toGitOpsError } from '../runtime/index.js';
import type { KubeObject } from '../runtime/index.js';
import type { KubeClient } from '../kube/index.js';
import { assessHealth, MISSING } from './health.js';
import type { HookPhase } from './object-options.js';
import type { Plan, PlannedObject } from './plan.js';
import { plannedResult } from './result.js';
import type { ObjectResult } from './result.js';

export type HookOutcome = 'Succeeded' | 'Failed' | 'Running' | 'NotRun';

export interface HookResult {
  phase: HookPhase;
  /** The object's name (the generated one, for generateName). */
  name?: string;
  outcome: HookOutcome;
  /** Deleted after it ran, as its delete policy asked. */
  deleted?: boolean;
}

export interface HookContext {
  client: KubeClient;
  force: boolean;
  timeoutMs: number;
  pollIntervalMs: number;
  signal?: AbortSignal;
}

/** Hash of a plan's desired state (objects and hooks): hooks run again only when it changes. */
export function desiredStateHash(plan: Plan): string {
  const hash = createHash('sha256');
  for (const p of [...plan.objects, ...plan.hooks]) hash.update(`${p.id}\0${p.desiredHash}\n`);
  return hash.digest('hex').slice(0, 32);
}

/** Where a hook object stands: Succeeded, Failed, or Running. */
export function hookStatus(live: KubeObject | undefined): { outcome: HookOutcome; message?: string } {
  if (live === undefined) return { outcome: 'Failed', message: 'it disappeared before it finished' };
  const status = (live.status ?? {}) as { conditions?: Array<Record<string, unknown>>; phase?: string };
  if (live.kind === 'Job' && live.apiVersion === 'batch/v1') {
    const condition = (type: string) =>
      (status.conditions ?? []).find((c) => c.type === type && c.status === 'True');
    const failed = condition('Failed');
    if (failed !== undefined)
      return {
        outcome: 'Failed',
        message: `Job failed: ${String(failed.reason ?? '')} ${String(failed.message ?? '')}`.trim(),
      };
    if (condition('Complete') !== undefined) return { outcome: 'Succeeded' };
    return { outcome: 'Running' };
  }
  if (live.kind === 'Pod' && live.apiVersion === 'v1') {
    if (status.phase === 'Succeeded') return { outcome: 'Succeeded' };
    if (status.phase === 'Failed') return { outcome: 'Failed', message: 'Pod failed' };
    return { outcome: 'Running' };
  }
  const health = assessHealth(live);
  if (health.status === 'Healthy') return { outcome: 'Succeeded' };
  if (health.status === 'Degraded') return { outcome: 'Failed', message: health.message ?? 'Degraded' };
  return { outcome: 'Running' };
}

function refOf(p: PlannedObject, name: string) {
  return {
    apiVersion: p.object.apiVersion,
    kind: p.object.kind,
    name,
    ...(p.key.namespace === undefined ? {} : { namespace: p.key.namespace }),
  };
}

/** Deletes the object and waits until it is gone. */
async function deleteAndWait(ctx: HookContext, p: PlannedObject, name: string): Promise<boolean> {
  const ref = refOf(p, name);
  const outcome = await ctx.client.delete(ref, { propagationPolicy: 'Background', signal: ctx.signal });
  if (outcome === 'notFound') return false;
  for (
    let wait = 50;
    (await ctx.client.get(ref, ctx.signal)) !== undefined;
    wait = Math.min(1_000, wait * 2)
  ) {
    await sleep(wait, ctx.signal);
  }
  return true;
}

/** Runs one hook to its end; never throws for the hook's own failure (the result says it). */
export async function runHook(ctx: HookContext, p: PlannedObject): Promise<ObjectResult> {
  const phase = p.options.hook ?? 'Sync';
  const policies = p.options.hookDeletePolicies;
  let name = p.object.metadata?.name;
  try {
    const started = await startHook(ctx, p);
    name = started.name;
    const { live, status } = await awaitHookEnd(ctx, p, started.object, name);
    const succeeded = status.outcome === 'Succeeded';
    let deleted = false;
    if (
      name !== undefined &&
      ((succeeded && policies.includes('HookSucceeded')) || (!succeeded && policies.includes('HookFailed')))
    ) {
      deleted = await deleteAndWait(ctx, p, name);
    }
    const health = live === undefined || deleted ? MISSING : assessHealth(live);
    if (succeeded)
      return hookResult(p, name, { action: started.action, health }, { outcome: 'Succeeded', deleted });
    const error = new GitOpsError(
      ErrorCodes.HookFailed,
      `${phase} hook ${objectKeyToString({ ...p.key, name: name ?? p.key.name })} failed: ${status.message ?? 'failed'}`,
      { details: { object: p.id, phase } },
    );
    return hookResult(p, name, { action: 'failed', error, health }, { outcome: 'Failed', deleted });
  } catch (err) {
    const error = toGitOpsError(err).withDetails({ object: p.id });
    return hookResult(p, name, { action: 'failed', error }, { outcome: 'Failed' });
  }
}

/** Creates the hook (after deleting the last run's, when its delete policy says so). */
async function startHook(
  ctx: HookContext,
  p: PlannedObject,
): Promise<{ object: KubeObject; name: string | undefined; action: ObjectResult['action'] }> {
  const fixedName = p.object.metadata?.name;
  if (fixedName !== undefined && p.options.hookDeletePolicies.includes('BeforeHookCreation'))
    await deleteAndWait(ctx, p, fixedName);
  if (fixedName === undefined) {
    const created = await ctx.client.create(p.object, { signal: ctx.signal });
    return { object: created, name: created.metadata?.name, action: 'created' };
  }
  const applied = await ctx.client.apply(p.object, { force: ctx.force, signal: ctx.signal });
  return {
    object: applied.object,
    name: applied.object.metadata?.name ?? fixedName,
    action: applied.created ? 'created' : 'configured',
  };
}

/** Polls the hook until it succeeds or fails (or its time is up). */
async function awaitHookEnd(
  ctx: HookContext,
  p: PlannedObject,
  created: KubeObject,
  name: string | undefined,
): Promise<{ live: KubeObject | undefined; status: { outcome: HookOutcome; message?: string } }> {
  const deadline = Date.now() + ctx.timeoutMs;
  let live: KubeObject | undefined = created;
  let status = hookStatus(live);
  for (let wait = 100; status.outcome === 'Running'; wait = Math.min(ctx.pollIntervalMs, wait * 2)) {
    if (Date.now() > deadline) {
      status = { outcome: 'Failed', message: `it did not finish within ${ctx.timeoutMs} ms` };
      break;
    }
    await sleep(wait, ctx.signal);
    live = await ctx.client.get(refOf(p, name!), ctx.signal);
    status = hookStatus(live);
  }
  return { live, status };
}

function hookResult(
  p: PlannedObject,
  name: string | undefined,
  extra: Partial<ObjectResult>,
  hook: Partial<HookResult>,
): ObjectResult {
  return plannedResult(p, 'created', {
    ...(name === undefined ? {} : { id: objectKeyToString({ ...p.key, name }), key: { ...p.key, name } }),
    ...extra,
    hook: {
      phase: p.options.hook ?? 'Sync',
      ...(name === undefined ? {} : { name }),
      outcome: 'NotRun',
      ...hook,
    },
  });
}

/** The result of a hook that is not run (the sync stopped first, or the desired state did not change). */
export function hookNotRun(p: PlannedObject, message: string, error?: GitOpsError): ObjectResult {
  return {
    id: p.id,
    key: p.key,
    apiVersion: p.object.apiVersion,
    phase: p.phase,
    wave: p.wave,
    stage: p.stage,
    action: 'skipped',
    health: { status: 'Unknown' },
    message,
    ...(error === undefined ? {} : { error }),
    hook: { phase: p.options.hook ?? 'Sync', outcome: 'NotRun' },
  };
}
