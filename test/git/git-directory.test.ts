import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { GitDirectory } from '../../src/git/index.js';
import type {
  GitDirectoryEvent,
  GitDirectoryOptions,
  RevisionEvent,
  StateEvent,
} from '../../src/git/index.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';
import { pushCommit as pushToServer, startGitServer } from '../support/git-server/index.js';
import type { GitServer } from '../support/git-server/index.js';
import { commit, git, makeRemote, pushCommit, removeTempDirs, tempDir } from './helpers.js';

const followers: GitDirectory[] = [];
const servers: GitServer[] = [];

function follow(options: GitDirectoryOptions): GitDirectory {
  const directory = new GitDirectory({ interval: 0, ...options });
  followers.push(directory);
  return directory;
}

afterEach(async () => {
  await Promise.all(followers.splice(0).map((d) => d.close()));
});
afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  removeTempDirs();
});

/** The next event that matches, or a failure naming what never came (a guard, not a timing assertion). */
async function nextEvent<T extends GitDirectoryEvent>(
  events: AsyncIterator<GitDirectoryEvent>,
  match: (event: GitDirectoryEvent) => event is T,
  what: string,
  waitMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no ${what} event arrived`);
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      events.next(),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), left))),
    ]);
    clearTimeout(timer);
    if (result === 'timeout') throw new Error(`no ${what} event arrived`);
    if (result.done === true) throw new Error(`the event stream ended before a ${what} event`);
    if (match(result.value)) return result.value;
  }
}

const isRevision = (e: GitDirectoryEvent): e is RevisionEvent => e.type === 'revision';
const isState =
  (state: StateEvent['state']) =>
  (e: GitDirectoryEvent): e is StateEvent =>
    e.type === 'state' && e.state === state;

describe('GitDirectory over a local remote', () => {
  it('clones the branch and announces the first revision with every file', async () => {
    const remote = makeRemote({ 'apps/a.yaml': 'a: 1\n', 'apps/b.yaml': 'b: 1\n' });
    const directory = follow({ url: remote.bare });
    const events = directory.events();
    expect(directory.state).toBe('idle');
    expect(await directory.start()).toBe(remote.first);
    const first = await nextEvent(events, isRevision, 'first revision');
    expect(first).toMatchObject({ from: undefined, to: remote.first, forced: false });
    expect(first.changes.map((c) => `${c.status} ${c.path}`)).toEqual(['A apps/a.yaml', 'A apps/b.yaml']);
    expect(directory.state).toBe('ready');
    expect(directory.revision).toBe(remote.first);
    expect((await directory.readFile('apps/a.yaml')).toString()).toBe('a: 1\n');
    expect((await directory.readTree('apps')).map((e) => e.path)).toEqual(['apps/a.yaml', 'apps/b.yaml']);
    expect(directory.git.bare).toBe(true);
  });

  it('announces a new commit with its changed paths when sync() is called', async () => {
    const remote = makeRemote({ 'a.yaml': 'a: 1\n', 'b.yaml': 'b: 1\n' });
    const directory = follow({ url: remote.bare });
    await directory.start();
    const seen: RevisionEvent[] = [];
    directory.on('revision', (e) => seen.push(e));
    const second = pushCommit(remote, { 'a.yaml': 'a: 2\n', 'b.yaml': null, 'c.yaml': 'c: 1\n' });
    expect(await directory.sync()).toBe(second);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ from: remote.first, to: second, forced: false });
    expect(seen[0]?.changes.map((c) => `${c.status} ${c.path}`)).toEqual([
      'M a.yaml',
      'D b.yaml',
      'A c.yaml',
    ]);
    expect((await directory.readFile('a.yaml')).toString()).toBe('a: 2\n');
    // Old revisions stay readable.
    expect((await directory.readFile('b.yaml', remote.first)).toString()).toBe('b: 1\n');
    // Nothing new: no event.
    expect(await directory.sync()).toBe(second);
    expect(seen).toHaveLength(1);
  });

  it('moves to the new history after a force-push and says so', async () => {
    const remote = makeRemote({ 'a.yaml': 'a: 1\n' });
    const second = pushCommit(remote, { 'a.yaml': 'a: 2\n' });
    const directory = follow({ url: remote.bare });
    await directory.start();
    git(remote.work, 'reset', '--quiet', '--hard', remote.first);
    const rewritten = commit(remote.work, { 'a.yaml': 'a: rewritten\n' }, 'rewritten');
    git(remote.work, 'push', '--quiet', '--force', 'origin', 'HEAD:refs/heads/main');
    const seen: RevisionEvent[] = [];
    directory.on('revision', (e) => seen.push(e));
    expect(await directory.sync()).toBe(rewritten);
    expect(seen).toEqual([
      {
        type: 'revision',
        from: second,
        to: rewritten,
        forced: true,
        changes: [expect.objectContaining({ status: 'M', path: 'a.yaml' })],
      },
    ]);
    expect((await directory.readFile('a.yaml')).toString()).toBe('a: rewritten\n');
  });

  it('survives a deleted branch: error state, last revision served, recovers when it returns', async () => {
    const remote = makeRemote({ 'a.yaml': 'a: 1\n' });
    const directory = follow({ url: remote.bare });
    await directory.start();
    const states: StateEvent[] = [];
    directory.on('state', (e) => states.push(e));
    git(remote.bare, 'update-ref', '-d', 'refs/heads/main');

    const error = await directory.sync().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitOpsError);
    expect((error as GitOpsError).code).toBe(ErrorCodes.NotFound);
    expect((error as GitOpsError).message).toContain('branch main does not exist');
    expect(directory.state).toBe('error');
    expect(directory.lastError?.code).toBe(ErrorCodes.NotFound);
    expect(states.at(-1)).toMatchObject({ state: 'error', error: { code: ErrorCodes.NotFound } });
    expect(directory.revision).toBe(remote.first);
    expect((await directory.readFile('a.yaml')).toString()).toBe('a: 1\n');

    const back = pushCommit(remote, { 'a.yaml': 'a: 2\n' });
    expect(await directory.sync()).toBe(back);
    expect(directory.state).toBe('ready');
    expect(directory.lastError).toBeUndefined();
    expect(states.at(-1)).toEqual({ type: 'state', state: 'ready' });
  });

  it('fetches on its own timer, with jitter', async () => {
    const remote = makeRemote({ 'a.yaml': 'a: 1\n' });
    const directory = follow({ url: remote.bare, interval: 50, jitter: 0.5 });
    await directory.start();
    const events = directory.events();
    const second = pushCommit(remote, { 'a.yaml': 'a: 2\n' });
    const event = await nextEvent(events, isRevision, 'timer-driven revision');
    expect(event).toMatchObject({ from: remote.first, to: second, forced: false });
    const delays = Array.from({ length: 200 }, () => directory.nextDelay());
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(25);
    expect(Math.max(...delays)).toBeLessThanOrEqual(75);
    expect(new Set(delays).size).toBeGreaterThan(5);
  });

  it('serves any number of subscribers, and a throwing listener harms no one', async () => {
    const remote = makeRemote({ 'a.yaml': 'a: 1\n' });
    const directory = follow({ url: remote.bare });
    await directory.start();
    const iterators = [directory.events(), directory.events()];
    const heard: string[] = [];
    directory.on('revision', () => {
      throw new Error('a broken listener');
    });
    directory.on('revision', (e) => heard.push(e.to));
    const second = pushCommit(remote, { 'a.yaml': 'a: 2\n' });
    await directory.sync();
    for (const events of iterators) {
      expect((await nextEvent(events, isRevision, 'revision')).to).toBe(second);
    }
    expect(heard).toEqual([second]);
    expect(directory.state).toBe('ready');
  });

  it('coalesces concurrent sync() calls and still sees a push made before each call', async () => {
    const remote = makeRemote({ 'a.yaml': 'a: 1\n' });
    const directory = follow({ url: remote.bare });
    await directory.start();
    const firstCalls = [directory.sync(), directory.sync()];
    const second = pushCommit(remote, { 'a.yaml': 'a: 2\n' });
    const later = [directory.sync(), directory.sync(), directory.sync()];
    const results = await Promise.all([...firstCalls, ...later]);
    for (const result of results.slice(2)) expect(result).toBe(second);
    expect(directory.revision).toBe(second);
  });

  it('reuses a clone left in its folder by an earlier run', async () => {
    const remote = makeRemote({ 'a.yaml': 'a: 1\n' });
    const dir = join(tempDir(), 'clone.git');
    const first = follow({ url: remote.bare, dir });
    await first.start();
    await first.close();
    expect(existsSync(join(dir, 'HEAD'))).toBe(true);
    const second = pushCommit(remote, { 'a.yaml': 'a: 2\n' });
    const again = follow({ url: remote.bare, dir });
    expect(await again.start()).toBe(second);
    expect((await again.readFile('a.yaml')).toString()).toBe('a: 2\n');
  });

  it('closes cleanly: timer stopped, iterators ended, temporary clone removed', async () => {
    const remote = makeRemote({ 'a.yaml': 'a: 1\n' });
    const directory = follow({ url: remote.bare, interval: 20 });
    await directory.start();
    const path = directory.path;
    const events = directory.events();
    await directory.close();
    expect(directory.state).toBe('closed');
    expect(existsSync(path)).toBe(false);
    const drained: GitDirectoryEvent[] = [];
    for await (const event of events) drained.push(event);
    expect(drained).toEqual([{ type: 'state', state: 'closed' }]);
    await expect(directory.sync()).rejects.toMatchObject({ code: ErrorCodes.Aborted });
  });

  it('closes when its signal aborts', async () => {
    const remote = makeRemote({ 'a.yaml': 'a: 1\n' });
    const controller = new AbortController();
    const directory = follow({ url: remote.bare, signal: controller.signal });
    await directory.start();
    const closed = nextEvent(directory.events(), isState('closed'), 'closed');
    controller.abort();
    await closed;
    expect(directory.state).toBe('closed');
  });

  it('refuses bad options and a start on a missing branch', async () => {
    const remote = makeRemote({ 'a.yaml': 'a: 1\n' });
    expect(() => new GitDirectory({ url: '--upload-pack=x' })).toThrow(GitOpsError);
    expect(() => new GitDirectory({ url: remote.bare, branch: '-x' })).toThrow(GitOpsError);
    expect(() => new GitDirectory({ url: remote.bare, interval: -1 })).toThrow(GitOpsError);
    const directory = follow({ url: remote.bare, branch: 'missing' });
    await expect(directory.start()).rejects.toMatchObject({ code: ErrorCodes.NotFound });
    expect(directory.state).toBe('error');
  });
});

describe('GitDirectory over git:// when the server goes away', () => {
  it('degrades, keeps serving the last revision, backs off, and recovers', async () => {
    const server = await startGitServer({ transports: ['git'], files: { 'a.yaml': 'a: 1\n' } });
    servers.push(server);
    const url = server.remote('git').url;
    const directory = follow({ url, interval: 50, jitter: 0, maxBackoff: 400 });
    const start = await directory.start();
    const events = directory.events();

    await server.stop();
    const degraded = await nextEvent(events, isState('degraded'), 'degraded state');
    expect(degraded.error?.code).toBe(ErrorCodes.Unreachable);
    expect(directory.revision).toBe(start);
    expect((await directory.readFile('a.yaml')).toString()).toBe('a: 1\n');
    await expect(directory.sync()).rejects.toMatchObject({ code: ErrorCodes.Unreachable });
    // Each failure doubles the wait, up to maxBackoff.
    expect(directory.nextDelay()).toBeGreaterThan(50);
    expect(directory.nextDelay()).toBeLessThanOrEqual(400);

    const next = await pushToServer(server.repo, { files: { 'a.yaml': 'a: 2\n' } });
    await server.restart();
    const event = await nextEvent(events, isRevision, 'revision after recovery');
    expect(event).toMatchObject({ from: start, to: next, forced: false });
    expect(directory.state).toBe('ready');
    expect(directory.nextDelay()).toBe(50);
    expect((await directory.readFile('a.yaml')).toString()).toBe('a: 2\n');
  });
});
