/**
 * What a transaction needs from a forge: one call that opens a pull request for the branch it
 * pushed (or finds the one already open for it). The forge layer's providers (GitHub, GitLab,
 * Gitea) fit this shape; gitstorage never imports them, so it stays below forge/.
 */

export interface TransactionPullRequest {
  /** The remote the branch was pushed to, without credentials (a URL or a path). */
  repository: string;
  /** The branch the transaction pushed. */
  head: string;
  /** The branch the pull request should merge into (the followed branch). */
  base: string;
  title: string;
  description: string;
  labels?: string[];
  assignees?: string[];
  /** By name, as people see it. */
  milestone?: string;
  draft?: boolean;
  autoMerge?: boolean;
  deleteBranchAfterMerge?: boolean;
  /** The transaction's signal, also passed as the second argument. */
  signal?: AbortSignal;
}

/** The pull request that was opened or found. */
export interface OpenedPullRequest {
  url: string;
  number: number;
}

export interface PullRequestOpener {
  /** Opens a pull request for `request.head`, or returns the open one for that branch. */
  createOrFind(request: TransactionPullRequest, signal?: AbortSignal): Promise<OpenedPullRequest>;
}
