/**
 * The sync engine: given an application's desired objects and a cluster, make the cluster match.
 * `sync` plans (order, waves, stages), reads what is live, then loops over the waves: wait for the
 * waves before to be healthy (when asked), apply the wave stage by stage (the inventory recorded
 * before anything is created, CRDs waited for until Established), run the wave's hooks; then
 * prunes what left the input, stores the inventory, and reports every object's action, error and
 * health. The steps live beside it: engine-run.ts (one sync's state), engine-stage.ts,
 * engine-wait.ts, engine-hooks.ts and engine-prune.ts.
 */
import {
  ErrorCodes,
  GitOpsError,
  builtinIsNamespaced,
  gvkOf,
  isKubeObject,
  isList,
  isAborted,
  keyOf,
  objectKeyToString,
} from '../runtime/index.js';
import type { GroupKind, GroupVersionKind, KubeObject } from '../runtime/index.js';
import type { KubeClient, RequestStats } from '../kube/index.js';
import { isConnectionError, refOf } from './apply.js';
import { diffObjects } from './diff.js';
import type { FieldChange } from './diff.js';
import { finishHooks, runWaveHooks } from './engine-hooks.js';
import { pruneLeftovers, storeInventory } from './engine-prune.js';
import { SyncRun, objectResults } from './engine-run.js';
import type { SyncRequest, WaveProgress } from './engine-run.js';
import { applyStage } from './engine-stage.js';
import { awaitHealthy } from './engine-wait.js';
import { checkApplicationName } from './marks.js';
import { crdKindOf, planSync, wavesOf } from './plan.js';
import type { Plan, Wave } from './plan.js';
import { summarize } from './result.js';
import type { ObjectResult, SyncResult } from './result.js';

export type { SyncOptions, SyncRequest, WaveProgress } from './engine-run.js';
export { syncOptionsOf } from './engine-run.js';

export interface SyncEngineOptions {
  /** Field manager of our applies; the client's (default `libgitops`). */
  fieldManager?: string;
  /** Namespace of the inventory ConfigMaps; default `default`. */
  inventoryNamespace?: string;
  /** Objects applied at once inside a stage; default the client's request concurrency. */
  concurrency?: number;
  /** How long a new CRD may take to be Established; default 60 s. */
  crdEstablishedTimeoutMs?: number;
  /** How long a wave may take to become healthy when waitForHealth is on; default 5 min. */
  healthTimeoutMs?: number;
  /** Poll interval while waiting for health; default 1 s. */
  healthPollIntervalMs?: number;
  /** How long one hook may take to succeed or fail; default 10 min. */
  hookTimeoutMs?: number;
}

export class SyncEngine {
  readonly client: KubeClient;
  readonly fieldManager: string;
  readonly inventoryNamespace: string;
  readonly concurrency: number;
  readonly crdEstablishedTimeoutMs: number;
  readonly healthTimeoutMs: number;
  readonly healthPollIntervalMs: number;
  readonly hookTimeoutMs: number;
  /** Per application, the plan of its last (non-dry-run) sync and the objects it was made from. */
  readonly #plans = new Map<string, { plan: Plan; objects: SyncRequest['objects'] }>();

  constructor(client: KubeClient, options: SyncEngineOptions = {}) {
    this.client = client;
    this.fieldManager = options.fieldManager ?? client.fieldManager;
    this.inventoryNamespace = options.inventoryNamespace ?? 'default';
    this.concurrency = options.concurrency ?? client.rest.throttle.maxConcurrency;
    this.crdEstablishedTimeoutMs = options.crdEstablishedTimeoutMs ?? 60_000;
    this.healthTimeoutMs = options.healthTimeoutMs ?? 5 * 60_000;
    this.healthPollIntervalMs = options.healthPollIntervalMs ?? 1_000;
    this.hookTimeoutMs = options.hookTimeoutMs ?? 10 * 60_000;
  }

  /**
   * The plan of the last (non-dry-run) sync of an application, as drift watching uses it; with
   * `objects`, only when that sync was given this very array (so a caller never gets a plan of
   * other objects).
   */
  lastPlan(application: string, objects?: SyncRequest['objects']): Plan | undefined {
    const last = this.#plans.get(application);
    if (last === undefined || (objects !== undefined && last.objects !== objects)) return undefined;
    return last.plan;
  }

  /** The plan for a request: needs discovery only for kinds that are not built in. */
  async plan(
    request: Pick<SyncRequest, 'application' | 'objects' | 'defaultNamespace' | 'signal'>,
  ): Promise<Plan> {
    checkApplicationName(request.application);
    const unknown = new Map<string, GroupVersionKind>();
    const fromCrds = new Set<string>();
    for (const object of request.objects) {
      const crd = crdKindOf(object);
      if (crd !== undefined) fromCrds.add(`${crd.group}/${crd.kind}`);
    }
    for (const object of expandLists(request.objects)) {
      if (!isKubeObject(object)) continue;
      try {
        const gvk = gvkOf(object);
        const gk = `${gvk.group}/${gvk.kind}`;
        if (builtinIsNamespaced(gvk) === undefined && !fromCrds.has(gk))
          unknown.set(`${gvk.group}/${gvk.version}/${gvk.kind}`, gvk);
      } catch {
        // planSync rejects it with the reason.
      }
    }
    const scopes = new Map<string, boolean>();
    await Promise.all(
      [...unknown.values()].map(async (gvk) => {
        const info = await this.client.mapper.find(gvk, request.signal);
        if (info !== undefined) scopes.set(`${gvk.group}/${gvk.kind}`, info.namespaced);
      }),
    );
    return planSync({
      application: request.application,
      objects: request.objects,
      defaultNamespace: request.defaultNamespace ?? this.client.defaultNamespace,
      isNamespaced: (gk: GroupKind) => builtinIsNamespaced(gk) ?? scopes.get(`${gk.group}/${gk.kind}`),
    });
  }

  /** Makes the cluster match `request.objects` (or, with dryRun, says what that would do). */
  async sync(request: SyncRequest): Promise<SyncResult> {
    const started = Date.now();
    const before = this.client.rest.stats();
    let plan: Plan;
    try {
      plan = await this.plan(request);
    } catch (err) {
      if (!isConnectionError(err) && !isAborted(err)) throw err;
      const objects = expandLists(request.objects).map((o) => unattempted(o, err as GitOpsError));
      return this.#result(request, started, before, objects, [err as GitOpsError]);
    }
    const run = await SyncRun.start(this, request, plan);
    const waves = wavesOf(plan);
    const applied = waves.filter((wave) => wave.steps.length > 0);
    for (const wave of waves) {
      if (wave.steps.length > 0) {
        await awaitHealthy(run, request.waitForHealth === true); // the waves before it, when asked
        if (run.stop === undefined) request.onWave?.(progressOf(wave, applied));
        for (const step of wave.steps) await applyStage(run, step); // inventory first, apply, CRDs
      }
      await runWaveHooks(run, wave);
    }
    await finishHooks(run);
    if (run.stop === undefined) await run.recordInventory();
    const pruned = await pruneLeftovers(run);
    await storeInventory(run, pruned);
    if (!run.dryRun) this.#plans.set(request.application, { plan, objects: request.objects });
    if (run.stop !== undefined) run.errors.unshift(run.stop);
    return this.#result(request, started, before, objectResults(run, pruned), run.errors);
  }

  /**
   * What applying `object` would change on the cluster, from the server's dry-run (even when
   * the object is up to date by our marks). `exists` is false for an object to be created.
   */
  async diff(
    object: KubeObject,
    options: { application: string; defaultNamespace?: string; signal?: AbortSignal },
  ): Promise<{ exists: boolean; changes: FieldChange[] }> {
    const plan = await this.plan({ ...options, objects: [object] });
    const p = plan.objects[0];
    if (p === undefined)
      throw plan.rejected[0]?.error ?? new GitOpsError(ErrorCodes.BadRequest, 'nothing to diff');
    const trial = await this.client.apply(p.object, { dryRun: true, signal: options.signal });
    const live = trial.created ? undefined : await this.client.get(refOf(p), options.signal);
    return { exists: live !== undefined, changes: diffObjects(live, trial.object) };
  }

  #result(
    request: SyncRequest,
    started: number,
    before: RequestStats,
    objects: ObjectResult[],
    errors: GitOpsError[],
  ): SyncResult {
    const after = this.client.rest.stats();
    const summary = summarize(objects);
    return {
      application: request.application,
      dryRun: request.dryRun ?? false,
      ok: summary.failed === 0 && errors.length === 0,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      objects,
      summary,
      errors,
      requests: {
        total: after.requests - before.requests,
        writes: after.writes - before.writes,
        dryRuns: after.dryRuns - before.dryRuns,
        reads: after.reads - before.reads,
      },
    };
  }
}

function unattempted(object: unknown, error: GitOpsError): ObjectResult {
  try {
    const key = keyOf(object);
    return {
      id: objectKeyToString(key),
      key,
      action: 'skipped',
      error,
      message: 'not attempted',
      health: { status: 'Unknown' },
    };
  } catch {
    return { action: 'skipped', error, message: 'not attempted', health: { status: 'Unknown' } };
  }
}

function expandLists(objects: readonly unknown[]): unknown[] {
  return objects.flatMap((o) => (isList(o) ? o.items : [o]));
}

function progressOf(wave: Wave, applied: readonly Wave[]): WaveProgress {
  const objects = wave.steps.reduce((n, step) => n + step.objects.length, 0);
  return { index: applied.indexOf(wave), total: applied.length, objects };
}
