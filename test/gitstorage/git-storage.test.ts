/**
 * GitStorage reads: objects of the followed revision from git objects, events from revision
 * diffs (only changed files decoded), problems of bad files named with file and commit,
 * force-pushes, time travel, and the real remotes (SSH, HTTP) of the test servers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { Credentials } from '../../src/git/index.js';
import type { RevisionChange } from '../../src/gitstorage/index.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import type { ObjectEvent, StorageEvent } from '../../src/storage/index.js';
import {
  createBareRepo,
  deleteBranch,
  forcePush,
  pushCommit,
  startGitServer,
} from '../support/git-server/index.js';
import type { GitServer } from '../support/git-server/index.js';
import { carFiles, carKey, carScheme, carYaml, closeAll, collect, gitIn, openStorage } from './helpers.js';

afterEach(closeAll);

const isObjectEvent = (e: StorageEvent): e is ObjectEvent => e.type !== 'ERROR';
const names = (objects: readonly KubeObject[]): string[] => objects.map((o) => o.metadata.name as string);
const speedOf = (o: KubeObject): unknown => (o.status as { speed?: unknown } | undefined)?.speed;

describe('GitStorage reads', () => {
  it('serves the objects of the followed branch, read from git objects', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 }, scheme: carScheme() });
    expect(storage.revision).toBe(repo.head);
    expect(names(await storage.list({ kind: 'Car' }))).toEqual(['foo', 'bar', 'baz']);
    const foo = await storage.get(carKey('foo'));
    expect(speedOf(foo)).toBe(53.37474583162469);
    expect(foo.metadata.resourceVersion).toMatch(/^[0-9a-f]{20}$/);
    expect(await storage.locate(carKey('baz', 'fleet'))).toEqual({ path: 'fleet.yaml', document: 2 });
    expect(await storage.count({ namespace: 'fleet' })).toBe(2);
    expect((await storage.find({ kind: 'Car', name: 'bar' })).metadata.namespace).toBe('fleet');
    expect(storage.problems()).toEqual([]);
    const missing = await storage.get(carKey('nope')).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(GitOpsError);
    expect((missing as GitOpsError).code).toBe(ErrorCodes.NotFound);
  });

  it('applies a pull as its diff: of 300 files, only the 3 written by the pull are decoded again', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 300; i++) files[`cars/car-${i}.yaml`] = carYaml(`car-${i}`, i);
    const repo = await createBareRepo({ files });
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 } });
    expect(await storage.count()).toBe(300);
    const readAtOpen = storage.filesRead;
    expect(readAtOpen).toBe(300);
    const seen = collect(storage);
    const revisions: RevisionChange[] = [];
    storage.onRevision((change) => revisions.push(change));

    const commit = await pushCommit(repo, {
      files: {
        'cars/car-1.yaml': carYaml('car-1', 1001),
        'cars/car-3.yaml': carYaml('car-3', 1003),
        'cars/new.yaml': carYaml('new', 7),
      },
      delete: ['cars/car-2.yaml'],
      message: 'a colleague changes four cars',
    });
    expect(await storage.sync()).toBe(commit);
    expect(storage.filesRead - readAtOpen).toBe(3);
    const summary = seen.events
      .filter(isObjectEvent)
      .map((e) => `${e.type} ${e.object.metadata.name} ${e.origin}`);
    expect(summary.sort()).toEqual([
      'ADDED new external',
      'DELETED car-2 external',
      'MODIFIED car-1 external',
      'MODIFIED car-3 external',
    ]);
    const modified = seen.events.find(
      (e) => e.type === 'MODIFIED' && e.object.metadata.name === 'car-1',
    ) as ObjectEvent;
    expect(speedOf(modified.previous as KubeObject)).toBe(1);
    expect(speedOf(modified.object)).toBe(1001);
    expect(revisions).toEqual([
      {
        from: repo.head,
        to: commit,
        forced: false,
        paths: ['cars/car-1.yaml', 'cars/car-2.yaml', 'cars/car-3.yaml', 'cars/new.yaml'],
      },
    ]);
    expect(await storage.count()).toBe(300);
  });

  it('moves a file without events for its unchanged objects', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 } });
    const seen = collect(storage);
    await pushCommit(repo, {
      files: { 'garage/foo.yaml': carFiles()['foo.yaml'] as string },
      delete: ['foo.yaml'],
    });
    await storage.sync();
    expect(seen.events).toEqual([]);
    expect((await storage.locate(carKey('foo')))?.path).toBe('garage/foo.yaml');
  });

  it('names the file and the commit of a bad file someone else committed, and keeps serving the rest', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 }, scheme: carScheme() });
    const seen = collect(storage);
    const bad = await pushCommit(repo, {
      files: { 'broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n' },
      message: 'oops',
    });
    await storage.sync();
    const event = await seen.until((e) => e.type === 'ERROR', 'error');
    if (event.type !== 'ERROR') throw new Error('unreachable');
    expect(event.path).toBe('broken.yaml');
    expect(event.error.details.file).toBe('broken.yaml');
    expect(event.error.details.revision).toBe(bad);
    expect(event.error.message).toContain(bad.slice(0, 12));
    expect(event.error.format()).toMatch(/^broken\.yaml:\d+/);
    expect(names(await storage.list({ kind: 'Car' }))).toHaveLength(3);
    expect(storage.problems().map((p) => p.details.file)).toEqual(['broken.yaml']);

    // Someone fixes the file: the problem is gone and the object appears.
    await pushCommit(repo, {
      files: { 'broken.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fixed\n' },
    });
    await storage.sync();
    expect(storage.problems()).toEqual([]);
    expect((await storage.get({ group: '', kind: 'ConfigMap', name: 'fixed' })).kind).toBe('ConfigMap');
  });

  it('follows a force-push to the new history, says so, and drops what the old history had', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    await pushCommit(repo, { files: { 'extra.yaml': carYaml('extra') } });
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 } });
    expect(await storage.exists(carKey('extra'))).toBe(true);
    const seen = collect(storage);
    const revisions: RevisionChange[] = [];
    storage.onRevision((change) => revisions.push(change));
    const rewritten = await forcePush(repo, {
      files: { 'other.yaml': carYaml('other') },
      message: 'rewrite',
    });
    expect(await storage.sync()).toBe(rewritten);
    expect(revisions.at(-1)?.forced).toBe(true);
    const summary = seen.events.filter(isObjectEvent).map((e) => `${e.type} ${e.object.metadata.name}`);
    expect(summary.sort()).toEqual(['ADDED other', 'DELETED extra']);
    expect(await storage.exists(carKey('extra'))).toBe(false);
  });

  it('reads an object at any revision and lists the versions of it', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const first = repo.head;
    const fleet = carFiles()['fleet.yaml'] as string;
    const fast = await pushCommit(repo, {
      files: {
        'foo.yaml': (carFiles()['foo.yaml'] as string).replace('speed: 53.37474583162469', 'speed: 90'),
      },
      message: 'faster',
    });
    // A commit that changes another object of the same file is not a version of baz.
    await pushCommit(repo, {
      files: { 'fleet.yaml': fleet.replace('engine: V8', 'engine: V6') },
      message: 'bar only',
    });
    const bazChanged = await pushCommit(repo, {
      files: { 'fleet.yaml': fleet.replace('engine: V8', 'engine: V6').replace('Tesla', 'Polestar') },
      message: 'baz rebranded',
    });
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 }, scheme: carScheme() });

    expect(speedOf(await storage.getAt(carKey('foo'), first))).toBe(53.37474583162469);
    expect(speedOf(await storage.getAt(carKey('foo'), fast))).toBe(90);
    expect(speedOf(await storage.getAt(carKey('foo'), 'main~1'))).toBe(90);
    const before = await storage.getAt(carKey('extra'), first).catch((e: unknown) => e);
    expect((before as GitOpsError).code).toBe(ErrorCodes.NotFound);

    const baz = await storage.history(carKey('baz', 'fleet'));
    expect(baz.map((v) => v.commit.oid)).toEqual([bazChanged, first]);
    expect(baz.map((v) => (v.object?.spec as { brand: string }).brand)).toEqual(['Polestar', 'Tesla']);
    const foo = await storage.history(carKey('foo'));
    expect(foo.map((v) => v.commit.subject)).toEqual(['faster', 'Initial commit']);
  });

  it('keeps serving its last revision, in a clear error state, when the branch is deleted', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 } });
    await pushCommit(repo, { branch: 'keep', files: { 'x.yaml': carYaml('x') } });
    gitIn(repo.path, 'symbolic-ref', 'HEAD', 'refs/heads/keep');
    await deleteBranch(repo, 'main');
    const error = await storage.sync().catch((e: unknown) => e);
    expect((error as GitOpsError).code).toBe(ErrorCodes.NotFound);
    expect((error as GitOpsError).message).toContain('branch main does not exist');
    expect(storage.state).toBe('error');
    expect(storage.revision).toBe(repo.head);
    expect(await storage.count({ kind: 'Car' })).toBe(3);
  });

  it('serves only a folder of the repository when given a subdirectory', async () => {
    const repo = await createBareRepo({
      files: { 'cars/foo.yaml': carYaml('foo'), 'other/bar.yaml': carYaml('bar'), 'README.md': '# x\n' },
    });
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 }, subdirectory: 'cars' });
    expect(names(await storage.list())).toEqual(['foo']);
    expect((await storage.locate(carKey('foo')))?.path).toBe('foo.yaml');
    const seen = collect(storage);
    await pushCommit(repo, { files: { 'other/baz.yaml': carYaml('baz'), 'cars/qux.yaml': carYaml('qux') } });
    await storage.sync();
    expect(
      seen.events.filter(isObjectEvent).map((e) => `${e.type} ${e.object.metadata.name} ${e.path}`),
    ).toEqual(['ADDED qux qux.yaml']);
  });

  it('filters watched events by list options, and ends iterators on close', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 } });
    const fleetOnly = storage.watch({ namespace: 'fleet' });
    await pushCommit(repo, {
      files: {
        'foo.yaml': carYaml('foo', 5),
        'fleet.yaml': (carFiles()['fleet.yaml'] as string).replace('V8', 'V12'),
      },
    });
    await storage.sync();
    const first = await fleetOnly.next();
    expect(first.done).toBe(false);
    expect(
      isObjectEvent(first.value as StorageEvent) && (first.value as ObjectEvent).object.metadata.name,
    ).toBe('bar');
    await storage.close();
    expect((await fleetOnly.next()).done).toBe(true);
  });
});

describe('GitStorage over the real remotes', () => {
  let server: GitServer;
  beforeAll(async () => {
    server = await startGitServer({ transports: ['http', 'ssh'], files: carFiles() });
  });
  afterAll(async () => {
    await server?.close();
  });

  const remotes: Array<[string, () => { url: string; credentials: Credentials }]> = [
    [
      'ssh',
      () => ({
        url: server.remote('ssh').url,
        credentials: {
          type: 'ssh',
          privateKeyFile: server.ssh.identityFile,
          knownHostsFile: server.ssh.knownHostsFile,
        },
      }),
    ],
    [
      'http',
      () => ({
        url: server.remote('http').url,
        credentials: { type: 'https', username: server.http.username, password: server.http.password },
      }),
    ],
  ];

  for (const [transport, remote] of remotes) {
    it(`follows the branch over ${transport} and tells each object changed by a push`, async () => {
      const storage = await openStorage({ directory: { ...remote(), interval: 0 }, scheme: carScheme() });
      expect(await storage.count({ kind: 'Car' })).toBeGreaterThanOrEqual(3);
      const seen = collect(storage);
      const name = `pushed-over-${transport}`;
      await pushCommit(server.repo, { files: { [`${name}.yaml`]: carYaml(name) } });
      await storage.sync();
      const added = await seen.until((e) => e.type === 'ADDED' && e.object.metadata.name === name, 'ADDED');
      expect(added.type === 'ADDED' && added.path).toBe(`${name}.yaml`);
    });
  }

  it('keeps serving the last revision while the remote is down, and catches up when it is back', async () => {
    const { url, credentials } = remotes[1]![1]();
    const storage = await openStorage({ directory: { url, credentials, interval: 0, timeout: 10_000 } });
    const count = await storage.count();
    await server.stop();
    try {
      const error = await storage.sync().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GitOpsError);
      expect(storage.state).toBe('degraded');
      expect(await storage.count()).toBe(count);
    } finally {
      await server.restart();
    }
    await pushCommit(server.repo, { files: { 'after-outage.yaml': carYaml('after-outage') } });
    await storage.sync();
    expect(storage.state).toBe('ready');
    expect(await storage.exists(carKey('after-outage'))).toBe(true);
  });
});
