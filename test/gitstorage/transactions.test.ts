/**
 * Transactions: a working tree of their own from the latest main, a commit whose diff is the
 * edit and nothing else, a push to a new branch (and a pull request) or onto main (rebased
 * when main moved, a real conflict reported), and nothing left behind when anything fails.
 */
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { GitDirectory } from '../../src/git/index.js';
import { TransactionRunner } from '../../src/gitstorage/index.js';
import type { GitStorage } from '../../src/gitstorage/index.js';
import { ManifestDirectory } from '../../src/storage/index.js';
import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';
import type { KubeObject } from '../../src/runtime/index.js';
import type { ObjectEvent } from '../../src/storage/index.js';
import {
  createBareRepo,
  forcePush,
  headOf,
  pushCommit,
  startGitServer,
} from '../support/git-server/index.js';
import type { GitServer } from '../support/git-server/index.js';
import {
  branchesOf,
  carFiles,
  carKey,
  carScheme,
  carYaml,
  closeAll,
  collect,
  gitIn,
  openStorage,
  RecordingOpener,
  tempFolder,
} from './helpers.js';

afterEach(closeAll);

const author = { name: 'Car Controller', email: 'controller@cars.example.test' };

interface Car extends KubeObject {
  status: { speed: number; distance: number };
}

async function failure(promise: Promise<unknown>): Promise<GitOpsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof GitOpsError)) throw new Error(`expected a GitOpsError, got ${String(error)}`);
  return error;
}

/** Asserts that the clone holds no trace of a transaction: no working tree, branch or journal entry. */
function expectNothingLeft(storage: GitStorage): void {
  const clone = storage.directory.path;
  expect(branchesOf(clone)).toEqual(['main']);
  expect(
    gitIn(clone, 'worktree', 'list', '--porcelain')
      .split('\n')
      .filter((l) => l.startsWith('worktree ')),
  ).toEqual([`worktree ${clone}`]);
  const journal = join(clone, 'libgitops', 'transactions');
  expect(existsSync(journal) ? readdirSync(journal) : []).toEqual([]);
  const worktrees = join(clone, 'libgitops', 'worktrees');
  expect(existsSync(worktrees) ? readdirSync(worktrees) : []).toEqual([]);
}

/** A promise with its resolve function, to order two writers exactly. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

async function setSpeed(
  storage: { get: GitStorage['get']; update: (o: Car) => Promise<Car> },
  speed: number,
) {
  const car = await storage.get<Car>(carKey('foo'));
  car.status.speed = speed;
  await storage.update(car);
}

describe('transactions on a branch', () => {
  it('commits one edited line, pushes a new branch, opens a pull request, and leaves main alone', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const opener = new RecordingOpener();
    const storage = await openStorage({
      directory: { url: repo.path, interval: 0 },
      scheme: carScheme(),
      author,
      pullRequests: opener,
    });
    const outcome = await storage.transaction({ branchPrefix: 'foo-update' }, async (cars, tx) => {
      expect(tx.base).toBe(repo.head);
      expect((await cars.raw.read('foo.yaml'))?.text).toBe(carFiles()['foo.yaml']);
      await setSpeed(cars, 99.5);
      return {
        title: 'Update Car speed',
        description: 'The controller measured a new speed.',
        pullRequest: { labels: ['user/bot', 'kind/status-update'], assignees: ['ada'], milestone: 'v1' },
      };
    });
    expect(outcome.branch).toMatch(/^foo-update-[0-9a-f]{8}$/);
    expect(outcome).toMatchObject({
      target: 'branch',
      base: repo.head,
      attempts: 1,
      changedPaths: ['foo.yaml'],
    });
    expect(outcome.pullRequest).toEqual({ url: 'https://forge.example.test/pulls/1', number: 1 });
    expect(opener.calls).toEqual([
      {
        repository: repo.path,
        head: outcome.branch,
        base: 'main',
        title: 'Update Car speed',
        description: 'The controller measured a new speed.',
        labels: ['user/bot', 'kind/status-update'],
        assignees: ['ada'],
        milestone: 'v1',
      },
    ]);

    // The remote has the branch at the commit; main did not move.
    expect(await headOf(repo, outcome.branch)).toBe(outcome.commit);
    expect(await headOf(repo, 'main')).toBe(repo.head);
    const diff = gitIn(repo.path, 'diff', '--unified=0', repo.head, outcome.commit as string);
    const changed = diff.split('\n').filter((l) => /^[-+][^-+]/.test(l));
    expect(changed).toEqual(['-  speed: 53.37474583162469', '+  speed: 99.5']);
    expect(gitIn(repo.path, 'log', '-1', '--format=%an <%ae>%n%B', outcome.commit as string)).toBe(
      'Car Controller <controller@cars.example.test>\nUpdate Car speed\n\nThe controller measured a new speed.',
    );
    expect(gitIn(repo.path, 'rev-parse', `${outcome.commit as string}^`)).toBe(repo.head);
    // Reads serve main, which does not have the change.
    expect((await storage.get<Car>(carKey('foo'))).status.speed).toBe(53.37474583162469);
    expectNothingLeft(storage);
  });

  it('leaves nothing behind when the function throws, and keeps the cause', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 }, scheme: carScheme() });
    const boom = new Error('the controller crashed');
    const error = await failure(
      storage.transaction({}, async (cars) => {
        await setSpeed(cars, 1);
        throw boom;
      }),
    );
    expect(error.message).toContain('the controller crashed');
    expect(error.message).toContain('undone');
    expect((error.cause as GitOpsError).cause).toBe(boom);
    expect(branchesOf(repo.path)).toEqual(['main']);
    expectNothingLeft(storage);
  });

  it('refuses an invalid write inside the transaction and changes nothing', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 }, scheme: carScheme() });
    const error = await failure(
      storage.transaction({}, async (cars) => {
        const car = await cars.get<Car>(carKey('foo'));
        (car.status as unknown as Record<string, unknown>).speed = 'fast';
        await cars.update(car);
        return { title: 'never' };
      }),
    );
    expect(error.code).toBe(ErrorCodes.Invalid);
    expect(branchesOf(repo.path)).toEqual(['main']);
    expectNothingLeft(storage);
  });

  it('pushes nothing and opens nothing when the function changes nothing or returns nothing', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const opener = new RecordingOpener();
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 }, pullRequests: opener });
    const unchanged = await storage.transaction({}, async () => ({
      title: 'nothing',
      pullRequest: true as const,
    }));
    expect(unchanged.commit).toBeUndefined();
    const aborted = await storage.transaction({}, async (cars) => {
      await setSpeed(cars, 3);
      return undefined;
    });
    expect(aborted.commit).toBeUndefined();
    expect(opener.calls).toEqual([]);
    expect(branchesOf(repo.path)).toEqual(['main']);
    expectNothingLeft(storage);
  });

  it('refuses a pull request without a provider before pushing anything', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 } });
    const error = await failure(
      storage.transaction({}, async (cars) => {
        await setSpeed(cars, 4);
        return { title: 'Update', pullRequest: true };
      }),
    );
    expect(error.code).toBe(ErrorCodes.Invalid);
    expect(error.message).toContain('pullRequests');
    expect(branchesOf(repo.path)).toEqual(['main']);
    expectNothingLeft(storage);
  });

  it('checks the result before committing: a title on one line', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 } });
    const error = await failure(
      storage.transaction({}, async (cars) => {
        await setSpeed(cars, 5);
        return { title: 'two\nlines' };
      }),
    );
    expect(error.code).toBe(ErrorCodes.Invalid);
    expect(error.details.field).toBe('result.title');
    expectNothingLeft(storage);
  });

  it('deletes the pushed branch when the pull request cannot be opened', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const opener = new RecordingOpener();
    opener.failWith = new GitOpsError(ErrorCodes.Forbidden, 'the token may not open pull requests');
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 }, pullRequests: opener });
    const error = await failure(
      storage.transaction({}, async (cars) => {
        await setSpeed(cars, 6);
        return { title: 'Update', pullRequest: true };
      }),
    );
    expect(error.code).toBe(ErrorCodes.Forbidden);
    expect(error.message).toContain('opening the pull request');
    expect(opener.calls).toHaveLength(1);
    expect(branchesOf(repo.path)).toEqual(['main']);
    expectNothingLeft(storage);
  });

  it('runs concurrent transactions without interference, each on its own branch', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const opener = new RecordingOpener();
    const storage = await openStorage({
      directory: { url: repo.path, interval: 0 },
      scheme: carScheme(),
      pullRequests: opener,
    });
    const cars: Array<[string, string | undefined]> = [
      ['foo', 'default'],
      ['bar', 'fleet'],
      ['baz', 'fleet'],
    ];
    const outcomes = await Promise.all(
      cars.map(([name, namespace], i) =>
        storage.transaction({ branchPrefix: `${name}-update` }, async (s) => {
          const car = await s.get<Car>(carKey(name, namespace));
          car.status = { ...car.status, speed: 100 + i };
          await s.update(car);
          // Each transaction sees main, not the others' edits.
          const foo = await s.get<Car>(carKey('foo'));
          if (name !== 'foo') expect(foo.status.speed).toBe(53.37474583162469);
          return { title: `Update ${name}`, pullRequest: true };
        }),
      ),
    );
    expect(new Set(outcomes.map((o) => o.branch)).size).toBe(3);
    for (const [i, outcome] of outcomes.entries()) {
      const file = i === 0 ? 'foo.yaml' : 'fleet.yaml';
      expect(outcome.changedPaths).toEqual([file]);
      expect(await headOf(repo, outcome.branch)).toBe(outcome.commit);
      const stat = gitIn(repo.path, 'diff', '--numstat', repo.head, outcome.commit as string);
      expect(stat.split('\t').slice(0, 2).map(Number)[1]).toBeLessThanOrEqual(1);
    }
    expect(opener.calls.map((c) => c.head).sort()).toEqual(outcomes.map((o) => o.branch).sort());
    expectNothingLeft(storage);
  });

  it('reads only the files that hold the objects it asks for', async () => {
    const files = carFiles();
    for (let i = 0; i < 200; i++) files[`more/car-${i}.yaml`] = carYaml(`car-${i}`, i);
    files['broken.yaml'] = 'kind: [unclosed\n';
    const repo = await createBareRepo({ files });
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 }, scheme: carScheme() });
    const outcome = await storage.transaction({}, async (cars) => {
      await setSpeed(cars, 12);
      // Only foo.yaml was read: the broken file (which holds no object) never is.
      expect(cars.problems()).toEqual([]);
      expect((await cars.raw.listFiles()).sort()).toEqual(['foo.yaml']);
      expect(await cars.count({ kind: 'Car' })).toBe(203);
      expect(await cars.raw.listFiles()).toHaveLength(2 + 200);
      expect(cars.problems()).toEqual([]);
      return { title: 'One car' };
    });
    expect(outcome.changedPaths).toEqual(['foo.yaml']);
  });

  it('creates objects where the placement says, deletes documents, and refuses a taken name', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 }, scheme: carScheme() });
    const outcome = await storage.transaction({}, async (cars) => {
      const taken = await cars
        .create({
          apiVersion: 'sample-app.weave.works/v1alpha1',
          kind: 'Car',
          metadata: { name: 'foo', namespace: 'default' },
        })
        .catch((e: unknown) => e);
      expect((taken as GitOpsError).code).toBe(ErrorCodes.AlreadyExists);
      await cars.create({
        apiVersion: 'sample-app.weave.works/v1alpha1',
        kind: 'Car',
        metadata: { name: 'newcomer', namespace: 'default' },
        spec: { brand: 'Lada' },
      });
      await cars.delete(carKey('baz', 'fleet'));
      return { title: 'One in, one out' };
    });
    expect(outcome.changedPaths).toEqual(['default/car-newcomer.yaml', 'fleet.yaml']);
    const fleet = gitIn(repo.path, 'show', `${outcome.commit as string}:fleet.yaml`);
    expect(fleet).toContain('# Two cars of the company fleet, one document each.');
    expect(fleet).toContain('name: bar');
    expect(fleet).not.toContain('name: baz');
    expect(gitIn(repo.path, 'show', `${outcome.commit as string}:default/car-newcomer.yaml`)).toContain(
      'brand: Lada',
    );
    expect(gitIn(repo.path, 'ls-tree', '-r', '--name-only', outcome.commit as string).split('\n')).toEqual([
      'car-crd.yaml',
      'default/car-newcomer.yaml',
      'fleet.yaml',
      'foo.yaml',
    ]);
  });

  it('writes new objects in the layout asked for, inside the subdirectory served', async () => {
    const repo = await createBareRepo({
      files: { 'cars/foo.yaml': carFiles()['foo.yaml'] as string, 'README.md': '# x\n' },
    });
    const storage = await openStorage({
      directory: { url: repo.path, interval: 0 },
      subdirectory: 'cars',
      writable: { layout: 'kind-namespace-name', stampMetadata: false },
    });
    const outcome = await storage.transaction({}, async (cars) => {
      await setSpeed(cars, 8);
      await cars.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: 'default' },
      });
      return { title: 'Layout' };
    });
    expect(outcome.changedPaths).toEqual(['cars/ConfigMap/default/settings/metadata.yaml', 'cars/foo.yaml']);
    expect(
      gitIn(repo.path, 'show', `${outcome.commit as string}:cars/ConfigMap/default/settings/metadata.yaml`),
    ).toBe('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default');
  });

  it('keeps the mode of an executable file it edits', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const work = await tempFolder();
    gitIn(work, 'clone', '--quiet', repo.path, 'w');
    const clone = join(work, 'w');
    gitIn(clone, 'update-index', '--chmod=+x', 'foo.yaml');
    gitIn(clone, 'commit', '--quiet', '-m', 'executable foo');
    gitIn(clone, 'push', '--quiet', 'origin', 'main');
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 }, scheme: carScheme() });
    const outcome = await storage.transaction({ target: 'main' }, async (cars) => {
      await setSpeed(cars, 15);
      return { title: 'Keep the mode' };
    });
    expect(gitIn(repo.path, 'ls-tree', outcome.commit as string, '--', 'foo.yaml')).toMatch(/^100755 blob /);
    expect(gitIn(repo.path, 'ls-tree', outcome.commit as string, '--', 'fleet.yaml')).toMatch(
      /^100644 blob /,
    );
  });

  it('undoes a transaction whose signal is aborted', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 } });
    const controller = new AbortController();
    const error = await failure(
      storage.transaction({ signal: controller.signal }, async (cars) => {
        await setSpeed(cars, 7);
        controller.abort();
        return { title: 'too late' };
      }),
    );
    expect(error.code).toBe(ErrorCodes.Aborted);
    expect(branchesOf(repo.path)).toEqual(['main']);
    expectNothingLeft(storage);
  });
});

describe('transactions on main', () => {
  it('never replays onto a main that was force-pushed meanwhile', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    await pushCommit(repo, { files: { 'extra.yaml': carYaml('extra') } });
    const storage = await openStorage({ directory: { url: repo.path, interval: 0 }, scheme: carScheme() });
    const entered = gate();
    const rewritten = gate();
    const pending = storage.transaction({ target: 'main' }, async (cars) => {
      await setSpeed(cars, 14);
      entered.open();
      await rewritten.opened;
      return { title: 'On the old history' };
    });
    await entered.opened;
    const rewrite = await forcePush(repo, { files: { 'other.yaml': carYaml('other') } });
    rewritten.open();
    const error = await failure(pending);
    expect(error.code).toBe(ErrorCodes.Conflict);
    expect(error.message).toContain('rewritten');
    expect(await headOf(repo, 'main')).toBe(rewrite);
    expectNothingLeft(storage);
  });

  it('pushes onto main and the storage tells its own change as such', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const storage = await openStorage({
      directory: { url: repo.path, interval: 0 },
      scheme: carScheme(),
      author,
    });
    const seen = collect(storage);
    const outcome = await storage.transaction({ target: 'main' }, async (cars) => {
      await setSpeed(cars, 42);
      return { title: 'Set speed' };
    });
    expect(outcome).toMatchObject({ target: 'main', branch: 'main', attempts: 1 });
    expect(await headOf(repo, 'main')).toBe(outcome.commit);
    expect(storage.revision).toBe(outcome.commit);
    expect((await storage.get<Car>(carKey('foo'))).status.speed).toBe(42);
    const modified = seen.events.find((e) => e.type === 'MODIFIED') as ObjectEvent;
    expect(modified.origin).toBe('storage');
    expectNothingLeft(storage);
  });
});

describe('transactions without the storage around them', () => {
  it('load every file of the base when no index of it is at hand', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const directory = new GitDirectory({ url: repo.path, interval: 0 });
    await directory.start();
    const stateDir = await tempFolder();
    const runner = await TransactionRunner.open({
      directory,
      stateDir,
      shape: (root) => ManifestDirectory.open({ root }),
      author,
    });
    try {
      const outcome = await runner.transaction({ target: 'main' }, async (cars) => {
        await setSpeed(cars, 13);
        expect((await cars.raw.listFiles()).sort()).toEqual(['car-crd.yaml', 'fleet.yaml', 'foo.yaml']);
        return { title: 'Without an index' };
      });
      expect(gitIn(repo.path, 'show', `${outcome.commit as string}:foo.yaml`)).toContain('speed: 13');
      expect(readdirSync(join(stateDir, 'transactions'))).toEqual([]);
    } finally {
      await runner.close();
      await directory.close();
    }
  });
});

describe('two writers on the real remotes', () => {
  let server: GitServer;
  beforeAll(async () => {
    server = await startGitServer({ transports: ['http', 'ssh'], files: carFiles() });
  });
  afterAll(async () => {
    await server?.close();
  });

  const over = (transport: 'ssh' | 'http') =>
    transport === 'ssh'
      ? {
          url: server.remote('ssh').url,
          interval: 0,
          credentials: {
            type: 'ssh' as const,
            privateKeyFile: server.ssh.identityFile,
            knownHostsFile: server.ssh.knownHostsFile,
          },
        }
      : {
          url: server.remote('http').url,
          interval: 0,
          credentials: {
            type: 'https' as const,
            username: server.http.username,
            password: server.http.password,
          },
        };

  it('rebases the writer whose push lost the race, and both commits land on main', async () => {
    const a = await openStorage({ directory: over('ssh'), scheme: carScheme(), author });
    const b = await openStorage({ directory: over('http'), scheme: carScheme(), author });
    const both = gate();
    let entered = 0;
    const enter = async (): Promise<void> => {
      entered += 1;
      if (entered === 2) both.open();
      await both.opened;
    };
    const start = await headOf(server.repo, 'main');
    const [fromA, fromB] = await Promise.all([
      a.transaction({ target: 'main' }, async (cars) => {
        await setSpeed(cars, 11);
        await enter();
        return { title: 'A sets the speed of foo' };
      }),
      b.transaction({ target: 'main' }, async (cars) => {
        const bar = await cars.get<Car>(carKey('bar', 'fleet'));
        bar.status = { speed: 22, distance: 0 };
        await cars.update(bar);
        await enter();
        return { title: 'B sets the speed of bar' };
      }),
    ]);
    expect(fromA.base).toBe(start);
    expect(fromB.base).toBe(start);
    // Both started from the same main, so exactly one push was rejected and rebased.
    expect(fromA.attempts + fromB.attempts).toBe(3);
    const [first, second] = fromA.attempts === 1 ? [fromA, fromB] : [fromB, fromA];
    expect(await headOf(server.repo, 'main')).toBe(second.commit);
    expect(gitIn(server.repo.path, 'rev-parse', `${second.commit as string}^`)).toBe(first.commit);
    expect(gitIn(server.repo.path, 'show', `main:foo.yaml`)).toContain('speed: 11');
    expect(gitIn(server.repo.path, 'show', `main:fleet.yaml`)).toContain('speed: 22');
    await a.sync();
    expect((await a.get<Car>(carKey('bar', 'fleet'))).status.speed).toBe(22);
  });

  it('reports a real conflict and never overwrites the other commit', async () => {
    const a = await openStorage({ directory: over('ssh'), scheme: carScheme(), author });
    const b = await openStorage({ directory: over('http'), scheme: carScheme(), author });
    const aStarted = gate();
    const bPushed = gate();
    const fromA = a.transaction({ target: 'main' }, async (cars) => {
      await setSpeed(cars, 100);
      aStarted.open();
      await bPushed.opened;
      return { title: 'A loses' };
    });
    await aStarted.opened;
    const winner = await b.transaction({ target: 'main' }, async (cars) => {
      await setSpeed(cars, 200);
      return { title: 'B wins' };
    });
    bPushed.open();
    const error = await failure(fromA);
    expect(error.code).toBe(ErrorCodes.Conflict);
    expect(error.details.file).toBe('foo.yaml');
    expect(error.message).toContain('foo.yaml');
    expect(await headOf(server.repo, 'main')).toBe(winner.commit);
    expect(gitIn(server.repo.path, 'show', 'main:foo.yaml')).toContain('speed: 200');
    expectNothingLeft(a);
  });

  it('gives up after maxAttempts when main keeps moving', async () => {
    const a = await openStorage({ directory: over('ssh'), author });
    const entered = gate();
    const moved = gate();
    const fromA = a.transaction({ target: 'main', maxAttempts: 1 }, async (cars) => {
      await setSpeed(cars, 300);
      entered.open();
      await moved.opened;
      return { title: 'A' };
    });
    await entered.opened;
    await pushCommit(server.repo, {
      files: { 'unrelated.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: u\n' },
    });
    moved.open();
    const error = await failure(fromA);
    expect(error.code).toBe(ErrorCodes.PushRejected);
    expect(error.message).toContain('rejected');
    expectNothingLeft(a);
  });

  it('leaves nothing on the remote or in the clone when the remote goes away before the push', async () => {
    const a = await openStorage({
      directory: { ...over('http'), timeout: 10_000 },
      author,
      pullRequests: new RecordingOpener(),
    });
    const before = branchesOf(server.repo.path);
    const error = await failure(
      a.transaction({ branchPrefix: 'outage' }, async (cars) => {
        await setSpeed(cars, 400);
        await server.stop();
        return { title: 'Update', pullRequest: true };
      }),
    ).finally(() => server.restart());
    expect(error.code).toBe(ErrorCodes.Unreachable);
    // Whether the push reached the remote cannot be known while it is away: the undo waits for it.
    expect(error.message).toContain('will be undone by the next transaction');
    expect(branchesOf(server.repo.path)).toEqual(before);
    expect(branchesOf(a.directory.path)).toEqual(['main']);
    const next = await a.transaction({ branchPrefix: 'outage' }, async (cars) => {
      await setSpeed(cars, 401);
      return { title: 'Update again' };
    });
    expect(await headOf(server.repo, next.branch)).toBe(next.commit);
    expect(branchesOf(server.repo.path)).toEqual([...before, next.branch].sort());
    expectNothingLeft(a);
  });

  it('undoes a push the remote may have taken when it went away mid-push, as soon as it is back', async () => {
    const hook = join(server.repo.path, 'hooks', 'pre-receive');
    const marker = join(server.root, 'push-started');
    // The server takes its time to accept the push, so the test can take it away in the middle.
    writeFileSync(hook, `#!/bin/sh\ntouch '${marker}'\nsleep 1\nexit 0\n`, { mode: 0o755 });
    try {
      const a = await openStorage({ directory: { ...over('http'), timeout: 10_000 }, author });
      const before = branchesOf(server.repo.path);
      const pending = a.transaction({ branchPrefix: 'midpush' }, async (cars) => {
        await setSpeed(cars, 500);
        return { title: 'Taken away mid-push' };
      });
      for (let i = 0; i < 400 && !existsSync(marker); i++) await sleep(25);
      expect(existsSync(marker)).toBe(true);
      await server.stop();
      const error = await failure(pending);
      expect(error.message).toContain('will be undone by the next transaction');
      // Whatever the server was doing when it went away has finished by now.
      await sleep(1500);
      await server.restart();
      rmSync(hook);
      const next = await a.transaction({ branchPrefix: 'after' }, async (cars) => {
        await setSpeed(cars, 501);
        return { title: 'After the outage' };
      });
      expect(branchesOf(server.repo.path)).toEqual([...before, next.branch].sort());
      expectNothingLeft(a);
    } finally {
      rmSync(hook, { force: true });
      await server.restart();
    }
  });
});
