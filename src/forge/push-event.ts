/**
 * Push events of GitHub, GitLab, Gitea and generic senders, reduced to what the operator needs:
 * which repository, which ref moved from where to where, and (when the payload lists every
 * pushed commit) which paths changed. Paths are a hint: when absent, diff the two revisions.
 */
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import type { ForgeKind } from './pull-request.js';
import type { RepositoryRef } from './repository-ref.js';
import { parseRepositoryRef, repositoryKey, tryRepositoryKey } from './repository-ref.js';

export type WebhookProvider = ForgeKind | 'generic';

export interface PushRepository {
  /** `owner/name` (GitLab: the full group path). */
  fullName: string;
  /** Clone and web URLs as the sender gave them. */
  urls: string[];
  /** Lower-case `host/owner/name` of each URL (ports and `.git` dropped), to compare with configuration. */
  keys: string[];
}

export interface PushEvent {
  provider: WebhookProvider;
  repository: PushRepository;
  /** The full ref, `refs/heads/main`. */
  ref: string;
  /** Set when the ref is a branch. */
  branch?: string;
  /** Set when the ref is a tag. */
  tag?: string;
  /** The old commit; all zeros when the ref was created. */
  before: string;
  /** The new commit; all zeros when the ref was deleted. */
  after: string;
  created: boolean;
  deleted: boolean;
  /** Only GitHub says so; undefined elsewhere. */
  forced?: boolean;
  /**
   * Sorted paths the pushed commits added, modified or removed: given only when the payload lists
   * every pushed commit and the push neither created, deleted nor (as far as known) rewrote the ref.
   */
  changedPaths?: string[];
}

// GitHub lists at most 2048 commits in a push payload and gives no total.
const GITHUB_MAX_COMMITS = 2048;
const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

type Json = Record<string, unknown>;

function malformed(provider: WebhookProvider, message: string, field?: string, cause?: unknown): GitOpsError {
  return new GitOpsError(ErrorCodes.BadRequest, `malformed ${provider} push payload: ${message}`, {
    details: { status: 400, provider, ...(field !== undefined ? { field } : {}) },
    cause,
  });
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function text(provider: WebhookProvider, obj: Json, key: string, field = key): string {
  const value = obj[key];
  if (typeof value !== 'string' || value === '')
    throw malformed(provider, `${field} is missing or not a string`, field);
  return value;
}

function objectId(provider: WebhookProvider, obj: Json, key: string): string {
  const value = text(provider, obj, key).toLowerCase();
  if (!OBJECT_ID.test(value)) throw malformed(provider, `${key} is not a commit id`, key);
  return value;
}

function urlsOf(values: unknown[]): string[] {
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v !== ''))];
}

function repositoryOf(fullName: string, urls: string[]): PushRepository {
  const keys = urls.map(tryRepositoryKey).filter((k): k is string => k !== undefined);
  return { fullName, urls, keys: [...new Set(keys)] };
}

function isZero(id: string): boolean {
  return /^0+$/.test(id);
}

/** Paths touched by `commits`, or undefined when the list is missing, partial or unreadable. */
function pathsOf(commits: unknown, total: number | undefined): string[] | undefined {
  if (!Array.isArray(commits)) return undefined;
  if (total !== undefined && total !== commits.length) return undefined;
  const paths = new Set<string>();
  for (const commit of commits) {
    if (!isObject(commit)) return undefined;
    for (const key of ['added', 'removed', 'modified']) {
      const list = commit[key];
      if (!Array.isArray(list)) return undefined;
      for (const path of list) if (typeof path === 'string') paths.add(path);
    }
  }
  return [...paths].sort();
}

function refParts(ref: string): Pick<PushEvent, 'branch' | 'tag'> {
  if (ref.startsWith('refs/heads/')) return { branch: ref.slice('refs/heads/'.length) };
  if (ref.startsWith('refs/tags/')) return { tag: ref.slice('refs/tags/'.length) };
  return {};
}

function finish(
  provider: WebhookProvider,
  repository: PushRepository,
  ref: string,
  before: string,
  after: string,
  forced: boolean | undefined,
  paths: string[] | undefined,
): PushEvent {
  const created = isZero(before);
  const deleted = isZero(after);
  const event: PushEvent = { provider, repository, ref, ...refParts(ref), before, after, created, deleted };
  if (forced !== undefined) event.forced = forced;
  if (paths !== undefined && !created && !deleted && forced !== true) event.changedPaths = paths;
  return event;
}

function parseGitHubOrGitea(provider: 'github' | 'gitea', payload: Json): PushEvent {
  const repo = payload.repository;
  if (!isObject(repo)) throw malformed(provider, 'repository is missing', 'repository');
  const fullName = text(provider, repo, 'full_name', 'repository.full_name');
  const urls = urlsOf([repo.clone_url, repo.ssh_url, repo.html_url, repo.git_url]);
  const commits = payload.commits;
  let paths: string[] | undefined;
  if (provider === 'github') {
    paths =
      Array.isArray(commits) && commits.length < GITHUB_MAX_COMMITS ? pathsOf(commits, undefined) : undefined;
  } else {
    const total = typeof payload.total_commits === 'number' ? payload.total_commits : undefined;
    paths = pathsOf(commits, total);
  }
  const forced = provider === 'github' && typeof payload.forced === 'boolean' ? payload.forced : undefined;
  return finish(
    provider,
    repositoryOf(fullName, urls),
    text(provider, payload, 'ref'),
    objectId(provider, payload, 'before'),
    objectId(provider, payload, 'after'),
    forced,
    paths,
  );
}

function parseGitLab(payload: Json): PushEvent {
  const project = payload.project;
  if (!isObject(project)) throw malformed('gitlab', 'project is missing', 'project');
  const fullName = text('gitlab', project, 'path_with_namespace', 'project.path_with_namespace');
  const repository = isObject(payload.repository) ? payload.repository : {};
  const urls = urlsOf([
    project.git_http_url,
    project.git_ssh_url,
    project.web_url,
    repository.git_http_url,
    repository.git_ssh_url,
    repository.homepage,
  ]);
  const total = typeof payload.total_commits_count === 'number' ? payload.total_commits_count : undefined;
  return finish(
    'gitlab',
    repositoryOf(fullName, urls),
    text('gitlab', payload, 'ref'),
    objectId('gitlab', payload, 'before'),
    objectId('gitlab', payload, 'after'),
    undefined,
    pathsOf(payload.commits, total),
  );
}

/**
 * The generic sender's body: `{repository, ref | branch, after, before?, changedPaths?}`, where
 * repository is a clone URL or `owner/name`.
 */
function parseGeneric(payload: Json): PushEvent {
  const repository = text('generic', payload, 'repository');
  let parsed: RepositoryRef;
  try {
    parsed = parseRepositoryRef(repository);
  } catch (cause) {
    throw malformed('generic', 'repository is not a clone URL or owner/name', 'repository', cause);
  }
  let ref: string;
  if (typeof payload.ref === 'string' && payload.ref !== '') ref = payload.ref;
  else if (typeof payload.branch === 'string' && payload.branch !== '') ref = `refs/heads/${payload.branch}`;
  else throw malformed('generic', 'ref or branch is missing', 'ref');
  const after = objectId('generic', payload, 'after');
  const before =
    payload.before === undefined ? '0'.repeat(after.length) : objectId('generic', payload, 'before');
  let paths: string[] | undefined;
  if (payload.changedPaths !== undefined) {
    if (!Array.isArray(payload.changedPaths) || payload.changedPaths.some((p) => typeof p !== 'string')) {
      throw malformed('generic', 'changedPaths must be a list of strings', 'changedPaths');
    }
    paths = [...new Set(payload.changedPaths as string[])].sort();
  }
  const identity: PushRepository = {
    fullName: parsed.path,
    urls: parsed.host === undefined ? [] : [repository],
    keys: [repositoryKey(parsed)],
  };
  return finish('generic', identity, ref, before, after, undefined, paths);
}

/** Reads a push payload (already JSON-decoded); throws BadRequest (status 400) when it is malformed. */
export function parsePushEvent(provider: WebhookProvider, payload: unknown): PushEvent {
  if (!isObject(payload)) throw malformed(provider, 'the body is not a JSON object');
  switch (provider) {
    case 'github':
    case 'gitea':
      return parseGitHubOrGitea(provider, payload);
    case 'gitlab':
      return parseGitLab(payload);
    case 'generic':
      return parseGeneric(payload);
    default:
      throw malformed(provider, 'unknown provider');
  }
}
