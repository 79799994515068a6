/**
 * One application's reconcile loop. At most one sync runs at a time; triggers that arrive during
 * a sync collapse into one follow-up. A failure is reported and retried with backoff, never
 * thrown out of the loop: an unreachable remote or API server is just another failed attempt.
 *
 * From a trigger to an apply in three hops: a trigger calls `trigger()`, the reconciler asks its
 * `Destinations` for the application's destination, and calls that destination's `SyncEngine`.
 */
import { setMaxListeners } from 'node:events';

import type { Git } from '../git/index.js';
import { ErrorCodes, GitOpsError, backoffDelay, toGitOpsError } from '../runtime/index.js';
import type { KubeObject } from '../runtime/index.js';
import { applicationKey, parseDuration } from './application.js';
import type { Application, ApplicationCondition, ApplicationStatus } from './application.js';
import { renderContextOf } from './render.js';
import type { Renderer, RenderContext } from './render.js';
import type { HealthStatus } from '../sync/index.js';
import type { DriftEvent } from '../sync/index.js';
import { selfHealBackoff } from './self-heal.js';
import { alreadyApplied, nextStep, type ReconcileFacts } from './reconcile-decision.js';
import { onDestination } from './destination.js';
import type { DestinationLease, Destinations, SyncOutcome } from './destination.js';
import { syncOutcomeOf } from './engine-target.js';
import { refusalError } from './tenancy.js';

export type TriggerReason =
  'start' | 'revision' | 'timer' | 'webhook' | 'drift' | 'manual' | 'dependency' | 'retry';

export interface SyncRecord {
  app: string;
  reason: TriggerReason;
  /** `drifted`: the cluster differs from the applied revision and self-heal is off. */
  result: 'synced' | 'unchanged' | 'healed' | 'drifted' | 'failed' | 'waiting';
  revision?: string;
  durationMs: number;
  objects: number;
  error?: GitOpsError;
  /** Hooks that ran, one line each: `PreSync hook batch/Job/ns/migrate-x1y2z Succeeded`. */
  hooks?: string[];
}

export interface ReconcilerContext {
  /** The repository and the revision to sync (the operator fetches; a reconciler only reads). */
  source(app: Application, signal: AbortSignal): Promise<{ git: Git; revision: string }>;
  renderer: Renderer;
  /** What rendering needs of the application (Helm settings, capabilities); its own name and namespace by default. */
  renderContext?(app: Application, signal: AbortSignal): Promise<RenderContext>;
  /** Where the application's objects go: its destination's engine, held for each call. */
  destinations: Destinations;
  /** Names of dependencies that are not healthy yet (empty when the app may sync). */
  unhealthyDependencies(app: Application): string[];
  onStatus?(app: Application, status: ApplicationStatus): void;
  onSync?(record: SyncRecord): void;
  onProgress?(app: Application, step: string): void;
  /** Each drift the cluster watch reports; a sync (or an OutOfSync check) follows it. */
  onDrift?(app: Application, event: DriftEvent): void;
  /** The drift watch could not start or broke; drift is then found at each interval only. */
  onDriftWatchError?(app: Application, error: GitOpsError): void;
  /** For tests: how long a timer or a retry waits is scaled by this; 1 by default. */
  random?: () => number;
}

export interface ReconcilerOptions {
  /** Run the timer (drift checks and periodic syncs); off for one-shot syncs. */
  timer?: boolean;
  dryRun?: boolean;
}

export class ApplicationReconciler {
  private current: Application;
  private state: ApplicationStatus;
  private running: Promise<ApplicationStatus> | undefined;
  private queued: Promise<ApplicationStatus> | undefined;
  private queuedReason: TriggerReason = 'retry';
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private intervalTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private healthChecks = 0;
  private readonly lifetime = new AbortController();
  private stopped = false;
  /** Objects the watch saw drift since the revision was applied: id -> how. */
  private readonly drifted = new Map<string, DriftEvent['reason']>();
  /** The cluster watch that turns drift into a sync, for the revision it watches. */
  private driftWatch:
    | {
        revision: string;
        spec: string;
        /** Aborting it ends the watch, even one still starting (a list that keeps failing). */
        controller: AbortController;
        stop: Promise<(() => Promise<void>) | undefined>;
      }
    | undefined;
  /** Set once a dry-run confirmed drift (OutOfSync); only a check that finds none clears it. */
  private driftConfirmed = false;
  /** Self-heals per object, so an object someone keeps changing is restored ever more slowly. */
  private readonly heals = selfHealBackoff();
  private healTimer: NodeJS.Timeout | undefined;

  constructor(
    app: Application,
    private readonly context: ReconcilerContext,
    private readonly options: ReconcilerOptions = {},
  ) {
    this.current = app;
    // Every concurrent API request of a sync listens on this one signal.
    setMaxListeners(0, this.lifetime.signal);
    this.state = { phase: 'Pending', health: 'Unknown', ...(app.status ?? {}) };
  }

  get app(): Application {
    return this.current;
  }

  get key(): string {
    return applicationKey(this.current);
  }

  get status(): ApplicationStatus {
    return this.state;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** A new spec (e.g. the Application was edited): the next sync uses it. */
  update(app: Application): void {
    this.current = app;
    this.scheduleTimer();
    if (this.driftWatch !== undefined && this.driftWatch.spec !== JSON.stringify(app.spec))
      void this.stopDriftWatch();
  }

  start(): void {
    this.scheduleTimer();
    void this.trigger('start');
  }

  /**
   * Asks for a sync; resolves with the status after a sync that began after this call. A call
   * during a sync waits for one follow-up, shared by every call made meanwhile.
   */
  trigger(reason: TriggerReason): Promise<ApplicationStatus> {
    if (this.stopped) return Promise.resolve(this.state);
    if (this.running === undefined) return this.launch(reason);
    this.queuedReason = strongest(this.queuedReason, reason);
    this.queued ??= this.running.then(() => {
      this.queued = undefined;
      const collapsed = this.queuedReason;
      this.queuedReason = 'retry';
      return this.launch(collapsed);
    });
    return this.queued;
  }

  /** Abandons the current sync (between API requests) and stops every timer. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.intervalTimer);
    clearTimeout(this.healthTimer);
    clearTimeout(this.healTimer);
    this.lifetime.abort();
    await Promise.allSettled([this.running, this.queued]);
    await this.stopDriftWatch();
  }

  private launch(reason: TriggerReason): Promise<ApplicationStatus> {
    const run = this.reconcile(reason).finally(() => {
      this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async reconcile(reason: TriggerReason): Promise<ApplicationStatus> {
    const app = this.current;
    const began = performance.now();
    const signal = this.lifetime.signal;
    let revision: string | undefined;
    let objects: readonly KubeObject[] = [];
    clearTimeout(this.retryTimer);
    try {
      const waitingOn = this.context.unhealthyDependencies(app);
      const facts: ReconcileFacts = {
        reason,
        // Suspended: nothing runs on its own; a person's explicit sync (manual) still does.
        suspended: app.spec.suspend === true && reason !== 'manual',
        waitingOn,
        dryRun: this.options.dryRun === true,
        selfHeal: app.spec.policy.selfHeal,
        driftKnown: false,
        rendered: false,
      };
      let source: Awaited<ReturnType<ReconcilerContext['source']>> | undefined;
      for (let step = nextStep(facts); step !== 'sync'; step = nextStep(facts)) {
        switch (step) {
          case 'suspended':
            this.setStatus({
              condition: condition('Ready', 'False', 'Suspended', 'suspended: spec.suspend is true'),
            });
            this.context.onSync?.(record(app, reason, 'waiting', began, undefined, 0));
            return this.state;
          case 'wait':
            this.setStatus({
              phase: 'Waiting',
              condition: condition(
                'DependenciesReady',
                'False',
                'Waiting',
                `waiting for ${waitingOn.join(', ')}`,
              ),
            });
            this.context.onSync?.(record(app, reason, 'waiting', began, undefined, 0));
            return this.state;
          case 'fetch':
            this.context.onProgress?.(app, 'fetch');
            source = await this.context.source(app, signal);
            revision = source.revision;
            facts.revision = revision;
            facts.applied =
              (await this.#on(app, signal, (l) => l.destination.appliedRevision(app, signal))) ?? null;
            facts.driftKnown =
              !this.canWatchDrift() ||
              (this.driftWatch?.revision === revision && this.drifted.size === 0 && !this.driftConfirmed);
            break;
          case 'unchanged':
            this.succeed(revision!, undefined, await this.#health(app, signal));
            this.context.onSync?.(record(app, reason, 'unchanged', began, revision, 0));
            return this.state;
          case 'render': {
            this.context.onProgress?.(app, 'render');
            const rendered = await this.context.renderer.renderAll(
              source!.git,
              revision!,
              app.spec.source.paths,
              signal,
              this.context.renderContext === undefined
                ? renderContextOf(app)
                : await this.context.renderContext(app, signal),
            );
            objects = rendered.flatMap((r) => r.objects);
            facts.rendered = true;
            break;
          }
          case 'check-drift':
            facts.drifted = await this.#on(app, signal, async (l) =>
              l.destination.drifted(app, (await l.admit(app, objects, signal)).allowed, signal),
            );
            break;
          case 'confirm':
          case 'report-drift': {
            const health = await this.#health(app, signal);
            if (step === 'report-drift') this.outOfSync(revision!, health);
            else {
              this.drifted.clear();
              this.driftConfirmed = false;
              this.succeed(revision!, undefined, health);
            }
            this.watchDrift(app, revision!, objects);
            const result = step === 'report-drift' ? 'drifted' : 'unchanged';
            this.context.onSync?.(record(app, reason, result, began, revision, objects.length));
            return this.state;
          }
        }
      }
      revision = revision!;
      const healing = alreadyApplied(facts);
      this.setStatus({ phase: 'Syncing', lastAttemptedRevision: revision });
      const outcome = await this.#on(app, signal, (lease) => this.#apply(lease, app, revision!, objects));
      const hooks = (outcome.result?.objects ?? [])
        .filter((o) => o.hook !== undefined && o.hook.outcome !== 'NotRun')
        .map(
          (o) =>
            `${o.hook!.phase} hook ${o.id ?? ''} ${o.hook!.outcome}${o.hook!.deleted ? ' (deleted)' : ''}`,
        );
      const withHooks = (r: SyncRecord): SyncRecord => (hooks.length > 0 ? { ...r, hooks } : r);
      if (outcome.error !== undefined) {
        this.fail(outcome.error, revision, outcome);
        this.context.onSync?.(
          withHooks(record(app, reason, 'failed', began, revision, objects.length, outcome.error)),
        );
        return this.state;
      }
      this.drifted.clear();
      this.driftConfirmed = false;
      this.succeed(revision, outcome.objects, outcome.health);
      this.watchDrift(app, revision, objects);
      this.context.onSync?.(
        withHooks(record(app, reason, healing ? 'healed' : 'synced', began, revision, objects.length)),
      );
    } catch (cause) {
      const error = signal.aborted
        ? new GitOpsError(ErrorCodes.Aborted, 'the sync was abandoned because the operator is stopping', {
            cause,
          })
        : toGitOpsError(cause);
      this.fail(error, revision);
      this.context.onSync?.(record(app, reason, 'failed', began, revision, objects.length, error));
    }
    return this.state;
  }

  /** Holds `app`'s destination for one call. */
  #on<T>(app: Application, signal: AbortSignal, call: (lease: DestinationLease) => Promise<T>): Promise<T> {
    return onDestination(this.context.destinations, app, signal, call);
  }

  #health(app: Application, signal: AbortSignal): Promise<HealthStatus> {
    return this.#on(app, signal, (l) => l.destination.health(app, signal));
  }

  /**
   * The apply: the objects tenancy admits go to the destination's engine, between the marks of
   * the revision begun and complete. Refused objects change nothing and turn prune off (it could
   * remove one applied before); they are reported failed, and the others still applied.
   */
  async #apply(
    lease: DestinationLease,
    app: Application,
    revision: string,
    objects: readonly KubeObject[],
  ): Promise<SyncOutcome> {
    const signal = this.lifetime.signal;
    const dryRun = this.options.dryRun === true;
    const { destination } = lease;
    const { allowed, refused } = await lease.admit(app, objects, signal);
    const policy = refused.length === 0 ? app : withoutPrune(app);
    if (!dryRun) await destination.beginRevision(app, revision, allowed, signal);
    const result = await destination.engine.sync(
      destination.syncRequest(policy, allowed, {
        dryRun,
        signal,
        onWave: (w) =>
          this.context.onProgress?.(app, `apply wave ${w.index + 1}/${w.total} (${w.objects} objects)`),
      }),
    );
    const outcome = syncOutcomeOf(result);
    if (!dryRun && outcome.error === undefined) await destination.completeRevision(app, revision, signal);
    if (refused.length === 0) return outcome;
    return {
      ...outcome,
      objects: [...refused, ...outcome.objects],
      error: outcome.error ?? refusalError(app, refused, objects.length),
    };
  }

  private succeed(revision: string, objects: ApplicationStatus['objects'], health: HealthStatus): void {
    this.failures = 0;
    const now = new Date().toISOString();
    this.setStatus({
      phase: this.options.dryRun ? this.state.phase : 'Synced',
      health: this.options.dryRun ? this.state.health : health,
      lastAttemptedRevision: revision,
      ...(this.options.dryRun ? {} : { lastSyncedRevision: revision, lastSyncTime: now }),
      ...(objects === undefined ? {} : { objects }),
      lastError: undefined,
      condition: condition('Synced', 'True', 'Synced', `revision ${revision} is applied`),
    });
    this.scheduleHealthCheck(health);
  }

  private outOfSync(revision: string, health: HealthStatus): void {
    this.failures = 0;
    this.driftConfirmed = true;
    const seen = [...this.drifted].map(([id, how]) => `${id} (${how})`);
    const shown = seen.length > 5 ? [...seen.slice(0, 5), `${seen.length - 5} more`] : seen;
    this.setStatus({
      phase: 'OutOfSync',
      health,
      lastAttemptedRevision: revision,
      lastError: undefined,
      condition: condition(
        'Synced',
        'False',
        'Drifted',
        `objects on the cluster differ from revision ${revision}` +
          (shown.length === 0 ? '' : `: ${shown.join(', ')}`) +
          '; self-heal is off, so they stay as they are until the next sync',
      ),
    });
    this.scheduleHealthCheck(health);
  }

  // Watches need a reconciler that keeps running (not one-shot).
  private canWatchDrift(): boolean {
    return this.options.timer === true && this.options.dryRun !== true && !this.stopped;
  }

  /**
   * A watch on the cluster that hears at once when an applied object is changed or deleted: with
   * self-heal on it triggers a sync that restores it; without, the application becomes OutOfSync
   * (confirmed by a server dry-run first). One watch per revision: a new revision (or spec)
   * replaces it. A watch that cannot start or breaks leaves the timer as the fallback and is
   * tried again after the next sync.
   */
  private watchDrift(app: Application, revision: string, objects: readonly KubeObject[]): void {
    if (!this.canWatchDrift()) {
      void this.stopDriftWatch();
      return;
    }
    const spec = JSON.stringify(app.spec);
    if (this.driftWatch?.revision === revision && this.driftWatch.spec === spec) return;
    void this.stopDriftWatch();
    this.drifted.clear();
    const controller = new AbortController();
    const watch: NonNullable<ApplicationReconciler['driftWatch']> = {
      revision,
      spec,
      controller,
      stop: this.#watchOnDestination(
        app,
        objects,
        (event) => {
          // A replaced watch may still report what the new revision's own sync changed.
          if (this.driftWatch !== watch) return;
          if (event.error !== undefined) {
            // The watch is broken: forget it, so the next sync starts a new one.
            void this.stopDriftWatch();
            this.context.onDriftWatchError?.(this.current, event.error);
            return;
          }
          this.drifted.set(event.id, event.reason);
          this.context.onDrift?.(this.current, event);
          this.triggerForDrift(event.id);
        },
        controller.signal,
      ).catch((err: unknown) => {
        if (this.driftWatch === watch) this.driftWatch = undefined;
        if (!this.stopped && !controller.signal.aborted)
          this.context.onDriftWatchError?.(this.current, toGitOpsError(err));
        return undefined;
      }),
    };
    this.driftWatch = watch;
  }

  /** A drift watch on `app`'s destination, which stays held until the watch is stopped. */
  async #watchOnDestination(
    app: Application,
    objects: readonly KubeObject[],
    onDrift: (event: DriftEvent) => void,
    signal: AbortSignal,
  ): Promise<() => Promise<void>> {
    const lease = await this.context.destinations.acquire(app, signal);
    try {
      const { allowed } = await lease.admit(app, objects, signal);
      const stop = await lease.destination.watchDrift(app, allowed, onDrift, signal);
      let stopped = false;
      return async () => {
        if (stopped) return;
        stopped = true;
        try {
          await stop();
        } finally {
          lease.release();
        }
      };
    } catch (err) {
      lease.release();
      throw err;
    }
  }

  /** A sync for drift: at once, or, with self-heal on, after the one self-heal backoff of drift.ts. */
  private triggerForDrift(id: string): void {
    const wait = this.current.spec.policy.selfHeal ? this.heals.next(id) : 0;
    if (wait === 0) {
      void this.trigger('drift');
      return;
    }
    if (this.healTimer !== undefined) return;
    this.healTimer = setTimeout(() => {
      this.healTimer = undefined;
      void this.trigger('drift');
    }, wait);
    this.healTimer.unref?.();
  }

  private async stopDriftWatch(): Promise<void> {
    const watch = this.driftWatch;
    this.driftWatch = undefined;
    watch?.controller.abort();
    const stop = await watch?.stop;
    await stop?.();
  }

  // A rollout in progress is looked at again soon (5 s, doubling up to 1 min), not only at the
  // next interval, so applications that depend on this one start as soon as it is healthy.
  private scheduleHealthCheck(health: HealthStatus): void {
    clearTimeout(this.healthTimer);
    if (health === 'Healthy' || health === 'Degraded' || this.stopped || this.options.dryRun) {
      this.healthChecks = 0;
      return;
    }
    if (this.options.timer !== true) return;
    const wait = backoffDelay(this.healthChecks, { initialMs: 5_000, maxMs: 60_000 });
    this.healthChecks++;
    this.healthTimer = setTimeout(() => void this.trigger('timer'), wait);
    this.healthTimer.unref?.();
  }

  private fail(
    error: GitOpsError,
    revision: string | undefined,
    outcome?: { objects: ApplicationStatus['objects']; health: HealthStatus },
  ): void {
    this.failures++;
    const health = outcome?.health ?? this.state.health;
    this.setStatus({
      phase: 'Failed',
      health: health === 'Healthy' ? 'Degraded' : health,
      ...(revision === undefined ? {} : { lastAttemptedRevision: revision }),
      ...(outcome === undefined || this.options.dryRun ? {} : { objects: outcome.objects }),
      lastError: { code: error.code, message: error.message, time: new Date().toISOString() },
      condition: condition('Synced', 'False', error.code, error.message),
    });
    if (this.stopped || error.code === ErrorCodes.Aborted) return;
    const retry = this.current.spec.policy.retry;
    if (retry.limit !== 0 && this.failures > retry.limit) return;
    const wait = backoffDelay(this.failures - 1, {
      initialMs: retry.backoffSeconds * 1000,
      maxMs: retry.maxBackoffSeconds * 1000,
      jitter: 0.2,
      ...(this.context.random === undefined ? {} : { random: this.context.random }),
    });
    this.retryTimer = setTimeout(() => void this.trigger('retry'), wait);
    this.retryTimer.unref?.();
  }

  private scheduleTimer(): void {
    clearTimeout(this.intervalTimer);
    if (this.options.timer !== true || this.stopped) return;
    const interval = parseDuration(this.current.spec.policy.interval);
    // Jitter keeps many applications from hitting the API server in step.
    const wait = interval * (0.9 + 0.2 * (this.context.random ?? Math.random)());
    this.intervalTimer = setTimeout(() => {
      void this.trigger('timer').finally(() => this.scheduleTimer());
    }, wait);
    this.intervalTimer.unref?.();
  }

  private setStatus(change: Partial<ApplicationStatus> & { condition?: ApplicationCondition }): void {
    const { condition: next, ...rest } = change;
    const conditions = [...(this.state.conditions ?? [])];
    if (next !== undefined) {
      const at = conditions.findIndex((c) => c.type === next.type);
      const old = at === -1 ? undefined : conditions[at];
      const kept =
        old !== undefined && old.status === next.status
          ? { ...next, lastTransitionTime: old.lastTransitionTime }
          : next;
      if (at === -1) conditions.push(kept);
      else conditions[at] = kept;
    }
    const generation = this.current.metadata.generation;
    const merged: ApplicationStatus = {
      ...this.state,
      ...rest,
      conditions,
      ...(generation === undefined ? {} : { observedGeneration: generation }),
    };
    if (merged.lastError === undefined) delete merged.lastError;
    this.state = merged;
    this.context.onStatus?.(this.current, merged);
  }
}

const strength: Record<TriggerReason, number> = {
  retry: 0,
  timer: 1,
  start: 2,
  dependency: 3,
  revision: 4,
  drift: 5,
  webhook: 6,
  manual: 7,
};

// A collapsed follow-up keeps the most forceful reason: a manual sync re-applies even an applied revision.
// The application with prune off, for a sync some of whose objects tenancy refused.
function withoutPrune(app: Application): Application {
  return { ...app, spec: { ...app.spec, policy: { ...app.spec.policy, prune: false } } };
}

function strongest(a: TriggerReason, b: TriggerReason): TriggerReason {
  return strength[a] >= strength[b] ? a : b;
}

function condition(
  type: ApplicationCondition['type'],
  status: ApplicationCondition['status'],
  reason: string,
  message: string,
): ApplicationCondition {
  return { type, status, reason, message, lastTransitionTime: new Date().toISOString() };
}

function record(
  app: Application,
  reason: TriggerReason,
  result: SyncRecord['result'],
  began: number,
  revision: string | undefined,
  objects: number,
  error?: GitOpsError,
): SyncRecord {
  return {
    app: applicationKey(app),
    reason,
    result,
    ...(revision === undefined ? {} : { revision }),
    durationMs: performance.now() - began,
    objects,
    ...(error === undefined ? {} : { error }),
  };
}
