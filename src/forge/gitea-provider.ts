/**
 * Pull requests on Gitea (and Forgejo, which keeps its API) through our own small client.
 * Gitea takes labels and the milestone by id: the milestone is looked up first so a wrong name
 * creates nothing, and labels missing from the repository are created, as GitHub and GitLab do.
 * A draft is a `WIP: ` title, which is how Gitea marks work in progress.
 */
import { createHash } from 'node:crypto';
import { ErrorCodes, GitOpsError, pause } from '../runtime/index.js';
import type { ForgeOperation } from './forge-error.js';
import { GiteaClient, pathSegment } from './gitea-client.js';
import type { ProviderConfig } from './provider-config.js';
import { operation, withTitlePrefix } from './provider-config.js';
import type {
  AutoMergeOutcome,
  MergeMethod,
  MergeOptions,
  PullRequest,
  PullRequestRequest,
} from './pull-request.js';
import type { AutoMergeAttempt, OpenPlan } from './pull-request-flow.js';
import { backoffMs, PullRequestFlow } from './pull-request-flow.js';
import type { RepositoryRef } from './repository-ref.js';

interface GiteaBranch {
  ref: string;
  sha: string;
  repo?: { full_name: string } | null;
}

interface GiteaPull {
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  merged: boolean;
  merge_commit_sha: string | null;
  draft?: boolean;
  html_url: string;
  head: GiteaBranch;
  base: GiteaBranch;
  labels: { id: number; name: string }[] | null;
  assignees: { login: string }[] | null;
  milestone: { id: number; title: string } | null;
}

const WIP_TITLE = /^\s*(wip:|\[wip\])/i;
// Gitea answers 405 "Please try again later" while it still checks whether a PR can merge.
const TRY_AGAIN = /try again later/i;
const MERGE_ATTEMPTS = 10;

const MERGE_STYLE: Record<MergeMethod, string> = { merge: 'merge', squash: 'squash', rebase: 'rebase' };

/** A steady colour per label name, so labels we create look the same in every repository. */
function labelColor(name: string): string {
  return `#${createHash('sha256').update(name).digest('hex').slice(0, 6)}`;
}

/** Label ids, looked up (or created) before the pull request. */
type GiteaFields = number[];

export class GiteaProvider extends PullRequestFlow<GiteaPull, GiteaFields> {
  readonly kind = 'gitea' as const;
  protected override readonly mergeAttempts = MERGE_ATTEMPTS;
  private readonly client: GiteaClient;

  constructor(config: ProviderConfig) {
    super('gitea', config);
    this.client = new GiteaClient(this.context);
  }

  protected lookUpFields(repo: RepositoryRef, request: PullRequestRequest): Promise<GiteaFields> {
    return this.labelIds(repo, request.labels ?? [], request.signal);
  }

  protected async open(
    op: ForgeOperation,
    { repo, head, base, request, milestoneId, fields: labelIds }: OpenPlan<GiteaFields>,
  ): Promise<GiteaPull> {
    const { body } = await this.client.request<GiteaPull>(op, 'POST', `${this.repoPath(repo)}/pulls`, {
      body: {
        head,
        base,
        title: request.draft ? withTitlePrefix(request.title, 'WIP: ', WIP_TITLE) : request.title,
        body: request.description ?? '',
        ...(request.assignees?.length ? { assignees: request.assignees } : {}),
        ...(labelIds.length ? { labels: labelIds } : {}),
        ...(milestoneId !== undefined ? { milestone: milestoneId } : {}),
      },
      signal: request.signal,
    });
    return body;
  }

  protected async mergeOnce(
    op: ForgeOperation,
    repo: RepositoryRef,
    number: number,
    options: MergeOptions,
  ): Promise<PullRequest> {
    await this.client.request(op, 'POST', `${this.repoPath(repo)}/pulls/${number}/merge`, {
      body: {
        Do: MERGE_STYLE[options.method ?? 'merge'],
        ...(options.commitTitle !== undefined ? { MergeTitleField: options.commitTitle } : {}),
        ...(options.commitMessage !== undefined ? { MergeMessageField: options.commitMessage } : {}),
        ...(options.sha !== undefined ? { head_commit_id: options.sha } : {}),
        delete_branch_after_merge: options.deleteBranch ?? false,
      },
      signal: options.signal,
    });
    return this.get({ repository: repo.path, number }, options);
  }

  protected override mayRetryMerge(error: GitOpsError): boolean {
    return TRY_AGAIN.test(error.message);
  }

  protected async closeOnce(
    repo: RepositoryRef,
    number: number,
    signal: AbortSignal | undefined,
    op: ForgeOperation,
  ): Promise<GiteaPull> {
    const path = `${this.repoPath(repo)}/pulls/${number}`;
    return (await this.client.request<GiteaPull>(op, 'PATCH', path, { body: { state: 'closed' }, signal }))
      .body;
  }

  protected async removeBranch(
    repo: RepositoryRef,
    name: string,
    signal: AbortSignal | undefined,
    op: ForgeOperation,
  ): Promise<void> {
    await this.client.request(op, 'DELETE', `${this.repoPath(repo)}/branches/${pathSegment(name)}`, {
      signal,
    });
  }

  protected async branchWasMissing(
    repo: RepositoryRef,
    err: unknown,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    if (!(err instanceof GitOpsError) || err.code !== ErrorCodes.NotFound) return false;
    // Gitea answers 404 both for a missing branch and a missing repository: tell them apart.
    await this.client.request(
      operation(this.context, 'read the repository', repo),
      'GET',
      this.repoPath(repo),
      {
        signal,
      },
    );
    return true;
  }

  private repoPath(repo: RepositoryRef): string {
    return `/repos/${pathSegment(repo.owner)}/${pathSegment(repo.name)}`;
  }

  protected async read(
    repo: RepositoryRef,
    number: number,
    signal: AbortSignal | undefined,
  ): Promise<GiteaPull> {
    const op = operation(this.context, `read pull request #${number}`, repo);
    return (
      await this.client.request<GiteaPull>(op, 'GET', `${this.repoPath(repo)}/pulls/${number}`, { signal })
    ).body;
  }

  protected async findOpen(
    repo: RepositoryRef,
    head: string,
    base: string,
    signal: AbortSignal | undefined,
  ): Promise<GiteaPull | undefined> {
    const op = operation(this.context, `look for an open pull request from ${head} into ${base}`, repo);
    const open = await this.client.list<GiteaPull>(
      op,
      `${this.repoPath(repo)}/pulls`,
      { state: 'open', base_branch: base },
      signal,
    );
    return open.find(
      (p) =>
        p.head.ref === head &&
        p.base.ref === base &&
        (p.head.repo?.full_name ?? repo.path).toLowerCase() === repo.path.toLowerCase(),
    );
  }

  protected async listMilestones(
    op: ForgeOperation,
    repo: RepositoryRef,
    title: string,
    signal: AbortSignal | undefined,
  ): Promise<{ id: number; title: string }[]> {
    return this.client.list(op, `${this.repoPath(repo)}/milestones`, { state: 'all', name: title }, signal);
  }

  private async labelIds(
    repo: RepositoryRef,
    names: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<number[]> {
    if (names.length === 0) return [];
    const op = operation(this.context, 'list labels', repo);
    const existing = await this.client.list<{ id: number; name: string }>(
      op,
      `${this.repoPath(repo)}/labels`,
      {},
      signal,
    );
    const ids: number[] = [];
    for (const name of new Set(names)) {
      const found = existing.find((l) => l.name === name);
      if (found !== undefined) {
        ids.push(found.id);
        continue;
      }
      const create = operation(this.context, `create label ${JSON.stringify(name)}`, repo);
      const { body } = await this.client.request<{ id: number }>(
        create,
        'POST',
        `${this.repoPath(repo)}/labels`,
        {
          body: { name, color: labelColor(name) },
          signal,
        },
      );
      ids.push(body.id);
    }
    return ids;
  }

  protected async addMissingFields(
    pull: GiteaPull,
    { repo, request, milestoneId, fields: labelIds }: OpenPlan<GiteaFields>,
  ): Promise<PullRequest> {
    const haveLabels = new Set((pull.labels ?? []).map((l) => l.id));
    const missingLabels = labelIds.filter((id) => !haveLabels.has(id));
    const haveAssignees = (pull.assignees ?? []).map((a) => a.login);
    const assignees = [...new Set([...haveAssignees, ...(request.assignees ?? [])])];
    const needsMilestone = milestoneId !== undefined && pull.milestone?.id !== milestoneId;
    let current = pull;
    if (missingLabels.length > 0) {
      const op = operation(this.context, `add labels to pull request #${pull.number}`, repo);
      await this.client.request(op, 'POST', `${this.repoPath(repo)}/issues/${pull.number}/labels`, {
        body: { labels: missingLabels },
        signal: request.signal,
      });
      current = await this.read(repo, pull.number, request.signal);
    }
    if (assignees.length > haveAssignees.length || needsMilestone) {
      const op = operation(this.context, `update pull request #${pull.number}`, repo);
      ({ body: current } = await this.client.request<GiteaPull>(
        op,
        'PATCH',
        `${this.repoPath(repo)}/pulls/${pull.number}`,
        {
          body: {
            ...(assignees.length > haveAssignees.length ? { assignees } : {}),
            ...(needsMilestone ? { milestone: milestoneId } : {}),
          },
          signal: request.signal,
        },
      ));
    }
    return this.toPullRequest(repo, current);
  }

  protected async enableAutoMerge(
    repo: RepositoryRef,
    pull: PullRequest,
    _raw: GiteaPull,
    request: PullRequestRequest,
  ): Promise<AutoMergeAttempt> {
    const outcome = await this.scheduleMerge(repo, pull, request);
    if (outcome.status !== 'merged') return { outcome };
    return { outcome, merged: await this.get(pull, { signal: request.signal }) };
  }

  private async scheduleMerge(
    repo: RepositoryRef,
    pull: PullRequest,
    request: PullRequestRequest,
  ): Promise<AutoMergeOutcome> {
    if (pull.state === 'merged') return { status: 'merged' };
    const op = operation(
      this.context,
      `schedule the merge of pull request #${pull.number}`,
      repo,
      'auto-merge',
    );
    for (let attempt = 1; ; attempt++) {
      try {
        const { status } = await this.client.request(
          op,
          'POST',
          `${this.repoPath(repo)}/pulls/${pull.number}/merge`,
          {
            body: {
              Do: MERGE_STYLE[request.mergeMethod ?? 'merge'],
              merge_when_checks_succeed: true,
              delete_branch_after_merge: request.deleteBranchAfterMerge ?? false,
            },
            signal: request.signal,
          },
        );
        // 201: scheduled; Gitea merges it from its queue once checks pass (at once if none are
        // required). 200: an older Gitea that merged it right away.
        return { status: status === 201 ? 'enabled' : 'merged' };
      } catch (err) {
        const error =
          err instanceof GitOpsError ? err : new GitOpsError(ErrorCodes.InternalError, String(err));
        if (error.code === ErrorCodes.Conflict && /already scheduled/i.test(error.message))
          return { status: 'enabled' };
        if (!TRY_AGAIN.test(error.message) || attempt >= MERGE_ATTEMPTS) return { status: 'failed', error };
        await pause(backoffMs(this.firstMergePauseMs, attempt), request.signal);
      }
    }
  }

  protected toPullRequest(repo: RepositoryRef, p: GiteaPull): PullRequest {
    const pull: PullRequest = {
      provider: 'gitea',
      repository: p.base.repo?.full_name ?? repo.path,
      number: p.number,
      url: p.html_url,
      title: p.title,
      description: p.body ?? '',
      head: p.head.ref,
      base: p.base.ref,
      headSha: p.head.sha,
      state: p.merged ? 'merged' : p.state === 'closed' ? 'closed' : 'open',
      draft: p.draft ?? WIP_TITLE.test(p.title),
      labels: (p.labels ?? []).map((l) => l.name),
      assignees: (p.assignees ?? []).map((a) => a.login),
    };
    if (p.merged && p.merge_commit_sha) pull.mergeCommit = p.merge_commit_sha;
    if (p.milestone?.title) pull.milestone = p.milestone.title;
    return pull;
  }
}
