/**
 * Storage figures on 10,000 Car objects, one file each, in a manifest directory: cold open,
 * warm list, get, create and update throughput, and the delay from an outside write to its
 * event. Requirements: a warm list of 10,000 objects under 20 ms; an outside change seen as
 * an event within 300 ms.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import jsYaml from 'js-yaml';
import { Scheme } from '../src/runtime/index.js';
import type { KubeObject } from '../src/runtime/index.js';
import { openStorage } from '../src/storage/index.js';
import type { ObjectStorage, StorageEvent } from '../src/storage/index.js';
import { perSecond, table } from './harness.js';
import type { BenchContext } from './harness.js';

const OBJECTS = 10_000;
const NAMESPACES = 10;
const MAX_WARM_LIST_MS = 20;
const MAX_EVENT_DELAY_MS = 300;
const GROUP = 'sample-app.weave.works';

function carScheme(): Scheme {
  const scheme = new Scheme();
  const crd = readFileSync(resolve(import.meta.dirname, '../examples/cars/car-crd.yaml'), 'utf8');
  scheme.registerCRD(jsYaml.load(crd));
  return scheme;
}

function carYaml(i: number, brand = 'Volvo'): string {
  return (
    `# Car number ${i}.\napiVersion: ${GROUP}/v1alpha1\nkind: Car\nmetadata:\n  name: car-${i}\n` +
    `  namespace: team-${i % NAMESPACES}\n  labels:\n    owner: ${i % 2 === 0 ? 'family' : 'work'}\n` +
    `spec:\n  brand: ${brand}\n  engine: V8\n  yearModel: "20${String(i % 25).padStart(2, '0')}"\n` +
    `status:\n  acceleration: 1.5\n  distance: ${i * 10}\n  persons: 2\n  speed: ${(i % 130) + 0.5}\n`
  );
}

function writeCars(root: string): void {
  for (let ns = 0; ns < NAMESPACES; ns += 1) mkdirSync(join(root, `team-${ns}`), { recursive: true });
  for (let i = 0; i < OBJECTS; i += 1)
    writeFileSync(join(root, `team-${i % NAMESPACES}`, `car-${i}.yaml`), carYaml(i));
}

interface AsyncTiming {
  bestMs: number;
  medianMs: number;
  runs: number;
}

/** Times an async operation repeatedly for at least `minTimeMs` and `minRuns` runs, after one warm-up. */
async function timeAsync(fn: () => Promise<unknown>, minTimeMs: number, minRuns = 5): Promise<AsyncTiming> {
  await fn();
  const samples: number[] = [];
  const started = performance.now();
  while (performance.now() - started < minTimeMs || samples.length < minRuns) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return { bestMs: samples[0]!, medianMs: samples[Math.floor(samples.length / 2)]!, runs: samples.length };
}

/** get, change status.speed, update: the sample-app's PUT. */
async function updateSpeed(storage: ObjectStorage, i: number, fraction: number): Promise<void> {
  const car = await storage.get<KubeObject<unknown, { speed: number }>>(carKey(i));
  car.status = { ...car.status!, speed: i + fraction };
  await storage.update(car);
}

const carKey = (i: number) => ({
  group: GROUP,
  kind: 'Car',
  namespace: `team-${i % NAMESPACES}`,
  name: `car-${i}`,
});

export async function run(context: BenchContext): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'libgitops-bench-storage-'));
  const storages: ObjectStorage[] = [];
  try {
    writeCars(root);
    const scheme = carScheme();
    context.log(`${OBJECTS} Cars, one file each, in ${NAMESPACES} folders (${root})`);

    // Cold open: list, read, hash and decode every file; with the watcher, also wait for it to be ready.
    const rows: (string | number)[][] = [];
    let t0 = performance.now();
    const unwatched = await openStorage({ root, scheme, watch: false });
    const coldMs = performance.now() - t0;
    rows.push(['cold open, no watcher', coldMs, perSecond(OBJECTS, coldMs)]);
    // Writes without a watcher, for comparison: the watcher's rescans of a changed folder cost.
    const writes = 300;
    t0 = performance.now();
    for (let i = 0; i < writes; i += 1) await updateSpeed(unwatched, i, 0.75);
    const unwatchedUpdateMs = performance.now() - t0;
    await unwatched.close();
    t0 = performance.now();
    const storage = await openStorage({ root, scheme });
    storages.push(storage);
    const coldWatchedMs = performance.now() - t0;
    rows.push(['cold open, watching', coldWatchedMs, perSecond(OBJECTS, coldWatchedMs)]);
    context.log('');
    for (const line of table(['open', 'ms', 'objects/s'], rows, 0)) context.log(line);
    if (storage.size !== OBJECTS)
      context.fail(`expected ${OBJECTS} objects after open, found ${storage.size}`);

    // Reads from the index.
    const list = await timeAsync(() => storage.list({ kind: 'Car', group: GROUP }), context.minTimeMs);
    const listAll = await timeAsync(() => storage.list(), context.minTimeMs);
    const listSelected = await timeAsync(
      () => storage.list({ kind: 'Car', namespace: 'team-3', labelSelector: 'owner=work' }),
      context.minTimeMs,
    );
    const gets = 1000;
    const get = await timeAsync(async () => {
      for (let i = 0; i < gets; i += 1) await storage.get(carKey((i * 7919) % OBJECTS));
    }, context.minTimeMs);
    context.log('');
    for (const line of table(
      ['read (warm)', 'best ms', 'median ms', 'per second'],
      [
        ['list 10,000 Cars', list.bestMs, list.medianMs, perSecond(1, list.medianMs)],
        ['list everything', listAll.bestMs, listAll.medianMs, perSecond(1, listAll.medianMs)],
        [
          'list namespace + label selector',
          listSelected.bestMs,
          listSelected.medianMs,
          perSecond(1, listSelected.medianMs),
        ],
        [`get x${gets}`, get.bestMs, get.medianMs, perSecond(gets, get.medianMs)],
      ],
      2,
    )) {
      context.log(line);
    }
    if (list.medianMs >= MAX_WARM_LIST_MS) {
      context.fail(
        `warm list of ${OBJECTS} objects took ${list.medianMs.toFixed(1)} ms (median), over ${MAX_WARM_LIST_MS} ms`,
      );
    }

    // Writes: each one locks, reads, edits, fsyncs and renames one file.
    t0 = performance.now();
    for (let i = 0; i < writes; i += 1) {
      const car: KubeObject = {
        apiVersion: `${GROUP}/v1alpha1`,
        kind: 'Car',
        metadata: { name: `new-${i}`, namespace: 'team-0' },
        spec: { brand: 'SAAB' },
      };
      await storage.create(car);
    }
    const createMs = performance.now() - t0;
    t0 = performance.now();
    for (let i = 0; i < writes; i += 1) await updateSpeed(storage, i, 0.25);
    const updateMs = performance.now() - t0;
    t0 = performance.now();
    await Promise.all(
      Array.from({ length: writes }, (_, i) =>
        storage.patch(carKey(writes + i), { type: 'merge', patch: { status: { speed: 1.5 } } }),
      ),
    );
    const parallelMs = performance.now() - t0;
    context.log('');
    for (const line of table(
      ['write', 'count', 'ms', 'per second'],
      [
        ['create, one after another', writes, createMs, perSecond(writes, createMs)],
        ['update status.speed, one after another', writes, updateMs, perSecond(writes, updateMs)],
        ['  the same without a watcher', writes, unwatchedUpdateMs, perSecond(writes, unwatchedUpdateMs)],
        ['patch, all at once', writes, parallelMs, perSecond(writes, parallelMs)],
      ],
      0,
    )) {
      context.log(line);
    }

    // Outside writes: another program rewrites a file; how long until the event arrives?
    await storage.sync();
    const delays: number[] = [];
    const rounds = 20;
    for (let round = 0; round < rounds; round += 1) {
      const i = 5000 + round;
      const seen = new Promise<number>((resolveSeen) => {
        const stop = storage.on((event: StorageEvent) => {
          if (event.type === 'MODIFIED' && event.key.name === `car-${i}`) {
            stop();
            resolveSeen(performance.now());
          }
        });
      });
      const written = performance.now();
      writeFileSync(join(root, `team-${i % NAMESPACES}`, `car-${i}.yaml`), carYaml(i, 'Tesla'));
      const timeout = new Promise<number>((r) => setTimeout(() => r(Number.POSITIVE_INFINITY), 5000));
      delays.push((await Promise.race([seen, timeout])) - written);
      await new Promise((r) => setTimeout(r, 50));
    }
    delays.sort((a, b) => a - b);
    const median = delays[Math.floor(delays.length / 2)]!;
    const worst = delays[delays.length - 1]!;
    context.log('');
    for (const line of table(
      ['outside write -> event', 'best ms', 'median ms', 'worst ms'],
      [[`${rounds} writes`, delays[0]!, median, worst]],
      0,
    )) {
      context.log(line);
    }
    if (median > MAX_EVENT_DELAY_MS) {
      context.fail(
        `an outside write took ${median.toFixed(0)} ms (median) to become an event, over ${MAX_EVENT_DELAY_MS} ms`,
      );
    }
    context.log(`heap used: ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`);
  } finally {
    await Promise.all(storages.map((s) => s.close()));
    rmSync(root, { recursive: true, force: true });
  }
}
