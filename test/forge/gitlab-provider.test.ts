/**
 * The GitLab provider against recorded exchanges that follow GitLab's documented REST API v4
 * (gitlab.com cannot be reached from the test machines), replayed by a real local HTTP server
 * that checks every request the provider sends.
 */
import { describe, expect, it } from 'vitest';
import type { PullRequestProvider, RetryEvent } from '../../src/forge/index.js';
import { GitLabProvider, providerFor } from '../../src/forge/index.js';
import { ErrorCodes } from '../../src/runtime/index.js';
import { sampleRequest, useRecordedForge } from './recorded-forge.js';

const HEAD_SHA = '8e4c1d2f3a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9';
const MERGE_SHA = 'fa1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3';

const forge = useRecordedForge('gitlab.json');
const { play, failure } = forge;
const request = sampleRequest;

function provider(options: { onRetry?: (e: RetryEvent) => void } = {}): PullRequestProvider {
  return providerFor('git@gitlab.example.com:platform/infra/fleet.git', {
    baseUrl: forge.server.url,
    env: { GITLAB_TOKEN: forge.token },
    retry: { retries: 3, minDelayMs: 5, maxDelayMs: 20 },
    onRetry: options.onRetry,
  });
}

describe('GitLab provider (recorded GitLab API exchanges)', () => {
  it('is chosen from an scp-style URL, takes GITLAB_TOKEN and sends it as PRIVATE-TOKEN only', async () => {
    const gitlab = provider();
    expect(gitlab).toBeInstanceOf(GitLabProvider);
    expect(gitlab.repository).toBe('platform/infra/fleet');
    play('merge');
    await gitlab.merge({ number: 5 }, { method: 'squash', sha: HEAD_SHA, deleteBranch: true });
    const [sent] = forge.server.received;
    expect(sent?.headers['private-token']).toBe(forge.token);
    expect(sent?.headers.authorization).toBeUndefined();
    expect(sent?.path).toContain('platform%2Finfra%2Ffleet');
    expect(sent?.path).not.toContain(forge.token);
  });

  it('opens a draft merge request with labels, assignee ids and milestone id, skipping forks on page 1', async () => {
    play('create');
    const mr = await provider().createOrFind({
      ...request,
      labels: ['user/bot', 'actuator/libgitops', 'kind/status-update'],
      assignees: ['alice'],
      milestone: 'v1.2',
      draft: true,
      deleteBranchAfterMerge: true,
    });
    expect(mr).toMatchObject({
      provider: 'gitlab',
      repository: 'platform/infra/fleet',
      number: 5,
      created: true,
      url: 'https://gitlab.example.com/platform/infra/fleet/-/merge_requests/5',
      title: 'Draft: Update Car speed',
      head: 'car-update-1a2b',
      base: 'main',
      headSha: HEAD_SHA,
      state: 'open',
      draft: true,
      labels: ['user/bot', 'actuator/libgitops', 'kind/status-update'],
      assignees: ['alice'],
      milestone: 'v1.2',
    });
    expect(mr.mergeCommit).toBeUndefined();
  });

  it('finds the open merge request and adds only the labels it lacks', async () => {
    play('find-existing');
    const mr = await provider().createOrFind({
      ...request,
      labels: ['user/bot', 'actuator/libgitops', 'kind/status-update'],
      assignees: ['alice'],
      milestone: 'v1.2',
    });
    expect(mr).toMatchObject({ number: 5, created: false });
    expect(mr.labels).toEqual(['user/bot', 'actuator/libgitops', 'kind/status-update']);
    expect(forge.server.received.filter((r) => r.method === 'POST')).toEqual([]);
  });

  it('merges and reports the merge commit', async () => {
    play('merge');
    const mr = await provider().merge({ number: 5 }, { method: 'squash', sha: HEAD_SHA, deleteBranch: true });
    expect(mr).toMatchObject({ state: 'merged', mergeCommit: MERGE_SHA });
  });

  it('asks again while GitLab is still checking mergeability', async () => {
    play('merge-checking');
    const mr = await provider().merge({ number: 5 });
    expect(mr.state).toBe('merged');
  });

  it('reports a merge blocked by a required pipeline as MethodNotAllowed', async () => {
    play('merge-blocked');
    const err = await failure(provider().merge({ number: 5 }));
    expect(err.code).toBe(ErrorCodes.MethodNotAllowed);
    expect(err.message).toMatch(/required checks/);
    expect(err.details).toMatchObject({ forge: 'gitlab', status: 405 });
  });

  it('reports conflicts (406) as MethodNotAllowed naming conflicts', async () => {
    play('merge-conflict');
    const err = await failure(provider().merge({ number: 5 }));
    expect(err.code).toBe(ErrorCodes.MethodNotAllowed);
    expect(err.message).toContain('Branch cannot be merged');
    expect(err.message).toContain('conflicts');
  });

  it('refuses rebase: GitLab has no per-merge rebase', async () => {
    const err = await failure(provider().merge({ number: 5 }, { method: 'rebase' }));
    expect(err.code).toBe(ErrorCodes.Invalid);
  });

  it('reports a bad token as Unauthorized naming GITLAB_TOKEN and the api scope', async () => {
    play('bad-token');
    const err = await failure(provider().get({ number: 5 }));
    expect(err.code).toBe(ErrorCodes.Unauthorized);
    expect(err.message).toContain('GITLAB_TOKEN');
    expect(err.message).toContain('"api" scope');
  });

  it('reports a missing project as NotFound', async () => {
    play('missing-project');
    const err = await failure(provider().get({ repository: 'platform/infra/missing', number: 5 }));
    expect(err.code).toBe(ErrorCodes.NotFound);
    expect(err.message).toContain('404 Project Not Found');
  });

  it('refuses an unknown assignee before creating anything', async () => {
    play('unknown-user');
    const err = await failure(provider().createOrFind({ ...request, assignees: ['mallory'] }));
    expect(err.code).toBe(ErrorCodes.NotFound);
    expect(err.message).toContain('mallory');
    expect(forge.server.received.every((r) => r.method === 'GET')).toBe(true);
  });

  it('uses the merge request someone else opened between the look and the create', async () => {
    play('create-race');
    const mr = await provider().createOrFind(request);
    expect(mr).toMatchObject({ number: 5, created: false, state: 'open' });
  });

  it('sets auto-merge (both the new and the pre-17.11 parameter)', async () => {
    play('auto-merge');
    const mr = await provider().createOrFind({ ...request, autoMerge: true, deleteBranchAfterMerge: true });
    expect(mr.autoMerge).toEqual({ status: 'enabled' });
  });

  it('honours Retry-After on 429', async () => {
    play('retry-after');
    const events: RetryEvent[] = [];
    await provider({ onRetry: (e) => events.push(e) }).get({ number: 5 });
    expect(events).toMatchObject([{ status: 429, delayMs: 1000, serverRequested: true }]);
    const [first, second] = forge.server.received;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('deletes a branch, says false when it is gone, and Forbidden when it is protected', async () => {
    play('delete-branch');
    expect(await provider().deleteBranch('car-update-1a2b')).toBe(true);
    play('delete-missing-branch');
    expect(await provider().deleteBranch('car-update-1a2b')).toBe(false);
    play('delete-protected-branch');
    const err = await failure(provider().deleteBranch('main'));
    expect(err.code).toBe(ErrorCodes.Forbidden);
    expect(err.message).toMatch(/protected/);
  });

  it('closes a merge request', async () => {
    play('close');
    expect((await provider().close({ number: 5 })).state).toBe('closed');
  });
});
