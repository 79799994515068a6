/**
 * The gitstorage layer: the object storage API over a Git branch (reads from git objects at
 * the followed revision, events from revision diffs, time travel), and transactions that end
 * in a commit, a push and, when asked, a pull request.
 */
export { GitStorage } from './git-storage.js';
export type {
  GitStorageOptions,
  HistoryOptions,
  ObjectRevision,
  RevisionChange,
  WritableStorageOptions,
} from './git-storage.js';
export { GitTreeRawStorage } from './git-tree-raw-storage.js';
export type { GitTreeRawStorageOptions } from './git-tree-raw-storage.js';
export { TransactionRunner } from './transaction-runner.js';
export type { RecoveryReport, TransactionRunnerOptions } from './transaction-runner.js';
export { TransactionStorage } from './transaction-storage.js';
export type { BaseIndex } from './transaction-storage.js';
export { OverlayRawStorage } from './overlay-raw-storage.js';
export type { OverlayChange } from './overlay-raw-storage.js';
export { checkTransactionResult, commitMessage } from './transaction.js';
export type {
  CommitRequest,
  PullRequestRequestOptions,
  Signature,
  TransactionContext,
  TransactionFunction,
  TransactionOptions,
  TransactionOutcome,
  TransactionResult,
} from './transaction.js';
export type { PullRequestOpener, OpenedPullRequest, TransactionPullRequest } from './pull-request.js';
export type { CommitSigning } from './commit-signing.js';
export { DEFAULT_BRANCH_PREFIX, transactionBranchName } from './branch-name.js';
