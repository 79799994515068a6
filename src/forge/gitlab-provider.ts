/**
 * Merge requests on GitLab (gitlab.com or self-managed) through gitbeaker's typed resources,
 * with our own requester underneath. Labels go by name; assignees and the milestone by id, so
 * both are looked up before anything is created. A draft is a `Draft: ` title, as in GitLab.
 */
import { Branches, MergeRequests, ProjectMilestones, Users } from '@gitbeaker/rest';
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import { gitLabRequesterFn, inGitLabCall } from './gitlab-requester.js';
import type { ProviderConfig, ProviderContext } from './provider-config.js';
import {
  checkBranch,
  checkPullRequestRequest,
  createProviderContext,
  operation,
  resolveRepository,
  withTitlePrefix,
} from './provider-config.js';
import type {
  AutoMergeOutcome,
  MergeOptions,
  PullRequest,
  PullRequestProvider,
  PullRequestRef,
  PullRequestRequest,
  PullRequestResult,
} from './pull-request.js';
import type { RepositoryRef } from './repository-ref.js';

/** The fields of GitLab's merge request we read. */
interface GitLabMergeRequest {
  iid: number;
  title: string;
  description: string | null;
  state: 'opened' | 'closed' | 'locked' | 'merged';
  source_branch: string;
  target_branch: string;
  source_project_id: number;
  target_project_id: number;
  sha: string | null;
  merge_commit_sha: string | null;
  squash_commit_sha: string | null;
  draft?: boolean;
  work_in_progress?: boolean;
  labels: (string | { name: string })[];
  assignees: { username: string; id: number }[] | null;
  milestone: { title: string } | null;
  web_url: string;
  detailed_merge_status?: string;
}

const DRAFT_TITLE = /^\s*(\[draft\]|\(draft\)|draft:|draft\s|\[wip\]|wip:)/i;
// GitLab is still working out whether the merge request can be merged; asking again helps.
const STILL_CHECKING = new Set(['unchecked', 'checking', 'preparing', 'approvals_syncing']);
const MERGE_ATTEMPTS = 8;

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

export class GitLabProvider implements PullRequestProvider {
  readonly kind = 'gitlab' as const;
  private readonly context: ProviderContext;
  private readonly mergeRequests: InstanceType<typeof MergeRequests>;
  private readonly milestones: InstanceType<typeof ProjectMilestones>;
  private readonly users: InstanceType<typeof Users>;
  private readonly branches: InstanceType<typeof Branches>;

  constructor(config: ProviderConfig) {
    this.context = createProviderContext('gitlab', config);
    const options = {
      host: this.context.baseUrl,
      token: this.context.token,
      requesterFn: gitLabRequesterFn(this.context.fetch, this.context.userAgent),
      // Our fetch has its own time limit and takes the caller's signal.
      queryTimeout: null,
    };
    this.mergeRequests = new MergeRequests(options);
    this.milestones = new ProjectMilestones(options);
    this.users = new Users(options);
    this.branches = new Branches(options);
  }

  get baseUrl(): string {
    return this.context.baseUrl;
  }

  get repository(): string | undefined {
    return this.context.defaultRepository?.path;
  }

  async createOrFind(request: PullRequestRequest): Promise<PullRequestResult> {
    const { repo, head, base } = checkPullRequestRequest(this.context, request, 'merge request');
    if (request.mergeMethod === 'rebase') throw this.noRebase();
    const signal = request.signal;

    const existing = await this.findRaw(repo, head, base, signal);
    // Ids first: a wrong milestone or user name must fail before anything is created.
    const milestoneId =
      request.milestone === undefined ? undefined : await this.milestoneId(repo, request.milestone, signal);
    const assigneeIds = await this.userIds(repo, request.assignees ?? [], signal);

    let mr: GitLabMergeRequest;
    let created = false;
    if (existing !== undefined) {
      mr = await this.ensureFields(repo, existing, request, milestoneId, assigneeIds);
    } else {
      const title = request.draft ? withTitlePrefix(request.title, 'Draft: ', DRAFT_TITLE) : request.title;
      const op = operation(this.context, 'open a merge request', repo);
      try {
        mr = (await inGitLabCall(op, signal, () =>
          this.mergeRequests.create(repo.path, head, base, title, {
            description: request.description ?? '',
            ...(request.labels?.length ? { labels: request.labels.join(',') } : {}),
            ...(assigneeIds.length ? { assigneeIds } : {}),
            ...(milestoneId !== undefined ? { milestoneId } : {}),
            ...(request.deleteBranchAfterMerge ? { removeSourceBranch: true } : {}),
          }),
        )) as unknown as GitLabMergeRequest;
        created = true;
      } catch (err) {
        // 409: another open merge request for this source branch appeared since we looked.
        const again =
          err instanceof GitOpsError && err.code === ErrorCodes.Conflict
            ? await this.findRaw(repo, head, base, signal)
            : undefined;
        if (again === undefined) throw err;
        mr = await this.ensureFields(repo, again, request, milestoneId, assigneeIds);
      }
    }
    const pull = this.toPullRequest(repo, mr);
    const result: PullRequestResult = { ...pull, created };
    if (request.autoMerge) {
      const { outcome, merged } = await this.enableAutoMerge(repo, pull, request);
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
    const mr = await this.findRaw(repo, checkBranch(head, 'head'), checkBranch(base, 'base'), options.signal);
    return mr === undefined ? undefined : this.toPullRequest(repo, mr);
  }

  async get(ref: PullRequestRef, options: { signal?: AbortSignal } = {}): Promise<PullRequest> {
    const repo = resolveRepository(this.context, ref.repository);
    return this.toPullRequest(repo, await this.show(repo, ref.number, options.signal));
  }

  async merge(ref: PullRequestRef, options: MergeOptions = {}): Promise<PullRequest> {
    const repo = resolveRepository(this.context, ref.repository);
    if (options.method === 'rebase') throw this.noRebase();
    const op = operation(this.context, `merge merge request !${ref.number}`, repo, 'merge');
    for (let attempt = 1; ; attempt++) {
      try {
        const mr = (await inGitLabCall(op, options.signal, () =>
          this.mergeRequests.merge(repo.path, ref.number, {
            ...(options.method === 'squash' ? { squash: true } : {}),
            ...(options.sha !== undefined ? { sha: options.sha } : {}),
            ...(options.deleteBranch ? { shouldRemoveSourceBranch: true } : {}),
            ...(options.commitMessage !== undefined
              ? options.method === 'squash'
                ? { squashCommitMessage: options.commitMessage }
                : { mergeCommitMessage: options.commitMessage }
              : {}),
          }),
        )) as unknown as GitLabMergeRequest;
        return this.toPullRequest(repo, mr);
      } catch (err) {
        if (!(err instanceof GitOpsError) || err.code === ErrorCodes.Aborted) throw err;
        const now = await this.show(repo, ref.number, options.signal).catch(() => undefined);
        if (now?.state === 'merged') return this.toPullRequest(repo, now);
        const checking = now !== undefined && STILL_CHECKING.has(now.detailed_merge_status ?? '');
        if (!checking || attempt >= MERGE_ATTEMPTS) throw err;
        await pause(Math.min(4000, 250 * 2 ** (attempt - 1)), options.signal);
      }
    }
  }

  async close(ref: PullRequestRef, options: { signal?: AbortSignal } = {}): Promise<PullRequest> {
    const repo = resolveRepository(this.context, ref.repository);
    const op = operation(this.context, `close merge request !${ref.number}`, repo);
    const mr = (await inGitLabCall(op, options.signal, () =>
      this.mergeRequests.edit(repo.path, ref.number, { stateEvent: 'close' }),
    )) as unknown as GitLabMergeRequest;
    return this.toPullRequest(repo, mr);
  }

  async deleteBranch(
    branch: string,
    options: { repository?: string; signal?: AbortSignal } = {},
  ): Promise<boolean> {
    const repo = resolveRepository(this.context, options.repository);
    const name = checkBranch(branch, 'branch');
    const op = operation(this.context, `delete branch ${name}`, repo, 'delete-branch');
    try {
      await inGitLabCall(op, options.signal, () => this.branches.remove(repo.path, name));
      return true;
    } catch (err) {
      // "404 Branch Not Found" means already gone; "404 Project Not Found" is a real error.
      if (
        err instanceof GitOpsError &&
        err.code === ErrorCodes.NotFound &&
        /branch not found/i.test(err.message)
      ) {
        return false;
      }
      throw err;
    }
  }

  private noRebase(): GitOpsError {
    return new GitOpsError(
      ErrorCodes.Invalid,
      'GitLab has no per-merge rebase: the project\'s merge method setting decides; use "merge" or "squash"',
      { details: { forge: 'gitlab', field: 'method' } },
    );
  }

  private async show(
    repo: RepositoryRef,
    iid: number,
    signal: AbortSignal | undefined,
  ): Promise<GitLabMergeRequest> {
    const op = operation(this.context, `read merge request !${iid}`, repo);
    return (await inGitLabCall(op, signal, () =>
      this.mergeRequests.show(repo.path, iid),
    )) as unknown as GitLabMergeRequest;
  }

  private async findRaw(
    repo: RepositoryRef,
    head: string,
    base: string,
    signal: AbortSignal | undefined,
  ): Promise<GitLabMergeRequest | undefined> {
    const op = operation(this.context, `look for an open merge request from ${head} into ${base}`, repo);
    const list = (await inGitLabCall(op, signal, () =>
      this.mergeRequests.all({
        projectId: repo.path,
        state: 'opened',
        sourceBranch: head,
        targetBranch: base,
      }),
    )) as unknown as GitLabMergeRequest[];
    return list.find(
      (mr) =>
        mr.source_branch === head &&
        mr.target_branch === base &&
        mr.source_project_id === mr.target_project_id,
    );
  }

  private async milestoneId(
    repo: RepositoryRef,
    title: string,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    const op = operation(this.context, `look up milestone ${JSON.stringify(title)}`, repo);
    const found = (await inGitLabCall(op, signal, () =>
      this.milestones.all(repo.path, { title, includeAncestors: true } as Record<string, unknown>),
    )) as unknown as { id: number; title: string }[];
    const milestone = found.find((m) => m.title === title);
    if (milestone === undefined) {
      throw new GitOpsError(
        ErrorCodes.NotFound,
        `milestone ${JSON.stringify(title)} does not exist in ${repo.path} or its groups on GitLab; create it or fix the name`,
        { details: { forge: 'gitlab', repository: repo.path, field: 'milestone' } },
      );
    }
    return milestone.id;
  }

  private async userIds(
    repo: RepositoryRef,
    usernames: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<number[]> {
    const ids: number[] = [];
    for (const username of usernames) {
      const op = operation(this.context, `look up user ${JSON.stringify(username)}`, repo);
      const found = (await inGitLabCall(op, signal, () => this.users.all({ username }))) as unknown as {
        id: number;
        username: string;
      }[];
      const user = found.find((u) => u.username.toLowerCase() === username.toLowerCase());
      if (user === undefined) {
        throw new GitOpsError(
          ErrorCodes.NotFound,
          `GitLab user ${JSON.stringify(username)} does not exist; fix the assignee`,
          {
            details: { forge: 'gitlab', field: 'assignees', value: username },
          },
        );
      }
      ids.push(user.id);
    }
    return ids;
  }

  /** Adds to an existing merge request what the request asks for and it lacks. */
  private async ensureFields(
    repo: RepositoryRef,
    mr: GitLabMergeRequest,
    request: PullRequestRequest,
    milestoneId: number | undefined,
    assigneeIds: number[],
  ): Promise<GitLabMergeRequest> {
    const have = this.toPullRequest(repo, mr);
    const missingLabels = (request.labels ?? []).filter((l) => !have.labels.includes(l));
    const currentIds = (mr.assignees ?? []).map((a) => a.id);
    const allIds = [...new Set([...currentIds, ...assigneeIds])];
    const needsMilestone = milestoneId !== undefined && have.milestone !== request.milestone;
    if (missingLabels.length === 0 && allIds.length === currentIds.length && !needsMilestone) return mr;
    const op = operation(this.context, `update merge request !${mr.iid}`, repo);
    return (await inGitLabCall(op, request.signal, () =>
      this.mergeRequests.edit(repo.path, mr.iid, {
        ...(missingLabels.length ? { addLabels: missingLabels.join(',') } : {}),
        ...(allIds.length > currentIds.length ? { assigneeIds: allIds } : {}),
        ...(needsMilestone ? { milestoneId } : {}),
      }),
    )) as unknown as GitLabMergeRequest;
  }

  private async enableAutoMerge(
    repo: RepositoryRef,
    pull: PullRequest,
    request: PullRequestRequest,
  ): Promise<{ outcome: AutoMergeOutcome; merged?: PullRequest }> {
    if (pull.state === 'merged') return { outcome: { status: 'merged' } };
    const op = operation(
      this.context,
      `enable auto-merge of merge request !${pull.number}`,
      repo,
      'auto-merge',
    );
    try {
      const mr = (await inGitLabCall(op, request.signal, () =>
        this.mergeRequests.merge(repo.path, pull.number, {
          autoMerge: true,
          // The name before GitLab 17.11; older servers know only this one.
          mergeWhenPipelineSucceeds: true,
          ...(request.mergeMethod === 'squash' ? { squash: true } : {}),
          ...(request.deleteBranchAfterMerge ? { shouldRemoveSourceBranch: true } : {}),
        }),
      )) as unknown as GitLabMergeRequest;
      if (mr.state === 'merged')
        return { outcome: { status: 'merged' }, merged: this.toPullRequest(repo, mr) };
      return { outcome: { status: 'enabled' } };
    } catch (err) {
      const error = err instanceof GitOpsError ? err : new GitOpsError(ErrorCodes.InternalError, String(err));
      return { outcome: { status: 'failed', error } };
    }
  }

  private toPullRequest(repo: RepositoryRef, mr: GitLabMergeRequest): PullRequest {
    const state = mr.state === 'merged' ? 'merged' : mr.state === 'opened' ? 'open' : 'closed';
    const pull: PullRequest = {
      provider: 'gitlab',
      repository: repo.path,
      number: mr.iid,
      url: mr.web_url,
      title: mr.title,
      description: mr.description ?? '',
      head: mr.source_branch,
      base: mr.target_branch,
      state,
      draft: mr.draft ?? mr.work_in_progress ?? false,
      labels: mr.labels.map((l) => (typeof l === 'string' ? l : l.name)),
      assignees: (mr.assignees ?? []).map((a) => a.username),
    };
    if (mr.sha) pull.headSha = mr.sha;
    // A fast-forward merge lands the head commit itself: GitLab then reports no merge commit.
    if (state === 'merged') {
      const landed = mr.merge_commit_sha ?? mr.squash_commit_sha ?? mr.sha;
      if (landed) pull.mergeCommit = landed;
    }
    if (mr.milestone?.title) pull.milestone = mr.milestone.title;
    return pull;
  }
}
