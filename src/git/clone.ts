/**
 * Cloning: full, shallow (`depth`), single branch, partial (`filter`), bare or mirror. The
 * remote URL stored in the new repository's config is the one given, which never carries a
 * secret (passwords in URLs are refused); credentials live in the child's environment only.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import { prepareCredentials } from './credentials.js';
import type { Credentials } from './credentials.js';
import { runGit } from './git-process.js';
import { Git } from './git.js';
import { assertBranchName, assertFilter, parseRemoteUrl } from './validate.js';

export interface CloneOptions {
  /** Branch to check out (and the only one fetched when singleBranch). Default: the remote's HEAD. */
  branch?: string;
  /** Shallow clone with this many commits. */
  depth?: number;
  /** Partial clone filter, e.g. `blob:none`; blobs are then fetched when first read. */
  filter?: string;
  /** Fetch only `branch` (or the remote HEAD). Default true when `depth` is set, as in git. */
  singleBranch?: boolean;
  /** No working tree; the repository is `dir` itself. */
  bare?: boolean;
  /** A bare clone that copies every ref as it is on the remote. */
  mirror?: boolean;
  /** Fetch tags too; off by default. */
  tags?: boolean;
  /** Check nothing out (a working tree is created empty). */
  noCheckout?: boolean;
  credentials?: Credentials;
  signal?: AbortSignal;
}

/** Clones `url` into `dir` (which must be missing or empty) and opens the result. */
export async function clone(url: string, dir: string, options: CloneOptions = {}): Promise<Git> {
  const remote = parseRemoteUrl(url);
  const target = resolve(dir);
  const args = ['clone', '--quiet'];
  if (options.mirror === true) args.push('--mirror');
  else if (options.bare === true) args.push('--bare');
  if (options.branch !== undefined) args.push(`--branch=${assertBranchName(options.branch)}`);
  if (options.singleBranch === true) args.push('--single-branch');
  if (options.singleBranch === false) args.push('--no-single-branch');
  if (options.depth !== undefined) {
    if (!Number.isInteger(options.depth) || options.depth < 1) {
      throw new GitOpsError(ErrorCodes.Invalid, 'depth must be a positive integer', {
        details: { field: 'depth' },
      });
    }
    args.push(`--depth=${options.depth}`);
  }
  if (options.filter !== undefined) args.push(`--filter=${assertFilter(options.filter)}`);
  if (options.tags !== true && options.mirror !== true) args.push('--no-tags');
  if (options.noCheckout === true) args.push('--no-checkout');
  // git ignores depth and filter for plain local paths; a file:// URL honours them.
  const source =
    remote.url.startsWith('/') && (options.depth !== undefined || options.filter !== undefined)
      ? pathToFileURL(remote.url).href
      : remote.url;

  await mkdir(dirname(target), { recursive: true });
  const existing = await readdir(target).catch(() => []);
  if (existing.length > 0) {
    throw new GitOpsError(ErrorCodes.AlreadyExists, `cannot clone into ${target}: the folder is not empty`, {
      details: { file: target },
    });
  }
  const prepared = await prepareCredentials(options.credentials, remote);
  try {
    await runGit([...args, '--', source, target], {
      cwd: dirname(target),
      env: prepared.env,
      secrets: prepared.secrets,
      signal: options.signal,
    });
  } finally {
    await prepared.dispose();
  }
  return Git.open(target, { credentials: options.credentials });
}
