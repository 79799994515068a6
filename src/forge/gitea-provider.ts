/**
 * Pull requests on Gitea (and Forgejo, which keeps its API) through our own small client.
 * Gitea takes labels and the milestone by id: the milestone is looked up first so a wrong name
 * creates nothing, and labels missing from the repository are created, as GitHub and GitLab do.
 * A draft is a `WIP: ` title, which is how Gitea marks work in progress.
 */
import { createHash } from 'node:crypto';
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import { GiteaClient, pathSegment } from './gitea-client.js';
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
  MergeMethod,
  MergeOptions,
  PullRequest,
  PullRequestProvider,
  PullRequestRef,
  PullRequestRequest,
  PullRequestResult,
} from './pull-request.js';
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

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

/** A steady colour per label name, so labels we create look the same in every repository. */
function labelColor(name: string): string {
  return `#${createHash('sha256').update(name).digest('hex').slice(0, 6)}`;
}

export class GiteaProvider implements PullRequestProvider {
  readonly kind = 'gitea' as const;
  private readonly context: ProviderContext;
  private readonly client: GiteaClient;

  constructor(config: ProviderConfig) {
    this.context = createProviderContext('gitea', config);
    this.client = new GiteaClient(this.context);
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

    const existing = await this.findRaw(repo, head, base, signal);
    const milestoneId =
      request.milestone === undefined ? undefined : await this.milestoneId(repo, request.milestone, signal);
    const labelIds = await this.labelIds(repo, request.labels ?? [], signal);

    let pull: GiteaPull;
    let created = false;
    if (existing !== undefined) {
      pull = await this.ensureFields(repo, existing, request, labelIds, milestoneId);
    } else {
      const op = operation(this.context, 'open a pull request', repo);
      try {
        ({ body: pull } = await this.client.request<GiteaPull>(op, 'POST', `${this.repoPath(repo)}/pulls`, {
          body: {
            head,
            base,
            title: request.draft ? withTitlePrefix(request.title, 'WIP: ', WIP_TITLE) : request.title,
            body: request.description ?? '',
            ...(request.assignees?.length ? { assignees: request.assignees } : {}),
            ...(labelIds.length ? { labels: labelIds } : {}),
            ...(milestoneId !== undefined ? { milestone: milestoneId } : {}),
          },
          signal,
        }));
        created = true;
      } catch (err) {
        // 409: a pull request for the same head and base appeared since we looked.
        const again =
          err instanceof GitOpsError && err.code === ErrorCodes.Conflict
            ? await this.findRaw(repo, head, base, signal)
            : undefined;
        if (again === undefined) throw err;
        pull = await this.ensureFields(repo, again, request, labelIds, milestoneId);
      }
    }
    const result: PullRequestResult = { ...this.toPullRequest(repo, pull), created };
    if (request.autoMerge) {
      result.autoMerge = await this.enableAutoMerge(repo, result, request);
      if (result.autoMerge.status === 'merged') Object.assign(result, await this.get(result, { signal }));
    }
    return result;
  }

  async find(
    head: string,
    base: string,
    options: { repository?: string; signal?: AbortSignal } = {},
  ): Promise<PullRequest | undefined> {
    const repo = resolveRepository(this.context, options.repository);
    const pull = await this.findRaw(
      repo,
      checkBranch(head, 'head'),
      checkBranch(base, 'base'),
      options.signal,
    );
    return pull === undefined ? undefined : this.toPullRequest(repo, pull);
  }

  async get(ref: PullRequestRef, options: { signal?: AbortSignal } = {}): Promise<PullRequest> {
    const repo = resolveRepository(this.context, ref.repository);
    return this.toPullRequest(repo, await this.getRaw(repo, ref.number, options.signal));
  }

  async merge(ref: PullRequestRef, options: MergeOptions = {}): Promise<PullRequest> {
    const repo = resolveRepository(this.context, ref.repository);
    const op = operation(this.context, `merge pull request #${ref.number}`, repo, 'merge');
    const body = {
      Do: MERGE_STYLE[options.method ?? 'merge'],
      ...(options.commitTitle !== undefined ? { MergeTitleField: options.commitTitle } : {}),
      ...(options.commitMessage !== undefined ? { MergeMessageField: options.commitMessage } : {}),
      ...(options.sha !== undefined ? { head_commit_id: options.sha } : {}),
      delete_branch_after_merge: options.deleteBranch ?? false,
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.request(op, 'POST', `${this.repoPath(repo)}/pulls/${ref.number}/merge`, {
          body,
          signal: options.signal,
        });
        break;
      } catch (err) {
        if (!(err instanceof GitOpsError) || err.code === ErrorCodes.Aborted) throw err;
        // A repeated merge finds the work done: success, not an error.
        const now = await this.getRaw(repo, ref.number, options.signal).catch(() => undefined);
        if (now?.merged) return this.toPullRequest(repo, now);
        if (!TRY_AGAIN.test(err.message) || attempt >= MERGE_ATTEMPTS) throw err;
        await pause(Math.min(4000, 200 * 2 ** (attempt - 1)), options.signal);
      }
    }
    return this.get({ repository: repo.path, number: ref.number }, options);
  }

  async close(ref: PullRequestRef, options: { signal?: AbortSignal } = {}): Promise<PullRequest> {
    const repo = resolveRepository(this.context, ref.repository);
    const op = operation(this.context, `close pull request #${ref.number}`, repo);
    const { body } = await this.client.request<GiteaPull>(
      op,
      'PATCH',
      `${this.repoPath(repo)}/pulls/${ref.number}`,
      {
        body: { state: 'closed' },
        signal: options.signal,
      },
    );
    return this.toPullRequest(repo, body);
  }

  async deleteBranch(
    branch: string,
    options: { repository?: string; signal?: AbortSignal } = {},
  ): Promise<boolean> {
    const repo = resolveRepository(this.context, options.repository);
    const name = checkBranch(branch, 'branch');
    const op = operation(this.context, `delete branch ${name}`, repo, 'delete-branch');
    try {
      await this.client.request(op, 'DELETE', `${this.repoPath(repo)}/branches/${pathSegment(name)}`, {
        signal: options.signal,
      });
      return true;
    } catch (err) {
      if (!(err instanceof GitOpsError) || err.code !== ErrorCodes.NotFound) throw err;
      // Gitea answers 404 both for a missing branch and a missing repository: tell them apart.
      await this.client.request(
        operation(this.context, 'read the repository', repo),
        'GET',
        this.repoPath(repo),
        {
          signal: options.signal,
        },
      );
      return false;
    }
  }

  private repoPath(repo: RepositoryRef): string {
    return `/repos/${pathSegment(repo.owner)}/${pathSegment(repo.name)}`;
  }

  private async getRaw(
    repo: RepositoryRef,
    number: number,
    signal: AbortSignal | undefined,
  ): Promise<GiteaPull> {
    const op = operation(this.context, `read pull request #${number}`, repo);
    return (
      await this.client.request<GiteaPull>(op, 'GET', `${this.repoPath(repo)}/pulls/${number}`, { signal })
    ).body;
  }

  private async findRaw(
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

  private async milestoneId(
    repo: RepositoryRef,
    title: string,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    const op = operation(this.context, `look up milestone ${JSON.stringify(title)}`, repo);
    const milestones = await this.client.list<{ id: number; title: string }>(
      op,
      `${this.repoPath(repo)}/milestones`,
      { state: 'all', name: title },
      signal,
    );
    const found = milestones.find((m) => m.title === title);
    if (found === undefined) {
      throw new GitOpsError(
        ErrorCodes.NotFound,
        `milestone ${JSON.stringify(title)} does not exist in ${repo.path} on Gitea; create it or fix the name`,
        { details: { forge: 'gitea', repository: repo.path, field: 'milestone' } },
      );
    }
    return found.id;
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

  /** Adds to an existing pull request what the request asks for and it lacks. */
  private async ensureFields(
    repo: RepositoryRef,
    pull: GiteaPull,
    request: PullRequestRequest,
    labelIds: number[],
    milestoneId: number | undefined,
  ): Promise<GiteaPull> {
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
      current = await this.getRaw(repo, pull.number, request.signal);
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
    return current;
  }

  private async enableAutoMerge(
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
        await pause(Math.min(4000, 200 * 2 ** (attempt - 1)), request.signal);
      }
    }
  }

  private toPullRequest(repo: RepositoryRef, p: GiteaPull): PullRequest {
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
