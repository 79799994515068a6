/**
 * sample-gitops end to end, started as documented: over the SSH and HTTP remotes of the test
 * servers (branches pushed without a forge), and over a real Gitea, where PUT /git/<name> opens
 * a real pull request that, once merged through the API, comes back as a MODIFIED event.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { providerFor } from '../../src/forge/index.js';
import { startForge } from '../support/forge/index.js';
import type { Forge } from '../support/forge/index.js';
import { isolatedGitEnv, pushCommit, startGitServer } from '../support/git-server/index.js';
import type { GitServer, ServedRepo } from '../support/git-server/index.js';
import { startSample, stopAll } from './helpers.js';

const CARS = resolve(import.meta.dirname, '../../examples/cars');

function carFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(CARS)) files[name] = readFileSync(join(CARS, name), 'utf8');
  return files;
}

function git(repo: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, env: isolatedGitEnv(), encoding: 'utf8' }).trim();
}

interface PutAnswer {
  title: string;
  labels: string[];
  branch: string;
  base: string;
  commit: string;
  pullRequest: { url: string; number: number } | null;
}

afterEach(stopAll);

describe('sample-gitops over SSH and HTTP', () => {
  let server: GitServer;
  beforeAll(async () => {
    server = await startGitServer({ transports: ['ssh', 'http'], files: { 'README.md': '# cars\n' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  const setups: Record<
    'ssh' | 'http',
    (repo: ServedRepo) => { args: string[]; env: Record<string, string> }
  > = {
    ssh: (repo) => ({
      args: [
        '--git-url',
        server.remote('ssh', repo).url,
        '--identity-file',
        server.ssh.identityFile,
        '--known-hosts-file',
        server.ssh.knownHostsFile,
      ],
      env: {},
    }),
    http: (repo) => ({
      args: ['--git-url', server.remote('http', repo).url, '--https-username', server.http.username],
      env: { GIT_HTTPS_TOKEN: server.http.password },
    }),
  };

  for (const transport of ['ssh', 'http'] as const) {
    it(`lists Cars, pushes an update branch per PUT, and logs what new commits change (${transport})`, async () => {
      const repo = await server.createRepo(`cars-${transport}`, { files: carFiles() });
      const { args, env } = setups[transport](repo);
      const sample = await startSample(
        'sample-gitops',
        [...args, '--interval', '1', '--pr-provider', 'none'],
        env,
      );
      expect(await sample.request('GET', '/')).toEqual({ status: 200, body: 'Welcome!' });

      const list = await sample.request('GET', '/git/');
      expect(list.status).toBe(200);
      expect((list.body as Array<{ metadata: { name: string } }>).map((c) => c.metadata.name)).toEqual([
        'foo',
        'bar',
        'baz',
      ]);

      const put = await sample.request('PUT', '/git/foo');
      expect(put.status).toBe(200);
      const answer = put.body as PutAnswer;
      expect(answer.branch).toMatch(/^foo-update-[0-9a-f]{8}$/);
      expect(answer).toMatchObject({
        title: 'Update Car speed',
        labels: ['user/bot', 'actuator/libgitops', 'kind/status-update'],
        pullRequest: null,
        base: repo.head,
      });
      expect(git(repo.path, 'rev-parse', `refs/heads/${answer.branch}`)).toBe(answer.commit);
      expect(git(repo.path, 'rev-parse', 'refs/heads/main')).toBe(repo.head);
      const stat = git(repo.path, 'diff', '--numstat', repo.head, answer.commit);
      expect(stat).toBe('2\t2\tfoo.yaml');

      // A colleague's push is fetched within the interval and each changed object is logged.
      const fleet = carFiles()['fleet.yaml'] as string;
      const theirs = await pushCommit(repo, {
        files: { 'fleet.yaml': fleet.replace('engine: V8', 'engine: V6') },
      });
      const logged = await sample.waitForLog(
        (l) => l.event === 'MODIFIED' && l.name === 'bar',
        'MODIFIED bar',
      );
      expect(logged).toMatchObject({ kind: 'Car', namespace: 'fleet', file: 'fleet.yaml', revision: theirs });
      expect(sample.logs.some((l) => l.event !== undefined && l.name === 'baz')).toBe(false);

      expect(await sample.request('PUT', '/git/missing')).toMatchObject({ status: 404 });
      expect(await sample.stop()).toBe(0);
      const everything = JSON.stringify(sample.logs) + sample.stderr();
      expect(everything).not.toContain(server.http.password);
    });
  }
});

describe('sample-gitops with a real Gitea', () => {
  let forge: Forge;
  let token = '';
  beforeAll(async () => {
    forge = await startForge();
    await forge.createUser('alice', 'alice-password-1');
    token = await forge.createToken('alice', 'alice-password-1', 'sample', [
      'write:repository',
      'write:issue',
      'read:user',
    ]);
  }, 40 * 60_000);
  afterAll(async () => {
    await forge?.stop();
  });

  it('opens a real pull request; once it is merged, the Car comes back MODIFIED', async () => {
    const repo = await forge.createRepo('alice', 'cars', { autoInit: true, defaultBranch: 'main' });
    const remote = { transport: 'http' as const, url: repo.cloneUrl, env: forge.gitAuthEnv('alice', token) };
    await pushCommit(remote, { files: carFiles(), message: 'The fleet' });
    const sample = await startSample(
      'sample-gitops',
      [
        '--git-url',
        repo.cloneUrl,
        '--https-username',
        'alice',
        '--interval',
        '1',
        '--pr-provider',
        'gitea',
        '--pr-base-url',
        forge.url,
        '--pr-assignees',
        'alice',
      ],
      { GIT_HTTPS_TOKEN: token, GITEA_TOKEN: token },
    );
    const put = await sample.request('PUT', '/git/foo');
    expect(put.status).toBe(200);
    const answer = put.body as PutAnswer;
    expect(answer.pullRequest?.number).toBeGreaterThan(0);

    const provider = providerFor(repo.cloneUrl, { provider: 'gitea', baseUrl: forge.url, token });
    const pr = await provider.get({ number: answer.pullRequest?.number as number });
    expect(pr).toMatchObject({ head: answer.branch, base: 'main', state: 'open', title: 'Update Car speed' });
    expect(pr.labels.sort()).toEqual(['actuator/libgitops', 'kind/status-update', 'user/bot']);
    expect(pr.assignees).toEqual(['alice']);
    expect(pr.url).toBe(answer.pullRequest?.url);
    // Found again by its branch, not opened twice.
    const again = await provider.find(answer.branch, 'main');
    expect(again?.number).toBe(pr.number);

    const merged = await provider.merge({ number: pr.number });
    expect(merged.state).toBe('merged');
    const event = await sample.waitForLog(
      (l) => l.event === 'MODIFIED' && l.name === 'foo' && l.revision === merged.mergeCommit,
      'MODIFIED foo at the merge commit',
    );
    expect(event).toMatchObject({ origin: 'external', file: 'foo.yaml' });
    const now = await sample.request('GET', '/git/foo');
    expect((now.body as { status: { speed: number } }).status.speed).not.toBe(53.37474583162469);
    expect(await sample.stop()).toBe(0);
    expect(JSON.stringify(sample.logs) + sample.stderr()).not.toContain(token);
  });
});
