/**
 * Git sources shared by the operator's applications: one clone per repository and revision
 * however many applications read it (one fetch per push, not one per application), branches
 * followed through a GitDirectory, tags and commits pinned (fetched once), and a plain
 * targetRevision resolved to a tag or a branch by asking the remote, as git would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Credentials, Git } from '../git/index.js';
import { Git as GitRepository, GitDirectory, lsRemote, parseRemoteUrl, redactUrl } from '../git/index.js';
import { ErrorCodes, GitOpsError, abortable, toGitOpsError } from '../runtime/index.js';
import { applicationKey, parseDuration, sourceRevision } from './application.js';
import type { Application, SourceRevision } from './application.js';

/** One fetch of a repository, as the operator reports it. */
export interface FetchEvent {
  type: 'fetch';
  repository: string;
  durationMs: number;
  result: 'ok' | 'error';
  revision?: string;
  error?: GitOpsError;
}

export interface GitSourcesOptions {
  /** Credentials for an application's repository (e.g. from its Secret). */
  credentialsFor?: (app: Application) => Promise<Credentials | undefined>;
  /** Where bare clones are kept (reused across restarts); temporary folders by default. */
  dataDir?: string;
  /** Follow branches at each application's interval (false for a one-shot sync). */
  follow: boolean;
  onFetch: (event: FetchEvent) => void;
  /** A followed branch moved: the keys of the applications that read it. */
  onRevision: (apps: ReadonlySet<string>) => void;
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

export class GitSources {
  private readonly repositories = new Map<string, Repository>();
  /** Each tracked application, by key, as last given (its credentials are read with it). */
  readonly #apps = new Map<string, Application>();

  constructor(private readonly options: GitSourcesOptions) {}

  /** Tracks an application (again, after an edit): moved to another repository, the old one is released. */
  track(key: string, app: Application): void {
    const before = this.#apps.get(key);
    if (before !== undefined && repositoryKeyOf(before) !== repositoryKeyOf(app)) this.untrack(key, before);
    this.#apps.set(key, app);
    this.repositoryFor(app).apps.add(key);
  }

  /**
   * A push to `repoURL` (optionally one branch): fetches each matching followed repository
   * once, which triggers its applications through the revision event. Resolves with the
   * number of repositories fetched.
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

  /** The URLs of every repository, as the applications wrote them. */
  urls(): string[] {
    return [...new Set([...this.repositories.values()].map((r) => r.url))];
  }

  /** True once every repository has been fetched at least once. */
  get ready(): boolean {
    return [...this.repositories.values()].every(
      (r) => r.dir?.revision !== undefined || r.pinned !== undefined,
    );
  }

  /** Closes every repository (and removes temporary clones). */
  async close(): Promise<void> {
    await Promise.all([...this.repositories.values()].map((r) => this.closeRepository(r)));
    this.repositories.clear();
    this.#apps.clear();
  }

  /** The clone and revision an application reads: fetched on first use, shared by every application of the same repository and revision. */
  async source(app: Application, signal: AbortSignal): Promise<{ git: Git; revision: string }> {
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
          const follow = this.options.follow;
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
            this.options.onRevision(repository.apps);
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
    const app = this.#apps.get([...repository.apps][0] ?? '');
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
      this.options.onFetch({
        type: 'fetch',
        repository: url,
        durationMs: performance.now() - began,
        result: 'ok',
        revision,
      });
      return revision;
    } catch (cause) {
      const error = toGitOpsError(cause, ErrorCodes.GitError);
      this.options.onFetch({
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

  /** Stops tracking an application; a repository no application reads any more is closed. */
  untrack(key: string, app: Application): void {
    this.#apps.delete(key);
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
