import { describe, expect, it } from 'vitest';
import { parseRepositoryRef, repositoryKey } from '../../src/forge/index.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';

describe('parseRepositoryRef', () => {
  it.each([
    ['octo-org/fleet', { path: 'octo-org/fleet', owner: 'octo-org', name: 'fleet' }],
    ['platform/infra/fleet', { path: 'platform/infra/fleet', owner: 'platform/infra', name: 'fleet' }],
    [
      'https://github.com/octo-org/fleet.git',
      { path: 'octo-org/fleet', host: 'github.com', webOrigin: 'https://github.com' },
    ],
    ['https://GitHub.com/octo-org/fleet/', { path: 'octo-org/fleet', host: 'github.com' }],
    [
      'http://127.0.0.1:3000/alice/fleet.git',
      { path: 'alice/fleet', host: '127.0.0.1', webOrigin: 'http://127.0.0.1:3000' },
    ],
    [
      'git@gitlab.example.com:platform/infra/fleet.git',
      { path: 'platform/infra/fleet', host: 'gitlab.example.com', webOrigin: 'https://gitlab.example.com' },
    ],
    [
      'ssh://git@gitea.example.com:2222/alice/fleet.git',
      { path: 'alice/fleet', host: 'gitea.example.com', webOrigin: 'https://gitea.example.com' },
    ],
    ['git://github.com/octo-org/fleet.git', { path: 'octo-org/fleet', host: 'github.com' }],
    ['https://github.com/octo-org/.github', { path: 'octo-org/.github', name: '.github' }],
  ])('reads %s', (input, expected) => {
    expect(parseRepositoryRef(input)).toMatchObject(expected);
  });

  it.each([
    ['', 'empty'],
    ['fleet', 'owner and a repository'],
    ['octo-org/../fleet', 'invalid path segment'],
    ['octo-org/fl eet', 'white space'],
    ['octo org/fleet', 'white space'],
    ['file:///srv/git/fleet.git', 'unsupported scheme'],
    ['ext::sh -c evil', 'white space'],
    ['https://github.com/fleet', 'owner and a repository'],
    ['https://github.com/octo-org/fleet%2F..', 'invalid path segment'],
  ])('refuses %j (%s)', (input, why) => {
    const err = (() => {
      try {
        parseRepositoryRef(input);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(GitOpsError);
    expect((err as GitOpsError).code).toBe(ErrorCodes.Invalid);
    expect((err as GitOpsError).message).toContain(why);
  });

  it('refuses credentials in a URL without repeating them', () => {
    for (const url of [
      'https://ghp_secretTOKEN123@github.com/octo-org/fleet.git',
      'https://oauth2:glpat-secretTOKEN123@gitlab.com/group/fleet.git',
    ]) {
      let caught: unknown;
      try {
        parseRepositoryRef(url);
      } catch (e) {
        caught = e;
      }
      expect((caught as GitOpsError).code).toBe(ErrorCodes.Invalid);
      expect((caught as GitOpsError).message).toContain('credentials');
      expect(JSON.stringify((caught as GitOpsError).toJSON())).not.toContain('secretTOKEN123');
    }
  });
});

describe('repositoryKey', () => {
  it('gives every URL form of one repository the same key', () => {
    const keys = [
      'https://github.com/Octo-Org/Fleet.git',
      'git@github.com:octo-org/fleet.git',
      'ssh://git@github.com:22/octo-org/fleet',
      'git://github.com/octo-org/fleet.git',
    ].map((u) => repositoryKey(parseRepositoryRef(u)));
    expect(new Set(keys)).toEqual(new Set(['github.com/octo-org/fleet']));
  });

  it('keeps repositories on different hosts apart', () => {
    expect(repositoryKey(parseRepositoryRef('https://github.com/a/b'))).not.toBe(
      repositoryKey(parseRepositoryRef('https://gitlab.com/a/b')),
    );
    expect(repositoryKey(parseRepositoryRef('a/b'))).toBe('a/b');
    expect(parseRepositoryRef('a/b').host).toBeUndefined();
  });
});
