/**
 * Commits made without a working tree: the base commit's tree read into a private index, the
 * transaction's changed files written over it, the tree written and committed with git's
 * plumbing. Replaying a commit onto a main that moved is a three-way merge of trees
 * (`git merge-tree`), also without a checkout; a real conflict is reported with its files.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Git } from '../git/index.js';
import { isObjectId } from '../git/index.js';
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import type { OverlayChange } from './overlay-raw-storage.js';

export interface CommitIdentityEnv {
  /** GIT_AUTHOR_* / GIT_COMMITTER_* and the signing configuration. */
  env: Record<string, string>;
  /** Sign the commit (`-S`, with the key of the signing configuration). */
  sign: boolean;
}

function checkId(oid: string): string {
  if (!isObjectId(oid)) throw new GitOpsError(ErrorCodes.InternalError, `not an object id: ${oid}`);
  return oid;
}

async function commitTree(
  repo: Git,
  tree: string,
  parent: string,
  message: string,
  identity: CommitIdentityEnv,
  signal?: AbortSignal,
): Promise<string> {
  const args = [
    'commit-tree',
    ...(identity.sign ? ['-S'] : []),
    '-p',
    checkId(parent),
    '-F',
    '-',
    checkId(tree),
  ];
  const { stdout } = await repo.run(args, { env: identity.env, input: message, signal });
  return checkId(stdout.toString().trim());
}

/**
 * A commit on `base` with `changes` applied. `scratch` is a private folder for the index and the
 * blobs' text. Modes of changed files are kept; new files are 100644.
 */
export async function buildCommit(
  repo: Git,
  options: {
    base: string;
    changes: readonly OverlayChange[];
    scratch: string;
    message: string;
    identity: CommitIdentityEnv;
    signal?: AbortSignal;
  },
): Promise<string> {
  const { base, changes, scratch, signal } = options;
  const indexEnv = { GIT_INDEX_FILE: join(scratch, 'index') };
  await repo.run(['read-tree', checkId(base)], { env: indexEnv, signal });

  const written = changes.filter((c): c is OverlayChange & { text: string } => c.text !== null);
  const files = await Promise.all(
    written.map(async (change, i) => {
      const file = join(scratch, `blob-${i}`);
      await writeFile(file, change.text);
      return file;
    }),
  );
  const oids =
    files.length === 0
      ? []
      : (
          await repo.run(['hash-object', '-w', '--stdin-paths'], { input: `${files.join('\n')}\n`, signal })
        ).stdout
          .toString()
          .trim()
          .split('\n');
  const modes = await modesOf(
    repo,
    base,
    written.map((c) => c.repoPath),
  );
  const zero = '0'.repeat(base.length);
  let input = '';
  for (const change of changes) {
    if (change.text === null) input += `0 ${zero}\t${change.repoPath}\0`;
  }
  written.forEach((change, i) => {
    const mode = modes.get(change.repoPath) ?? '100644';
    input += `${mode === '100755' ? mode : '100644'} ${checkId(oids[i] as string)}\t${change.repoPath}\0`;
  });
  await repo.run(['update-index', '-z', '--index-info'], { env: indexEnv, input, signal });
  const tree = (await repo.run(['write-tree'], { env: indexEnv, signal })).stdout.toString().trim();
  return commitTree(repo, tree, base, options.message, options.identity, signal);
}

/** The modes of files that exist at `base`, read from its trees (through the cat-file process). */
async function modesOf(repo: Git, base: string, paths: readonly string[]): Promise<Map<string, string>> {
  const modes = new Map<string, string>();
  const folders = new Map<string, Promise<Map<string, string>>>();
  const entriesOf = (folder: string): Promise<Map<string, string>> => {
    let entries = folders.get(folder);
    if (entries === undefined) {
      entries = repo
        .readTree(base, folder, { recursive: false })
        .then((list) => new Map(list.map((e) => [e.path, e.mode])))
        // A folder that does not exist at base holds no file to keep the mode of.
        .catch(() => new Map<string, string>());
      folders.set(folder, entries);
    }
    return entries;
  };
  for (const path of paths) {
    const slash = path.lastIndexOf('/');
    const mode = (await entriesOf(slash === -1 ? '' : path.slice(0, slash))).get(path);
    if (mode !== undefined) modes.set(path, mode);
  }
  return modes;
}

export type ReplayOutcome =
  | { status: 'replayed'; commit: string }
  /** `onto` already has exactly the change. */
  | { status: 'already-applied' }
  | { status: 'conflict'; paths: string[] };

/**
 * `commit` (whose parent is `base`) replayed onto `onto`: the same change, merged with what
 * `onto` changed since `base`, committed with the original author and message.
 */
export async function replayCommit(
  repo: Git,
  options: { commit: string; base: string; onto: string; identity: CommitIdentityEnv; signal?: AbortSignal },
): Promise<ReplayOutcome> {
  const { commit, base, onto, signal } = options;
  if (!(await repo.isAncestor(checkId(base), checkId(onto)))) {
    // main was rewritten: a merge would bring back what the rewrite removed.
    return { status: 'conflict', paths: [] };
  }
  const merged = await repo.run(
    ['merge-tree', '--write-tree', '--name-only', checkId(onto), checkId(commit)],
    {
      okExitCodes: [1],
      signal,
    },
  );
  const lines = merged.stdout.toString('utf8').split('\n');
  const tree = checkId((lines[0] ?? '').trim());
  if (merged.exitCode === 1) {
    const end = lines.indexOf('', 1);
    const paths = [...new Set(lines.slice(1, end === -1 ? undefined : end).filter((l) => l !== ''))];
    return { status: 'conflict', paths };
  }
  const ontoTree = (await repo.run(['rev-parse', '--verify', `${checkId(onto)}^{tree}`])).stdout
    .toString()
    .trim();
  if (tree === ontoTree) return { status: 'already-applied' };
  const [original] = await repo.log({ rev: commit, max: 1 });
  if (original === undefined)
    throw new GitOpsError(ErrorCodes.InternalError, `commit ${commit} has no log entry`);
  const identity: CommitIdentityEnv = {
    sign: options.identity.sign,
    env: {
      ...options.identity.env,
      GIT_AUTHOR_NAME: original.author.name,
      GIT_AUTHOR_EMAIL: original.author.email,
      GIT_AUTHOR_DATE: original.author.date.toISOString(),
    },
  };
  return {
    status: 'replayed',
    commit: await commitTree(repo, tree, onto, original.message, identity, signal),
  };
}
