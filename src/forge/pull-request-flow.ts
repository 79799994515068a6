/**
 * The steps every forge takes alike (open or find, fill in labels and the rest, auto-merge,
 * merge with a re-check, close, delete a branch), with each provider supplying only its calls.
 * Keeping the order in one place keeps the promises alike: ids are looked up before anything
 * is created, and a merge that is already done counts as success.
 */
import { ErrorCodes, GitOpsError, backoffDelay, pause } from '../runtime/index.js';
import type { ForgeOperation } from './forge-error.js';
import { FORGE_NAMES } from './forge-error.js';
import type { ProviderConfig, ProviderContext } from './provider-config.js';
import {
  checkBranch,
  checkPullRequestRequest,
  createProviderContext,
  operation,
  resolveRepository,
} from './provider-config.js';
import type {
  AutoMergeOutcome,
  ForgeKind,
  MergeMethod,
  MergeOptions,
  PullRequest,
  PullRequestProvider,
  PullRequestRef,
  PullRequestRequest,
  PullRequestResult,
} from './pull-request.js';
import type { RepositoryRef } from './repository-ref.js';

/** Doubling waits from `firstMs`, capped at 4 s, for the forges that need a moment before a merge. */
export function backoffMs(firstMs: number, attempt: number): number {
  return backoffDelay(attempt - 1, { initialMs: firstMs, maxMs: 4000 });
}

/** What opening a pull request needs, its ids looked up before anything is created. */
export interface OpenPlan<Fields> {
  repo: RepositoryRef;
  head: string;
  base: string;
  request: PullRequestRequest;
  /** The id (GitHub: number) of the requested milestone. */
  milestoneId: number | undefined;
  /** The other ids the forge wants (labels on Gitea, users on GitLab). */
  fields: Fields;
}

export interface AutoMergeAttempt {
  outcome: AutoMergeOutcome;
  /** The pull request as it stands when auto-merge merged it at once. */
  merged?: PullRequest;
}

/**
 * `Raw` is the forge's own record of a pull request; `Fields` what is looked up before anything
 * is created (milestone, label or user ids).
 */
export abstract class PullRequestFlow<Raw, Fields> implements PullRequestProvider {
  abstract readonly kind: ForgeKind;
  protected readonly context: ProviderContext;
  /** What the forge calls it, for messages: GitLab says merge request. */
  protected readonly noun: string = 'pull request';
  /** True where the open call itself sets labels, assignees and milestone. */
  protected readonly fieldsGoWithOpen: boolean = true;
  /** How often merge tries while the forge still works out whether it can merge. */
  protected readonly mergeAttempts: number = 1;
  protected readonly firstMergePauseMs: number = 200;

  protected constructor(kind: ForgeKind, config: ProviderConfig) {
    this.context = createProviderContext(kind, config);
  }

  get baseUrl(): string {
    return this.context.baseUrl;
  }

  get repository(): string | undefined {
    return this.context.defaultRepository?.path;
  }

  async createOrFind(request: PullRequestRequest): Promise<PullRequestResult> {
    const { repo, head, base } = checkPullRequestRequest(this.context, request, this.noun);
    this.checkMergeMethod(request.mergeMethod);
    const signal = request.signal;

    const existing = await this.findOpen(repo, head, base, signal);
    // Looked up before anything is created, so a wrong milestone or user name changes nothing.
    const milestoneId =
      request.milestone === undefined ? undefined : await this.milestoneId(repo, request.milestone, signal);
    const plan: OpenPlan<Fields> = {
      repo,
      head,
      base,
      request,
      milestoneId,
      fields: await this.lookUpFields(repo, request),
    };

    let raw: Raw;
    let created = false;
    if (existing !== undefined) {
      raw = existing;
    } else {
      const op = operation(this.context, `open a ${this.noun}`, repo);
      try {
        raw = await this.open(op, plan);
        created = true;
      } catch (err) {
        // Someone opened it between our look and our create: use theirs.
        const again = this.isOpenRace(err) ? await this.findOpen(repo, head, base, signal) : undefined;
        if (again === undefined) throw this.wrapError(op, err);
        raw = again;
      }
    }
    const pull =
      created && this.fieldsGoWithOpen
        ? this.toPullRequest(repo, raw)
        : await this.addMissingFields(raw, plan);
    const result: PullRequestResult = { ...pull, created };
    if (request.autoMerge) {
      const { outcome, merged } = await this.enableAutoMerge(repo, pull, raw, request);
      Object.assign(result, merged, { autoMerge: outcome });
    }
    return result;
  }

  async find(
    head: string,
    base: string,
    options: { repository?: string; signal?: AbortSignal } = {},
  ): Promise<PullRequest | undefined> {
    const repo = resolveRepository(this.context, options.repository);
    const raw = await this.findOpen(
      repo,
      checkBranch(head, 'head'),
      checkBranch(base, 'base'),
      options.signal,
    );
    return raw === undefined ? undefined : this.toPullRequest(repo, raw);
  }

  async get(ref: PullRequestRef, options: { signal?: AbortSignal } = {}): Promise<PullRequest> {
    const repo = resolveRepository(this.context, ref.repository);
    return this.toPullRequest(repo, await this.read(repo, ref.number, options.signal));
  }

  async merge(ref: PullRequestRef, options: MergeOptions = {}): Promise<PullRequest> {
    const repo = resolveRepository(this.context, ref.repository);
    this.checkMergeMethod(options.method);
    const op = operation(this.context, `merge ${this.describe(ref.number)}`, repo, 'merge');
    return this.afterMerge(repo, await this.mergeUntilDone(op, repo, ref.number, options), options);
  }

  private async mergeUntilDone(
    op: ForgeOperation,
    repo: RepositoryRef,
    number: number,
    options: MergeOptions,
  ): Promise<PullRequest> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.mergeOnce(op, repo, number, options);
      } catch (err) {
        const error = this.wrapError(op, err);
        if (!(error instanceof GitOpsError) || error.code === ErrorCodes.Aborted) throw error;
        // A retried or repeated merge finds the work done: that is success, not an error.
        const now = await this.read(repo, number, options.signal).catch(() => undefined);
        const pull = now === undefined ? undefined : this.toPullRequest(repo, now);
        if (pull?.state === 'merged') return this.confirmMerged(repo, pull, options);
        if (!this.mayRetryMerge(error, now) || attempt >= this.mergeAttempts) throw error;
        await pause(backoffMs(this.firstMergePauseMs, attempt), options.signal);
      }
    }
  }

  async close(ref: PullRequestRef, options: { signal?: AbortSignal } = {}): Promise<PullRequest> {
    const repo = resolveRepository(this.context, ref.repository);
    const op = operation(this.context, `close ${this.describe(ref.number)}`, repo);
    let raw: Raw;
    try {
      raw = await this.closeOnce(repo, ref.number, options.signal, op);
    } catch (err) {
      throw this.wrapError(op, err);
    }
    return this.toPullRequest(repo, raw);
  }

  async deleteBranch(
    branch: string,
    options: { repository?: string; signal?: AbortSignal } = {},
  ): Promise<boolean> {
    const repo = resolveRepository(this.context, options.repository);
    const name = checkBranch(branch, 'branch');
    const op = operation(this.context, `delete branch ${name}`, repo, 'delete-branch');
    try {
      await this.removeBranch(repo, name, options.signal, op);
      return true;
    } catch (err) {
      if (await this.branchWasMissing(repo, err, options.signal)) return false;
      throw this.wrapError(op, err);
    }
  }

  /** `pull request #4`, as messages name it. */
  protected describe(number: number): string {
    return `${this.noun} #${number}`;
  }

  /** Refuses a merge method the forge cannot honour, before anything is sent. */
  protected checkMergeMethod(_method: MergeMethod | undefined): void {}

  /** Turns what the forge's client threw into our error; most clients throw ours already. */
  protected wrapError(_op: ForgeOperation, err: unknown): unknown {
    return err;
  }

  /** True when the open failed because the same pull request appeared since we looked. */
  protected isOpenRace(err: unknown): boolean {
    return err instanceof GitOpsError && err.code === ErrorCodes.Conflict;
  }

  /** Whether a failed merge is worth another try, e.g. while the forge still checks mergeability. */
  protected mayRetryMerge(_error: GitOpsError, _now: Raw | undefined): boolean {
    return false;
  }

  /** The pull request a repeated merge found merged, as merge returns it. */
  protected confirmMerged(
    _repo: RepositoryRef,
    merged: PullRequest,
    _options: MergeOptions,
  ): Promise<PullRequest> {
    return Promise.resolve(merged);
  }

  /** What a merge does once the pull request is merged (GitHub deletes the branch itself). */
  protected afterMerge(
    _repo: RepositoryRef,
    merged: PullRequest,
    _options: MergeOptions,
  ): Promise<PullRequest> {
    return Promise.resolve(merged);
  }

  /** Where milestones are looked for, as messages name it. */
  protected milestonePlace(repo: RepositoryRef): string {
    return repo.path;
  }

  private async milestoneId(
    repo: RepositoryRef,
    title: string,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    const op = operation(this.context, `look up milestone ${JSON.stringify(title)}`, repo);
    let milestones: { id: number; title: string }[];
    try {
      milestones = await this.listMilestones(op, repo, title, signal);
    } catch (err) {
      throw this.wrapError(op, err);
    }
    const found = milestones.find((m) => m.title === title);
    if (found !== undefined) return found.id;
    const where = this.milestonePlace(repo);
    throw new GitOpsError(
      ErrorCodes.NotFound,
      `milestone ${JSON.stringify(title)} does not exist in ${where} on ${FORGE_NAMES[this.kind]}; create it or fix the name`,
      { details: { forge: this.kind, repository: repo.path, field: 'milestone' } },
    );
  }

  protected abstract findOpen(
    repo: RepositoryRef,
    head: string,
    base: string,
    signal: AbortSignal | undefined,
  ): Promise<Raw | undefined>;
  protected abstract read(repo: RepositoryRef, number: number, signal: AbortSignal | undefined): Promise<Raw>;
  protected abstract toPullRequest(repo: RepositoryRef, raw: Raw): PullRequest;
  protected abstract lookUpFields(repo: RepositoryRef, request: PullRequestRequest): Promise<Fields>;
  protected abstract open(op: ForgeOperation, plan: OpenPlan<Fields>): Promise<Raw>;
  /** Adds to a found (or, where fields do not go with the open, a new) pull request what it lacks. */
  protected abstract addMissingFields(raw: Raw, plan: OpenPlan<Fields>): Promise<PullRequest>;
  /** The repository's milestones, at least those with this title. */
  protected abstract listMilestones(
    op: ForgeOperation,
    repo: RepositoryRef,
    title: string,
    signal: AbortSignal | undefined,
  ): Promise<{ id: number; title: string }[]>;
  protected abstract enableAutoMerge(
    repo: RepositoryRef,
    pull: PullRequest,
    raw: Raw,
    request: PullRequestRequest,
  ): Promise<AutoMergeAttempt>;
  /** Merges; returns the merged pull request. */
  protected abstract mergeOnce(
    op: ForgeOperation,
    repo: RepositoryRef,
    number: number,
    options: MergeOptions,
  ): Promise<PullRequest>;
  protected abstract closeOnce(
    repo: RepositoryRef,
    number: number,
    signal: AbortSignal | undefined,
    op: ForgeOperation,
  ): Promise<Raw>;
  protected abstract removeBranch(
    repo: RepositoryRef,
    name: string,
    signal: AbortSignal | undefined,
    op: ForgeOperation,
  ): Promise<void>;
  /** True when a failed delete means the branch was already gone; may throw a better error. */
  protected abstract branchWasMissing(
    repo: RepositoryRef,
    err: unknown,
    signal: AbortSignal | undefined,
  ): Promise<boolean>;
}
