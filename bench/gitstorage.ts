/**
 * GitStorage figures on a local remote (a bare repository reached by path):
 * - clone-and-index of a repository of 10,000 objects (one Car per file): GitStorage.open
 *   (clone, read every blob, decode, index);
 * - push-to-event: a colleague's push, then sync() as a webhook would trigger it, until the
 *   MODIFIED event arrives (requirement: median under 500 ms);
 * - one-object transaction latency (worktree from the latest main, edit, commit, push), to a
 *   new branch and onto main, on a small repository (requirement: median under 300 ms) and on
 *   the 10,000-object one.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { GitStorage } from '../src/gitstorage/index.js';
import type { KubeObject } from '../src/runtime/index.js';
import { table } from './harness.js';
import type { BenchContext } from './harness.js';

const OBJECTS = 10_000;
const PUSH_TO_EVENT_MAX_MS = 500;
const TRANSACTION_MAX_MS = 300;

const ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: '/dev/null',
  LC_ALL: 'C',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Colleague',
  GIT_AUTHOR_EMAIL: 'colleague@example.test',
  GIT_COMMITTER_NAME: 'Colleague',
  GIT_COMMITTER_EMAIL: 'colleague@example.test',
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: ENV, encoding: 'utf8', maxBuffer: 1 << 28 }).trim();
}

function carYaml(name: string, speed: number): string {
  return (
    `# The car ${name}\napiVersion: sample-app.weave.works/v1alpha1\nkind: Car\nmetadata:\n  name: ${name}\n` +
    `  namespace: team-${name.length % 10}\n  labels:\n    fleet: bench\nspec:\n  brand: Volvo\n  engine: V8\n` +
    `  yearModel: "2020"\nstatus:\n  distance: 1000\n  speed: ${speed}\n`
  );
}

/** A bare repository with `count` Cars (one per file), and a working clone a colleague pushes from. */
function makeRemote(root: string, count: number): { bare: string; work: string } {
  mkdirSync(root, { recursive: true });
  const bare = join(root, 'remote.git');
  const work = join(root, 'colleague');
  git(root, 'init', '--quiet', '--bare', '--initial-branch=main', bare);
  git(root, 'init', '--quiet', '--initial-branch=main', work);
  for (let i = 0; i < count; i++) {
    const folder = join(work, 'cars', `group-${Math.floor(i / 500)}`);
    if (i % 500 === 0) mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `car-${i}.yaml`), carYaml(`car-${i}`, i));
  }
  git(work, 'add', '--all');
  git(work, 'commit', '--quiet', '-m', 'the fleet');
  git(work, 'remote', 'add', 'origin', bare);
  git(work, 'push', '--quiet', 'origin', 'main');
  return { bare, work };
}

interface Stats {
  best: number;
  median: number;
  p95: number;
  runs: number;
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { best: sorted[0] ?? NaN, median: at(0.5), p95: at(0.95), runs: sorted.length };
}

type Car = KubeObject & { status: { speed: number } };

async function transactionTimes(
  storage: GitStorage,
  target: 'branch' | 'main',
  runs: number,
): Promise<Stats> {
  const samples: number[] = [];
  const key = { group: 'sample-app.weave.works', kind: 'Car', namespace: 'team-5', name: 'car-1' };
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    await storage.transaction({ target, branchPrefix: 'bench' }, async (cars) => {
      const car = await cars.get<Car>(key);
      car.status.speed = Math.random();
      await cars.update(car);
      return { title: 'Bench: one object' };
    });
    // The first run warms caches; it is not counted.
    if (i > 0) samples.push(performance.now() - t0);
  }
  return stats(samples);
}

export async function run(context: BenchContext): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'libgitops-bench-gitstorage-'));
  const opened: GitStorage[] = [];
  try {
    const big = makeRemote(join(root, 'big'), OBJECTS);
    const small = makeRemote(join(root, 'small'), 3);

    // Clone and index, three times, each into a fresh clone.
    const opens: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const storage = await GitStorage.open({ directory: { url: big.bare, interval: 0 } });
      opens.push(performance.now() - t0);
      if ((await storage.count()) !== OBJECTS)
        context.fail(`indexed ${await storage.count()} objects, not ${OBJECTS}`);
      await storage.close();
    }
    const open = stats(opens);

    // Push to event, with sync() as the webhook's trigger.
    const storage = await GitStorage.open({ directory: { url: big.bare, interval: 0 } });
    opened.push(storage);
    const delays: number[] = [];
    const readAtStart = storage.filesRead;
    for (let i = 0; i < 15; i++) {
      const name = `car-${(i * 37) % OBJECTS}`;
      const file = join(big.work, 'cars', `group-${Math.floor(((i * 37) % OBJECTS) / 500)}`, `${name}.yaml`);
      writeFileSync(file, carYaml(name, 100_000 + i));
      git(big.work, 'commit', '--quiet', '-am', `speed of ${name}`);
      const event = new Promise<number>((resolve) => {
        const stop = storage.on((e) => {
          if (e.type === 'MODIFIED' && e.object.metadata.name === name) {
            stop();
            resolve(performance.now());
          }
        });
      });
      git(big.work, 'push', '--quiet', 'origin', 'main');
      const pushed = performance.now();
      void storage.sync();
      delays.push((await event) - pushed);
    }
    const pushToEvent = stats(delays);
    const decodedByPulls = storage.filesRead - readAtStart;
    const bigBranch = await transactionTimes(storage, 'branch', 5);

    const smallStorage = await GitStorage.open({ directory: { url: small.bare, interval: 0 } });
    opened.push(smallStorage);
    const smallBranch = await transactionTimes(smallStorage, 'branch', 10);
    const smallMain = await transactionTimes(smallStorage, 'main', 10);

    const row = (name: string, s: Stats): (string | number)[] => [
      name,
      s.best,
      s.median,
      s.p95,
      String(s.runs),
    ];
    for (const line of table(
      ['operation (ms)', 'best', 'median', 'p95', 'runs'],
      [
        row(`clone + index ${OBJECTS} objects`, open),
        row('push -> sync() -> event', pushToEvent),
        row('transaction, 1 object, branch (3 objects)', smallBranch),
        row('transaction, 1 object, main (3 objects)', smallMain),
        row(`transaction, 1 object, branch (${OBJECTS} objects)`, bigBranch),
      ],
    )) {
      context.log(line);
    }
    context.log(`files read and decoded by the 15 pulls of one changed file each: ${decodedByPulls}`);
    if (decodedByPulls !== delays.length) context.fail(`15 one-file pulls decoded ${decodedByPulls} files`);
    if (pushToEvent.median > PUSH_TO_EVENT_MAX_MS) {
      context.fail(
        `push-to-event median ${pushToEvent.median.toFixed(0)} ms (need < ${PUSH_TO_EVENT_MAX_MS} ms)`,
      );
    }
    if (smallBranch.median > TRANSACTION_MAX_MS) {
      context.fail(
        `one-object transaction median ${smallBranch.median.toFixed(0)} ms (need < ${TRANSACTION_MAX_MS} ms)`,
      );
    }
  } finally {
    await Promise.all(opened.map((s) => s.close()));
    rmSync(root, { recursive: true, force: true });
  }
}
