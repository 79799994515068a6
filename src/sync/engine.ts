/**
 * The sync engine: given an application's desired objects and a cluster, make the cluster match.
 * Plan (order, waves, stages), read what is live (one labelled list per kind), record the
 * inventory, apply stage by stage with bounded concurrency (skipping what is up to date), wait
 * for CRDs to be Established and, when asked, for each wave to be healthy, prune what left the
 * input, store the inventory, and report every object's action, error and health.
 */
import {
  ErrorCodes,
  GitOpsError,
  builtinIsNamespaced,
  gvkOf,
  isKubeObject,
  isList,
  abortedError,
  isAborted,
  keyOf,
  mapLimit,
  sleep,
  toGitOpsError,
  withContext,
  objectKeyToString,
  parseApiVersion,
  parseObjectKey,
} from '../runtime/index.js';
import type { GroupKind, GroupVersionKind, KubeObject } from '../runtime/index.js';
import type { KubeClient } from '../kube/index.js';
import { applyObject, isConnectionError, refOf } from './apply.js';
import { diffObjects } from './diff.js';
import type { FieldChange } from './diff.js';
import { assessHealth, MISSING } from './health.js';
import { Inventory } from './inventory.js';
import type { InventoryEntry } from './inventory.js';
import { APPLICATION_LABEL, checkApplicationName } from './marks.js';
import { desiredStateHash, hookNotRun, runHook } from './hooks.js';
import { APPLY_PHASES, crdKindOf, isCustomResourceDefinition, planSync } from './plan.js';
import type { ApplyPhase, Plan, PlannedObject } from './plan.js';
import { pruneObjects } from './prune.js';
import type { PruneOutcome } from './prune.js';
import { plannedResult, summarize } from './result.js';
import type { ObjectResult, SyncResult } from './result.js';

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

export interface SyncRequest {
  /** Name of the application (a label value): owner of the objects and of the inventory. */
  application: string;
  /** Desired objects (Lists are expanded); bad ones fail alone. */
  objects: readonly unknown[];
  /** Namespace for namespaced objects that name none; the client's default. */
  defaultNamespace?: string;
  /** Overrides the engine's inventory namespace for this application. */
  inventoryNamespace?: string;
  /** Delete objects that left the input (default false). */
  prune?: boolean;
  /** Allow pruning everything when the input is empty (default false: refused). */
  allowEmpty?: boolean;
  /** Change nothing; report what would happen, with per-object changes. */
  dryRun?: boolean;
  /** Wait for each wave to be Healthy before the next one (default false). */
  waitForHealth?: boolean;
  /** Take fields other managers own (default true). */
  force?: boolean;
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  /** Problems met while producing `objects` (e.g. unreadable files): pruning is then held back. */
  inputErrors?: readonly GitOpsError[];
  signal?: AbortSignal;
}

interface Run {
  request: SyncRequest;
  plan: Plan;
  dryRun: boolean;
  force: boolean;
  live: Map<string, KubeObject>;
  /** Kinds we could list (so an object of one that is not in `live` does not exist for us). */
  listed: Set<string>;
  results: Map<string, ObjectResult>;
  errors: GitOpsError[];
  /** Set once the sync cannot go on (server unreachable, cancelled, unhealthy wave). */
  stop?: GitOpsError;
  /** Kinds of CRDs that could not be established, with why. */
  crdProblems: Map<string, GitOpsError>;
  /** Kinds of CRDs established during this run (their resources may 404 for a moment). */
  freshKinds: Set<string>;
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
  readonly #plans = new Map<string, Plan>();

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

  /** The plan of the last (non-dry-run) sync of an application, as drift watching uses it. */
  lastPlan(application: string): Plan | undefined {
    return this.#plans.get(application);
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
    const dryRun = request.dryRun ?? false;
    let plan: Plan;
    try {
      plan = await this.plan(request);
    } catch (err) {
      if (!isConnectionError(err) && !isAborted(err)) throw err;
      return this.#finish(
        request,
        started,
        before,
        expandLists(request.objects).map((object) => unattempted(object, err as GitOpsError)),
        [err as GitOpsError],
      );
    }
    const run: Run = {
      request,
      plan,
      dryRun,
      force: request.force ?? true,
      live: new Map(),
      listed: new Set(),
      results: new Map(),
      errors: [],
      crdProblems: new Map(),
      freshKinds: new Set(),
    };
    const inventory = new Inventory(
      this.client,
      request.application,
      request.inventoryNamespace ?? this.inventoryNamespace,
    );
    let stored: ReadonlyMap<string, InventoryEntry> = new Map();
    try {
      stored = await inventory.read(request.signal);
      await this.#readLive(run, stored);
    } catch (err) {
      this.#halt(run, err);
    }

    // Recorded before anything is created, so a sync cut short still knows what to prune.
    let inventoryPending = !dryRun && run.stop === undefined;
    const desiredEntries = new Map(stored);
    for (const p of plan.objects) desiredEntries.set(p.id, { id: p.id, apiVersion: p.object.apiVersion });
    const writeInventoryFirst = async (): Promise<void> => {
      if (!inventoryPending) return;
      try {
        await inventory.write(desiredEntries, request.signal);
        inventoryPending = false;
      } catch (err) {
        const namespaceComing =
          err instanceof GitOpsError &&
          err.code === ErrorCodes.NotFound &&
          plan.objects.some(
            (p) =>
              p.key.kind === 'Namespace' &&
              p.key.group === '' &&
              p.key.name === inventory.namespace &&
              !run.results.has(p.id),
          );
        // Its namespace is created by this very sync: try again after the first stage.
        if (namespaceComing) return;
        inventoryPending = false;
        this.#halt(
          run,
          err,
          `cannot record the inventory ${inventory.namespace}/${inventory.name}, so nothing is applied`,
        );
      }
    };

    // Hooks run when the desired state differs from the one whose hooks last ran to the end.
    const stateHash = desiredStateHash(plan);
    const hooksDue = plan.hooks.length > 0 && inventory.hooksRanFor !== stateHash;
    const hookResults: ObjectResult[] = [];
    const hookCtx = {
      client: this.client,
      force: run.force,
      timeoutMs: this.hookTimeoutMs,
      pollIntervalMs: this.healthPollIntervalMs,
      signal: request.signal,
    };
    const runHooks = async (hooks: readonly PlannedObject[]): Promise<void> => {
      if (hooks.length === 0) return;
      if (run.stop !== undefined) {
        hookResults.push(...hooks.map((p) => hookNotRun(p, 'not attempted', run.stop)));
        return;
      }
      if (dryRun || !hooksDue) {
        const message = dryRun
          ? hooksDue
            ? 'would run'
            : 'would not run: the desired state is the one whose hooks last ran'
          : 'not run: the desired state is the one whose hooks last ran';
        hookResults.push(...hooks.map((p) => hookNotRun(p, message)));
        return;
      }
      await writeInventoryFirst();
      const results = await mapLimit(hooks, this.concurrency, (p) => runHook(hookCtx, p));
      hookResults.push(...results);
      const failed = results.filter((r) => r.action === 'failed');
      if (failed.length > 0) {
        this.#halt(
          run,
          new GitOpsError(
            ErrorCodes.HookFailed,
            `${failed.map((r) => r.error?.message ?? r.id).join('; ')}; later phases are not applied`,
            { details: { object: failed[0]!.id } },
          ),
        );
      }
    };
    type Unit = { phase: string; wave: number; hooks?: PlannedObject[]; step?: (typeof plan.steps)[number] };
    const units: Unit[] = plan.steps.map((step) => ({ phase: step.phase, wave: step.wave, step }));
    for (const hook of plan.hooks) {
      if (hook.options.hook === 'SyncFail') continue;
      const last = units.find((u) => u.hooks !== undefined && u.phase === hook.phase && u.wave === hook.wave);
      if (last !== undefined) last.hooks!.push(hook);
      else units.push({ phase: hook.phase, wave: hook.wave, hooks: [hook] });
    }
    // Phase, then wave; inside a wave the objects first, then its hooks.
    units.sort(
      (a, b) =>
        APPLY_PHASES.indexOf(a.phase as ApplyPhase) - APPLY_PHASES.indexOf(b.phase as ApplyPhase) ||
        a.wave - b.wave ||
        (a.hooks === undefined ? 0 : 1) - (b.hooks === undefined ? 0 : 1) ||
        (a.step?.stage ?? 0) - (b.step?.stage ?? 0),
    );

    let waveObjects: PlannedObject[] = [];
    let wave: string | undefined;
    for (const unit of units) {
      const stepWave = `${unit.phase}/${unit.wave}`;
      // PostSync hooks run once everything before them is healthy, as in Argo CD.
      const postSyncHooks = unit.hooks !== undefined && unit.phase === 'PostSync' && hooksDue;
      if (
        (request.waitForHealth || postSyncHooks) &&
        waveObjects.length > 0 &&
        (stepWave !== wave || unit.hooks !== undefined) &&
        run.stop === undefined &&
        !dryRun
      ) {
        const problem = await this.#waitForHealth(run, waveObjects, wave!);
        if (problem !== undefined) this.#halt(run, problem);
        waveObjects = [];
      }
      wave = stepWave;
      if (unit.hooks !== undefined) {
        await runHooks(unit.hooks);
        continue;
      }
      const step = unit.step!;
      if (run.stop === undefined) await writeInventoryFirst();
      await mapLimit(step.objects, this.concurrency, (p) => this.#applyPlanned(run, p));
      waveObjects.push(...step.objects);
      if (step.stage === 0 && run.stop === undefined) await this.#awaitEstablished(run, step.objects);
    }
    const syncFail = plan.hooks.filter((p) => p.options.hook === 'SyncFail');
    const syncFailed = run.stop !== undefined || [...run.results.values()].some((r) => r.action === 'failed');
    if (syncFail.length > 0) {
      if (
        syncFailed &&
        hooksDue &&
        !dryRun &&
        !(run.stop !== undefined && (isConnectionError(run.stop) || isAborted(run.stop)))
      ) {
        const stop = run.stop;
        run.stop = undefined;
        await runHooks(syncFail);
        run.stop = stop ?? run.stop;
      } else {
        hookResults.push(...syncFail.map((p) => hookNotRun(p, 'not run: the sync did not fail')));
      }
    }
    if (hooksDue && !dryRun && !syncFailed && run.stop === undefined) inventory.setHooksRanFor(stateHash);
    if (inventoryPending && run.stop === undefined) await writeInventoryFirst();

    const pruneOutcomes = await this.#prune(run, stored);
    if (!dryRun && run.stop === undefined) {
      const finalEntries = this.#finalInventory(run, stored, pruneOutcomes);
      try {
        await inventory.write(finalEntries, request.signal);
      } catch (err) {
        run.errors.push(
          withContext(err, `cannot store the inventory ${inventory.namespace}/${inventory.name}`),
        );
      }
    }
    if (!dryRun) this.#plans.set(request.application, plan);

    const objects: ObjectResult[] = [
      ...plan.objects.map(
        (p) =>
          run.results.get(p.id) ?? plannedResult(p, 'skipped', { error: run.stop, message: 'not attempted' }),
      ),
      ...hookResults,
      ...plan.skipped.map((p) =>
        plannedResult(p, 'skipped', { message: 'not applied: a hook of the Skip phase' }),
      ),
      ...plan.rejected.map((r): ObjectResult => ({
        ...(r.id === undefined ? {} : { id: r.id }),
        ...(r.key === undefined ? {} : { key: r.key }),
        action: 'failed',
        error: r.error,
        health: MISSING,
      })),
      ...pruneOutcomes.map((o) => o.result),
    ];
    if (run.stop !== undefined) run.errors.unshift(run.stop);
    return this.#finish(request, started, before, objects, run.errors);
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

  async #readLive(run: Run, stored: ReadonlyMap<string, InventoryEntry>): Promise<void> {
    const types = new Map<string, GroupVersionKind>();
    for (const p of run.plan.objects) {
      const gvk = gvkOf(p.object);
      types.set(typeId(gvk), gvk);
    }
    for (const entry of stored.values()) {
      const key = parseObjectKey(entry.id);
      const gvk = { ...parseApiVersion(entry.apiVersion), kind: key.kind };
      types.set(typeId(gvk), gvk);
    }
    const selector = `${APPLICATION_LABEL}=${run.request.application}`;
    await Promise.all(
      [...types.values()].map(async (gvk) => {
        const info =
          this.client.mapper.cachedResource(gvk) ?? (await this.client.mapper.find(gvk, run.request.signal));
        // A kind the cluster does not serve yet has no objects: nothing to read.
        if (info === undefined) {
          run.listed.add(`${gvk.group}/${gvk.kind}`);
          return;
        }
        try {
          const list = await this.client.listResource(info, {
            labelSelector: selector,
            signal: run.request.signal,
          });
          for (const item of list.items) run.live.set(objectKeyToString(keyOf(item)), item);
          run.listed.add(`${gvk.group}/${gvk.kind}`);
        } catch (err) {
          // Without cluster-wide list rights, each object is read on its own instead.
          if (!(err instanceof GitOpsError && err.code === ErrorCodes.Forbidden)) throw err;
        }
      }),
    );
  }

  async #applyPlanned(run: Run, p: PlannedObject): Promise<void> {
    if (run.request.signal?.aborted && run.stop === undefined)
      this.#halt(run, abortedError(run.request.signal, 'the sync'));
    if (run.stop !== undefined) {
      run.results.set(p.id, plannedResult(p, 'skipped', { error: run.stop, message: 'not attempted' }));
      return;
    }
    const kind = `${p.key.group}/${p.key.kind}`;
    if (p.options.applyPolicy === 'Ignore') {
      const live = run.live.get(p.id);
      run.results.set(
        p.id,
        plannedResult(p, 'skipped', {
          message: 'not applied: its annotations say Ignore (or reconcile: disabled)',
          health: live === undefined ? MISSING : assessHealth(live),
        }),
      );
      return;
    }
    const crdProblem = run.crdProblems.get(kind);
    if (crdProblem !== undefined) {
      run.results.set(
        p.id,
        plannedResult(p, 'failed', { error: crdProblem.withDetails({ object: p.id }), health: MISSING }),
      );
      return;
    }
    const ctx = {
      client: this.client,
      fieldManager: this.fieldManager,
      force: run.force,
      signal: run.request.signal,
    };
    try {
      let live: KubeObject | undefined | 'unknown' = run.live.get(p.id);
      if (live === undefined && !run.listed.has(kind))
        live = await this.client.get(refOf(p), run.request.signal);
      const outcome = await this.#retryFresh(run, kind, () => applyObject(ctx, p, live, run.dryRun));
      run.results.set(
        p.id,
        plannedResult(p, outcome.action, {
          health: assessHealth(outcome.object),
          ...(outcome.drifted ? { drifted: true } : {}),
          ...(outcome.changes === undefined ? {} : { changes: outcome.changes }),
        }),
      );
      if (isCustomResourceDefinition(p.key)) run.live.set(p.id, outcome.object);
    } catch (err) {
      const error =
        err instanceof GitOpsError
          ? err.withDetails({ object: p.id })
          : toGitOpsError(err, ErrorCodes.InternalError, { object: p.id });
      if (isConnectionError(error) || isAborted(error)) this.#halt(run, error);
      const coming = run.dryRun
        ? (this.#providedByThisSync(run, p, error) ??
          (p.options.skipDryRunOnMissingResource && error.code === ErrorCodes.UnknownKind
            ? 'not checked by the server: its kind is not served yet (SkipDryRunOnMissingResource)'
            : undefined))
        : undefined;
      if (coming !== undefined) {
        run.results.set(p.id, plannedResult(p, 'created', { health: MISSING, message: coming }));
        return;
      }
      run.results.set(p.id, plannedResult(p, 'failed', { error, health: MISSING }));
    }
  }

  /** In a dry-run, the reason an object cannot be checked yet: its Namespace or CRD is new. */
  #providedByThisSync(run: Run, p: PlannedObject, error: GitOpsError): string | undefined {
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
  async #retryFresh<T>(run: Run, kind: string, fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        const fresh =
          run.freshKinds.has(kind) && err instanceof GitOpsError && err.code === ErrorCodes.NotFound;
        if (!fresh || Date.now() > deadline) throw err;
        await sleep(200, run.request.signal);
      }
    }
  }

  /** Waits until the CRDs of a stage are Established, then teaches the REST mapper their kinds. */
  async #awaitEstablished(run: Run, objects: readonly PlannedObject[]): Promise<void> {
    const crds = objects.filter(
      (p) => isCustomResourceDefinition(p.key) && run.results.get(p.id)?.action !== 'failed',
    );
    await Promise.all(
      crds.map(async (p) => {
        const names = crdKindOf(p.object);
        if (names === undefined) return;
        const kind = `${names.group}/${names.kind}`;
        if (run.dryRun) {
          const live = run.live.get(p.id);
          if (live !== undefined && run.results.get(p.id)?.action !== 'created')
            this.client.mapper.learnCustomResourceDefinition(live);
          return;
        }
        const deadline = Date.now() + this.crdEstablishedTimeoutMs;
        let live = run.live.get(p.id);
        let wait = 50;
        while (live === undefined || assessHealth(live).status !== 'Healthy') {
          const health = assessHealth(live);
          if (health.status === 'Degraded' || Date.now() > deadline) {
            const error = new GitOpsError(
              health.status === 'Degraded' ? ErrorCodes.Unhealthy : ErrorCodes.Timeout,
              `CustomResourceDefinition ${p.key.name} is not Established` +
                (health.status === 'Degraded'
                  ? `: ${health.message}`
                  : ` after ${this.crdEstablishedTimeoutMs} ms`) +
                `, so its ${names.kind} objects are not applied`,
              { details: { object: p.id } },
            );
            run.crdProblems.set(kind, error);
            const result = run.results.get(p.id);
            if (result !== undefined) run.results.set(p.id, { ...result, health });
            return;
          }
          try {
            await sleep(wait, run.request.signal);
            wait = Math.min(500, wait * 2);
            live = await this.client.get(refOf(p), run.request.signal);
          } catch (err) {
            this.#halt(run, err);
            return;
          }
        }
        this.client.mapper.learnCustomResourceDefinition(live);
        run.freshKinds.add(kind);
        const result = run.results.get(p.id);
        if (result !== undefined) run.results.set(p.id, { ...result, health: assessHealth(live) });
      }),
    );
  }

  /** Polls the objects of a finished wave until all are Healthy; an error says why not. */
  async #waitForHealth(
    run: Run,
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
    const deadline = Date.now() + this.healthTimeoutMs;
    for (;;) {
      const pending = objects.filter((p) => run.results.get(p.id)?.health.status !== 'Healthy');
      if (pending.length === 0) return undefined;
      const degraded = pending.filter((p) => run.results.get(p.id)?.health.status === 'Degraded');
      if (degraded.length > 0 || Date.now() > deadline) {
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
            : `wave ${wave} was not healthy within ${this.healthTimeoutMs} ms, later waves are not applied: ${list}`,
          { details: { wave } },
        );
      }
      try {
        await sleep(this.healthPollIntervalMs, run.request.signal);
        await mapLimit(pending, this.concurrency, async (p) => {
          const live = await this.client.get(refOf(p), run.request.signal);
          const result = run.results.get(p.id);
          if (result !== undefined) run.results.set(p.id, { ...result, health: assessHealth(live) });
        });
      } catch (err) {
        return toGitOpsError(err);
      }
    }
  }

  async #prune(run: Run, stored: ReadonlyMap<string, InventoryEntry>): Promise<PruneOutcome[]> {
    if (!run.request.prune) return [];
    const desired = new Set<string>([...run.plan.objects, ...run.plan.skipped].map((p) => p.id));
    for (const r of run.plan.rejected) if (r.id !== undefined) desired.add(r.id);
    const candidates = [...stored.values()].filter((e) => !desired.has(e.id));
    if (candidates.length === 0) return [];
    const hold = (message: string, error?: GitOpsError): PruneOutcome[] =>
      candidates.map((entry) => ({
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
    if (run.stop !== undefined) return hold('not pruned: the sync stopped early', run.stop);
    if ((run.request.inputErrors?.length ?? 0) > 0) {
      const error = new GitOpsError(
        ErrorCodes.PruneRefused,
        `nothing is pruned: the input had ${run.request.inputErrors?.length} problem(s), so objects missing from it may only be unreadable`,
      );
      run.errors.push(error);
      return hold('not pruned: the input had problems', error);
    }
    if (run.plan.objects.length === 0 && run.plan.rejected.length === 0 && !run.request.allowEmpty) {
      const error = new GitOpsError(
        ErrorCodes.PruneRefused,
        `refusing to prune all ${candidates.length} object(s) of application ${run.request.application}: the input is empty ` +
          '(an empty directory or a wrong path?); sync with allowEmpty to really delete everything',
      );
      run.errors.push(error);
      return hold('not pruned: the input is empty', error);
    }
    return pruneObjects(
      {
        client: this.client,
        application: run.request.application,
        dryRun: run.dryRun,
        propagationPolicy: run.request.propagationPolicy ?? 'Background',
        concurrency: this.concurrency,
        signal: run.request.signal,
      },
      candidates,
      run.live,
      () => {
        if (run.request.signal?.aborted && run.stop === undefined)
          this.#halt(run, abortedError(run.request.signal, 'the sync'));
        return run.stop;
      },
    ).then((outcomes) => {
      for (const o of outcomes)
        if (o.result.error && (isConnectionError(o.result.error) || isAborted(o.result.error)))
          this.#halt(run, o.result.error);
      return outcomes;
    });
  }

  #finalInventory(
    run: Run,
    stored: ReadonlyMap<string, InventoryEntry>,
    pruned: readonly PruneOutcome[],
  ): Map<string, InventoryEntry> {
    const entries = new Map<string, InventoryEntry>();
    for (const p of run.plan.objects) entries.set(p.id, { id: p.id, apiVersion: p.object.apiVersion });
    for (const r of run.plan.rejected) {
      const before = r.id === undefined ? undefined : stored.get(r.id);
      if (before !== undefined) entries.set(before.id, before);
    }
    const outcomes = new Map(pruned.map((o) => [o.result.id ?? '', o]));
    for (const entry of stored.values()) {
      if (entries.has(entry.id)) continue;
      const outcome = outcomes.get(entry.id);
      // Without prune, what left the input stays ours, to be pruned by a later sync.
      if (!run.request.prune || outcome === undefined || outcome.keep) entries.set(entry.id, entry);
    }
    return entries;
  }

  #halt(run: Run, err: unknown, context?: string): void {
    if (run.stop !== undefined) return;
    run.stop = context === undefined ? toGitOpsError(err) : withContext(err, context);
  }

  #finish(
    request: SyncRequest,
    started: number,
    before: ReturnType<KubeClient['rest']['stats']>,
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

function typeId(gvk: GroupVersionKind): string {
  return `${gvk.group}/${gvk.version}/${gvk.kind}`;
}
