/**
 * Pull requests on GitHub and GitHub Enterprise through Octokit. Labels, assignees and the
 * milestone are issue fields, set with one issue update after the pull request exists; the
 * milestone is looked up first, so a wrong name creates nothing. Auto-merge exists only in
 * GraphQL.
 */
import type { Octokit, RestEndpointMethodTypes } from '@octokit/rest';
import { ErrorCodes, GitOpsError, lazyModule } from '../runtime/index.js';
import type { ForgeOperation } from './forge-error.js';
import { forgeErrorMessage, forgeHttpError, forgeNetworkError } from './forge-error.js';
import type { ProviderConfig } from './provider-config.js';
import { operation } from './provider-config.js';
import type { MergeMethod, MergeOptions, PullRequest, PullRequestRequest } from './pull-request.js';
import type { AutoMergeAttempt, OpenPlan } from './pull-request-flow.js';
import { PullRequestFlow } from './pull-request-flow.js';
import type { RepositoryRef } from './repository-ref.js';
import type * as OctokitModule from '@octokit/rest';

// Loaded on the first provider made, not when the forge layer is imported.
const octokitModule = lazyModule<typeof OctokitModule>('@octokit/rest');

type GitHubPull = RestEndpointMethodTypes['pulls']['get']['response']['data'];
type GitHubPullSummary = RestEndpointMethodTypes['pulls']['list']['response']['data'][number];
type GitHubIssue = RestEndpointMethodTypes['issues']['update']['response']['data'];

const SILENT_LOG = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

const AUTO_MERGE_MUTATION = `mutation EnableAutoMerge($id: ID!, $mergeMethod: PullRequestMergeMethod!) {
  enablePullRequestAutoMerge(input: { pullRequestId: $id, mergeMethod: $mergeMethod }) {
    pullRequest { number }
  }
}`;

interface HttpErrorLike {
  status: number;
  response?: { data?: unknown; headers?: Record<string, string | number | undefined> };
  cause?: unknown;
}

function isHttpError(err: unknown): err is HttpErrorLike {
  return err instanceof Error && typeof (err as { status?: unknown }).status === 'number';
}

function graphqlMessages(err: unknown): string[] | undefined {
  if (!(err instanceof Error) || err.name !== 'GraphqlResponseError') return undefined;
  const errors = (err as { errors?: { message?: string }[] }).errors ?? [];
  return errors.map((e) => e.message ?? '').filter((m) => m !== '');
}

function names(items: readonly ({ name?: string } | string)[] | undefined): string[] {
  return (items ?? []).map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter((n) => n !== '');
}

/** GitHub needs no ids beyond the milestone's. */
type GitHubFields = undefined;

export class GitHubProvider extends PullRequestFlow<GitHubPull | GitHubPullSummary, GitHubFields> {
  readonly kind = 'github' as const;
  // Labels, assignees and the milestone are issue fields, set after the pull request exists.
  protected override readonly fieldsGoWithOpen = false;
  private readonly octokit: Octokit;

  constructor(config: ProviderConfig) {
    super('github', config);
    this.octokit = new (octokitModule().Octokit)({
      auth: this.context.token,
      baseUrl: this.context.baseUrl,
      userAgent: this.context.userAgent,
      request: { fetch: this.context.fetch },
      log: SILENT_LOG,
    });
  }

  protected async lookUpFields(): Promise<GitHubFields> {
    return undefined;
  }

  protected async open(
    _op: ForgeOperation,
    { repo, head, base, request }: OpenPlan<GitHubFields>,
  ): Promise<GitHubPull> {
    const { data } = await this.octokit.rest.pulls.create({
      owner: repo.owner,
      repo: repo.name,
      head,
      base,
      title: request.title,
      body: request.description ?? '',
      draft: request.draft ?? false,
      request: { signal: request.signal },
    });
    return data;
  }

  protected override isOpenRace(err: unknown): boolean {
    return isHttpError(err) && err.status === 422;
  }

  protected async mergeOnce(
    _op: ForgeOperation,
    repo: RepositoryRef,
    number: number,
    options: MergeOptions,
  ): Promise<PullRequest> {
    const { data } = await this.octokit.rest.pulls.merge({
      owner: repo.owner,
      repo: repo.name,
      pull_number: number,
      merge_method: options.method ?? 'merge',
      sha: options.sha,
      commit_title: options.commitTitle,
      commit_message: options.commitMessage,
      request: { signal: options.signal },
    });
    const merged = await this.get({ repository: repo.path, number }, options);
    if (merged.mergeCommit === undefined && data.sha !== undefined) merged.mergeCommit = data.sha;
    return merged;
  }

  // Read once more, as a merge that just went through would be.
  protected override confirmMerged(
    repo: RepositoryRef,
    merged: PullRequest,
    options: MergeOptions,
  ): Promise<PullRequest> {
    return this.get({ repository: repo.path, number: merged.number }, options);
  }

  protected override async afterMerge(
    repo: RepositoryRef,
    merged: PullRequest,
    options: MergeOptions,
  ): Promise<PullRequest> {
    if (options.deleteBranch)
      await this.deleteBranch(merged.head, { repository: repo.path, signal: options.signal });
    return merged;
  }

  protected async closeOnce(
    repo: RepositoryRef,
    number: number,
    signal: AbortSignal | undefined,
  ): Promise<GitHubPull> {
    const { data } = await this.octokit.rest.pulls.update({
      owner: repo.owner,
      repo: repo.name,
      pull_number: number,
      state: 'closed',
      request: { signal },
    });
    return data;
  }

  protected async removeBranch(
    repo: RepositoryRef,
    name: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    await this.octokit.rest.git.deleteRef({
      owner: repo.owner,
      repo: repo.name,
      ref: `heads/${name}`,
      request: { signal },
    });
  }

  protected async branchWasMissing(_repo: RepositoryRef, err: unknown): Promise<boolean> {
    // GitHub answers 422 "Reference does not exist" for a branch that is already gone.
    return (
      isHttpError(err) && err.status === 422 && /does not exist/i.test(forgeErrorMessage(err.response?.data))
    );
  }

  protected async findOpen(
    repo: RepositoryRef,
    head: string,
    base: string,
    signal: AbortSignal | undefined,
  ): Promise<GitHubPullSummary | undefined> {
    const op = operation(this.context, `look for an open pull request from ${head} into ${base}`, repo);
    try {
      const { data } = await this.octokit.rest.pulls.list({
        owner: repo.owner,
        repo: repo.name,
        state: 'open',
        head: `${repo.owner}:${head}`,
        base,
        per_page: 100,
        request: { signal },
      });
      return data.find(
        (p) =>
          p.head.ref === head &&
          p.base.ref === base &&
          p.head.repo?.full_name.toLowerCase() === repo.path.toLowerCase(),
      );
    } catch (err) {
      throw this.toError(op, err);
    }
  }

  protected async read(
    repo: RepositoryRef,
    number: number,
    signal: AbortSignal | undefined,
  ): Promise<GitHubPull> {
    const op = operation(this.context, `read pull request #${number}`, repo);
    try {
      const { data } = await this.octokit.rest.pulls.get({
        owner: repo.owner,
        repo: repo.name,
        pull_number: number,
        request: { signal },
      });
      return data;
    } catch (err) {
      throw this.toError(op, err);
    }
  }

  protected async listMilestones(
    _op: ForgeOperation,
    repo: RepositoryRef,
    _title: string,
    signal: AbortSignal | undefined,
  ): Promise<{ id: number; title: string }[]> {
    const milestones = await this.octokit.paginate(this.octokit.rest.issues.listMilestones, {
      owner: repo.owner,
      repo: repo.name,
      state: 'all',
      per_page: 100,
      request: { signal },
    });
    // GitHub names a milestone by its number in the repository.
    return milestones.map((m) => ({ id: m.number, title: m.title }));
  }

  /** Sets what the request asks for that the pull request lacks; a found one keeps what it has. */
  protected async addMissingFields(
    raw: GitHubPull | GitHubPullSummary,
    { repo, request, milestoneId: milestone }: OpenPlan<GitHubFields>,
  ): Promise<PullRequest> {
    const pull = this.toPullRequest(repo, raw);
    const labels = [...new Set([...pull.labels, ...(request.labels ?? [])])];
    const assignees = [...new Set([...pull.assignees, ...(request.assignees ?? [])])];
    const needsLabels = labels.length > pull.labels.length;
    const needsAssignees = assignees.length > pull.assignees.length;
    const needsMilestone = milestone !== undefined && pull.milestone !== request.milestone;
    if (!needsLabels && !needsAssignees && !needsMilestone) return pull;
    const op = operation(
      this.context,
      `set labels, assignees and milestone of pull request #${pull.number}`,
      repo,
    );
    let issue: GitHubIssue;
    try {
      ({ data: issue } = await this.octokit.rest.issues.update({
        owner: repo.owner,
        repo: repo.name,
        issue_number: pull.number,
        ...(needsLabels ? { labels } : {}),
        ...(needsAssignees ? { assignees } : {}),
        ...(needsMilestone ? { milestone } : {}),
        request: { signal: request.signal },
      }));
    } catch (err) {
      throw this.toError(op, err).withDetails({ pullRequest: pull.number, url: pull.url });
    }
    return {
      ...pull,
      labels: names(issue.labels as ({ name?: string } | string)[]),
      assignees: (issue.assignees ?? []).map((a) => a.login),
      milestone: issue.milestone?.title ?? undefined,
    };
  }

  protected async enableAutoMerge(
    repo: RepositoryRef,
    pull: PullRequest,
    raw: GitHubPull | GitHubPullSummary,
    request: PullRequestRequest,
  ): Promise<AutoMergeAttempt> {
    if (pull.state === 'merged') return { outcome: { status: 'merged' } };
    const op = operation(
      this.context,
      `enable auto-merge of pull request #${pull.number}`,
      repo,
      'auto-merge',
    );
    const method: MergeMethod = request.mergeMethod ?? 'merge';
    try {
      const id = raw.node_id ?? (await this.read(repo, pull.number, request.signal)).node_id;
      await this.octokit.graphql(AUTO_MERGE_MUTATION, {
        id,
        mergeMethod: method.toUpperCase(),
        request: { signal: request.signal },
      });
      return { outcome: { status: 'enabled' } };
    } catch (err) {
      const messages = graphqlMessages(err);
      // GitHub refuses auto-merge when nothing is pending ("clean status"): merge right away instead.
      if (messages?.some((m) => /clean status/i.test(m))) {
        try {
          const merged = await this.merge(
            { repository: repo.path, number: pull.number },
            { method, deleteBranch: request.deleteBranchAfterMerge, signal: request.signal },
          );
          return { outcome: { status: 'merged' }, merged };
        } catch (mergeErr) {
          const error = mergeErr instanceof GitOpsError ? mergeErr : this.toError(op, mergeErr);
          return { outcome: { status: 'failed', error } };
        }
      }
      if (messages !== undefined) {
        return {
          outcome: {
            status: 'failed',
            error: new GitOpsError(
              ErrorCodes.MethodNotAllowed,
              `GitHub refused to ${op.action} in ${repo.path}: ${messages.join('; ')}. Turn on "Allow auto-merge" ` +
                `in the repository settings, and protect ${pull.base} with required checks`,
              { details: { forge: 'github', repository: repo.path, pullRequest: pull.number }, cause: err },
            ),
          },
        };
      }
      return { outcome: { status: 'failed', error: this.toError(op, err) } };
    }
  }

  protected toPullRequest(repo: RepositoryRef, data: GitHubPull | GitHubPullSummary): PullRequest {
    const merged = data.merged_at != null || ('merged' in data && data.merged === true);
    const pull: PullRequest = {
      provider: 'github',
      repository: data.base.repo?.full_name ?? repo.path,
      number: data.number,
      url: data.html_url,
      title: data.title,
      description: data.body ?? '',
      head: data.head.ref,
      base: data.base.ref,
      headSha: data.head.sha,
      state: merged ? 'merged' : data.state === 'closed' ? 'closed' : 'open',
      draft: data.draft ?? false,
      labels: names(data.labels),
      assignees: (data.assignees ?? []).map((a) => a.login),
    };
    if (merged && data.merge_commit_sha) pull.mergeCommit = data.merge_commit_sha;
    if (data.milestone?.title) pull.milestone = data.milestone.title;
    return pull;
  }

  protected override wrapError(op: ForgeOperation, err: unknown): GitOpsError {
    return this.toError(op, err);
  }

  private toError(op: ForgeOperation, err: unknown): GitOpsError {
    const inner = isHttpError(err) && err.cause instanceof GitOpsError ? err.cause : err;
    if (inner instanceof GitOpsError) {
      return inner.code === ErrorCodes.Unreachable ? forgeNetworkError(op, inner) : inner;
    }
    if (isHttpError(err) && err.status >= 400) {
      const retryAfter = Number(err.response?.headers?.['retry-after']);
      return forgeHttpError(op, err.status, forgeErrorMessage(err.response?.data), {
        cause: err,
        retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
      });
    }
    const messages = graphqlMessages(err);
    if (messages !== undefined) return forgeHttpError(op, 422, messages.join('; '), { cause: err });
    return new GitOpsError(
      ErrorCodes.InternalError,
      `GitHub client failed to ${op.action}: ${String((err as Error)?.message ?? err)}`,
      {
        cause: err,
        details: { forge: 'github', action: op.action },
      },
    );
  }
}
