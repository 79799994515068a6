import { describe, expect, it } from 'vitest';
import {
  detectForge,
  GiteaProvider,
  GitHubProvider,
  GitLabProvider,
  normaliseBaseUrl,
  providerFor,
  resolveToken,
} from '../../src/forge/index.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';

function thrown(fn: () => unknown): GitOpsError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GitOpsError);
    return err as GitOpsError;
  }
  throw new Error('expected an error');
}

describe('detectForge', () => {
  it.each([
    ['github.com', 'github'],
    ['github.mycorp.com', 'github'],
    ['octo.ghe.com', 'github'],
    ['gitlab.com', 'gitlab'],
    ['gitlab.example.org', 'gitlab'],
    ['code-gitlab.internal', 'gitlab'],
    ['gitea.com', 'gitea'],
    ['codeberg.org', 'gitea'],
    ['forgejo.example.net', 'gitea'],
    ['git.example.com', undefined],
    ['mygithubmirror.example.com', undefined],
  ])('%s -> %s', (host, kind) => {
    expect(detectForge(host)).toBe(kind);
  });
});

describe('providerFor', () => {
  const env = { GITHUB_TOKEN: 'gh-token', GITLAB_TOKEN: 'gl-token', GITEA_TOKEN: 'gt-token' };

  it('picks GitHub for github.com with the public API', () => {
    const p = providerFor('git@github.com:octo-org/fleet.git', { env });
    expect(p).toBeInstanceOf(GitHubProvider);
    expect(p.baseUrl).toBe('https://api.github.com');
    expect(p.repository).toBe('octo-org/fleet');
  });

  it('picks GitHub Enterprise with /api/v3 on its own host', () => {
    const p = providerFor('https://github.mycorp.com/team/fleet', { env });
    expect(p.kind).toBe('github');
    expect(p.baseUrl).toBe('https://github.mycorp.com/api/v3');
  });

  it('picks GitLab and keeps a self-managed port', () => {
    const p = providerFor('https://gitlab.example.com:8443/platform/infra/fleet.git', { env });
    expect(p).toBeInstanceOf(GitLabProvider);
    expect(p.baseUrl).toBe('https://gitlab.example.com:8443');
    expect(p.repository).toBe('platform/infra/fleet');
  });

  it('picks Gitea for Codeberg', () => {
    const p = providerFor('https://codeberg.org/alice/fleet.git', { env });
    expect(p).toBeInstanceOf(GiteaProvider);
    expect(p.baseUrl).toBe('https://codeberg.org');
  });

  it('follows an explicit provider and base URL for a host that says nothing', () => {
    const p = providerFor('git@git.example.com:alice/fleet.git', {
      provider: 'gitea',
      baseUrl: 'https://git.example.com/api/v1/',
      env,
    });
    expect(p).toBeInstanceOf(GiteaProvider);
    expect(p.baseUrl).toBe('https://git.example.com');
  });

  it('says what to pass when the host does not tell the forge', () => {
    const err = thrown(() => providerFor('https://git.example.com/alice/fleet', { env }));
    expect(err.code).toBe(ErrorCodes.Invalid);
    expect(err.message).toContain('options.provider');
    const bare = thrown(() => providerFor('alice/fleet', { env }));
    expect(bare.message).toContain('clone URL');
  });

  it('refuses GitHub and Gitea paths that are not owner/name', () => {
    const err = thrown(() => providerFor('https://github.com/a/b/c', { env }));
    expect(err.code).toBe(ErrorCodes.Invalid);
    expect(err.message).toContain('owner/name');
  });

  it('takes the token from the options before the environment', () => {
    expect(resolveToken('github', { token: 'given', env })).toBe('given');
    expect(resolveToken('gitlab', { env })).toBe('gl-token');
    expect(resolveToken('gitea', { env })).toBe('gt-token');
  });

  it('fails without a token, naming the variable to set', () => {
    const err = thrown(() => providerFor('https://gitlab.com/a/b', { env: {} }));
    expect(err.code).toBe(ErrorCodes.Unauthorized);
    expect(err.message).toContain('GITLAB_TOKEN');
  });

  it('refuses a token with a line break (header injection)', () => {
    const err = thrown(() => providerFor('https://github.com/a/b', { token: 'abc\r\nX-Evil: 1' }));
    expect(err.code).toBe(ErrorCodes.Invalid);
    expect(err.message).not.toContain('X-Evil');
  });

  it('refuses credentials inside the base URL', () => {
    const err = thrown(() =>
      providerFor('https://github.com/a/b', { env, baseUrl: 'https://user:pass@ghe.example.com' }),
    );
    expect(err.code).toBe(ErrorCodes.Invalid);
    expect(err.message).not.toContain('pass@');
  });
});

describe('normaliseBaseUrl', () => {
  it.each([
    ['github', 'https://api.github.com/', 'https://api.github.com'],
    ['github', 'https://ghe.example.com', 'https://ghe.example.com/api/v3'],
    ['github', 'https://ghe.example.com/api/v3/', 'https://ghe.example.com/api/v3'],
    ['gitlab', 'https://gitlab.example.com/api/v4', 'https://gitlab.example.com'],
    ['gitlab', 'https://example.com/gitlab/', 'https://example.com/gitlab'],
    ['gitea', 'http://127.0.0.1:3000/api/v1', 'http://127.0.0.1:3000'],
  ] as const)('%s %s -> %s', (kind, input, output) => {
    expect(normaliseBaseUrl(kind, input)).toBe(output);
  });

  it('refuses a non-http URL', () => {
    expect(() => normaliseBaseUrl('gitea', 'ftp://example.com')).toThrow(/http or https/);
  });
});
