/**
 * The operator: many applications, one GitDirectory per repository and branch however many
 * applications follow it (one fetch per push, not one per application), a reconciler per
 * application, dependsOn gating, and events for whoever reports (CLI, HTTP, metrics, status).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Credentials, Git } from '../git/index.js';
import { Git as GitRepository, GitDirectory, lsRemote, parseRemoteUrl, redactUrl } from '../git/index.js';
import { ErrorCodes, EventHub, GitOpsError, abortable, toGitOpsError } from '../runtime/index.js';
import { applicationKey, parseDuration, sourceRevision } from './application.js';
import type { Application, ApplicationStatus, SourceRevision } from './application.js';
import type { DriftEvent } from '../sync/index.js';
import { formatObjectDiffs } from './sync-target.js';
import type { ObjectDiff, SyncTarget } from './sync-target.js';
import { ApplicationReconciler } from './reconciler.js';
import type { SyncRecord, TriggerReason } from './reconciler.js';
import { Renderer, renderContextOf } from './render.js';
import type { RenderContext } from './render.js';
import type { ChartRepository } from '../helm/index.js';
import type { SyncEventRecorder } from './sync-events.js';
import { StatusWriteBack } from './status-write-back.js';

export type OperatorEvent =
  | { type: 'status'; app: string; status: ApplicationStatus }
  | { type: 'sync'; record: SyncRecord }
  | { type: 'progress'; app: string; step: string }
  | {
      type: 'fetch';
      repository: string;
      durationMs: number;
      result: 'ok' | 'error';
      revision?: string;
      error?: GitOpsError;
    }
  | { type: 'status-write-back'; app: string; commit?: string; error?: GitOpsError }
  | { type: 'drift'; app: string; object: string; reason: DriftEvent['reason'] }
  | { type: 'drift-watch-failed'; app: string; error: GitOpsError };

export interface OperatorOptions {
  target: SyncTarget;
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

interface Repository {
  key: string;
  url: string;
  branch: string;
  /** A tag or commit fetched once and never followed; undefined for a branch. */
  pin?: Extract<SourceRevision, { kind: 'tag' | 'commit' }>;
  /** A plain targetRevision the remote has not yet told us is a tag or a branch. */
  unresolved?: string;
  /** Created on first use (branches). */
  dir?: GitDirectory;
  /** The pinned commit's clone, once fetched. */
  pinned?: { git: Git; revision: string; path: string; owned: boolean };
  starting?: Promise<string>;
  apps: Set<string>;
  unsubscribe: () => void;
}

export interface ApplicationView {
  key: string;
  app: Application;
  status: ApplicationStatus;
  busy: boolean;
}

export class Operator {
  readonly renderer: Renderer;
  private readonly target: SyncTarget;
  private readonly reconcilers = new Map<string, ApplicationReconciler>();
  private readonly repositories = new Map<string, Repository>();
  private readonly hub = new EventHub<OperatorEvent>((error) =>
    process.emitWarning(`an Operator listener threw: ${String(error)}`),
  );
  private running = false;
  private readonly writeBack: StatusWriteBack;

  constructor(private readonly options: OperatorOptions) {
    this.target = options.target;
    this.renderer = options.renderer ?? new Renderer();
    this.writeBack = new StatusWriteBack({ credentialsFor: options.credentialsFor });
  }

  on(listener: (event: OperatorEvent) => void): () => void {
    return this.hub.on(listener);
  }

  /** Adds (or replaces the spec of) an application; it syncs at once when the operator runs. */
  upsert(app: Application): void {
    const key = applicationKey(app);
    const existing = this.reconcilers.get(key);
    if (existing !== undefined) {
      const moved = repositoryKeyOf(existing.app) !== repositoryKeyOf(app);
      existing.update(app);
      if (moved) {
        this.release(key, existing.app);
        this.repositoryFor(app).apps.add(key);
      }
      if (this.running) void existing.trigger('manual');
      return;
    }
    const reconciler = new ApplicationReconciler(
      app,
      {
        source: (a, signal) => this.source(a, signal),
        renderer: this.renderer,
        renderContext: (a, signal) => this.renderContext(a, signal),
        target: this.target,
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
    this.repositoryFor(app).apps.add(key);
    if (this.running) reconciler.start();
  }

  async remove(key: string): Promise<void> {
    const reconciler = this.reconcilers.get(key);
    if (reconciler === undefined) return;
    this.reconcilers.delete(key);
    await reconciler.stop();
    this.release(key, reconciler.app);
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
  async notifyPush(repoURL: string, branch?: string): Promise<number> {
    const wanted = comparableUrl(repoURL);
    const matching = [...this.repositories.values()].filter(
      (r) =>
        r.pin === undefined &&
        comparableUrl(r.url) === wanted &&
        (branch === undefined || r.branch === branch),
    );
    await Promise.all(matching.map((r) => this.fetch(r).catch(() => undefined)));
    return matching.length;
  }

  /** The URLs of every followed repository, as the applications wrote them. */
  repositoryUrls(): string[] {
    return [...new Set([...this.repositories.values()].map((r) => r.url))];
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
    const { git, revision } = await this.source(app, ac.signal);
    const rendered = await this.renderer.renderAll(
      git,
      revision,
      app.spec.source.paths,
      ac.signal,
      await this.renderContext(app, ac.signal),
    );
    return this.target.diff(
      app,
      rendered.flatMap((r) => r.objects),
      ac.signal,
    );
  }

  /** What rendering needs of `app`: its Helm settings, the destination's capabilities, chart repositories. */
  async renderContext(app: Application, signal?: AbortSignal): Promise<RenderContext> {
    const target = this.target;
    const repositories =
      (app.spec.source.helm?.repositories.length ?? 0) > 0
        ? await this.options.chartRepositoriesFor?.(app)
        : undefined;
    return renderContextOf(app, {
      ...(target.capabilities === undefined ? {} : { capabilities: (a, s) => target.capabilities!(a, s) }),
      ...(repositories === undefined ? {} : { repositories }),
      ...(signal === undefined ? {} : { signal }),
    });
  }

  /** True once every repository has been fetched at least once. */
  get ready(): boolean {
    return [...this.repositories.values()].every(
      (r) => r.dir?.revision !== undefined || r.pinned !== undefined,
    );
  }

  /** Stops reconcilers (abandoning their current sync) and closes repositories. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all([...this.reconcilers.values()].map((r) => r.stop()));
    await this.writeBack.close();
    await Promise.all([...this.repositories.values()].map((r) => this.closeRepository(r)));
    this.repositories.clear();
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

  private async source(app: Application, signal: AbortSignal): Promise<{ git: Git; revision: string }> {
    const repository = this.repositoryFor(app);
    const revision = await abortable(this.started(repository, app), signal, 'fetching the source');
    if (repository.pinned !== undefined) return { git: repository.pinned.git, revision };
    const dir = repository.dir!;
    return { git: dir.git, revision: dir.revision ?? revision };
  }

  private repositoryFor(app: Application): Repository {
    const key = repositoryKeyOf(app);
    const known = this.repositories.get(key);
    if (known !== undefined) return known;
    const revision = sourceRevision(app.spec.source, applicationKey(app));
    const repository: Repository = {
      key,
      url: app.spec.source.repoURL,
      // A plain name stands for the branch of that name until the remote says it is a tag.
      branch: revision.kind === 'name' ? revision.name : app.spec.source.branch,
      ...(revision.kind === 'tag' || revision.kind === 'commit' ? { pin: revision } : {}),
      ...(revision.kind === 'name' ? { unresolved: revision.name } : {}),
      apps: new Set(),
      unsubscribe: () => undefined,
    };
    this.repositories.set(key, repository);
    return repository;
  }

  // The clone starts on first use (credentials may need the cluster); a failed start is retried by the next caller.
  private started(repository: Repository, app: Application): Promise<string> {
    repository.starting ??= this.startRepository(repository, app).catch((error: unknown) => {
      repository.starting = undefined;
      throw error;
    });
    return repository.starting;
  }

  private startRepository(repository: Repository, app: Application): Promise<string> {
    return this.reportedFetch(
      repository,
      async () => {
        if (repository.unresolved !== undefined)
          await this.resolveName(repository, repository.unresolved, app);
        if (repository.pin !== undefined) return this.fetchPinned(repository, repository.pin, app);
        if (repository.dir === undefined) {
          const credentials = await this.options.credentialsFor?.(app);
          const follow = this.options.follow !== false;
          const dir = new GitDirectory({
            url: repository.url,
            branch: repository.branch,
            ...(credentials === undefined ? {} : { credentials }),
            // The remote is polled at the application's interval; webhooks make it immediate.
            interval: follow ? parseDuration(app.spec.policy.interval) : 0,
            jitter: 0.2,
            ...(this.options.dataDir === undefined
              ? {}
              : {
                  dir: join(
                    this.options.dataDir,
                    'repositories',
                    Buffer.from(repository.key).toString('base64url').slice(0, 120),
                  ),
                }),
          });
          repository.unsubscribe = dir.on('revision', (event) => {
            if (event.from === undefined) return;
            for (const appKey of repository.apps) void this.reconcilers.get(appKey)?.trigger('revision');
          });
          repository.dir = dir;
        }
        return repository.dir.start();
      },
      // The next attempt reads the credentials again (e.g. a Secret fixed after AuthFailed).
      async () => {
        if (repository.dir?.revision === undefined) await this.forgetClone(repository);
      },
    );
  }

  private async fetch(repository: Repository): Promise<string> {
    const app = this.reconcilers.get([...repository.apps][0] ?? '')?.app;
    if (app === undefined) return '';
    // A pinned tag or commit is fetched once: a push changes nothing, a new spec makes a new repository.
    if (repository.pin !== undefined) return this.started(repository, app);
    const dir = repository.dir;
    if (dir?.revision === undefined) return this.started(repository, app);
    return this.reportedFetch(
      repository,
      () => dir.sync(),
      // Rotated credentials: start over with the ones the Secret holds now.
      async (error) => {
        if (error.code === ErrorCodes.AuthFailed) await this.forgetClone(repository);
      },
    );
  }

  /** Runs one fetch of a repository and reports it as a `fetch` event, whether it worked or not. */
  private async reportedFetch(
    repository: Repository,
    work: () => Promise<string>,
    onError: (error: GitOpsError) => Promise<void>,
  ): Promise<string> {
    const began = performance.now();
    const url = redact(repository.url);
    try {
      const revision = await work();
      this.hub.emit({
        type: 'fetch',
        repository: url,
        durationMs: performance.now() - began,
        result: 'ok',
        revision,
      });
      return revision;
    } catch (cause) {
      const error = toGitOpsError(cause, ErrorCodes.GitError);
      this.hub.emit({
        type: 'fetch',
        repository: url,
        durationMs: performance.now() - began,
        result: 'error',
        error,
      });
      await onError(error);
      throw error;
    }
  }

  /**
   * Decides what a plain targetRevision names, with one `git ls-remote` and git's own rule: the
   * tag when `refs/tags/<name>` exists (pinned, as `refs/tags/<name>` would be), else the branch
   * (followed). NotFound when the remote has neither; the next fetch asks again.
   */
  private async resolveName(repository: Repository, name: string, app: Application): Promise<void> {
    const credentials = await this.options.credentialsFor?.(app);
    const tag = `refs/tags/${name}`;
    const branch = `refs/heads/${name}`;
    const refs = await lsRemote(repository.url, {
      patterns: [tag, branch],
      ...(credentials === undefined ? {} : { credentials }),
    });
    if (refs.some((r) => r.ref === tag)) repository.pin = { kind: 'tag', name };
    else if (refs.some((r) => r.ref === branch)) repository.branch = name;
    else {
      const url = redact(repository.url);
      throw new GitOpsError(
        ErrorCodes.NotFound,
        `${url} has no tag or branch named "${name}"; fix spec.source.targetRevision or push that ref`,
        {
          details: {
            field: '.spec.source.targetRevision',
            object: applicationKey(app),
            remote: url,
            revision: name,
          },
        },
      );
    }
    repository.unresolved = undefined;
  }

  /**
   * Fetches only the pinned tag or commit into a bare repository of its own. The ref comes from
   * sourceRevision() (git's ref rules) and goes after `--` inside a refspec, never as an option.
   */
  private async fetchPinned(
    repository: Repository,
    pin: NonNullable<Repository['pin']>,
    app: Application,
  ): Promise<string> {
    if (repository.pinned !== undefined) return repository.pinned.revision;
    const credentials = await this.options.credentialsFor?.(app);
    const owned = this.options.dataDir === undefined;
    const path = owned
      ? await mkdtemp(join(tmpdir(), 'libgitops-pinned-'))
      : join(
          this.options.dataDir!,
          'pinned',
          Buffer.from(repository.key).toString('base64url').slice(0, 120),
        );
    let git: Git | undefined;
    try {
      git = await GitRepository.init(path, {
        bare: true,
        ...(credentials === undefined ? {} : { credentials }),
      });
      await git.setRemote('origin', repository.url);
      const local = 'refs/libgitops/pinned';
      if (pin.kind === 'tag') {
        await git.fetch({ refspecs: [`+refs/tags/${pin.name}:${local}`] });
      } else if ((await git.tryRevParse(pin.commit)) === undefined) {
        // Servers that refuse a want by object id still serve it through their branches and tags.
        await git.fetch({ refspecs: [`+${pin.commit}:${local}`] }).catch(async () => {
          await git!.run(['config', 'remote.origin.fetch', '+refs/heads/*:refs/libgitops/heads/*']);
          await git!.fetch({ tags: true });
        });
      }
      const revision = await git.revParse(pin.kind === 'tag' ? local : pin.commit);
      repository.pinned = { git, revision, path, owned };
      return revision;
    } catch (cause) {
      await git?.close().catch(() => undefined);
      if (owned) await rm(path, { recursive: true, force: true });
      throw cause;
    }
  }

  private async forgetClone(repository: Repository): Promise<void> {
    const dir = repository.dir;
    repository.dir = undefined;
    repository.unsubscribe();
    repository.unsubscribe = () => undefined;
    await dir?.close().catch(() => undefined);
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

  private release(key: string, app: Application): void {
    const repoKey = repositoryKeyOf(app);
    const repository = this.repositories.get(repoKey);
    if (repository === undefined) return;
    repository.apps.delete(key);
    if (repository.apps.size === 0) {
      this.repositories.delete(repoKey);
      void this.closeRepository(repository);
    }
  }

  private async closeRepository(repository: Repository): Promise<void> {
    repository.unsubscribe();
    await repository.dir?.close();
    const pinned = repository.pinned;
    repository.pinned = undefined;
    await pinned?.git.close();
    if (pinned?.owned === true) await rm(pinned.path, { recursive: true, force: true });
  }
}

/**
 * One repository per URL and branch, tag, commit or plain name: `host/path#main`,
 * `#refs/tags/v1`, `#<commit>`, `#name:v1` (no ref contains `:`, so the kinds never collide).
 */
function repositoryKeyOf(app: Application): string {
  const revision = sourceRevision(app.spec.source, applicationKey(app));
  const ref =
    revision.kind === 'branch'
      ? revision.name
      : revision.kind === 'tag'
        ? `refs/tags/${revision.name}`
        : revision.kind === 'name'
          ? `name:${revision.name}`
          : revision.commit;
  return `${comparableUrl(app.spec.source.repoURL)}#${ref}`;
}

/** Same repository, however it is written: no credentials, no `.git`, no trailing slash, lower-case host. */
export function comparableUrl(url: string): string {
  let text = url.trim();
  try {
    text = parseRemoteUrl(text).url;
  } catch {
    // Not a URL git would take: compare it as written.
  }
  try {
    const parsed = new URL(text);
    parsed.username = '';
    parsed.password = '';
    return `${parsed.host.toLowerCase()}${parsed.pathname.replace(/\/+$/, '').replace(/\.git$/, '')}`;
  } catch {
    return text.replace(/\/+$/, '').replace(/\.git$/, '');
  }
}

function redact(url: string): string {
  return redactUrl(url);
}
