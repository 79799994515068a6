/**
 * sample-watch end to end: changes by other processes to the watched folder are logged as
 * events with their objects; its own PUT is logged too, as the storage's.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { startSample, stopAll } from './helpers.js';

const CARS = resolve(import.meta.dirname, '../../examples/cars');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'libgitops-sample-watch-'));
  for (const name of readdirSync(CARS)) copyFileSync(join(CARS, name), join(dir, name));
});
afterEach(stopAll);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sample-watch', () => {
  it('logs every change to the folder, whoever made it, and serves the Cars', async () => {
    const watch = await startSample('sample-watch', ['--watch-dir', dir]);
    expect((await watch.request('GET', '/watch/foo')).body).toMatchObject({ spec: { brand: 'SAAB' } });

    writeFileSync(
      join(dir, 'new-car.yaml'),
      'apiVersion: sample-app.weave.works/v1alpha1\nkind: Car\nmetadata:\n  name: newcomer\n  namespace: default\n',
    );
    const added = await watch.waitForLog(
      (l) => l.event === 'ADDED' && l.name === 'newcomer',
      'ADDED newcomer',
    );
    expect(added).toMatchObject({ kind: 'Car', file: 'new-car.yaml', origin: 'external' });

    const fleet = readFileSync(join(dir, 'fleet.yaml'), 'utf8');
    writeFileSync(join(dir, 'fleet.yaml'), fleet.replace('engine: V8', 'engine: V6'));
    await watch.waitForLog((l) => l.event === 'MODIFIED' && l.name === 'bar', 'MODIFIED bar');

    const put = await watch.request('PUT', '/watch/foo');
    expect(put.status).toBe(200);
    const own = await watch.waitForLog((l) => l.event === 'MODIFIED' && l.name === 'foo', 'MODIFIED foo');
    expect(own.origin).toBe('storage');

    rmSync(join(dir, 'new-car.yaml'));
    await watch.waitForLog((l) => l.event === 'DELETED' && l.name === 'newcomer', 'DELETED newcomer');

    writeFileSync(join(dir, 'broken.yaml'), 'kind: [unclosed\n');
    const problem = await watch.waitForLog((l) => l.event === 'ERROR', 'an ERROR for the bad file');
    expect(problem.file).toBe('broken.yaml');
    expect((await watch.request('GET', '/watch/foo')).status).toBe(200);
    expect(await watch.stop()).toBe(0);
  });
});
