/**
 * Webhook verification with signatures computed the way each forge documents them (HMAC-SHA256
 * of the raw body for GitHub and Gitea, the shared token for GitLab), payloads shaped like their
 * documented push events, and every way a delivery can be wrong.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { WebhookConfig, WebhookOutcome, WebhookRequest } from '../../src/forge/index.js';
import {
  hexSignatureMatches,
  parsePushEvent,
  readWebhookBody,
  sharedTokenMatches,
  verifyWebhook,
  webhookErrorStatus,
} from '../../src/forge/index.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';

const SECRET = 'webhook-secret-7f3a';
const BEFORE = '9049f1265b7d61be4a8904a9a27120d2064dab3b';
const AFTER = '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c';
const ZERO = '0'.repeat(40);

function commit(id: string, added: string[], removed: string[], modified: string[]) {
  return {
    id,
    tree_id: 'f9d2a07e9488b91af2641b26b9407fe22a451433',
    distinct: true,
    message: 'Update Car speed',
    timestamp: '2026-11-22T10:00:00+01:00',
    url: `https://github.com/octo-org/fleet/commit/${id}`,
    author: { name: 'Alice', email: 'alice@example.com', username: 'alice' },
    committer: { name: 'Alice', email: 'alice@example.com', username: 'alice' },
    added,
    removed,
    modified,
  };
}

/** Shaped like GitHub's documented `push` webhook payload. */
function githubPush(overrides: Record<string, unknown> = {}) {
  return {
    ref: 'refs/heads/main',
    before: BEFORE,
    after: AFTER,
    repository: {
      id: 1296269,
      node_id: 'MDEwOlJlcG9zaXRvcnkxMjk2MjY5',
      name: 'fleet',
      full_name: 'octo-org/fleet',
      private: false,
      owner: { name: 'octo-org', login: 'octo-org', id: 9919 },
      html_url: 'https://github.com/octo-org/fleet',
      url: 'https://github.com/octo-org/fleet',
      git_url: 'git://github.com/octo-org/fleet.git',
      ssh_url: 'git@github.com:octo-org/fleet.git',
      clone_url: 'https://github.com/octo-org/fleet.git',
      svn_url: 'https://github.com/octo-org/fleet',
      default_branch: 'main',
    },
    pusher: { name: 'alice', email: 'alice@example.com' },
    sender: { login: 'alice', id: 3001, type: 'User' },
    created: false,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: `https://github.com/octo-org/fleet/compare/${BEFORE.slice(0, 12)}...${AFTER.slice(0, 12)}`,
    commits: [
      commit('5f1b8c7a3c2d4e6f8a9b0c1d2e3f4a5b6c7d8e9f', ['cars/car-b.yaml'], [], ['cars/car-a.yaml']),
      commit(AFTER, [], ['cars/old.yaml'], ['cars/car-a.yaml']),
    ],
    head_commit: commit(AFTER, [], ['cars/old.yaml'], ['cars/car-a.yaml']),
    ...overrides,
  };
}

/** Shaped like GitLab's documented `Push Hook` payload. */
function gitlabPush(overrides: Record<string, unknown> = {}) {
  const commits = [
    {
      id: AFTER,
      message: 'Update Car speed',
      title: 'Update Car speed',
      timestamp: '2026-11-22T10:00:00+01:00',
      url: `https://gitlab.example.com/platform/infra/fleet/-/commit/${AFTER}`,
      author: { name: 'Alice', email: 'alice@example.com' },
      added: ['cars/car-b.yaml'],
      modified: ['cars/car-a.yaml'],
      removed: [],
    },
  ];
  return {
    object_kind: 'push',
    event_name: 'push',
    before: BEFORE,
    after: AFTER,
    ref: 'refs/heads/main',
    ref_protected: true,
    checkout_sha: AFTER,
    user_id: 7,
    user_name: 'Alice',
    user_username: 'alice',
    project_id: 278964,
    project: {
      id: 278964,
      name: 'fleet',
      description: 'Cars',
      web_url: 'https://gitlab.example.com/platform/infra/fleet',
      git_ssh_url: 'git@gitlab.example.com:platform/infra/fleet.git',
      git_http_url: 'https://gitlab.example.com/platform/infra/fleet.git',
      namespace: 'infra',
      visibility_level: 0,
      path_with_namespace: 'platform/infra/fleet',
      default_branch: 'main',
      homepage: 'https://gitlab.example.com/platform/infra/fleet',
      url: 'git@gitlab.example.com:platform/infra/fleet.git',
      ssh_url: 'git@gitlab.example.com:platform/infra/fleet.git',
      http_url: 'https://gitlab.example.com/platform/infra/fleet.git',
    },
    repository: {
      name: 'fleet',
      url: 'git@gitlab.example.com:platform/infra/fleet.git',
      description: 'Cars',
      homepage: 'https://gitlab.example.com/platform/infra/fleet',
      git_http_url: 'https://gitlab.example.com/platform/infra/fleet.git',
      git_ssh_url: 'git@gitlab.example.com:platform/infra/fleet.git',
      visibility_level: 0,
    },
    commits,
    total_commits_count: 1,
    ...overrides,
  };
}

/** Shaped like Gitea's PushPayload (modules/structs/hook.go). */
function giteaPush(overrides: Record<string, unknown> = {}) {
  return {
    ref: 'refs/heads/main',
    before: BEFORE,
    after: AFTER,
    compare_url: `http://gitea.example.com:3000/alice/fleet/compare/${BEFORE}...${AFTER}`,
    commits: [
      {
        id: AFTER,
        message: 'Update Car speed\n',
        url: `http://gitea.example.com:3000/alice/fleet/commit/${AFTER}`,
        author: { name: 'Alice', email: 'alice@example.com', username: 'alice' },
        committer: { name: 'Alice', email: 'alice@example.com', username: 'alice' },
        verification: null,
        timestamp: '2026-11-22T10:00:00+01:00',
        added: [],
        removed: [],
        modified: ['cars/car-a.yaml'],
      },
    ],
    total_commits: 1,
    head_commit: null,
    repository: {
      id: 1,
      name: 'fleet',
      full_name: 'alice/fleet',
      html_url: 'http://gitea.example.com:3000/alice/fleet',
      ssh_url: 'ssh://git@gitea.example.com:2222/alice/fleet.git',
      clone_url: 'http://gitea.example.com:3000/alice/fleet.git',
      default_branch: 'main',
    },
    pusher: { login: 'alice' },
    sender: { login: 'alice' },
    ...overrides,
  };
}

// Signatures computed here with node:crypto directly, as each forge's documentation describes.
function hmacHex(secret: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

function githubRequest(
  payload: unknown,
  options: { secret?: string; event?: string; body?: string } = {},
): WebhookRequest {
  const body = options.body ?? JSON.stringify(payload);
  return {
    headers: {
      'content-type': 'application/json',
      'x-github-event': options.event ?? 'push',
      'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      'x-hub-signature-256': `sha256=${hmacHex(options.secret ?? SECRET, body)}`,
      'user-agent': 'GitHub-Hookshot/044aadd',
    },
    rawBody: Buffer.from(body),
  };
}

function gitlabRequest(payload: unknown, options: { token?: string; event?: string } = {}): WebhookRequest {
  return {
    headers: {
      'Content-Type': 'application/json',
      'X-Gitlab-Event': options.event ?? 'Push Hook',
      'X-Gitlab-Token': options.token ?? SECRET,
      'X-Gitlab-Event-UUID': '13792a34-cac6-4fda-95a8-c58e00a3954e',
    },
    rawBody: JSON.stringify(payload),
  };
}

function giteaRequest(payload: unknown, options: { secret?: string } = {}): WebhookRequest {
  const body = JSON.stringify(payload, null, 2);
  const signature = hmacHex(options.secret ?? SECRET, body);
  return {
    headers: new Headers({
      'content-type': 'application/json',
      'x-gitea-event': 'push',
      'x-gitea-event-type': 'push',
      'x-gitea-delivery': 'a5b6c7d8-0000-4000-8000-000000000001',
      'x-gitea-signature': signature,
      // Gitea also sends the GitHub-style headers for compatibility.
      'x-github-event': 'push',
      'x-hub-signature-256': `sha256=${signature}`,
    }),
    rawBody: Buffer.from(body),
  };
}

const config: WebhookConfig = {
  secret: SECRET,
  repositories: [
    'https://github.com/octo-org/fleet.git',
    'https://gitlab.example.com/platform/infra/fleet',
    'alice/fleet',
  ],
  maxBytes: 64 * 1024,
};

function refusal(fn: () => unknown): GitOpsError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(GitOpsError);
  const error = caught as GitOpsError;
  expect(error.message).not.toContain(SECRET);
  return error;
}

function accepted(outcome: WebhookOutcome) {
  expect(outcome.accepted).toBe(true);
  if (!outcome.accepted) throw new Error(outcome.reason);
  return outcome.push;
}

describe('signatures', () => {
  it("matches GitHub's documented test vector", () => {
    // From GitHub's "Validating webhook deliveries" page.
    const expected = '757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(hexSignatureMatches("It's a Secret to Everybody", 'Hello, World!', expected)).toBe(true);
    expect(hexSignatureMatches("It's a Secret to Everybody", 'Hello, World?', expected)).toBe(false);
    expect(hexSignatureMatches("It's a secret to everybody", 'Hello, World!', expected)).toBe(false);
  });

  it('refuses signatures of the wrong shape without throwing', () => {
    expect(hexSignatureMatches(SECRET, 'x', '')).toBe(false);
    expect(hexSignatureMatches(SECRET, 'x', 'abc')).toBe(false);
    expect(hexSignatureMatches(SECRET, 'x', 'z'.repeat(64))).toBe(false);
    expect(hexSignatureMatches(SECRET, 'x', hmacHex(SECRET, 'x').slice(0, 40))).toBe(false);
  });

  it('compares shared tokens of any length', () => {
    expect(sharedTokenMatches(SECRET, SECRET)).toBe(true);
    expect(sharedTokenMatches(SECRET, `${SECRET}x`)).toBe(false);
    expect(sharedTokenMatches(SECRET, '')).toBe(false);
    expect(sharedTokenMatches('', '')).toBe(false);
  });
});

describe('verifyWebhook: genuine pushes', () => {
  it('accepts a GitHub push and reads repository, branch, commits and changed paths', () => {
    const outcome = verifyWebhook(githubRequest(githubPush()), config);
    expect(outcome).toMatchObject({
      accepted: true,
      status: 200,
      provider: 'github',
      event: 'push',
      deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    });
    const push = accepted(outcome);
    expect(push).toMatchObject({
      provider: 'github',
      ref: 'refs/heads/main',
      branch: 'main',
      before: BEFORE,
      after: AFTER,
      created: false,
      deleted: false,
      forced: false,
      changedPaths: ['cars/car-a.yaml', 'cars/car-b.yaml', 'cars/old.yaml'],
    });
    expect(push.repository.fullName).toBe('octo-org/fleet');
    expect(push.repository.keys).toEqual(['github.com/octo-org/fleet']);
    expect(push.repository.urls).toContain('git@github.com:octo-org/fleet.git');
  });

  it('accepts a GitLab push by its token and reads the full group path', () => {
    const push = accepted(verifyWebhook(gitlabRequest(gitlabPush()), config));
    expect(push).toMatchObject({
      provider: 'gitlab',
      branch: 'main',
      after: AFTER,
      changedPaths: ['cars/car-a.yaml', 'cars/car-b.yaml'],
    });
    expect(push.repository.fullName).toBe('platform/infra/fleet');
    expect(push.repository.keys).toEqual(['gitlab.example.com/platform/infra/fleet']);
  });

  it('accepts a Gitea push by X-Gitea-Signature even though it also carries GitHub headers', () => {
    const outcome = verifyWebhook(giteaRequest(giteaPush()), config);
    expect(outcome).toMatchObject({ provider: 'gitea', deliveryId: 'a5b6c7d8-0000-4000-8000-000000000001' });
    const push = accepted(outcome);
    expect(push.repository.fullName).toBe('alice/fleet');
    // Ports and schemes drop out: the http and the ssh URL name the same repository.
    expect(push.repository.keys).toEqual(['gitea.example.com/alice/fleet']);
    expect(push.changedPaths).toEqual(['cars/car-a.yaml']);
  });

  it('accepts a Gitea delivery at an endpoint configured for GitHub, through its compatible headers', () => {
    const push = accepted(verifyWebhook(giteaRequest(giteaPush()), { ...config, provider: 'github' }));
    expect(push.provider).toBe('github');
  });

  it("accepts GitHub's form-encoded content type, signed over the raw form body", () => {
    const body = `payload=${encodeURIComponent(JSON.stringify(githubPush()))}`;
    const request = githubRequest(undefined, { body });
    (request.headers as Record<string, string>)['content-type'] = 'application/x-www-form-urlencoded';
    expect(accepted(verifyWebhook(request, config)).branch).toBe('main');
  });

  it('accepts any of several secrets during a rotation', () => {
    const outcome = verifyWebhook(githubRequest(githubPush(), { secret: 'new-secret' }), {
      ...config,
      secret: [SECRET, 'new-secret'],
    });
    expect(outcome.accepted).toBe(true);
  });

  it('accepts a generic sender signed with X-Signature-256', () => {
    const body = JSON.stringify({
      repository: 'ssh://git@github.com:22/octo-org/fleet.git',
      branch: 'main',
      before: BEFORE,
      after: AFTER,
      changedPaths: ['b.yaml', 'a.yaml', 'a.yaml'],
    });
    const push = accepted(
      verifyWebhook(
        {
          headers: {
            'content-type': 'application/json',
            'x-signature-256': `sha256=${hmacHex(SECRET, body)}`,
          },
          rawBody: body,
        },
        config,
      ),
    );
    expect(push).toMatchObject({ provider: 'generic', branch: 'main', changedPaths: ['a.yaml', 'b.yaml'] });
  });
});

describe('verifyWebhook: deliveries to ignore (202)', () => {
  it('ignores a ping', () => {
    const outcome = verifyWebhook(
      githubRequest({ zen: 'Keep it logically awesome.', hook_id: 1 }, { event: 'ping' }),
      config,
    );
    expect(outcome).toMatchObject({ accepted: false, status: 202, event: 'ping' });
  });

  it('ignores a tag push', () => {
    const outcome = verifyWebhook(githubRequest(githubPush({ ref: 'refs/tags/v1.0.0' })), config);
    expect(outcome).toMatchObject({ accepted: false, status: 202 });
    expect(outcome.accepted ? undefined : outcome.reason).toContain('not a branch');
    expect(outcome.push?.tag).toBe('v1.0.0');
  });

  it("ignores GitLab's Tag Push Hook", () => {
    const outcome = verifyWebhook(
      gitlabRequest(gitlabPush({ object_kind: 'tag_push' }), { event: 'Tag Push Hook' }),
      config,
    );
    expect(outcome).toMatchObject({ accepted: false, status: 202 });
  });

  it('ignores a repository that is not configured, after checking the signature', () => {
    const push = githubPush();
    push.repository = {
      ...push.repository,
      full_name: 'octo-org/other',
      clone_url: 'https://github.com/octo-org/other.git',
      ssh_url: 'git@github.com:octo-org/other.git',
      html_url: 'https://github.com/octo-org/other',
      git_url: 'git://github.com/octo-org/other.git',
    };
    const outcome = verifyWebhook(githubRequest(push), config);
    expect(outcome).toMatchObject({ accepted: false, status: 202 });
    expect(outcome.accepted ? '' : outcome.reason).toContain('octo-org/other');
  });

  it('does not take a same-named repository on another host for a configured one', () => {
    const push = githubPush();
    push.repository = {
      ...push.repository,
      html_url: 'https://github.evil.example/octo-org/fleet',
      clone_url: 'https://github.evil.example/octo-org/fleet.git',
      ssh_url: 'git@github.evil.example:octo-org/fleet.git',
      git_url: 'git://github.evil.example/octo-org/fleet.git',
    };
    const outcome = verifyWebhook(githubRequest(push), {
      ...config,
      repositories: ['https://github.com/octo-org/fleet'],
    });
    expect(outcome.accepted).toBe(false);
  });
});

describe('verifyWebhook: refusals, each with the status to answer', () => {
  const cases: [string, () => unknown, string, number][] = [
    [
      'GitHub push without a signature',
      () => {
        const r = githubRequest(githubPush());
        delete (r.headers as Record<string, string>)['x-hub-signature-256'];
        return verifyWebhook(r, config);
      },
      ErrorCodes.Unauthorized,
      401,
    ],
    [
      'GitHub push signed with another secret',
      () => verifyWebhook(githubRequest(githubPush(), { secret: 'guess' }), config),
      ErrorCodes.Unauthorized,
      401,
    ],
    [
      'GitHub push whose body was changed after signing',
      () => {
        const r = githubRequest(githubPush());
        r.rawBody = Buffer.from(String(r.rawBody).replace('refs/heads/main', 'refs/heads/prod'));
        return verifyWebhook(r, config);
      },
      ErrorCodes.Unauthorized,
      401,
    ],
    [
      'GitHub push with the old SHA-1 signature only',
      () => {
        const r = githubRequest(githubPush());
        const headers = r.headers as Record<string, string>;
        headers['x-hub-signature-256'] = `sha1=${createHmac('sha1', SECRET).update(r.rawBody).digest('hex')}`;
        return verifyWebhook(r, config);
      },
      ErrorCodes.Unauthorized,
      401,
    ],
    [
      'GitLab push with a wrong token',
      () => verifyWebhook(gitlabRequest(gitlabPush(), { token: 'guess' }), config),
      ErrorCodes.Unauthorized,
      401,
    ],
    [
      'GitLab push without a token',
      () => {
        const r = gitlabRequest(gitlabPush());
        delete (r.headers as Record<string, string>)['X-Gitlab-Token'];
        return verifyWebhook(r, config);
      },
      ErrorCodes.Unauthorized,
      401,
    ],
    [
      'Gitea push signed with another secret',
      () => verifyWebhook(giteaRequest(giteaPush(), { secret: 'guess' }), config),
      ErrorCodes.Unauthorized,
      401,
    ],
    [
      'Gitea push without X-Gitea-Signature',
      () => {
        const r = giteaRequest(giteaPush());
        (r.headers as Headers).delete('x-gitea-signature');
        return verifyWebhook(r, config);
      },
      ErrorCodes.Unauthorized,
      401,
    ],
    [
      'a text/plain body',
      () => {
        const r = githubRequest(githubPush());
        (r.headers as Record<string, string>)['content-type'] = 'text/plain';
        return verifyWebhook(r, config);
      },
      ErrorCodes.UnsupportedMediaType,
      415,
    ],
    [
      'no content type',
      () => {
        const r = gitlabRequest(gitlabPush());
        delete (r.headers as Record<string, string>)['Content-Type'];
        return verifyWebhook(r, config);
      },
      ErrorCodes.UnsupportedMediaType,
      415,
    ],
    [
      'a form body from GitLab, which only sends JSON',
      () => {
        const r = gitlabRequest(gitlabPush());
        (r.headers as Record<string, string>)['Content-Type'] = 'application/x-www-form-urlencoded';
        return verifyWebhook(r, config);
      },
      ErrorCodes.UnsupportedMediaType,
      415,
    ],
    [
      'a body over the limit',
      () => verifyWebhook(githubRequest(githubPush({ padding: 'x'.repeat(70 * 1024) })), config),
      ErrorCodes.RequestEntityTooLarge,
      413,
    ],
    [
      'a Content-Length over the limit',
      () => {
        const r = githubRequest(githubPush());
        (r.headers as Record<string, string>)['content-length'] = String(10 * 1024 * 1024);
        return verifyWebhook(r, config);
      },
      ErrorCodes.RequestEntityTooLarge,
      413,
    ],
    [
      'no sender headers at all',
      () => verifyWebhook({ headers: { 'content-type': 'application/json' }, rawBody: '{}' }, config),
      ErrorCodes.BadRequest,
      400,
    ],
    [
      'a GitHub delivery at an endpoint for GitLab',
      () => verifyWebhook(githubRequest(githubPush()), { ...config, provider: 'gitlab' }),
      ErrorCodes.BadRequest,
      400,
    ],
    [
      'a signature header sent twice',
      () => {
        const r = githubRequest(githubPush());
        const headers = r.headers as Record<string, string | string[]>;
        headers['x-hub-signature-256'] = [String(headers['x-hub-signature-256']), 'sha256=00'];
        return verifyWebhook(r, config);
      },
      ErrorCodes.BadRequest,
      400,
    ],
    [
      'a signed body that is not JSON',
      () => verifyWebhook(githubRequest(undefined, { body: '{"ref": ' }), config),
      ErrorCodes.BadRequest,
      400,
    ],
    [
      'a signed body that is not UTF-8',
      () => {
        const body = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
        return verifyWebhook(
          {
            headers: {
              'content-type': 'application/json',
              'x-github-event': 'push',
              'x-hub-signature-256': `sha256=${hmacHex(SECRET, body)}`,
            },
            rawBody: body,
          },
          config,
        );
      },
      ErrorCodes.BadRequest,
      400,
    ],
    [
      'a signed push payload without a repository',
      () => verifyWebhook(githubRequest(githubPush({ repository: undefined })), config),
      ErrorCodes.BadRequest,
      400,
    ],
    [
      'a signed push payload with a bad commit id',
      () => verifyWebhook(githubRequest(githubPush({ after: 'HEAD' })), config),
      ErrorCodes.BadRequest,
      400,
    ],
    [
      'a configuration without a secret',
      () => verifyWebhook(githubRequest(githubPush()), { ...config, secret: '' }),
      ErrorCodes.Invalid,
      500,
    ],
    [
      'a configuration without repositories',
      () => verifyWebhook(githubRequest(githubPush()), { ...config, repositories: [] }),
      ErrorCodes.Invalid,
      500,
    ],
  ];

  for (const [name, fn, code, status] of cases) {
    it(`refuses ${name} with ${status}`, () => {
      const err = refusal(fn);
      expect(err.code).toBe(code);
      expect(err.details.status).toBe(status);
      expect(webhookErrorStatus(err)).toBe(status);
    });
  }

  it('answers 500 for anything that is not a webhook refusal', () => {
    expect(webhookErrorStatus(new Error('boom'))).toBe(500);
  });
});

describe('parsePushEvent: when changed paths can be trusted', () => {
  it('leaves them out when GitLab lists fewer commits than were pushed', () => {
    const push = parsePushEvent('gitlab', gitlabPush({ total_commits_count: 25 }));
    expect(push.changedPaths).toBeUndefined();
    expect(push.after).toBe(AFTER);
  });

  it('leaves them out when Gitea lists fewer commits than were pushed', () => {
    expect(parsePushEvent('gitea', giteaPush({ total_commits: 2 })).changedPaths).toBeUndefined();
  });

  it('leaves them out for a forced GitHub push, whose dropped commits are not listed', () => {
    const push = parsePushEvent('github', githubPush({ forced: true }));
    expect(push.forced).toBe(true);
    expect(push.changedPaths).toBeUndefined();
  });

  it('leaves them out when the branch is created', () => {
    const push = parsePushEvent('github', githubPush({ before: ZERO, created: true }));
    expect(push).toMatchObject({ created: true, deleted: false });
    expect(push.changedPaths).toBeUndefined();
  });

  it('marks a deleted branch and gives no paths', () => {
    const push = parsePushEvent(
      'github',
      githubPush({ after: ZERO, deleted: true, commits: [], head_commit: null }),
    );
    expect(push).toMatchObject({ deleted: true, after: ZERO, branch: 'main' });
    expect(push.changedPaths).toBeUndefined();
  });

  it('reads SHA-256 object ids', () => {
    const before = 'a'.repeat(64);
    const after = 'b'.repeat(64);
    expect(parsePushEvent('gitea', giteaPush({ before, after }))).toMatchObject({ before, after });
  });
});

describe('readWebhookBody', () => {
  it('reads a body under the limit', async () => {
    async function* chunks() {
      yield Buffer.from('{"a":');
      yield '1}';
    }
    expect((await readWebhookBody(chunks(), { maxBytes: 100 })).toString()).toBe('{"a":1}');
  });

  it('stops reading an endless body as soon as it passes the limit', async () => {
    let produced = 0;
    async function* endless() {
      for (;;) {
        produced++;
        yield Buffer.alloc(1024);
      }
    }
    const err = await readWebhookBody(endless(), { maxBytes: 4096 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitOpsError);
    expect((err as GitOpsError).details.status).toBe(413);
    expect(produced).toBe(5);
  });

  it('refuses at once when Content-Length announces too much', async () => {
    let read = false;
    async function* body() {
      read = true;
      yield Buffer.from('x');
    }
    const err = await readWebhookBody(body(), { maxBytes: 10, contentLength: '11' }).catch((e: unknown) => e);
    expect((err as GitOpsError).code).toBe(ErrorCodes.RequestEntityTooLarge);
    expect(read).toBe(false);
  });
});
