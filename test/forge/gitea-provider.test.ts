/**
 * The Gitea provider end to end against a real Gitea: a branch pushed with plain git, a pull
 * request opened with labels, assignees and a milestone, found again, merged through the API,
 * its merge commit read back from the repository, the branch deleted; plus drafts, auto-merge
 * and the errors a person must be able to act on.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect, promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PullRequestProvider } from '../../src/forge/index.js';
import { GiteaProvider, providerFor } from '../../src/forge/index.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';
import type { Forge, ForgeRepo } from '../support/forge/index.js';
import { startForge } from '../support/forge/index.js';

const run = promisify(execFile);

const gitEnv: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Alice',
  GIT_AUTHOR_EMAIL: 'alice@forge.test',
  GIT_COMMITTER_NAME: 'Alice',
  GIT_COMMITTER_EMAIL: 'alice@forge.test',
};

let forge: Forge;
let scratch: string;
let repo: ForgeRepo;
let clone: string;
let aliceToken: string;
let gitea: PullRequestProvider;

async function git(args: string[]): Promise<string> {
  const { stdout } = await run('git', args, {
    cwd: clone,
    env: { ...gitEnv, ...forge.gitAuthEnv('alice', aliceToken) },
  });
  return stdout.trim();
}

/** Commits `files` on a new branch from origin/main and pushes it; returns the commit. */
async function pushBranch(branch: string, files: Record<string, string>): Promise<string> {
  await git(['fetch', '-q', 'origin', 'main']);
  await git(['switch', '-q', '-C', branch, 'origin/main']);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(clone, path, '..'), { recursive: true });
    await writeFile(join(clone, path), content);
    await git(['add', '--', path]);
  }
  await git(['commit', '-q', '-m', `Update ${Object.keys(files).join(', ')}`]);
  await git(['push', '-q', 'origin', branch]);
  return git(['rev-parse', 'HEAD']);
}

async function remoteBranch(branch: string): Promise<string | undefined> {
  const out = await git(['ls-remote', 'origin', `refs/heads/${branch}`]);
  return out === '' ? undefined : out.split('\t')[0];
}

async function failure(promise: Promise<unknown>): Promise<GitOpsError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GitOpsError);
  expect(inspect(err, { depth: Infinity })).not.toContain(aliceToken);
  return err as GitOpsError;
}

const carLabels = ['user/bot', 'actuator/libgitops', 'kind/status-update'];

beforeAll(async () => {
  // A forge that cannot be built or started fails the run here, saying what is missing.
  forge = await startForge();
  scratch = await mkdtemp(join(tmpdir(), 'forge-provider-'));
  await forge.createUser('alice', 'alice-password-1');
  await forge.createUser('bob', 'bob-password-1');
  aliceToken = await forge.createToken('alice', 'alice-password-1', 'gitops', [
    'write:repository',
    'write:issue',
    'read:user',
  ]);
  repo = await forge.createRepo('alice', 'fleet', { autoInit: true, defaultBranch: 'main' });
  // Bob can be assigned only with access to the repository.
  await forge.api.request('PUT', '/repos/alice/fleet/collaborators/bob', { permission: 'write' });
  await forge.api.request('POST', '/repos/alice/fleet/milestones', { title: 'v1.2' });
  // One label exists already; the provider must find it and create the other two.
  await forge.api.request('POST', '/repos/alice/fleet/labels', { name: 'user/bot', color: '#ff0000' });
  clone = join(scratch, 'fleet');
  await run('git', ['clone', '-q', repo.cloneUrl, clone], {
    env: { ...gitEnv, ...forge.gitAuthEnv('alice', aliceToken) },
  });
  // 127.0.0.1 does not say which forge it is: the provider is named explicitly.
  gitea = providerFor(repo.cloneUrl, { provider: 'gitea', env: { GITEA_TOKEN: aliceToken } });
}, 40 * 60_000);

afterAll(async () => {
  await forge?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('Gitea provider against a real Gitea', () => {
  let number = 0;
  let headSha = '';

  it('is a Gitea provider for the repository, talking to the forge it was cloned from', () => {
    expect(gitea).toBeInstanceOf(GiteaProvider);
    expect(gitea.repository).toBe('alice/fleet');
    expect(gitea.baseUrl).toBe(forge.url);
  });

  it('opens a pull request from a pushed branch with labels, assignees and a milestone', async () => {
    headSha = await pushBranch('car-update-1a2b', {
      'cars/car-a.yaml': 'kind: Car\nmetadata:\n  name: car-a\nspec:\n  speed: 120\n',
    });
    const pr = await gitea.createOrFind({
      head: 'car-update-1a2b',
      base: 'main',
      title: 'Update Car speed',
      description: 'Set the speed of car-a to 120.',
      labels: carLabels,
      assignees: ['alice', 'bob'],
      milestone: 'v1.2',
    });
    number = pr.number;
    expect(pr).toMatchObject({
      provider: 'gitea',
      repository: 'alice/fleet',
      created: true,
      title: 'Update Car speed',
      description: 'Set the speed of car-a to 120.',
      head: 'car-update-1a2b',
      base: 'main',
      headSha,
      state: 'open',
      draft: false,
      milestone: 'v1.2',
    });
    expect(pr.url).toBe(`${forge.url}/alice/fleet/pulls/${pr.number}`);
    expect([...pr.labels].sort()).toEqual([...carLabels].sort());
    expect([...pr.assignees].sort()).toEqual(['alice', 'bob']);
    expect(pr.mergeCommit).toBeUndefined();

    // Gitea itself agrees, read through its own API rather than the provider.
    const raw = await forge.getPullRequest('alice', 'fleet', pr.number);
    expect(raw).toMatchObject({ title: 'Update Car speed', state: 'open', merged: false });
    expect(raw.head).toMatchObject({ ref: 'car-update-1a2b', sha: headSha });
    const labels = await forge.api.request<{ name: string }[]>(
      'GET',
      `/repos/alice/fleet/issues/${pr.number}/labels`,
    );
    expect(labels.map((l) => l.name).sort()).toEqual([...carLabels].sort());
    const repoLabels = await forge.api.request<{ name: string }[]>('GET', '/repos/alice/fleet/labels');
    expect(repoLabels.map((l) => l.name).sort()).toEqual([...carLabels].sort());
  });

  it('finds the same pull request again instead of opening a duplicate', async () => {
    const again = await gitea.createOrFind({
      head: 'car-update-1a2b',
      base: 'main',
      title: 'Update Car speed',
      labels: carLabels,
      assignees: ['alice'],
      milestone: 'v1.2',
    });
    expect(again).toMatchObject({ number, created: false });
    expect(await gitea.find('car-update-1a2b', 'main')).toMatchObject({ number });
    expect(await gitea.find('car-update-1a2b', 'other-base')).toBeUndefined();
    const open = await forge.listPullRequests('alice', 'fleet', 'open');
    expect(open.map((p) => p.number)).toEqual([number]);
  });

  it('reads the state of the open pull request', async () => {
    expect(await gitea.get({ number })).toMatchObject({ number, state: 'open', headSha });
  });

  it('refuses to merge when the head moved since it was read', async () => {
    const err = await failure(gitea.merge({ number }, { sha: '0'.repeat(40) }));
    expect(err.code).toBe(ErrorCodes.Conflict);
    expect(err.message).toMatch(/head branch moved/);
    expect((await gitea.get({ number })).state).toBe('open');
  });

  it('merges through the API and reports the merge commit that main now points at', async () => {
    const merged = await gitea.merge({ number }, { sha: headSha, commitTitle: 'Merge car speed update' });
    expect(merged.state).toBe('merged');
    expect(merged.mergeCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(await remoteBranch('main')).toBe(merged.mergeCommit);
    await git(['fetch', '-q', 'origin', 'main']);
    expect(await git(['show', 'origin/main:cars/car-a.yaml'])).toContain('speed: 120');
    expect(await git(['rev-list', '--parents', '-n', '1', 'origin/main'])).toContain(headSha);
    expect(await git(['log', '-1', '--format=%s', 'origin/main'])).toBe('Merge car speed update');
    expect(await gitea.get({ number })).toMatchObject({ state: 'merged', mergeCommit: merged.mergeCommit });
  });

  it('treats merging it again as done', async () => {
    expect((await gitea.merge({ number })).state).toBe('merged');
  });

  it('deletes the merged branch, and says false for a branch that is gone', async () => {
    expect(await remoteBranch('car-update-1a2b')).toBe(headSha);
    expect(await gitea.deleteBranch('car-update-1a2b')).toBe(true);
    expect(await remoteBranch('car-update-1a2b')).toBeUndefined();
    expect(await gitea.deleteBranch('car-update-1a2b')).toBe(false);
  });

  it('opens a draft as a work-in-progress title and closes it', async () => {
    await pushBranch('car-update-draft', { 'cars/car-b.yaml': 'kind: Car\nmetadata:\n  name: car-b\n' });
    const draft = await gitea.createOrFind({
      head: 'car-update-draft',
      base: 'main',
      title: 'Add car-b',
      draft: true,
    });
    expect(draft).toMatchObject({ created: true, draft: true, title: 'WIP: Add car-b' });
    const err = await failure(gitea.merge(draft));
    expect(err.code).toBe(ErrorCodes.MethodNotAllowed);
    expect(err.message).toContain('Work in progress');
    expect((await gitea.close(draft)).state).toBe('closed');
  });

  it('schedules an auto-merge that Gitea carries out, deleting the branch', async () => {
    await pushBranch('car-update-auto', { 'cars/car-c.yaml': 'kind: Car\nmetadata:\n  name: car-c\n' });
    const pr = await gitea.createOrFind({
      head: 'car-update-auto',
      base: 'main',
      title: 'Add car-c',
      autoMerge: true,
      deleteBranchAfterMerge: true,
    });
    expect(pr).toMatchObject({ created: true, autoMerge: { status: 'enabled' } });
    // With no required checks, Gitea's queue merges it shortly.
    let merged = await gitea.get(pr);
    for (let i = 0; i < 150 && merged.state !== 'merged'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      merged = await gitea.get(pr);
    }
    expect(merged.state).toBe('merged');
    expect(await remoteBranch('main')).toBe(merged.mergeCommit);
    for (let i = 0; i < 50 && (await remoteBranch('car-update-auto')) !== undefined; i++) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await remoteBranch('car-update-auto')).toBeUndefined();
  });

  it('refuses an unknown milestone before opening anything', async () => {
    await pushBranch('car-update-milestone', { 'cars/car-d.yaml': 'kind: Car\n' });
    const before = (await forge.listPullRequests('alice', 'fleet', 'all')).length;
    const err = await failure(
      gitea.createOrFind({ head: 'car-update-milestone', base: 'main', title: 'x', milestone: 'v9' }),
    );
    expect(err.code).toBe(ErrorCodes.NotFound);
    expect(err.message).toContain('milestone "v9"');
    expect((await forge.listPullRequests('alice', 'fleet', 'all')).length).toBe(before);
  });

  it('reports a revoked token as Unauthorized naming GITEA_TOKEN, never the token', async () => {
    const bad = providerFor(repo.cloneUrl, {
      provider: 'gitea',
      token: 'f'.repeat(40),
      retry: { retries: 0 },
    });
    const err = await failure(bad.get({ number }));
    expect(err.code).toBe(ErrorCodes.Unauthorized);
    expect(err.message).toContain('GITEA_TOKEN');
    expect(err.message).not.toContain('f'.repeat(40));
  });

  it('reports a missing repository as NotFound', async () => {
    const err = await failure(
      gitea.createOrFind({ repository: 'alice/missing', head: 'x', base: 'main', title: 'x' }),
    );
    expect(err.code).toBe(ErrorCodes.NotFound);
    expect(err.message).toContain('alice/missing');
    await expect(gitea.deleteBranch('x', { repository: 'alice/missing' })).rejects.toMatchObject({
      code: ErrorCodes.NotFound,
    });
  });

  it('reports a token that cannot write as Forbidden', async () => {
    const readOnly = await forge.createToken('bob', 'bob-password-1', 'read-only', [
      'read:repository',
      'read:issue',
    ]);
    const bob = new GiteaProvider({ baseUrl: forge.url, token: readOnly, repository: 'alice/fleet' });
    const err = await failure(bob.close({ number }));
    expect(err.code).toBe(ErrorCodes.Forbidden);
    expect(err.message).not.toContain(readOnly);
  });
});
