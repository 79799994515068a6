/**
 * Names of transaction branches: `<prefix>-<8 random hex digits>`, so two transactions (in one
 * process or in many) never pick the same branch, and the name says which program made it.
 */
import { randomBytes } from 'node:crypto';

import { assertBranchName } from '../git/index.js';

export const DEFAULT_BRANCH_PREFIX = 'libgitops';

/** A fresh branch name from `prefix` (a prefix ending in `-` gets no second dash). */
export function transactionBranchName(prefix = DEFAULT_BRANCH_PREFIX): string {
  assertBranchName(prefix, 'branchPrefix');
  const name = `${prefix.endsWith('-') ? prefix : `${prefix}-`}${randomBytes(4).toString('hex')}`;
  return assertBranchName(name, 'branchPrefix');
}

/** A random id for a transaction's journal entry and private folder. */
export function transactionId(): string {
  return `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}
