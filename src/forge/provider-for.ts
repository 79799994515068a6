/**
 * Picks the provider for a repository URL: GitHub, GitLab or Gitea by host name, unless told;
 * the API base URL from the repository's host, unless given (self-hosted forges on other ports,
 * or reached over ssh); the token from the options or the forge's usual environment variable.
 */
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import { FORGE_NAMES, TOKEN_ENV } from './forge-error.js';
import { GiteaProvider } from './gitea-provider.js';
import { GitHubProvider } from './github-provider.js';
import { GitLabProvider } from './gitlab-provider.js';
import type { ProviderConfig } from './provider-config.js';
import type { ForgeKind, PullRequestProvider } from './pull-request.js';
import type { RepositoryRef } from './repository-ref.js';
import { parseRepositoryRef } from './repository-ref.js';

export interface ProviderOptions extends Omit<ProviderConfig, 'baseUrl' | 'token' | 'repository'> {
  /** Which forge serves the repository; needed when the host name does not say. */
  provider?: ForgeKind;
  /** API root for self-hosted forges; see ProviderConfig.baseUrl. */
  baseUrl?: string;
  /** Default: GITHUB_TOKEN, GITLAB_TOKEN or GITEA_TOKEN from `env`. */
  token?: string;
  /** Where tokens are looked up; default process.env. */
  env?: Record<string, string | undefined>;
}

const KNOWN_HOSTS: Record<string, ForgeKind> = {
  'github.com': 'github',
  'api.github.com': 'github',
  'gitlab.com': 'gitlab',
  'gitea.com': 'gitea',
  'codeberg.org': 'gitea',
};

/** The forge a host name suggests (`github.mycorp.com`, `gitlab.example.org`), if any. */
export function detectForge(host: string): ForgeKind | undefined {
  const name = host.toLowerCase();
  const known = KNOWN_HOSTS[name];
  if (known !== undefined) return known;
  if (name.endsWith('.ghe.com')) return 'github';
  const words = name.split(/[.-]/);
  if (words.includes('github')) return 'github';
  if (words.includes('gitlab')) return 'gitlab';
  if (words.includes('gitea') || words.includes('forgejo') || words.includes('codeberg')) return 'gitea';
  return undefined;
}

/** The API root for a repository on `kind`, from its web origin. */
export function defaultBaseUrl(kind: ForgeKind, ref: RepositoryRef): string | undefined {
  if (ref.webOrigin === undefined || ref.host === undefined) return undefined;
  if (kind === 'github' && ref.host === 'github.com') return 'https://api.github.com';
  return kind === 'github' ? `${ref.webOrigin}/api/v3` : ref.webOrigin;
}

/** The token from the options, else from the forge's environment variable. */
export function resolveToken(kind: ForgeKind, options: Pick<ProviderOptions, 'token' | 'env'> = {}): string {
  const token = options.token ?? (options.env ?? process.env)[TOKEN_ENV[kind]];
  if (token === undefined || token.trim() === '') {
    throw new GitOpsError(
      ErrorCodes.Unauthorized,
      `no ${FORGE_NAMES[kind]} token: set ${TOKEN_ENV[kind]} or pass options.token`,
      { details: { forge: kind, field: 'token' } },
    );
  }
  return token;
}

export function createProvider(kind: ForgeKind, config: ProviderConfig): PullRequestProvider {
  switch (kind) {
    case 'github':
      return new GitHubProvider(config);
    case 'gitlab':
      return new GitLabProvider(config);
    case 'gitea':
      return new GiteaProvider(config);
    default:
      throw new GitOpsError(
        ErrorCodes.Invalid,
        `unknown forge ${JSON.stringify(kind)}; use github, gitlab or gitea`,
        {
          details: { field: 'provider' },
        },
      );
  }
}

/** The provider for `repository` (a clone URL, or `owner/name` with options.provider and baseUrl). */
export function providerFor(repository: string, options: ProviderOptions = {}): PullRequestProvider {
  const ref = parseRepositoryRef(repository);
  const kind = options.provider ?? (ref.host === undefined ? undefined : detectForge(ref.host));
  if (kind === undefined) {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      ref.host === undefined
        ? `cannot tell which forge serves ${JSON.stringify(ref.path)}: give its clone URL, or options.provider and options.baseUrl`
        : `cannot tell which forge runs on ${ref.host}: pass options.provider ("github", "gitlab" or "gitea")`,
      { details: { field: 'provider', host: ref.host } },
    );
  }
  const baseUrl = options.baseUrl ?? defaultBaseUrl(kind, ref);
  if (baseUrl === undefined) {
    throw new GitOpsError(
      ErrorCodes.Invalid,
      `no API address for ${FORGE_NAMES[kind]}: pass options.baseUrl (e.g. https://forge.example.com)`,
      { details: { field: 'baseUrl' } },
    );
  }
  const { provider: _provider, env: _env, token: _token, baseUrl: _baseUrl, ...rest } = options;
  return createProvider(kind, { ...rest, baseUrl, token: resolveToken(kind, options), repository: ref.path });
}
