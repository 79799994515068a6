/**
 * The GitHub provider against recorded exchanges that follow GitHub's documented REST and
 * GraphQL API (github.com cannot be reached from the test machines), replayed by a real local
 * HTTP server that checks every request the provider sends.
 */
import { describe, expect, it } from 'vitest';
import type { PullRequestProvider, RetryEvent } from '../../src/forge/index.js';
import { GitHubProvider, providerFor } from '../../src/forge/index.js';
import { ErrorCodes } from '../../src/runtime/index.js';
import { sampleRequest, useRecordedForge } from './recorded-forge.js';
import { startReplayServer } from './replay-server.js';

const HEAD_SHA = '6dcb09b5b57875f334f61aebed695e2e4193db5e';
const MERGED_SHA = 'b3f8d2a5c3e94d7f8a1b2c3d4e5f60718293a4b5';

const forge = useRecordedForge('github.json');
const { play, failure } = forge;
const request = sampleRequest;

function provider(
  options: { retries?: number; onRetry?: (e: RetryEvent) => void } = {},
): PullRequestProvider {
  return providerFor('https://github.example.com/octo-org/fleet.git', {
    baseUrl: `${forge.server.url}/api/v3`,
    token: forge.token,
    retry: { retries: options.retries ?? 3, minDelayMs: 5, maxDelayMs: 20 },
    onRetry: options.onRetry,
  });
}

describe('GitHub provider (recorded GitHub API exchanges)', () => {
  it('is chosen from a GitHub Enterprise URL and sends the token only in the Authorization header', async () => {
    const github = provider();
    expect(github).toBeInstanceOf(GitHubProvider);
    expect(github.kind).toBe('github');
    expect(github.repository).toBe('octo-org/fleet');
    expect(github.baseUrl).toBe(`${forge.server.url}/api/v3`);
    play('get-open');
    await github.get({ number: 42 });
    const [sent] = forge.server.received;
    expect(sent?.headers.authorization).toBe(`token ${forge.token}`);
    expect(sent?.path).not.toContain(forge.token);
    expect(String(sent?.headers['user-agent'])).toMatch(/^libgitops/);
  });

  it('opens a draft pull request with labels, assignees and a milestone found on the second page', async () => {
    play('create');
    const pr = await provider().createOrFind({
      ...request,
      labels: ['user/bot', 'actuator/libgitops', 'kind/status-update'],
      assignees: ['alice', 'bob'],
      milestone: 'v1.2',
      draft: true,
    });
    expect(pr).toMatchObject({
      provider: 'github',
      repository: 'octo-org/fleet',
      number: 42,
      created: true,
      url: 'https://github.example.com/octo-org/fleet/pull/42',
      title: 'Update Car speed',
      description: 'Set the speed of car-a to 120.',
      head: 'car-update-1a2b',
      base: 'main',
      headSha: HEAD_SHA,
      state: 'open',
      draft: true,
      labels: ['user/bot', 'actuator/libgitops', 'kind/status-update'],
      assignees: ['alice', 'bob'],
      milestone: 'v1.2',
    });
    expect(pr.mergeCommit).toBeUndefined();
    expect(pr.autoMerge).toBeUndefined();
    expect(forge.server.received.map((r) => r.method)).toEqual(['GET', 'GET', 'GET', 'POST', 'PATCH']);
  });

  it('finds the open pull request for the same branch instead of opening a second one', async () => {
    play('find-existing');
    const pr = await provider().createOrFind({
      ...request,
      labels: ['user/bot', 'kind/status-update'],
      assignees: ['alice'],
      milestone: 'v1.2',
    });
    expect(pr).toMatchObject({ number: 42, created: false, state: 'open', milestone: 'v1.2' });
    // Everything asked for is already there, so nothing is written.
    expect(forge.server.received.map((r) => r.method)).toEqual(['GET', 'GET']);
  });

  it('reads an open pull request without taking its test-merge commit for a merge commit', async () => {
    play('get-open');
    const pr = await provider().get({ number: 42 });
    expect(pr).toMatchObject({ state: 'open', draft: false, headSha: HEAD_SHA });
    expect(pr.mergeCommit).toBeUndefined();
  });

  it('merges with a method and an expected head, reads the merge commit and deletes the branch', async () => {
    play('merge');
    const pr = await provider().merge(
      { number: 42 },
      { method: 'squash', sha: HEAD_SHA, deleteBranch: true },
    );
    expect(pr).toMatchObject({ state: 'merged', mergeCommit: MERGED_SHA, head: 'car-update-1a2b' });
  });

  it('treats a repeated merge of a merged pull request as done', async () => {
    play('merge-repeated');
    const pr = await provider().merge({ number: 42 });
    expect(pr.state).toBe('merged');
  });

  it('reports a merge blocked by branch protection as MethodNotAllowed, saying what to fix', async () => {
    play('merge-blocked');
    const err = await failure(provider().merge({ number: 42 }));
    expect(err.code).toBe(ErrorCodes.MethodNotAllowed);
    expect(err.message).toContain('Required status check "ci/test" is expected.');
    expect(err.message).toMatch(/branch protection, required checks/);
    expect(err.details).toMatchObject({ forge: 'github', status: 405, repository: 'octo-org/fleet' });
  });

  it('reports a head that moved before the merge as Conflict', async () => {
    play('merge-head-moved');
    const err = await failure(
      provider().merge({ number: 42 }, { sha: '3a0f86fb8db8eea7ccbb9a95f325ddbedfb25e15' }),
    );
    expect(err.code).toBe(ErrorCodes.Conflict);
    expect(err.message).toMatch(/head branch moved/);
  });

  it('reports a bad token as Unauthorized naming GITHUB_TOKEN, without the token', async () => {
    play('bad-token');
    const err = await failure(provider().find('car-update-1a2b', 'main'));
    expect(err.code).toBe(ErrorCodes.Unauthorized);
    expect(err.message).toContain('Bad credentials');
    expect(err.message).toContain('GITHUB_TOKEN');
    expect(err.details.status).toBe(401);
  });

  it('reports a missing repository as NotFound, mentioning private repositories', async () => {
    play('missing-repo');
    const err = await failure(provider().get({ repository: 'octo-org/missing', number: 42 }));
    expect(err.code).toBe(ErrorCodes.NotFound);
    expect(err.message).toContain('octo-org/missing');
    expect(err.message).toMatch(/private/);
  });

  it('reports a token without write access as Forbidden with the scopes it needs', async () => {
    play('forbidden');
    const err = await failure(provider().createOrFind({ ...request, repository: 'octo-org/fleet' }));
    expect(err.code).toBe(ErrorCodes.Forbidden);
    expect(err.message).toContain('"repo" scope');
  });

  it('retries 503 and 502 with backoff and then succeeds', async () => {
    play('retry-5xx');
    const events: RetryEvent[] = [];
    const pr = await provider({ onRetry: (e) => events.push(e) }).get({ number: 42 });
    expect(pr.number).toBe(42);
    expect(events.map((e) => [e.attempt, e.status, e.serverRequested])).toEqual([
      [1, 503, false],
      [2, 502, false],
    ]);
    for (const e of events) expect(e.delayMs).toBeLessThanOrEqual(20);
  });

  it('waits as long as Retry-After says before retrying a 429', async () => {
    play('retry-after');
    const events: RetryEvent[] = [];
    await provider({ onRetry: (e) => events.push(e) }).get({ number: 42 });
    expect(events).toMatchObject([{ status: 429, delayMs: 1000, serverRequested: true }]);
    const [first, second] = forge.server.received;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('waits for the rate-limit reset when a 403 says no requests remain', async () => {
    play('rate-limit-reset');
    const events: RetryEvent[] = [];
    await provider({ onRetry: (e) => events.push(e) }).get({ number: 42 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ status: 403, serverRequested: true });
    expect(events[0]?.delayMs).toBeLessThanOrEqual(1000);
  });

  it('does not sit out an hour-long rate limit: TooManyRequests with the wait in the details', async () => {
    play('rate-limit-too-long');
    const err = await failure(provider().get({ number: 42 }));
    expect(err.code).toBe(ErrorCodes.TooManyRequests);
    expect(err.details.retryAfterSeconds).toBe(3600);
    expect(forge.server.received).toHaveLength(1);
  });

  it('gives up after the configured retries with ServiceUnavailable', async () => {
    play('retries-exhausted');
    const err = await failure(provider({ retries: 2 }).get({ number: 42 }));
    expect(err.code).toBe(ErrorCodes.ServiceUnavailable);
    expect(forge.server.received).toHaveLength(3);
  });

  it('uses the pull request someone else opened between the look and the create', async () => {
    play('create-race');
    const pr = await provider().createOrFind(request);
    expect(pr).toMatchObject({ number: 42, created: false });
  });

  it('refuses an unknown milestone before creating anything', async () => {
    play('milestone-missing');
    const err = await failure(provider().createOrFind({ ...request, milestone: 'v9' }));
    expect(err.code).toBe(ErrorCodes.NotFound);
    expect(err.message).toContain('milestone "v9"');
    expect(forge.server.received.every((r) => r.method === 'GET')).toBe(true);
  });

  it('enables auto-merge through GraphQL', async () => {
    play('auto-merge');
    const pr = await provider().createOrFind({ ...request, autoMerge: true, mergeMethod: 'squash' });
    expect(pr.autoMerge).toEqual({ status: 'enabled' });
  });

  it('merges at once when GitHub refuses auto-merge because nothing is pending', async () => {
    play('auto-merge-clean');
    const pr = await provider().createOrFind({ ...request, autoMerge: true });
    expect(pr.autoMerge).toEqual({ status: 'merged' });
    expect(pr).toMatchObject({ created: true, state: 'merged', mergeCommit: MERGED_SHA });
  });

  it('returns the pull request with a failed auto-merge when the repository does not allow it', async () => {
    play('auto-merge-disabled');
    const pr = await provider().createOrFind({ ...request, autoMerge: true });
    expect(pr.number).toBe(42);
    expect(pr.autoMerge?.status).toBe('failed');
    const error = pr.autoMerge?.status === 'failed' ? pr.autoMerge.error : undefined;
    expect(error?.code).toBe(ErrorCodes.MethodNotAllowed);
    expect(error?.message).toContain('Allow auto-merge');
  });

  it('says false when deleting a branch that is already gone', async () => {
    play('delete-missing-branch');
    expect(await provider().deleteBranch('car-update-1a2b')).toBe(false);
  });

  it('closes a pull request', async () => {
    play('close');
    expect((await provider().close({ number: 42 })).state).toBe('closed');
  });

  it('refuses a branch name git would read as an option before any request', async () => {
    const err = await failure(provider().createOrFind({ ...request, head: '--upload-pack=evil' }));
    expect(err.code).toBe(ErrorCodes.Invalid);
    expect(forge.server.received).toHaveLength(0);
  });

  it('refuses a repository of another host', async () => {
    const err = await failure(provider().get({ repository: 'https://gitlab.com/octo-org/fleet', number: 1 }));
    expect(err.code).toBe(ErrorCodes.Invalid);
    expect(err.message).toContain('gitlab.com');
  });

  it('reports an unreachable server as Unreachable after retrying', async () => {
    const closed = await startReplayServer();
    const url = closed.url;
    await closed.close();
    const events: RetryEvent[] = [];
    const github = providerFor('https://github.example.com/octo-org/fleet', {
      baseUrl: `${url}/api/v3`,
      token: forge.token,
      retry: { retries: 2, minDelayMs: 5, maxDelayMs: 10 },
      onRetry: (e) => events.push(e),
    });
    const err = await failure(github.get({ number: 1 }));
    expect(err.code).toBe(ErrorCodes.Unreachable);
    expect(err.message).toContain(url);
    expect(events).toHaveLength(2);
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await failure(provider().get({ number: 42 }, { signal: controller.signal }));
    expect(err.code).toBe(ErrorCodes.Aborted);
    expect(forge.server.received).toHaveLength(0);
  });
});
