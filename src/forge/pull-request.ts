/**
 * What a transaction asks of a forge: open (or find) a pull request for its branch, read its
 * state, merge it, close it, delete the branch. GitHub, GitLab and Gitea implement it alike;
 * GitLab calls it a merge request, and its `iid` is the `number` here.
 */
import type { GitOpsError } from '../runtime/index.js';

export type ForgeKind = 'github' | 'gitlab' | 'gitea';

export type PullRequestState = 'open' | 'merged' | 'closed';

export type MergeMethod = 'merge' | 'squash' | 'rebase';

export interface PullRequestRequest {
  /** `owner/name` (GitLab: `group/subgroup/name`) or a clone URL; default: the provider's repository. */
  repository?: string;
  /** The branch with the changes; it must live in the same repository. */
  head: string;
  /** The branch to merge into. */
  base: string;
  title: string;
  description?: string;
  /** Label names; the forge's missing labels are created (GitHub and GitLab do so themselves). */
  labels?: readonly string[];
  /** User names (logins). */
  assignees?: readonly string[];
  /** Milestone title; it must exist, or nothing is created. */
  milestone?: string;
  draft?: boolean;
  /** Ask the forge to merge once its checks pass (GitHub auto-merge, GitLab auto-merge, Gitea scheduled merge). */
  autoMerge?: boolean;
  /** Method for autoMerge; default `merge`. */
  mergeMethod?: MergeMethod;
  /** Delete the head branch once merged (where the forge merges, it is told to). */
  deleteBranchAfterMerge?: boolean;
  signal?: AbortSignal;
}

/** Names one pull request; a PullRequest is one too. */
export interface PullRequestRef {
  /** `owner/name` or a clone URL; default: the provider's repository. */
  repository?: string;
  number: number;
}

export interface PullRequest {
  provider: ForgeKind;
  /** Full path of the repository, `owner/name`. */
  repository: string;
  number: number;
  /** The page a person opens. */
  url: string;
  title: string;
  description: string;
  head: string;
  base: string;
  /** The commit the head branch points at, as the forge last saw it. */
  headSha?: string;
  state: PullRequestState;
  draft: boolean;
  /** The commit that landed on base (merge, squash or rebased head), once merged. */
  mergeCommit?: string;
  labels: string[];
  assignees: string[];
  milestone?: string;
}

export type AutoMergeOutcome =
  | { status: 'enabled' }
  | { status: 'merged' }
  /** The pull request exists; only auto-merge could not be turned on. */
  | { status: 'failed'; error: GitOpsError };

export interface PullRequestResult extends PullRequest {
  /** False when an open pull request for the same head and base already existed. */
  created: boolean;
  /** Set when the request asked for autoMerge. */
  autoMerge?: AutoMergeOutcome;
}

export interface MergeOptions {
  method?: MergeMethod;
  /** Refuse to merge unless head still points here (guards against a push in between). */
  sha?: string;
  commitTitle?: string;
  commitMessage?: string;
  /** Delete the head branch after the merge. */
  deleteBranch?: boolean;
  signal?: AbortSignal;
}

export interface PullRequestProvider {
  readonly kind: ForgeKind;
  /** The API root requests go to, e.g. `https://api.github.com` (never with credentials). */
  readonly baseUrl: string;
  /** The repository the provider was made for, `owner/name`, if any. */
  readonly repository: string | undefined;
  /** Opens a pull request, or returns the open one for the same head and base. */
  createOrFind(request: PullRequestRequest): Promise<PullRequestResult>;
  /** The open pull request from head into base, if there is one. */
  find(
    head: string,
    base: string,
    options?: { repository?: string; signal?: AbortSignal },
  ): Promise<PullRequest | undefined>;
  get(ref: PullRequestRef, options?: { signal?: AbortSignal }): Promise<PullRequest>;
  /** Merges now; returns the merged pull request with its merge commit. */
  merge(ref: PullRequestRef, options?: MergeOptions): Promise<PullRequest>;
  close(ref: PullRequestRef, options?: { signal?: AbortSignal }): Promise<PullRequest>;
  /** True when the branch was deleted, false when it did not exist. */
  deleteBranch(branch: string, options?: { repository?: string; signal?: AbortSignal }): Promise<boolean>;
}
