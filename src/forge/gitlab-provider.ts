/**
 * Merge requests on GitLab (gitlab.com or self-managed) through gitbeaker's typed resources,
 * with our own requester underneath. Labels go by name; assignees and the milestone by id, so
 * both are looked up before anything is created. A draft is a `Draft: ` title, as in GitLab.
 */
import type { Branches, MergeRequests, ProjectMilestones, Users } from '@gitbeaker/rest';
import { ErrorCodes, GitOpsError, lazyModule } from '../runtime/index.js';
import type { ForgeOperation } from './forge-error.js';
import { gitLabRequesterFn, inGitLabCall } from './gitlab-requester.js';
import type { ProviderConfig } from './provider-config.js';
import { operation, withTitlePrefix } from './provider-config.js';
import type { MergeMethod, MergeOptions, PullRequest, PullRequestRequest } from './pull-request.js';
import type { AutoMergeAttempt, OpenPlan } from './pull-request-flow.js';
import { PullRequestFlow } from './pull-request-flow.js';
import type { RepositoryRef } from './repository-ref.js';
import type * as GitbeakerModule from '@gitbeaker/rest';

// Loaded on the first provider made, not when the forge layer is imported.
const gitbeakerModule = lazyModule<typeof GitbeakerModule>('@gitbeaker/rest');

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

/** Assignee ids, looked up before the merge request. */
type GitLabFields = number[];

export class GitLabProvider extends PullRequestFlow<GitLabMergeRequest, GitLabFields> {
  readonly kind = 'gitlab' as const;
  protected override readonly noun = 'merge request';
  protected override readonly mergeAttempts = MERGE_ATTEMPTS;
  protected override readonly firstMergePauseMs = 250;
  private readonly mergeRequests: InstanceType<typeof MergeRequests>;
  private readonly milestones: InstanceType<typeof ProjectMilestones>;
  private readonly users: InstanceType<typeof Users>;
  private readonly branches: InstanceType<typeof Branches>;

  constructor(config: ProviderConfig) {
    super('gitlab', config);
    const options = {
      host: this.context.baseUrl,
      token: this.context.token,
      requesterFn: gitLabRequesterFn(this.context.fetch, this.context.userAgent),
      // Our fetch has its own time limit and takes the caller's signal.
      queryTimeout: null,
    };
    const gitbeaker = gitbeakerModule();
    this.mergeRequests = new gitbeaker.MergeRequests(options);
    this.milestones = new gitbeaker.ProjectMilestones(options);
    this.users = new gitbeaker.Users(options);
    this.branches = new gitbeaker.Branches(options);
  }

  protected override describe(number: number): string {
    return `merge request !${number}`;
  }

  protected override checkMergeMethod(method: MergeMethod | undefined): void {
    if (method === 'rebase') throw this.noRebase();
  }

  protected lookUpFields(repo: RepositoryRef, request: PullRequestRequest): Promise<GitLabFields> {
    return this.userIds(repo, request.assignees ?? [], request.signal);
  }

  protected async open(
    op: ForgeOperation,
    { repo, head, base, request, milestoneId, fields: assigneeIds }: OpenPlan<GitLabFields>,
  ): Promise<GitLabMergeRequest> {
    const title = request.draft ? withTitlePrefix(request.title, 'Draft: ', DRAFT_TITLE) : request.title;
    return (await inGitLabCall(op, request.signal, () =>
      this.mergeRequests.create(repo.path, head, base, title, {
        description: request.description ?? '',
        ...(request.labels?.length ? { labels: request.labels.join(',') } : {}),
        ...(assigneeIds.length ? { assigneeIds } : {}),
        ...(milestoneId !== undefined ? { milestoneId } : {}),
        ...(request.deleteBranchAfterMerge ? { removeSourceBranch: true } : {}),
      }),
    )) as unknown as GitLabMergeRequest;
  }

  protected async mergeOnce(
    op: ForgeOperation,
    repo: RepositoryRef,
    number: number,
    options: MergeOptions,
  ): Promise<PullRequest> {
    const mr = (await inGitLabCall(op, options.signal, () =>
      this.mergeRequests.merge(repo.path, number, {
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
  }

  protected override mayRetryMerge(_error: GitOpsError, now: GitLabMergeRequest | undefined): boolean {
    return now !== undefined && STILL_CHECKING.has(now.detailed_merge_status ?? '');
  }

  protected async closeOnce(
    repo: RepositoryRef,
    number: number,
    signal: AbortSignal | undefined,
    op: ForgeOperation,
  ): Promise<GitLabMergeRequest> {
    return (await inGitLabCall(op, signal, () =>
      this.mergeRequests.edit(repo.path, number, { stateEvent: 'close' }),
    )) as unknown as GitLabMergeRequest;
  }

  protected async removeBranch(
    repo: RepositoryRef,
    name: string,
    signal: AbortSignal | undefined,
    op: ForgeOperation,
  ): Promise<void> {
    await inGitLabCall(op, signal, () => this.branches.remove(repo.path, name));
  }

  protected async branchWasMissing(_repo: RepositoryRef, err: unknown): Promise<boolean> {
    // "404 Branch Not Found" means already gone; "404 Project Not Found" is a real error.
    return (
      err instanceof GitOpsError && err.code === ErrorCodes.NotFound && /branch not found/i.test(err.message)
    );
  }

  private noRebase(): GitOpsError {
    return new GitOpsError(
      ErrorCodes.Invalid,
      'GitLab has no per-merge rebase: the project\'s merge method setting decides; use "merge" or "squash"',
      { details: { forge: 'gitlab', field: 'method' } },
    );
  }

  protected async read(
    repo: RepositoryRef,
    iid: number,
    signal: AbortSignal | undefined,
  ): Promise<GitLabMergeRequest> {
    const op = operation(this.context, `read merge request !${iid}`, repo);
    return (await inGitLabCall(op, signal, () =>
      this.mergeRequests.show(repo.path, iid),
    )) as unknown as GitLabMergeRequest;
  }

  protected async findOpen(
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

  protected override milestonePlace(repo: RepositoryRef): string {
    return `${repo.path} or its groups`;
  }

  protected async listMilestones(
    op: ForgeOperation,
    repo: RepositoryRef,
    title: string,
    signal: AbortSignal | undefined,
  ): Promise<{ id: number; title: string }[]> {
    return (await inGitLabCall(op, signal, () =>
      this.milestones.all(repo.path, { title, includeAncestors: true } as Record<string, unknown>),
    )) as unknown as { id: number; title: string }[];
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

  protected async addMissingFields(
    mr: GitLabMergeRequest,
    { repo, request, milestoneId, fields: assigneeIds }: OpenPlan<GitLabFields>,
  ): Promise<PullRequest> {
    const have = this.toPullRequest(repo, mr);
    const missingLabels = (request.labels ?? []).filter((l) => !have.labels.includes(l));
    const currentIds = (mr.assignees ?? []).map((a) => a.id);
    const allIds = [...new Set([...currentIds, ...assigneeIds])];
    const needsMilestone = milestoneId !== undefined && have.milestone !== request.milestone;
    if (missingLabels.length === 0 && allIds.length === currentIds.length && !needsMilestone) return have;
    const op = operation(this.context, `update merge request !${mr.iid}`, repo);
    const updated = (await inGitLabCall(op, request.signal, () =>
      this.mergeRequests.edit(repo.path, mr.iid, {
        ...(missingLabels.length ? { addLabels: missingLabels.join(',') } : {}),
        ...(allIds.length > currentIds.length ? { assigneeIds: allIds } : {}),
        ...(needsMilestone ? { milestoneId } : {}),
      }),
    )) as unknown as GitLabMergeRequest;
    return this.toPullRequest(repo, updated);
  }

  protected async enableAutoMerge(
    repo: RepositoryRef,
    pull: PullRequest,
    _mr: GitLabMergeRequest,
    request: PullRequestRequest,
  ): Promise<AutoMergeAttempt> {
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

  protected toPullRequest(repo: RepositoryRef, mr: GitLabMergeRequest): PullRequest {
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
