/**
 * GitDirectory follows one branch of a remote. It keeps a bare clone, fetches on a timer (with
 * jitter, so many followers do not hit a server in step) and on demand, and announces every
 * new revision with the paths that changed. Reads are served from git objects at the current
 * revision, so a failing remote never takes away the last good revision.
 *
 * States: `ready` (last fetch worked), `degraded` (the remote cannot be reached right now;
 * retried with exponential backoff), `error` (needs a person: the branch or repository is
 * gone, or the credentials or host key are refused; still retried, slowly), `closed`.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { ErrorCodes, EventHub, GitOpsError, backoffDelay, toGitOpsError } from '../runtime/index.js';
import { clone } from './clone.js';
import type { Credentials } from './credentials.js';
import { Git } from './git.js';
import type { FileChange, TreeEntry } from './git.js';
import { assertBranchName, assertFilter, parseRemoteUrl, redactUrl } from './validate.js';

export type GitDirectoryState = 'idle' | 'ready' | 'degraded' | 'error' | 'closed';

export interface RevisionEvent {
  type: 'revision';
  /** The previous revision; undefined for the first one after start(). */
  from: string | undefined;
  to: string;
  changes: FileChange[];
  /** True when `to` does not descend from `from`: the branch was force-pushed. */
  forced: boolean;
}

export interface StateEvent {
  type: 'state';
  state: GitDirectoryState;
  error?: GitOpsError;
}

export type GitDirectoryEvent = RevisionEvent | StateEvent;

export interface GitDirectoryOptions {
  url: string;
  /** Default `main`. */
  branch?: string;
  credentials?: Credentials;
  /** Milliseconds between fetches; default 30 s (as the Go library). 0 fetches only on sync(). */
  interval?: number;
  /** Each wait is the interval times a random factor in [1 - jitter, 1 + jitter]; default 0.1. */
  jitter?: number;
  /** Longest wait between retries of a failing remote; default 5 minutes. */
  maxBackoff?: number;
  /** Longest time one fetch (or the first clone) may take; default 60 s. */
  timeout?: number;
  /** Where the bare clone lives. Default: a temporary folder, deleted by close(). */
  dir?: string;
  /** Partial clone filter (e.g. `blob:none`): blobs are fetched when first read. */
  filter?: string;
  /** Aborting it closes the directory. */
  signal?: AbortSignal;
}

export class GitDirectory {
  readonly url: string;
  readonly branch: string;
  private readonly interval: number;
  private readonly jitter: number;
  private readonly maxBackoff: number;
  private readonly timeout: number;
  private readonly hub = new EventHub<GitDirectoryEvent>((error) =>
    process.emitWarning(`a GitDirectory listener threw: ${String(error)}`),
  );
  private readonly lifetime = new AbortController();
  private repo: Git | undefined;
  private dir: string | undefined;
  private ownsDir = false;
  private current: string | undefined;
  private currentState: GitDirectoryState = 'idle';
  private error: GitOpsError | undefined;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private starting: Promise<string> | undefined;
  private inFlight: Promise<string> | undefined;
  private queued: Promise<string> | undefined;

  constructor(private readonly options: GitDirectoryOptions) {
    this.url = parseRemoteUrl(options.url).url;
    this.branch = assertBranchName(options.branch ?? 'main');
    if (options.filter !== undefined) assertFilter(options.filter);
    this.interval = nonNegative(options.interval ?? 30_000, 'interval');
    this.jitter = Math.min(1, nonNegative(options.jitter ?? 0.1, 'jitter'));
    this.maxBackoff = nonNegative(options.maxBackoff ?? 5 * 60_000, 'maxBackoff');
    this.timeout = nonNegative(options.timeout ?? 60_000, 'timeout');
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
  }

  /** The commit currently served; undefined before start() succeeds. */
  get revision(): string | undefined {
    return this.current;
  }

  get state(): GitDirectoryState {
    return this.currentState;
  }

  /** Why the last fetch failed; cleared by the next success. */
  get lastError(): GitOpsError | undefined {
    return this.error;
  }

  /** The bare repository, for reads beyond readFile/readTree (diffs, logs, worktrees). */
  get git(): Git {
    if (this.repo === undefined) throw notStarted();
    return this.repo;
  }

  /** The folder of the bare clone. */
  get path(): string {
    if (this.dir === undefined) throw notStarted();
    return this.dir;
  }

  /**
   * Clones the branch (or reuses a clone left in `dir` by an earlier run), emits the first
   * revision event and starts the timer. Fails if there is no revision to serve at all.
   */
  start(): Promise<string> {
    if (this.currentState === 'closed') return Promise.reject(closedError());
    this.starting ??= this.open().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  /**
   * Fetches now and resolves with the revision served afterwards. A call made while a fetch is
   * running waits for one more fetch, so a change pushed before the call is always seen.
   * Rejects with the fetch's error (the last good revision stays served).
   */
  sync(): Promise<string> {
    if (this.currentState === 'closed') return Promise.reject(closedError());
    if (this.repo === undefined) return Promise.reject(notStarted());
    if (this.inFlight === undefined) return this.launch();
    this.queued ??= this.inFlight
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.launch();
      });
    return this.queued;
  }

  /** Calls `listener` for each event of that type; returns the function that unsubscribes. */
  on(type: 'revision', listener: (event: RevisionEvent) => void): () => void;
  on(type: 'state', listener: (event: StateEvent) => void): () => void;
  on(type: GitDirectoryEvent['type'], listener: (event: never) => void): () => void {
    return this.hub.on((event) => {
      if (event.type === type) (listener as (event: GitDirectoryEvent) => void)(event);
    });
  }

  /** Every event from now until close() (or `signal`), as an async iterator. */
  events(signal?: AbortSignal): AsyncIterableIterator<GitDirectoryEvent> {
    return this.hub.subscribe(signal);
  }

  /** The file at `path` in the served revision (or `rev`). */
  readFile(path: string, rev?: string): Promise<Buffer> {
    const at = rev ?? this.current;
    if (at === undefined) return Promise.reject(notStarted());
    return this.git.readBlob(at, path);
  }

  /** The files under `path` in the served revision (or `rev`). */
  readTree(path = '', rev?: string): Promise<TreeEntry[]> {
    const at = rev ?? this.current;
    if (at === undefined) return Promise.reject(notStarted());
    return this.git.readTree(at, path);
  }

  /** Stops the timer and any fetch, ends the event iterators, and deletes a temporary clone. */
  async close(): Promise<void> {
    if (this.currentState === 'closed') return;
    this.setState('closed');
    this.lifetime.abort();
    clearTimeout(this.timer);
    await Promise.allSettled([this.starting, this.inFlight, this.queued]);
    await this.repo?.close();
    if (this.ownsDir && this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
    this.hub.end();
  }

  private async open(): Promise<string> {
    if (this.dir === undefined) {
      if (this.options.dir !== undefined) this.dir = resolve(this.options.dir);
      else {
        this.dir = await mkdtemp(join(tmpdir(), 'libgitops-gitdir-'));
        this.ownsDir = true;
      }
    }
    const reused = this.repo !== undefined || (await this.reuseClone(this.dir));
    if (!reused) {
      try {
        this.repo = await clone(this.url, this.dir, {
          bare: true,
          branch: this.branch,
          singleBranch: true,
          filter: this.options.filter,
          credentials: this.options.credentials,
          signal: this.fetchSignal(),
        });
      } catch (cause) {
        const error = this.explain(cause);
        this.error = error;
        this.setState(stateFor(error), error);
        throw error;
      }
    }
    if (this.isClosed()) throw closedError();
    const repo = this.repo as Git;
    let to = await repo.tryRevParse(this.localRef());
    if (reused) {
      // An old clone is served even when the remote cannot be reached at start.
      to = await this.launch().catch((error: unknown) => {
        if (to === undefined) throw error;
        return to;
      });
    }
    if (to === undefined) throw new GitOpsError(ErrorCodes.NotFound, `branch ${this.branch} has no commit`);
    if (this.current === undefined) {
      this.current = to;
      this.hub.emit({
        type: 'revision',
        from: undefined,
        to,
        changes: await repo.diffNames(undefined, to),
        forced: false,
      });
    }
    if (this.error === undefined) this.setState('ready');
    this.schedule();
    return to;
  }

  /** Opens a bare clone of the same branch left in `dir`; false when the folder is empty. */
  private async reuseClone(dir: string): Promise<boolean> {
    const entries = await readdir(dir).catch(() => []);
    if (entries.length === 0) return false;
    let repo: Git;
    try {
      repo = await Git.open(dir, { credentials: this.options.credentials });
    } catch (cause) {
      throw new GitOpsError(
        ErrorCodes.AlreadyExists,
        `${dir} is neither empty nor a clone made by GitDirectory`,
        {
          details: { file: dir },
          cause,
        },
      );
    }
    if (!repo.bare) {
      await repo.close();
      throw new GitOpsError(
        ErrorCodes.AlreadyExists,
        `${dir} holds a repository with a working tree, not a bare clone`,
        {
          details: { file: dir },
        },
      );
    }
    await repo.setRemote('origin', this.url);
    this.repo = repo;
    return true;
  }

  private localRef(): string {
    return `refs/heads/${this.branch}`;
  }

  private launch(): Promise<string> {
    const run = this.fetchOnce().finally(() => {
      if (this.inFlight === run) this.inFlight = undefined;
    });
    this.inFlight = run;
    return run;
  }

  private fetchSignal(): AbortSignal {
    return this.timeout > 0
      ? AbortSignal.any([this.lifetime.signal, AbortSignal.timeout(this.timeout)])
      : this.lifetime.signal;
  }

  private async fetchOnce(): Promise<string> {
    const repo = this.git;
    const before = this.current;
    let to: string;
    try {
      await repo.fetch({
        remote: 'origin',
        refspecs: [`+${this.localRef()}:${this.localRef()}`],
        signal: this.fetchSignal(),
      });
      to = await repo.revParse(this.localRef());
    } catch (cause) {
      const error = this.explain(cause);
      if (!this.isClosed()) {
        this.failures += 1;
        this.error = error;
        this.setState(stateFor(error), error);
      }
      throw error;
    }
    if (this.isClosed()) return to;
    if (before !== undefined && to !== before) {
      const forced = !(await repo.isAncestor(before, to));
      const changes = await repo.diffNames(before, to);
      this.current = to;
      this.hub.emit({ type: 'revision', from: before, to, changes, forced });
    }
    this.failures = 0;
    this.error = undefined;
    this.setState('ready');
    return to;
  }

  /** Adds what the follower knows (remote, branch) to an error, and names a timeout as one. */
  private explain(cause: unknown): GitOpsError {
    const remote = redactUrl(this.url);
    if (cause instanceof GitOpsError && cause.code === ErrorCodes.Aborted && !this.lifetime.signal.aborted) {
      return new GitOpsError(
        ErrorCodes.Timeout,
        `fetching ${this.branch} from ${remote} took longer than ${this.timeout} ms`,
        {
          details: { remote, branch: this.branch },
          cause,
        },
      );
    }
    const error = toGitOpsError(cause, ErrorCodes.GitError);
    if (
      error.code === ErrorCodes.NotFound &&
      /couldn't find remote ref|Remote branch/.test(String(error.details.stderr))
    ) {
      return new GitOpsError(ErrorCodes.NotFound, `branch ${this.branch} does not exist on ${remote}`, {
        details: { ...error.details, remote, branch: this.branch },
        cause: error,
      });
    }
    return error.withDetails({ remote, branch: this.branch });
  }

  private setState(state: GitDirectoryState, error?: GitOpsError): void {
    const changed = state !== this.currentState;
    this.currentState = state;
    // Each failure is announced, even in the same state, so watchers see fresh errors.
    if (changed || error !== undefined) this.hub.emit({ type: 'state', state, ...(error ? { error } : {}) });
  }

  private isClosed(): boolean {
    return this.currentState === 'closed';
  }

  /** The next wait: the interval, doubled per consecutive failure up to maxBackoff, with jitter. */
  nextDelay(): number {
    return backoffDelay(this.failures, {
      initialMs: this.interval,
      // After a failure the wait doubles, up to maxBackoff (never below the interval itself).
      maxMs: this.failures === 0 ? this.interval : Math.max(this.maxBackoff, this.interval),
      jitter: this.jitter,
    });
  }

  private schedule(): void {
    if (this.interval === 0 || this.isClosed()) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.sync()
        .catch(() => undefined)
        .finally(() => this.schedule());
    }, this.nextDelay());
  }
}

function stateFor(error: GitOpsError): GitDirectoryState {
  switch (error.code) {
    case ErrorCodes.NotFound:
    case ErrorCodes.AuthFailed:
    case ErrorCodes.HostKeyMismatch:
    case ErrorCodes.Invalid:
      return 'error';
    default:
      return 'degraded';
  }
}

function nonNegative(value: number, field: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new GitOpsError(ErrorCodes.Invalid, `${field} must be a number of at least 0`, {
      details: { field },
    });
  }
  return value;
}

function notStarted(): GitOpsError {
  return new GitOpsError(ErrorCodes.Invalid, 'the GitDirectory has not been started; call start() first');
}

function closedError(): GitOpsError {
  return new GitOpsError(ErrorCodes.Aborted, 'the GitDirectory is closed');
}
