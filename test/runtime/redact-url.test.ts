import { describe, expect, it } from 'vitest';

import { ErrorCodes, GitOpsError, redactUrlSecrets } from '../../src/runtime/index.js';

describe('redactUrlSecrets', () => {
  it('scrubs passwords, tokens in the user part, query values and fragments, keeping the rest', () => {
    const cases: [string, string][] = [
      ['https://user:s3cret@git.example/a/b.git', 'https://user:***@git.example/a/b.git'],
      ['https://ghp_tok3n@github.com/a/b', 'https://***@github.com/a/b'],
      [
        'https://git.example/a/b.git?access_token=tok3n&x=1',
        'https://git.example/a/b.git?access_token=***&x=***',
      ],
      ['https://git.example/a/b.git#tok3n', 'https://git.example/a/b.git#***'],
      ['ssh://git@git.example:22/a/b.git', 'ssh://git@git.example:22/a/b.git'],
      ['ssh://git:s3cret@git.example/a/b.git', 'ssh://git:***@git.example/a/b.git'],
      ['https://git.example/a/b.git', 'https://git.example/a/b.git'],
    ];
    for (const [url, safe] of cases) expect(redactUrlSecrets(url), url).toBe(safe);
  });

  it('scrubs URLs inside a text, and scp-like user:password@host:path', () => {
    const text =
      "fatal: unable to access 'https://git.example/r.git?private_token=tok3n': Could not resolve host; " +
      'remote deploy:s3cret@git.example:team/repo.git refused';
    const safe = redactUrlSecrets(text);
    expect(safe).not.toContain('tok3n');
    expect(safe).not.toContain('s3cret');
    expect(safe).toContain("'https://git.example/r.git?private_token=***'");
    expect(safe).toContain('deploy:***@git.example:team/repo.git');
    expect(redactUrlSecrets('git@github.com:a/b.git')).toBe('git@github.com:a/b.git');
  });

  it('is applied to every GitOpsError message and string detail', () => {
    const err = new GitOpsError(ErrorCodes.Unreachable, 'cannot reach https://h/r.git?access_token=tok3n', {
      details: { url: 'https://u:s3cret@h/r.git', line: 3 },
    });
    expect(JSON.stringify(err.toJSON())).not.toMatch(/tok3n|s3cret/);
    expect(err.details.line).toBe(3);
  });
});
