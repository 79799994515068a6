/**
 * A remote's refs without a clone (`git ls-remote`): which branches and tags exist and the
 * commits they name, e.g. to tell whether a plain name is a tag or a branch before fetching it.
 * Credentials reach git as they do for a clone (environment only) and are scrubbed from errors.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import { prepareCredentials } from './credentials.js';
import type { Credentials } from './credentials.js';
import { runGit } from './git-process.js';
import { parseRemoteUrl } from './validate.js';

export interface RemoteRef {
  /** The full ref name (`refs/heads/main`, `refs/tags/v1.2.0`) or `HEAD`. */
  ref: string;
  /** What the ref finally names: for an annotated tag, the commit under the tag, not the tag object. */
  commit: string;
  /** The tag object's own id, for an annotated tag only. */
  tagObject?: string;
}

export interface LsRemoteOptions {
  credentials?: Credentials;
  /**
   * Only refs matching one of these, by git's rule: the whole ref name, or its tail after a `/`
   * (`v1` matches `refs/tags/v1` and `refs/heads/v1`); `*` and `?` are wildcards.
   */
  patterns?: readonly string[];
  /** Only branches (`refs/heads/`) and/or only tags (`refs/tags/`); both false or absent: every ref. */
  heads?: boolean;
  tags?: boolean;
  signal?: AbortSignal;
}

/** The arguments after `ls-remote`: flags, `--`, the remote, then the patterns (never options). */
export function lsRemoteArgs(
  remote: string,
  options: Omit<LsRemoteOptions, 'credentials' | 'signal'>,
): string[] {
  const patterns = (options.patterns ?? []).map((pattern, i) => {
    if (pattern === '' || /\p{Cc}/u.test(pattern)) {
      throw new GitOpsError(
        ErrorCodes.Invalid,
        `ls-remote pattern ${JSON.stringify(pattern)} is empty or has a control character`,
        {
          details: { field: `patterns[${i}]` },
        },
      );
    }
    return pattern;
  });
  const args = ['ls-remote'];
  if (options.heads === true) args.push('--heads');
  if (options.tags === true) args.push('--tags');
  return [...args, '--', remote, ...patterns];
}

/** Parses `<oid>\t<ref>` lines, folding each annotated tag's `^{}` line into its entry. */
export function parseLsRemote(output: string): RemoteRef[] {
  const refs = new Map<string, RemoteRef>();
  for (const line of output.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab === -1) continue;
    const oid = line.slice(0, tab);
    const name = line.slice(tab + 1);
    if (name.endsWith('^{}')) {
      const tag = refs.get(name.slice(0, -3));
      if (tag !== undefined) {
        tag.tagObject = tag.commit;
        tag.commit = oid;
      }
      continue;
    }
    refs.set(name, { ref: name, commit: oid });
  }
  return [...refs.values()];
}

/**
 * Lists the refs of the repository at `url` without cloning it. Unreachable, AuthFailed or
 * NotFound (no such repository) as for any git command; an empty list when nothing matches.
 */
export async function lsRemote(url: string, options: LsRemoteOptions = {}): Promise<RemoteRef[]> {
  const remote = parseRemoteUrl(url);
  const args = lsRemoteArgs(remote.url, options);
  const prepared = await prepareCredentials(options.credentials, remote);
  // An empty private folder to run in, so no repository around the process (and its config) is read.
  const cwd = await mkdtemp(join(tmpdir(), 'libgitops-ls-remote-'));
  try {
    const { stdout } = await runGit(args, {
      cwd,
      env: prepared.env,
      secrets: prepared.secrets,
      signal: options.signal,
    });
    return parseLsRemote(stdout.toString('utf8'));
  } finally {
    await prepared.dispose();
    await rm(cwd, { recursive: true, force: true });
  }
}
