/**
 * sample-app end to end: the process started as documented, over a folder holding the lead's
 * sample Car (examples/cars/foo.yaml copied into the layout the sample uses).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { startSample, stopAll } from './helpers.js';

const FOO = readFileSync(resolve(import.meta.dirname, '../../examples/cars/foo.yaml'), 'utf8');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'libgitops-sample-app-'));
  mkdirSync(join(dir, 'Car/default/foo'), { recursive: true });
  writeFileSync(join(dir, 'Car/default/foo/metadata.yaml'), FOO);
});
afterEach(stopAll);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The lines a change added and removed (`git diff --no-index`), without the headers. */
function changedLines(before: string, after: string): string[] {
  const a = join(dir, '.before.yaml');
  const b = join(dir, '.after.yaml');
  writeFileSync(a, before);
  writeFileSync(b, after);
  let out = '';
  try {
    execFileSync('git', ['diff', '--no-index', '--unified=0', a, b], { encoding: 'utf8' });
  } catch (error) {
    out = (error as { stdout: string }).stdout;
  }
  return out.split('\n').filter((l) => /^[-+][^-+]/.test(l));
}

describe('sample-app', () => {
  it('serves, creates and updates Cars in a plain folder, changing only the lines it must', async () => {
    const app = await startSample('sample-app', ['--data-dir', dir]);
    expect(await app.request('GET', '/')).toEqual({ status: 200, body: 'Welcome!' });
    const foo = await app.request('GET', '/plain/foo');
    expect(foo.status).toBe(200);
    expect(foo.body).toMatchObject({ kind: 'Car', spec: { brand: 'SAAB' } });
    // The distance beyond 2^53 is served exactly, not as 12176941420362965000.
    expect((foo.body as { status: { distance: unknown } }).status.distance).toBe(12176941420362965433n);

    const updated = await app.request('PUT', '/plain/foo');
    expect(updated.status).toBe(200);
    const status = (updated.body as { status: { speed: number; distance: number } }).status;
    const after = readFileSync(join(dir, 'Car/default/foo/metadata.yaml'), 'utf8');
    expect(changedLines(FOO, after)).toEqual([
      '-  distance: 12176941420362965433',
      `+  distance: ${status.distance}`,
      '-  speed: 53.37474583162469',
      `+  speed: ${status.speed}`,
    ]);
    expect(after).toContain('# Our family car.');

    const created = await app.request('POST', '/plain/zoom');
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ metadata: { name: 'zoom', namespace: 'default' } });
    expect(readFileSync(join(dir, 'Car/default/zoom/metadata.yaml'), 'utf8')).toContain('name: zoom');
    expect((await app.request('POST', '/plain/zoom')).status).toBe(409);
    expect(await app.request('GET', '/plain/missing')).toMatchObject({
      status: 404,
      body: { code: 'NotFound' },
    });
    expect(await app.stop()).toBe(0);
  });
});
