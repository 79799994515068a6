/**
 * The shapes of a transaction: what the caller asks for, what its function returns (a commit,
 * or a commit that should become a pull request), and what happened in the end. The Go
 * library's CommitResult / PullRequestResult, as plain data checked before anything is pushed.
 */
import { invalidField } from '../runtime/index.js';
import type { OpenedPullRequest } from './pull-request.js';

/** A person or bot as git records it. */
export interface Signature {
  name: string;
  email: string;
}

export interface TransactionOptions {
  /**
   * Where the commit goes: a new branch `<branchPrefix>-<random>` made from the latest main
   * (the default), or straight onto main.
   */
  target?: 'branch' | 'main';
  /** Prefix of the new branch; default `libgitops`. A prefix ending in `-` gets no second one. */
  branchPrefix?: string;
  /** The author when the result names none; default the storage's author. */
  author?: Signature;
  /** How many times a push to main rejected because main moved is rebased and tried again; default 5. */
  maxAttempts?: number;
  /** Aborting it stops the transaction and undoes it (nothing pushed stays behind). */
  signal?: AbortSignal;
}

/** How the commit of a transaction should be made. */
export interface CommitRequest {
  /** The first line of the commit message. */
  title: string;
  /** The rest of the commit message (and the pull request's description). */
  description?: string;
  /** Defaults to the transaction's author. */
  author?: Signature;
}

/** Asks for a pull request from the transaction's branch into main. */
export interface PullRequestRequestOptions {
  labels?: string[];
  assignees?: string[];
  milestone?: string;
  draft?: boolean;
  autoMerge?: boolean;
  deleteBranchAfterMerge?: boolean;
}

export interface TransactionResult extends CommitRequest {
  /** When present (`true` or options), the pushed branch becomes a pull request. */
  pullRequest?: true | PullRequestRequestOptions;
}

/** What the transaction's function is told about the transaction it runs in. */
export interface TransactionContext {
  readonly id: string;
  /** The branch the commit will be pushed to (`main`'s name when the target is main). */
  readonly branch: string;
  /** The commit of main the transaction started from. */
  readonly base: string;
  readonly signal: AbortSignal;
}

export interface TransactionOutcome {
  readonly id: string;
  readonly target: 'branch' | 'main';
  /** The branch pushed to. */
  readonly branch: string;
  /** The commit of main the transaction started from. */
  readonly base: string;
  /** The commit pushed; undefined when the function changed nothing (then nothing is pushed). */
  readonly commit: string | undefined;
  /** Files the commit changed, relative to the repository root. */
  readonly changedPaths: readonly string[];
  /** Pushes tried (more than one when main moved and the commit was rebased). */
  readonly attempts: number;
  readonly pullRequest?: OpenedPullRequest;
}

/** The function a transaction runs; returning nothing (or null) aborts without a commit. */
export type TransactionFunction<S> = (
  storage: S,
  context: TransactionContext,
) => Promise<TransactionResult | null | undefined> | TransactionResult | null | undefined;

function checkSignature(value: unknown, field: string): void {
  if (typeof value !== 'object' || value === null)
    throw invalidField(`${field} must be { name, email }`, field);
  const { name, email } = value as Record<string, unknown>;
  for (const [part, text] of [
    ['name', name],
    ['email', email],
  ] as const) {
    if (typeof text !== 'string' || text.trim() === '' || /[<>\0\n\r]/.test(text)) {
      throw invalidField(
        `${field}.${part} must be a non-empty string without <, > or a line break`,
        `${field}.${part}`,
      );
    }
  }
}

function checkStrings(value: unknown, field: string): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.trim() !== '')) {
    throw invalidField(`${field} must be a list of non-empty strings`, field);
  }
}

/**
 * Checks what a transaction's function returned, before anything is committed: a title on one
 * line, identities git accepts, pull request options of the right types.
 */
export function checkTransactionResult(result: unknown): TransactionResult {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) {
    throw invalidField(
      'the transaction function must return { title, description?, author?, pullRequest? }',
      'result',
    );
  }
  const r = result as Record<string, unknown>;
  if (typeof r.title !== 'string' || r.title.trim() === '') {
    throw invalidField(
      'the transaction result needs a title (the first line of the commit message)',
      'result.title',
    );
  }
  if (/[\n\r]/.test(r.title)) {
    throw invalidField(
      'the title is the first line of the commit message; put the rest in description',
      'result.title',
    );
  }
  if (r.description !== undefined && typeof r.description !== 'string') {
    throw invalidField('result.description must be a string', 'result.description');
  }
  if (r.author !== undefined) checkSignature(r.author, 'result.author');
  const pr = r.pullRequest;
  if (pr !== undefined && pr !== true) {
    if (typeof pr !== 'object' || pr === null || Array.isArray(pr)) {
      throw invalidField(
        'result.pullRequest must be true or { labels, assignees, milestone, ... }',
        'result.pullRequest',
      );
    }
    const p = pr as Record<string, unknown>;
    checkStrings(p.labels, 'result.pullRequest.labels');
    checkStrings(p.assignees, 'result.pullRequest.assignees');
    if (p.milestone !== undefined && (typeof p.milestone !== 'string' || p.milestone.trim() === '')) {
      throw invalidField(
        'result.pullRequest.milestone must be a milestone name',
        'result.pullRequest.milestone',
      );
    }
    for (const flag of ['draft', 'autoMerge', 'deleteBranchAfterMerge'] as const) {
      if (p[flag] !== undefined && typeof p[flag] !== 'boolean') {
        throw invalidField(`result.pullRequest.${flag} must be true or false`, `result.pullRequest.${flag}`);
      }
    }
  }
  return result as TransactionResult;
}

/** Checks an identity given in options. */
export function checkSignatureOption(value: Signature, field: string): Signature {
  checkSignature(value, field);
  return value;
}

/** The commit message: the title, a blank line, the description. */
export function commitMessage(result: CommitRequest): string {
  const description = result.description?.trim() ?? '';
  return description === '' ? result.title.trim() : `${result.title.trim()}\n\n${description}`;
}
