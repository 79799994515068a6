/**
 * The pure parts of transactions: branch names, result checks and commit messages.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';

import type { PullRequestProvider } from '../../src/forge/index.js';
import type { PullRequestOpener } from '../../src/gitstorage/index.js';

import { checkTransactionResult, commitMessage, transactionBranchName } from '../../src/gitstorage/index.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GitOpsError);
    expect((error as GitOpsError).code).toBe(ErrorCodes.Invalid);
    return (error as GitOpsError).details.field;
  }
  throw new Error('expected an Invalid error');
}

describe('transaction branch names', () => {
  it('appends 8 random hex digits to the prefix, with one dash', () => {
    expect(transactionBranchName('foo-update')).toMatch(/^foo-update-[0-9a-f]{8}$/);
    expect(transactionBranchName('foo-update-')).toMatch(/^foo-update-[0-9a-f]{8}$/);
    expect(transactionBranchName()).toMatch(/^libgitops-[0-9a-f]{8}$/);
    const many = new Set(Array.from({ length: 200 }, () => transactionBranchName('x')));
    expect(many.size).toBe(200);
  });

  it('refuses a prefix git would read as an option or refuse as a ref', () => {
    expect(fieldOf(() => transactionBranchName('--force'))).toBe('branchPrefix');
    expect(fieldOf(() => transactionBranchName('a..b'))).toBe('branchPrefix');
    expect(fieldOf(() => transactionBranchName('has space'))).toBe('branchPrefix');
  });
});

describe('transaction results', () => {
  it('accepts a commit and a pull request result', () => {
    expect(checkTransactionResult({ title: 'Update' })).toEqual({ title: 'Update' });
    const pr = {
      title: 'Update Car speed',
      description: 'why',
      author: { name: 'Bot', email: 'bot@example.test' },
      pullRequest: { labels: ['a'], assignees: ['b'], milestone: 'm', draft: true },
    };
    expect(checkTransactionResult(pr)).toBe(pr);
  });

  it('names the field of each problem', () => {
    expect(fieldOf(() => checkTransactionResult('title'))).toBe('result');
    expect(fieldOf(() => checkTransactionResult({ title: '  ' }))).toBe('result.title');
    expect(fieldOf(() => checkTransactionResult({ title: 'a\nb' }))).toBe('result.title');
    expect(fieldOf(() => checkTransactionResult({ title: 'a', description: 3 }))).toBe('result.description');
    expect(fieldOf(() => checkTransactionResult({ title: 'a', author: { name: 'x', email: 'a>b' } }))).toBe(
      'result.author.email',
    );
    expect(fieldOf(() => checkTransactionResult({ title: 'a', pullRequest: { labels: 'x' } }))).toBe(
      'result.pullRequest.labels',
    );
    expect(fieldOf(() => checkTransactionResult({ title: 'a', pullRequest: { draft: 'yes' } }))).toBe(
      'result.pullRequest.draft',
    );
  });

  it('makes the commit message of title, blank line and description', () => {
    expect(commitMessage({ title: ' Update ', description: '\nBecause.\n' })).toBe('Update\n\nBecause.');
    expect(commitMessage({ title: 'Update' })).toBe('Update');
  });
});

describe('pull request providers', () => {
  it('fit the opener a transaction calls (a type check, made by tsc)', () => {
    expectTypeOf<PullRequestProvider>().toExtend<PullRequestOpener>();
  });
});
