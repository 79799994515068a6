/**
 * The transaction machinery. Each transaction works on its own files: the latest main's
 * blobs, read from git objects, under its own writes (OverlayRawStorage), so neither reads of
 * main nor the pull loop ever wait for it, and nothing is checked out. Its function edits
 * objects through a TransactionStorage; the runner then commits with git's plumbing, pushes (a
 * new branch, or main under a lease, replayed onto a main that moved), and opens a pull
 * request when asked. Every step that leaves something behind is journalled first, so a
 * failure (or a kill) is undone completely: no pushed branch, no local branch, no files.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

import type { GitDirectory, Git } from '../git/index.js';
import { redactUrl } from '../git/index.js';
import { ErrorCodes, GitOpsError, abortedError, isGitOpsError, toGitOpsError } from '../runtime/index.js';
import { ObjectStorage } from '../storage/index.js';
import type { ObjectStorageOptions, RawStorage } from '../storage/index.js';
import { DEFAULT_BRANCH_PREFIX, transactionBranchName, transactionId } from './branch-name.js';
import { buildCommit, replayCommit } from './commit-builder.js';
import type { CommitIdentityEnv } from './commit-builder.js';
import { signingEnvironment } from './commit-signing.js';
import type { CommitSigning } from './commit-signing.js';
import { OverlayRawStorage } from './overlay-raw-storage.js';
import type { PullRequestOpener, OpenedPullRequest } from './pull-request.js';
import { checkTransactionResult, commitMessage } from './transaction.js';
import type {
  Signature,
  TransactionContext,
  TransactionFunction,
  TransactionOptions,
  TransactionOutcome,
  TransactionResult,
} from './transaction.js';
import { isAbandoned, markRunning, TransactionJournal } from './transaction-journal.js';
import type { JournalEntry } from './transaction-journal.js';
import { TransactionStorage } from './transaction-storage.js';
import type { BaseIndex } from './transaction-storage.js';

export interface TransactionRunnerOptions {
  directory: GitDirectory;
  /** Where the journal and the transactions' private folders live. */
  stateDir: string;
  /** A folder of the repository the storage is rooted at; default the repository root. */
  subdirectory?: string;
  /** Where new objects go: a raw storage over a (private) folder, asked only for fileFor(). */
  shape: (root: string) => Promise<RawStorage>;
  /** More paths (relative to the root) that are not manifests. */
  ignore?: (path: string) => boolean;
  /** Validation and metadata stamping of the transactions' object storage. */
  objects?: Omit<ObjectStorageOptions, 'watch' | 'signal'>;
  /** The index of `base`, when one is at hand; without it a transaction's first read loads every file. */
  baseIndex?: (base: string) => Promise<BaseIndex | undefined>;
  author: Signature;
  /** Defaults to the author of each commit. */
  committer?: Signature;
  signing?: CommitSigning;
  pullRequests?: PullRequestOpener;
  /** The repository pull requests are opened on; default the remote URL (without credentials). */
  pullRequestRepository?: string;
  branchPrefix?: string;
  /** Told of every commit this runner put on main, before the follower fetches it. */
  onMainCommit?: (commit: string) => void;
}

/** What recover() found and undid. */
export interface RecoveryReport {
  undone: Array<{ id: string; branch: string; phase: JournalEntry['phase']; pid: number }>;
  /** Undo steps that failed; their journal entries stay for the next try. */
  problems: GitOpsError[];
}

const DEFAULT_MAX_ATTEMPTS = 5;

export class TransactionRunner {
  private readonly lifetime = new AbortController();
  private readonly running = new Set<Promise<unknown>>();
  /** Set when an undo failed (e.g. the remote was down): the next transaction retries it first. */
  private undoPending = false;

  private constructor(
    private readonly options: TransactionRunnerOptions,
    private readonly journal: TransactionJournal,
    private readonly workDir: string,
  ) {}

  static async open(options: TransactionRunnerOptions): Promise<TransactionRunner> {
    const journal = await TransactionJournal.open(join(options.stateDir, 'transactions'));
    return new TransactionRunner(options, journal, join(options.stateDir, 'worktrees'));
  }

  private get repo(): Git {
    return this.options.directory.git;
  }

  private get main(): string {
    return this.options.directory.branch;
  }

  /** Runs one transaction; see GitStorage.transaction(). */
  transaction(
    options: TransactionOptions,
    fn: TransactionFunction<TransactionStorage>,
  ): Promise<TransactionOutcome> {
    const run = this.execute(options, fn);
    this.running.add(run);
    const forget = (): void => void this.running.delete(run);
    run.then(forget, forget);
    return run;
  }

  private async execute(
    options: TransactionOptions,
    fn: TransactionFunction<TransactionStorage>,
  ): Promise<TransactionOutcome> {
    const signal = options.signal
      ? AbortSignal.any([options.signal, this.lifetime.signal])
      : this.lifetime.signal;
    if (signal.aborted) throw abortedError(signal, 'the transaction (before it started)');
    const target = options.target ?? 'branch';
    if (target !== 'branch' && target !== 'main') {
      throw new GitOpsError(ErrorCodes.Invalid, 'target must be "branch" or "main"', {
        details: { field: 'target' },
      });
    }
    const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new GitOpsError(ErrorCodes.Invalid, 'maxAttempts must be a positive integer', {
        details: { field: 'maxAttempts' },
      });
    }
    const branch =
      target === 'main'
        ? this.main
        : transactionBranchName(options.branchPrefix ?? this.options.branchPrefix ?? DEFAULT_BRANCH_PREFIX);
    if (this.undoPending) await this.recover().catch(() => undefined);

    // The latest main: a transaction never starts from a revision it knows to be old.
    const base = await this.options.directory.sync().catch((cause: unknown) => {
      const error = toGitOpsError(cause);
      throw new GitOpsError(
        error.code,
        `cannot start the transaction: fetching ${this.main} failed: ${error.message}`,
        {
          details: { branch: this.main },
          cause,
        },
      );
    });
    const id = transactionId();
    const scratch = join(this.workDir, id);
    let entry = this.journal.entry({ id, target, branch, worktree: scratch, base });
    const unmark = markRunning(id);
    try {
      await this.journal.write(entry);
      try {
        await mkdir(scratch, { recursive: true });
        const context: TransactionContext = { id, branch, base, signal };
        const { result, files } = await this.runFunction(fn, base, scratch, context);
        if (signal.aborted) throw abortedError(signal, 'the transaction');
        const changes = result === undefined ? [] : await files.changes();
        if (result === undefined || changes.length === 0) {
          await this.undo(entry);
          return { id, target, branch, base, commit: undefined, changedPaths: [], attempts: 0 };
        }
        this.checkPullRequest(result, target);
        const identity = this.identity(result.author ?? options.author ?? this.options.author);
        let commit = await buildCommit(this.repo, {
          base,
          changes,
          scratch,
          message: commitMessage(result),
          identity,
          signal,
        });
        const changedPaths = changes.map((c) => c.repoPath);
        let attempts = 1;
        let pullRequest: OpenedPullRequest | undefined;
        if (target === 'branch') {
          entry = { ...entry, phase: 'pushing', commit };
          await this.journal.write(entry);
          // A failed push may still have landed (HTTP sends it in several requests): undo() checks.
          await this.repo.push({
            refspecs: [`${commit}:refs/heads/${branch}`],
            // A branch of that name that exists already is someone else's: never overwrite it.
            forceWithLease: [{ ref: `refs/heads/${branch}`, expect: null }],
            signal,
          });
          entry = { ...entry, phase: 'pushed' };
          await this.journal.write(entry);
          if (result.pullRequest !== undefined)
            pullRequest = await this.openPullRequest(branch, result, signal);
        } else {
          ({ commit, attempts } = await this.pushToMain(commit, base, maxAttempts, identity, signal));
        }
        await rm(scratch, { recursive: true, force: true });
        await this.journal.remove(id);
        if (target === 'main') {
          this.options.onMainCommit?.(commit);
          // Readers of main see the transaction's own change as soon as it returns.
          await this.options.directory.sync().catch(() => undefined);
        }
        return {
          id,
          target,
          branch,
          base,
          commit,
          changedPaths,
          attempts,
          ...(pullRequest ? { pullRequest } : {}),
        };
      } catch (error) {
        const problems = await this.undo(entry);
        throw explain(error, entry, problems);
      }
    } finally {
      unmark();
    }
  }

  private async runFunction(
    fn: TransactionFunction<TransactionStorage>,
    base: string,
    scratch: string,
    context: TransactionContext,
  ): Promise<{ result: TransactionResult | undefined; files: OverlayRawStorage }> {
    const shape = await this.options.shape(join(scratch, 'files'));
    const files = new OverlayRawStorage(this.repo, base, {
      subdirectory: this.options.subdirectory,
      shape,
      ignore: this.options.ignore,
    });
    const objects = await ObjectStorage.open(files, { ...this.options.objects, watch: false });
    let raw: unknown;
    try {
      const index = await this.options.baseIndex?.(base);
      raw = await fn(new TransactionStorage(objects, files, index), context);
    } finally {
      await objects.close();
    }
    return { result: raw === undefined || raw === null ? undefined : checkTransactionResult(raw), files };
  }

  private checkPullRequest(result: TransactionResult, target: 'branch' | 'main'): void {
    if (result.pullRequest === undefined) return;
    if (target === 'main') {
      throw new GitOpsError(
        ErrorCodes.Invalid,
        'a transaction on main cannot open a pull request; use target "branch"',
        {
          details: { field: 'result.pullRequest' },
        },
      );
    }
    if (this.options.pullRequests === undefined) {
      throw new GitOpsError(
        ErrorCodes.Invalid,
        'the transaction asks for a pull request, but the storage has no pull request provider (pullRequests option)',
        { details: { field: 'pullRequests' } },
      );
    }
  }

  private identity(author: Signature): CommitIdentityEnv {
    const committer = this.options.committer ?? author;
    return {
      sign: this.options.signing !== undefined,
      env: {
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_COMMITTER_NAME: committer.name,
        GIT_COMMITTER_EMAIL: committer.email,
        ...signingEnvironment(this.options.signing),
      },
    };
  }

  /**
   * Pushes `commit` to main with a lease on the main it was made from. When main moved, the
   * commit is replayed onto the new main (a real conflict stops it) and pushed again.
   */
  private async pushToMain(
    first: string,
    base: string,
    maxAttempts: number,
    identity: CommitIdentityEnv,
    signal: AbortSignal,
  ): Promise<{ commit: string; attempts: number }> {
    let commit = first;
    let expected = base;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.repo.push({
          refspecs: [`${commit}:refs/heads/${this.main}`],
          forceWithLease: [{ ref: `refs/heads/${this.main}`, expect: expected }],
          signal,
        });
        return { commit, attempts: attempt };
      } catch (error) {
        if (!isGitOpsError(error, ErrorCodes.PushRejected)) throw error;
        if (attempt >= maxAttempts) {
          throw new GitOpsError(
            ErrorCodes.PushRejected,
            `${this.main} kept moving: the commit was rebased and pushed ${attempt} time(s) and rejected each time; ` +
              'nothing was pushed, run the transaction again',
            { details: { branch: this.main, attempts: attempt }, cause: error },
          );
        }
      }
      await this.options.directory.sync();
      const moved = await this.repo.revParse(`refs/heads/${this.main}`);
      const replay = await replayCommit(this.repo, { commit, base: expected, onto: moved, identity, signal });
      if (replay.status === 'already-applied') return { commit: moved, attempts: attempt };
      if (replay.status === 'conflict') {
        const what =
          replay.paths.length === 0
            ? `${this.main} was rewritten (force-pushed)`
            : `that commit changed the same lines of ${replay.paths.join(', ')}`;
        throw new GitOpsError(
          ErrorCodes.Conflict,
          `${this.main} moved to ${moved.slice(0, 12)}, and ${what}; nothing was pushed and nobody's commit ` +
            `was overwritten. Run the transaction again on the new ${this.main}.`,
          { details: { file: replay.paths[0], files: replay.paths, revision: moved, branch: this.main } },
        );
      }
      commit = replay.commit;
      expected = moved;
    }
  }

  private async openPullRequest(
    branch: string,
    result: TransactionResult,
    signal: AbortSignal,
  ): Promise<OpenedPullRequest> {
    const opener = this.options.pullRequests as PullRequestOpener;
    const spec = result.pullRequest === true ? {} : (result.pullRequest ?? {});
    try {
      return await opener.createOrFind(
        {
          repository: this.options.pullRequestRepository ?? redactUrl(this.options.directory.url),
          head: branch,
          base: this.main,
          title: result.title.trim(),
          description: result.description?.trim() ?? '',
          ...spec,
          signal,
        },
        signal,
      );
    } catch (cause) {
      const error = toGitOpsError(cause);
      throw new GitOpsError(error.code, `opening the pull request for ${branch} failed: ${error.message}`, {
        details: { ...error.details, branch },
        cause,
      });
    }
  }

  /**
   * Undoes everything the entry says may exist: the pushed branch (only while it still points
   * at the transaction's commit) and the private folder, then the entry itself. Returns what
   * could not be undone; the entry then stays for the next recovery.
   */
  private async undo(entry: JournalEntry): Promise<GitOpsError[]> {
    const problems: GitOpsError[] = [];
    if (entry.target === 'branch' && entry.phase !== 'open' && entry.commit !== undefined) {
      try {
        await this.repo.push({
          refspecs: [`:refs/heads/${entry.branch}`],
          forceWithLease: [{ ref: `refs/heads/${entry.branch}`, expect: entry.commit }],
        });
      } catch (error) {
        // Rejected: the branch is not there (the push never landed) or is no longer ours.
        if (!isGitOpsError(error, ErrorCodes.PushRejected)) problems.push(toGitOpsError(error));
      }
    }
    try {
      await rm(entry.worktree, { recursive: true, force: true });
    } catch (error) {
      problems.push(toGitOpsError(error, ErrorCodes.IoError));
    }
    if (problems.length === 0) await this.journal.remove(entry.id);
    else this.undoPending = true;
    return problems;
  }

  /**
   * Undoes the transactions of processes that died mid-way (their journal entries), and removes
   * private folders no entry accounts for. Called when a storage opens.
   */
  async recover(): Promise<RecoveryReport> {
    const report: RecoveryReport = { undone: [], problems: [] };
    this.undoPending = false;
    const { entries, unreadable } = await this.journal.list();
    for (const id of unreadable) await this.journal.remove(id);
    const live = new Set<string>();
    for (const entry of entries) {
      if (!isAbandoned(entry)) {
        live.add(entry.worktree);
        continue;
      }
      const problems = await this.undo(entry);
      if (problems.length === 0) {
        report.undone.push({ id: entry.id, branch: entry.branch, phase: entry.phase, pid: entry.pid });
      } else {
        live.add(entry.worktree);
        report.problems.push(...problems);
      }
    }
    for (const name of await readdir(this.workDir).catch(() => [] as string[])) {
      const path = join(this.workDir, name);
      if (!live.has(path)) await rm(path, { recursive: true, force: true });
    }
    return report;
  }

  /** Aborts running transactions (each undoes itself) and waits for them. */
  async close(): Promise<void> {
    this.lifetime.abort();
    await Promise.allSettled([...this.running]);
  }
}

/** The transaction's error, saying that it was undone (or what could not be). */
function explain(error: unknown, entry: JournalEntry, problems: GitOpsError[]): GitOpsError {
  const cause = toGitOpsError(error);
  const undone =
    problems.length === 0
      ? 'the transaction was undone (nothing of it is left on the remote or in the clone)'
      : `undoing it failed too (${problems.map((p) => p.message).join('; ')}); ` +
        'it will be undone by the next transaction, or when the storage next opens';
  return new GitOpsError(cause.code, `${cause.message}; ${undone}`, {
    details: { ...cause.details, transaction: entry.id, branch: entry.branch },
    cause,
    causes: problems,
  });
}
