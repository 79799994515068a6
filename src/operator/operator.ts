/**
 * The operator: many applications, a reconciler per application reading its source from the
 * shared Git sources (git-sources.ts: one fetch per push, not one per application), dependsOn
 * gating, and events for whoever reports (CLI, HTTP, metrics, status).
 */
import type { Credentials } from '../git/index.js';
import { ErrorCodes, EventHub, GitOpsError, toGitOpsError } from '../runtime/index.js';
import { applicationKey } from './application.js';
import type { Application, ApplicationStatus } from './application.js';
import type { DriftEvent } from '../sync/index.js';
import { formatObjectDiffs, onDestination } from './destination.js';
import type { Destinations, ObjectDiff } from './destination.js';
import { ApplicationReconciler } from './reconciler.js';
import type { SyncRecord, TriggerReason } from './reconciler.js';
import { Renderer, renderContextOf } from './render.js';
import type { RenderContext } from './render.js';
import type { ChartRepository } from '../helm/index.js';
import type { SyncEventRecorder } from './sync-events.js';
import { StatusWriteBack } from './status-write-back.js';
import { GitSources } from './git-sources.js';
import type { FetchEvent } from './git-sources.js';

export type OperatorEvent =
  | { type: 'status'; app: string; status: ApplicationStatus }
  | { type: 'sync'; record: SyncRecord }
  | { type: 'progress'; app: string; step: string }
  | FetchEvent
  | { type: 'status-write-back'; app: string; commit?: string; error?: GitOpsError }
  | { type: 'drift'; app: string; object: string; reason: DriftEvent['reason'] }
  | { type: 'drift-watch-failed'; app: string; error: GitOpsError };

export interface OperatorOptions {
  /** Where applications' objects go: one `EngineTarget`, or `DestinationTargets` for several clusters. */
  destinations: Destinations;
  renderer?: Renderer;
  /** Credentials for an application's repository (e.g. from its Secret); none by default. */
  credentialsFor?: (app: Application) => Promise<Credentials | undefined>;
  /** Chart repositories an application's Helm charts may fetch from, with credentials (e.g. from its Secrets). */
  chartRepositoriesFor?: (app: Application) => Promise<ChartRepository[]>;
  /** Where bare clones are kept (reused across restarts); temporary folders by default. */
  dataDir?: string;
  /** Run timers and follow remotes; false for a one-shot sync. Default true. */
  follow?: boolean;
  dryRun?: boolean;
  /** Records a Kubernetes Event on the Application for each sync (not for dry-runs). */
  events?: SyncEventRecorder;
  /** Called with each status change (e.g. to write it to the Application object). */
  onStatus?: (app: Application, status: ApplicationStatus) => void;
}

export interface ApplicationView {
  key: string;
  app: Application;
  status: ApplicationStatus;
  busy: boolean;
}

export class Operator {
  readonly renderer: Renderer;
  private readonly destinations: Destinations;
  private readonly reconcilers = new Map<string, ApplicationReconciler>();
  private readonly sources: GitSources;
  private readonly hub = new EventHub<OperatorEvent>((error) =>
    process.emitWarning(`an Operator listener threw: ${String(error)}`),
  );
  private running = false;
  private readonly writeBack: StatusWriteBack;

  constructor(private readonly options: OperatorOptions) {
    this.destinations = options.destinations;
    this.renderer = options.renderer ?? new Renderer();
    this.writeBack = new StatusWriteBack({ credentialsFor: options.credentialsFor });
    this.sources = new GitSources({
      ...(options.credentialsFor === undefined ? {} : { credentialsFor: options.credentialsFor }),
      ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
      follow: options.follow !== false,
      onFetch: (event) => this.hub.emit(event),
      onRevision: (apps) => {
        for (const appKey of apps) void this.reconcilers.get(appKey)?.trigger('revision');
      },
    });
  }

  on(listener: (event: OperatorEvent) => void): () => void {
    return this.hub.on(listener);
  }

  /** Adds (or replaces the spec of) an application; it syncs at once when the operator runs. */
  upsert(app: Application): void {
    const key = applicationKey(app);
    const existing = this.reconcilers.get(key);
    if (existing !== undefined) {
      this.sources.track(key, app);
      existing.update(app);
      if (this.running) void existing.trigger('manual');
      return;
    }
    const reconciler = new ApplicationReconciler(
      app,
      {
        source: (a, signal) => this.sources.source(a, signal),
        renderer: this.renderer,
        renderContext: (a, signal) => this.renderContext(a, signal),
        destinations: this.destinations,
        unhealthyDependencies: (a) => this.unhealthyDependencies(a),
        onStatus: (a, status) => {
          this.hub.emit({ type: 'status', app: applicationKey(a), status });
          this.options.onStatus?.(a, status);
          if (status.health === 'Healthy' && (status.phase === 'Synced' || status.phase === 'OutOfSync'))
            this.wakeDependents(a);
        },
        onSync: (record) => {
          this.hub.emit({ type: 'sync', record });
          if (this.options.events !== undefined && this.options.dryRun !== true)
            void this.options.events.record(this.reconcilers.get(key)?.app ?? app, record);
          this.writeStatusBack(key, record);
        },
        onProgress: (a, step) => this.hub.emit({ type: 'progress', app: applicationKey(a), step }),
        onDriftWatchError: (a, error) =>
          this.hub.emit({ type: 'drift-watch-failed', app: applicationKey(a), error }),
        onDrift: (a, event) =>
          this.hub.emit({ type: 'drift', app: applicationKey(a), object: event.id, reason: event.reason }),
      },
      { timer: this.options.follow !== false, dryRun: this.options.dryRun },
    );
    this.reconcilers.set(key, reconciler);
    this.sources.track(key, app);
    if (this.running) reconciler.start();
  }

  async remove(key: string): Promise<void> {
    const reconciler = this.reconcilers.get(key);
    if (reconciler === undefined) return;
    this.reconcilers.delete(key);
    await reconciler.stop();
    this.sources.untrack(key, reconciler.app);
  }

  /** Starts every reconciler (each fetches through its repository's GitDirectory). */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const reconciler of this.reconcilers.values()) reconciler.start();
  }

  /** One sync of every application, in dependency order where dependsOn says so; resolves with their statuses. */
  async syncAll(reason: TriggerReason = 'manual'): Promise<ApplicationView[]> {
    const done = new Set<string>();
    const pending = new Set(this.reconcilers.keys());
    while (pending.size > 0) {
      const ready = [...pending].filter((key) =>
        this.reconcilers.get(key)!.app.spec.dependsOn.every((d) => {
          const dep = `${this.reconcilers.get(key)!.app.metadata.namespace}/${d.name}`;
          return done.has(dep) || !this.reconcilers.has(dep);
        }),
      );
      // A dependency cycle syncs what is left anyway; each reports its waiting dependencies.
      const batch = ready.length > 0 ? ready : [...pending];
      await Promise.all(batch.map((key) => this.reconcilers.get(key)!.trigger(reason)));
      for (const key of batch) {
        pending.delete(key);
        done.add(key);
      }
    }
    return this.list();
  }

  /** Syncs one application now; NotFound for an unknown key. */
  trigger(key: string, reason: TriggerReason = 'manual'): Promise<ApplicationStatus> {
    return this.reconcilerOf(key).trigger(reason);
  }

  /**
   * A push to `repoURL` (optionally one branch): fetches each matching repository once, which
   * triggers its applications through the revision event. Resolves with the number of
   * repositories fetched.
   */
  notifyPush(repoURL: string, branch?: string): Promise<number> {
    return this.sources.notifyPush(repoURL, branch);
  }

  /** The URLs of every followed repository, as the applications wrote them. */
  repositoryUrls(): string[] {
    return this.sources.urls();
  }

  list(): ApplicationView[] {
    return [...this.reconcilers.values()].map((r) => ({
      key: r.key,
      app: r.app,
      status: r.status,
      busy: r.busy,
    }));
  }

  get(key: string): ApplicationView | undefined {
    const r = this.reconcilers.get(key);
    return r === undefined ? undefined : { key: r.key, app: r.app, status: r.status, busy: r.busy };
  }

  /** The diff of live objects against the application's current revision ('' when in sync). */
  async diff(key: string, signal?: AbortSignal): Promise<string> {
    return formatObjectDiffs(await this.diffObjects(key, signal));
  }

  /** What a sync of the application's current revision would change, object by object. */
  async diffObjects(key: string, signal?: AbortSignal): Promise<ObjectDiff[]> {
    const app = this.reconcilerOf(key).app;
    const ac = new AbortController();
    signal?.addEventListener('abort', () => ac.abort(), { once: true });
    const { git, revision } = await this.sources.source(app, ac.signal);
    const rendered = await this.renderer.renderAll(
      git,
      revision,
      app.spec.source.paths,
      ac.signal,
      await this.renderContext(app, ac.signal),
    );
    const objects = rendered.flatMap((r) => r.objects);
    return onDestination(this.destinations, app, ac.signal, async (lease) =>
      lease.destination.diff(app, (await lease.admit(app, objects, ac.signal)).allowed, ac.signal),
    );
  }

  /** What rendering needs of `app`: its Helm settings, the destination's capabilities, chart repositories. */
  async renderContext(app: Application, signal?: AbortSignal): Promise<RenderContext> {
    const destinations = this.destinations;
    const repositories =
      (app.spec.source.helm?.repositories.length ?? 0) > 0
        ? await this.options.chartRepositoriesFor?.(app)
        : undefined;
    return renderContextOf(app, {
      capabilities: (a, s) => onDestination(destinations, a, s, (l) => l.destination.capabilities(a, s)),
      ...(repositories === undefined ? {} : { repositories }),
      ...(signal === undefined ? {} : { signal }),
    });
  }

  /** True once every repository has been fetched at least once. */
  get ready(): boolean {
    return this.sources.ready;
  }

  /** Stops reconcilers (abandoning their current sync) and closes repositories. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all([...this.reconcilers.values()].map((r) => r.stop()));
    await this.writeBack.close();
    await this.sources.close();
    this.hub.end();
  }

  // Only syncs that did something are written: a no-op timer sync makes no commit.
  private writeStatusBack(key: string, record: SyncRecord): void {
    const reconciler = this.reconcilers.get(key);
    if (reconciler === undefined || reconciler.app.spec.statusWriteBack === undefined) return;
    if (this.options.dryRun === true || !['synced', 'healed', 'failed'].includes(record.result)) return;
    this.writeBack.write(reconciler.app, reconciler.status).then(
      (outcome) => this.hub.emit({ type: 'status-write-back', app: key, commit: outcome.commit }),
      (error: unknown) =>
        this.hub.emit({
          type: 'status-write-back',
          app: key,
          error: toGitOpsError(error, ErrorCodes.GitError),
        }),
    );
  }

  private reconcilerOf(key: string): ApplicationReconciler {
    const r = this.reconcilers.get(key);
    if (r === undefined) {
      throw new GitOpsError(ErrorCodes.NotFound, `application ${key} is not known to this operator`, {
        details: { object: key },
      });
    }
    return r;
  }

  private unhealthyDependencies(app: Application): string[] {
    return app.spec.dependsOn
      .map((d) => `${app.metadata.namespace}/${d.name}`)
      .filter((key) => {
        const status = this.reconcilers.get(key)?.status;
        // Drift left in place (OutOfSync) still means the dependency's objects are there and healthy.
        return (
          status === undefined ||
          status.health !== 'Healthy' ||
          (status.phase !== 'Synced' && status.phase !== 'OutOfSync')
        );
      });
  }

  private wakeDependents(app: Application): void {
    for (const r of this.reconcilers.values()) {
      if (r.status.phase !== 'Waiting') continue;
      if (r.app.metadata.namespace !== app.metadata.namespace) continue;
      if (r.app.spec.dependsOn.some((d) => d.name === app.metadata.name)) void r.trigger('dependency');
    }
  }
}
