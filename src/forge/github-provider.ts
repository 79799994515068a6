/**
 * Pull requests on GitHub and GitHub Enterprise through Octokit. Labels, assignees and the
 * milestone are issue fields, set with one issue update after the pull request exists; the
 * milestone is looked up first, so a wrong name creates nothing. Auto-merge exists only in
 * GraphQL.
 */
import type { RestEndpointMethodTypes } from '@octokit/rest';
import { Octokit } from '@octokit/rest';
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import type { ForgeOperation } from './forge-error.js';
import { forgeErrorMessage, forgeHttpError, forgeNetworkError } from './forge-error.js';
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
  MergeMethod,
  MergeOptions,
  PullRequest,
  PullRequestProvider,
  PullRequestRef,
  PullRequestRequest,
  PullRequestResult,
} from './pull-request.js';
import type { RepositoryRef } from './repository-ref.js';

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

export class GitHubProvider implements PullRequestProvider {
  readonly kind = 'github' as const;
  private readonly context: ProviderContext;
  private readonly octokit: Octokit;

  constructor(config: ProviderConfig) {
    this.context = createProviderContext('github', config);
    this.octokit = new Octokit({
      auth: this.context.token,
      baseUrl: this.context.baseUrl,
      userAgent: this.context.userAgent,
      request: { fetch: this.context.fetch },
      log: SILENT_LOG,
    });
  }

  get baseUrl(): string {
    return this.context.baseUrl;
  }

  get repository(): string | undefined {
    return this.context.defaultRepository?.path;
  }

  async createOrFind(request: PullRequestRequest): Promise<PullRequestResult> {
    const { repo, head, base } = checkPullRequestRequest(this.context, request);
    const signal = request.signal;
    let pull: PullRequest | undefined;
    let nodeId: string | undefined;
    let created = false;

    const existing = await this.findRaw(repo, head, base, signal);
    if (existing !== undefined) {
      pull = this.toPullRequest(repo, existing);
      nodeId = existing.node_id;
    }
    // The milestone is looked up before anything is created, so a wrong name changes nothing.
    const milestone =
      request.milestone === undefined
        ? undefined
        : await this.milestoneNumber(repo, request.milestone, signal);

    if (pull === undefined) {
      const op = operation(this.context, 'open a pull request', repo);
      try {
        const { data } = await this.octokit.rest.pulls.create({
          owner: repo.owner,
          repo: repo.name,
          head,
          base,
          title: request.title,
          body: request.description ?? '',
          draft: request.draft ?? false,
          request: { signal },
        });
        pull = this.toPullRequest(repo, data);
        nodeId = data.node_id;
        created = true;
      } catch (err) {
        // Someone opened it between our look and our create: use theirs.
        const again =
          isHttpError(err) && err.status === 422 ? await this.findRaw(repo, head, base, signal) : undefined;
        if (again === undefined) throw this.toError(op, err);
        pull = this.toPullRequest(repo, again);
        nodeId = again.node_id;
      }
    }

    pull = await this.ensureIssueFields(repo, pull, request, milestone);
    const result: PullRequestResult = { ...pull, created };
    if (request.autoMerge) {
      const { outcome, merged } = await this.enableAutoMerge(repo, pull, nodeId, request);
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
    const found = await this.findRaw(
      repo,
      checkBranch(head, 'head'),
      checkBranch(base, 'base'),
      options.signal,
    );
    return found === undefined ? undefined : this.toPullRequest(repo, found);
  }

  async get(ref: PullRequestRef, options: { signal?: AbortSignal } = {}): Promise<PullRequest> {
    const repo = resolveRepository(this.context, ref.repository);
    return this.toPullRequest(repo, await this.getRaw(repo, ref.number, options.signal));
  }

  async merge(ref: PullRequestRef, options: MergeOptions = {}): Promise<PullRequest> {
    const repo = resolveRepository(this.context, ref.repository);
    const op = operation(this.context, `merge pull request #${ref.number}`, repo, 'merge');
    let mergeSha: string | undefined;
    try {
      const { data } = await this.octokit.rest.pulls.merge({
        owner: repo.owner,
        repo: repo.name,
        pull_number: ref.number,
        merge_method: options.method ?? 'merge',
        sha: options.sha,
        commit_title: options.commitTitle,
        commit_message: options.commitMessage,
        request: { signal: options.signal },
      });
      mergeSha = data.sha;
    } catch (err) {
      // A retried or repeated merge finds the work done: that is success, not an error.
      const now = await this.get({ repository: repo.path, number: ref.number }, options).catch(
        () => undefined,
      );
      if (now?.state !== 'merged') throw this.toError(op, err);
    }
    const merged = await this.get({ repository: repo.path, number: ref.number }, options);
    if (merged.mergeCommit === undefined && mergeSha !== undefined) merged.mergeCommit = mergeSha;
    if (options.deleteBranch)
      await this.deleteBranch(merged.head, { repository: repo.path, signal: options.signal });
    return merged;
  }

  async close(ref: PullRequestRef, options: { signal?: AbortSignal } = {}): Promise<PullRequest> {
    const repo = resolveRepository(this.context, ref.repository);
    const op = operation(this.context, `close pull request #${ref.number}`, repo);
    try {
      const { data } = await this.octokit.rest.pulls.update({
        owner: repo.owner,
        repo: repo.name,
        pull_number: ref.number,
        state: 'closed',
        request: { signal: options.signal },
      });
      return this.toPullRequest(repo, data);
    } catch (err) {
      throw this.toError(op, err);
    }
  }

  async deleteBranch(
    branch: string,
    options: { repository?: string; signal?: AbortSignal } = {},
  ): Promise<boolean> {
    const repo = resolveRepository(this.context, options.repository);
    const name = checkBranch(branch, 'branch');
    const op = operation(this.context, `delete branch ${name}`, repo, 'delete-branch');
    try {
      await this.octokit.rest.git.deleteRef({
        owner: repo.owner,
        repo: repo.name,
        ref: `heads/${name}`,
        request: { signal: options.signal },
      });
      return true;
    } catch (err) {
      // GitHub answers 422 "Reference does not exist" for a branch that is already gone.
      if (
        isHttpError(err) &&
        err.status === 422 &&
        /does not exist/i.test(forgeErrorMessage(err.response?.data))
      ) {
        return false;
      }
      throw this.toError(op, err);
    }
  }

  private async findRaw(
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

  private async getRaw(
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

  private async milestoneNumber(
    repo: RepositoryRef,
    title: string,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    const op = operation(this.context, `look up milestone ${JSON.stringify(title)}`, repo);
    let milestones: { number: number; title: string }[];
    try {
      milestones = await this.octokit.paginate(this.octokit.rest.issues.listMilestones, {
        owner: repo.owner,
        repo: repo.name,
        state: 'all',
        per_page: 100,
        request: { signal },
      });
    } catch (err) {
      throw this.toError(op, err);
    }
    const found = milestones.find((m) => m.title === title);
    if (found === undefined) {
      throw new GitOpsError(
        ErrorCodes.NotFound,
        `milestone ${JSON.stringify(title)} does not exist in ${repo.path} on GitHub; create it or fix the name`,
        { details: { forge: 'github', repository: repo.path, field: 'milestone' } },
      );
    }
    return found.number;
  }

  /** Sets what the request asks for that the pull request lacks; a found one keeps what it has. */
  private async ensureIssueFields(
    repo: RepositoryRef,
    pull: PullRequest,
    request: PullRequestRequest,
    milestone: number | undefined,
  ): Promise<PullRequest> {
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

  private async enableAutoMerge(
    repo: RepositoryRef,
    pull: PullRequest,
    nodeId: string | undefined,
    request: PullRequestRequest,
  ): Promise<{ outcome: AutoMergeOutcome; merged?: PullRequest }> {
    if (pull.state === 'merged') return { outcome: { status: 'merged' } };
    const op = operation(
      this.context,
      `enable auto-merge of pull request #${pull.number}`,
      repo,
      'auto-merge',
    );
    const method: MergeMethod = request.mergeMethod ?? 'merge';
    try {
      const id = nodeId ?? (await this.getRaw(repo, pull.number, request.signal)).node_id;
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

  private toPullRequest(repo: RepositoryRef, data: GitHubPull | GitHubPullSummary): PullRequest {
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
