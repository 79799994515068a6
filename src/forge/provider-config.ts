/**
 * What every provider is built from: the API base URL, the token, the default repository and
 * the retrying fetch; and the checks every call makes on the repository and branches it is given.
 */
import { assertBranchName } from '../git/index.js';
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import type { ForgeFetch, RetryEvent } from './forge-fetch.js';
import { createForgeFetch } from './forge-fetch.js';
import type { ForgeOperation } from './forge-error.js';
import { FORGE_NAMES } from './forge-error.js';
import type { ForgeKind, PullRequestRequest } from './pull-request.js';
import type { RepositoryRef } from './repository-ref.js';
import { parseRepositoryRef } from './repository-ref.js';
import type { RetryOptions } from './retry-policy.js';

export interface ProviderConfig {
  /** API root: `https://api.github.com`, `https://ghe.example.com/api/v3`, `https://gitlab.example.com`, `https://gitea.example.com`. */
  baseUrl: string;
  token: string;
  /** Default repository for calls that name none: `owner/name` or a clone URL. */
  repository?: string;
  retry?: RetryOptions;
  /** Time limit of one HTTP attempt; default 30 s. */
  timeoutMs?: number;
  onRetry?: (event: RetryEvent) => void;
  userAgent?: string;
}

export const DEFAULT_USER_AGENT = 'libgitops';

/** The resolved form a provider keeps. */
export interface ProviderContext {
  kind: ForgeKind;
  baseUrl: string;
  token: string;
  /** Host name of the forge's web side, to refuse repositories of another forge. */
  webHost: string;
  defaultRepository: RepositoryRef | undefined;
  fetch: ForgeFetch;
  secrets: string[];
  userAgent: string;
}

export function normaliseBaseUrl(kind: ForgeKind, baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch (cause) {
    throw new GitOpsError(ErrorCodes.Invalid, `baseUrl is not a valid URL`, {
      details: { field: 'baseUrl' },
      cause,
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new GitOpsError(ErrorCodes.Invalid, 'baseUrl must be an http or https URL', {
      details: { field: 'baseUrl' },
    });
  }
  if (url.username !== '' || url.password !== '') {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      'baseUrl carries credentials; remove them and pass the token as options.token or through the environment',
      { details: { field: 'baseUrl' } },
    );
  }
  let path = url.pathname.replace(/\/+$/, '');
  if (kind === 'gitlab') path = path.replace(/\/api\/v4$/, '');
  if (kind === 'gitea') path = path.replace(/\/api\/v1$/, '');
  // GitHub Enterprise serves its REST API under /api/v3; github.com under api.github.com.
  if (kind === 'github' && !url.hostname.startsWith('api.') && !/\/api\/v3$/.test(path))
    path = `${path}/api/v3`;
  return `${url.protocol}//${url.host}${path}`;
}

function webHostOf(kind: ForgeKind, baseUrl: string): string {
  const host = new URL(baseUrl).hostname.toLowerCase();
  return kind === 'github' && host === 'api.github.com' ? 'github.com' : host;
}

export function createProviderContext(kind: ForgeKind, config: ProviderConfig): ProviderContext {
  if (typeof config.token !== 'string' || config.token.trim() === '') {
    throw new GitOpsError(ErrorCodes.Unauthorized, `no ${FORGE_NAMES[kind]} token was given`, {
      details: { forge: kind, field: 'token' },
    });
  }
  if (/[\r\n]/.test(config.token)) {
    throw new GitOpsError(ErrorCodes.Invalid, `the ${FORGE_NAMES[kind]} token contains a line break`, {
      details: { forge: kind, field: 'token' },
    });
  }
  const baseUrl = normaliseBaseUrl(kind, config.baseUrl);
  const token = config.token.trim();
  const context: ProviderContext = {
    kind,
    baseUrl,
    token,
    webHost: webHostOf(kind, baseUrl),
    defaultRepository: undefined,
    fetch: createForgeFetch({ retry: config.retry, timeoutMs: config.timeoutMs, onRetry: config.onRetry }),
    secrets: [token, encodeURIComponent(token)],
    userAgent: config.userAgent ?? DEFAULT_USER_AGENT,
  };
  if (config.repository !== undefined)
    context.defaultRepository = resolveRepository(context, config.repository);
  return context;
}

/** The repository a call is about: the one given (checked against the forge), or the default. */
export function resolveRepository(context: ProviderContext, repository: string | undefined): RepositoryRef {
  if (repository === undefined) {
    if (context.defaultRepository !== undefined) return context.defaultRepository;
    throw new GitOpsError(
      ErrorCodes.Invalid,
      'no repository was named and the provider has none: pass repository ("owner/name" or a clone URL)',
      { details: { field: 'repository' } },
    );
  }
  const ref = parseRepositoryRef(repository);
  if (ref.host !== undefined && ref.host !== context.webHost) {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      `repository is on ${ref.host}, but this ${FORGE_NAMES[context.kind]} provider talks to ${context.webHost}; ` +
        `make a provider for that forge`,
      { details: { field: 'repository', host: ref.host } },
    );
  }
  if (context.kind !== 'gitlab' && ref.path.split('/').length !== 2) {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      `${FORGE_NAMES[context.kind]} repositories are named "owner/name"; got ${JSON.stringify(ref.path)}`,
      { details: { field: 'repository' } },
    );
  }
  return ref;
}

export function checkBranch(name: string, field: string): string {
  return assertBranchName(name, field);
}

/** The checks every createOrFind starts with: the repository, both branches and a title. */
export function checkPullRequestRequest(
  context: ProviderContext,
  request: PullRequestRequest,
  noun = 'pull request',
): { repo: RepositoryRef; head: string; base: string } {
  const repo = resolveRepository(context, request.repository);
  const head = checkBranch(request.head, 'head');
  const base = checkBranch(request.base, 'base');
  if (request.title.trim() === '') {
    throw new GitOpsError(ErrorCodes.Invalid, `a ${noun} needs a title`, { details: { field: 'title' } });
  }
  return { repo, head, base };
}

export function operation(
  context: ProviderContext,
  action: string,
  repository: RepositoryRef | undefined,
  kind?: ForgeOperation['kind'],
): ForgeOperation {
  return {
    forge: context.kind,
    action,
    repository: repository?.path,
    host: new URL(context.baseUrl).origin,
    kind,
    secrets: context.secrets,
  };
}

/** `WIP: `/`Draft: ` prefixes mark drafts where the forge has no draft flag. */
export function withTitlePrefix(title: string, prefix: string, alreadyMarked: RegExp): string {
  return alreadyMarked.test(title) ? title : `${prefix}${title}`;
}
