/**
 * The git layer: the git command line behind a typed API, credentials for remotes, and the
 * GitDirectory that follows a remote branch.
 */
export { Git } from './git.js';
export type {
  ChangeStatus,
  CommitInfo,
  CommitOptions,
  FetchOptions,
  FileChange,
  GitOptions,
  Identity,
  PushedRef,
  PushOptions,
  TreeEntry,
  Worktree,
  WorktreeAddOptions,
} from './git.js';
export { clone } from './clone.js';
export type { CloneOptions } from './clone.js';
export { lsRemote } from './ls-remote.js';
export type { LsRemoteOptions, RemoteRef } from './ls-remote.js';
export { GitDirectory } from './git-directory.js';
export type {
  GitDirectoryEvent,
  GitDirectoryOptions,
  GitDirectoryState,
  RevisionEvent,
  StateEvent,
} from './git-directory.js';
export { scrubSecrets, secretsOf } from './credentials.js';
export type { Credentials, HttpsCredentials, SshCredentials } from './credentials.js';
export { GitObjectReader } from './object-reader.js';
export type { GitObject, ObjectType } from './object-reader.js';
export { runGit } from './git-process.js';
export type { GitRunOptions, GitRunResult } from './git-process.js';
export {
  assertBranchName,
  assertRefName,
  assertRefspec,
  assertRevision,
  isObjectId,
  normalizeRepoPath,
  parseRemoteUrl,
  redactUrl,
  refNameProblem,
} from './validate.js';
export type { ParsedRemoteUrl, RemoteUrlKind } from './validate.js';
