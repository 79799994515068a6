import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import {
  assertBranchName,
  assertRefName,
  assertRefspec,
  assertRevision,
  lsRemote,
  normalizeRepoPath,
  parseRemoteUrl,
  redactUrl,
  refNameProblem,
} from '../../src/git/index.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(GitOpsError);
    return (error as GitOpsError).code;
  }
}

function gitAccepts(name: string): boolean {
  try {
    execFileSync('git', ['check-ref-format', '--allow-onelevel', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('ref names', () => {
  const names = [
    'main',
    'feature/x-1',
    'refs/heads/main',
    'v1.0',
    'a.b/c_d',
    'unicodé',
    '',
    '-x',
    '--upload-pack=x',
    'a..b',
    'a b',
    'a~1',
    'a^',
    'a:b',
    'a?',
    'a*',
    'a[',
    'a\\b',
    'a\tb',
    'a\x7fb',
    '.hidden',
    'x/.hidden',
    'a.lock',
    'a/b.lock/c',
    'a/',
    '/a',
    'a//b',
    'a.',
    '@',
    'a@{1}',
    'a@b',
  ];

  it.each(names)('agrees with git check-ref-format on %j (and refuses a leading "-")', (name) => {
    const ours = refNameProblem(name) === undefined;
    const theirs = gitAccepts(name) && !name.startsWith('-');
    expect(ours).toBe(theirs);
  });

  it('refuses option-looking and range names with Invalid and names the field', () => {
    for (const name of ['--upload-pack=x', '-x', 'a..b']) {
      expect(codeOf(() => assertRefName(name))).toBe(ErrorCodes.Invalid);
      expect(codeOf(() => assertBranchName(name))).toBe(ErrorCodes.Invalid);
      expect(codeOf(() => assertRevision(name))).toBe(ErrorCodes.Invalid);
    }
    try {
      assertBranchName('-x', 'branch');
      expect.unreachable('a branch name starting with "-" was accepted');
    } catch (error) {
      expect((error as GitOpsError).details.field).toBe('branch');
      expect((error as GitOpsError).message).toContain('starts with "-"');
    }
  });

  it('keeps branch names short', () => {
    expect(codeOf(() => assertBranchName('HEAD'))).toBe(ErrorCodes.Invalid);
    expect(codeOf(() => assertBranchName('refs/heads/main'))).toBe(ErrorCodes.Invalid);
    expect(assertBranchName('release/1.x')).toBe('release/1.x');
  });
});

describe('revisions', () => {
  it('accepts object ids, refs and ancestry steps only', () => {
    for (const rev of [
      'main',
      'HEAD',
      'HEAD~2',
      'main^',
      'main^2~3',
      'abc1234',
      'refs/remotes/origin/main',
    ]) {
      expect(assertRevision(rev)).toBe(rev);
    }
    for (const rev of ['a..b', 'a...b', 'main@{1}', '@{-1}', ':/msg', 'main:path', 'HEAD^{tree}', '-n', '']) {
      expect(codeOf(() => assertRevision(rev))).toBe(ErrorCodes.Invalid);
    }
  });
});

describe('repository paths', () => {
  it('normalises relative paths and refuses escapes, .git and line breaks', () => {
    expect(normalizeRepoPath('./a//b/')).toBe('a/b');
    expect(normalizeRepoPath('')).toBe('');
    expect(normalizeRepoPath('-rf')).toBe('-rf');
    for (const path of ['../x', 'a/../../x', '/etc/passwd', 'a\nb', 'a\0b', '.git/config', '.git']) {
      expect(codeOf(() => normalizeRepoPath(path))).toBe(ErrorCodes.Invalid);
    }
  });
});

describe('remote URLs', () => {
  it('refuses user:password@host:path without showing the password, and keeps secrets out of git errors', async () => {
    let err: unknown;
    try {
      parseRemoteUrl('deploy:s3cret-pass@git.example:team/repo.git');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GitOpsError);
    expect((err as GitOpsError).code).toBe(ErrorCodes.Invalid);
    expect(JSON.stringify((err as GitOpsError).toJSON())).not.toContain('s3cret-pass');
    expect(String((err as GitOpsError).message)).toContain('password');
    // A real git run against a closed port: its error names the URL, never the token.
    const failed = await lsRemote('http://127.0.0.1:1/r.git?access_token=tok3n-in-query#frag-tok3n').catch(
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(GitOpsError);
    const shown = JSON.stringify((failed as GitOpsError).toJSON()) + (failed as GitOpsError).message;
    expect(shown).not.toMatch(/tok3n/);
    expect(redactUrl('https://u:p@h/r.git?access_token=t#f')).toBe('https://h/r.git?access_token=***#***');
  });

  it('recognises every supported transport', () => {
    expect(parseRemoteUrl('https://example.test/o/r.git')).toMatchObject({
      kind: 'https',
      origin: 'https://example.test',
    });
    expect(parseRemoteUrl('http://127.0.0.1:8080/r.git')).toMatchObject({
      kind: 'http',
      origin: 'http://127.0.0.1:8080',
    });
    expect(parseRemoteUrl('ssh://git@example.test:2222/r.git').kind).toBe('ssh');
    expect(parseRemoteUrl('git@example.test:o/r.git')).toMatchObject({ kind: 'ssh', host: 'example.test' });
    expect(parseRemoteUrl('git://127.0.0.1/r.git').kind).toBe('git');
    expect(parseRemoteUrl('file:///srv/r.git').kind).toBe('file');
    expect(parseRemoteUrl('/srv/r.git').kind).toBe('file');
  });

  it('refuses options, remote helpers, other schemes and relative paths', () => {
    for (const url of [
      '--upload-pack=touch /tmp/x',
      '-oProxyCommand=x',
      'ext::sh -c touch% /tmp/pwned',
      'fd::17',
      'ssh://-oProxyCommand=x/r',
      '-host:repo',
      'ftp://example.test/r.git',
      'relative/path',
      'https://example.test/a\nb',
    ]) {
      expect(codeOf(() => parseRemoteUrl(url))).toBe(ErrorCodes.Invalid);
    }
  });

  it('refuses a password in a URL without repeating it', () => {
    try {
      parseRemoteUrl('https://user:s3cr3t-t0ken@example.test/r.git');
      expect.unreachable('a URL with a password was accepted');
    } catch (error) {
      expect((error as GitOpsError).code).toBe(ErrorCodes.Invalid);
      expect(JSON.stringify((error as GitOpsError).toJSON())).not.toContain('s3cr3t-t0ken');
    }
    expect(redactUrl('https://user@example.test/r.git')).toBe('https://example.test/r.git');
  });

  it('refuses a token (or any user) before the host of an HTTP URL, where git would store it', () => {
    for (const url of ['https://ghp_t0kenValue42@github.com/o/r.git', 'http://deploy@127.0.0.1:8080/r.git']) {
      try {
        parseRemoteUrl(url);
        expect.unreachable(`${url} was accepted`);
      } catch (error) {
        expect((error as GitOpsError).code).toBe(ErrorCodes.Invalid);
        expect((error as GitOpsError).message).toMatch(/pass it as credentials/);
        expect(JSON.stringify((error as GitOpsError).toJSON())).not.toMatch(/t0kenValue42|deploy@/);
      }
    }
    // SSH names its login user in the URL; that is no secret.
    expect(parseRemoteUrl('ssh://git@example.test/r.git').kind).toBe('ssh');
  });
});

describe('refspecs', () => {
  it('accepts fetch and push refspecs and refuses options', () => {
    for (const spec of [
      'main',
      '+refs/heads/main:refs/remotes/origin/main',
      'HEAD:refs/heads/x',
      ':refs/heads/gone',
    ]) {
      expect(assertRefspec(spec)).toBe(spec);
    }
    for (const spec of ['--force', '-f', '+-x:refs/heads/y', 'a..b:refs/heads/x', 'main:-x', ':', '']) {
      expect(codeOf(() => assertRefspec(spec))).toBe(ErrorCodes.Invalid);
    }
  });
});
