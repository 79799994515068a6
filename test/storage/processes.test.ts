import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import jsYaml from 'js-yaml';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { ErrorCodes } from '../../src/runtime/index.js';
import { openStorage } from '../../src/storage/index.js';
import type { ObjectStorage } from '../../src/storage/index.js';
import { carKey, carScheme, carsCopy, EventLog, pause, removeTempDirs, tempDir } from './helpers.js';

const CHILD = resolve(import.meta.dirname, 'child-writer.ts');

const opened: ObjectStorage[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});
afterAll(() => removeTempDirs());

interface Child {
  output: Promise<string>;
  /** Resolves with the first line the child prints. */
  firstLine: Promise<string>;
  kill(): Promise<void>;
}

function runChild(command: Record<string, unknown>): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(command)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: resolve(import.meta.dirname, '../..'),
  });
  let stdout = '';
  let stderr = '';
  let lineSeen: (line: string) => void = () => undefined;
  const firstLine = new Promise<string>((r) => (lineSeen = r));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.includes('\n')) lineSeen(stdout.split('\n')[0]!);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const output = exited.then((code) => {
    if (code !== 0) throw new Error(`the writer process failed (exit ${code}): ${stderr}`);
    return stdout.trim();
  });
  // A killed child's output is never awaited; that is not an unhandled failure.
  output.catch(() => undefined);
  return {
    output,
    firstLine,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describe('two processes on one folder', () => {
  it('a write by another process reaches this storage as an event and in its index', async () => {
    const root = carsCopy();
    const storage = await openStorage({ root, scheme: carScheme() });
    opened.push(storage);
    const log = new EventLog(storage);
    expect(await runChild({ op: 'create', root, name: 'from-child' }).output).toBe('done');
    await log.waitFor('ADDED from-child', (events) =>
      events.some((e) => e.type === 'ADDED' && e.key.name === 'from-child'),
    );
    expect(log.events.find((e) => e.type === 'ADDED')).toMatchObject({
      origin: 'external',
      path: 'default/car-from-child.yaml',
    });
    expect((await storage.get(carKey('from-child'))).metadata.uid).toBeDefined();
    expect(await storage.count({ kind: 'Car' })).toBe(4);
  });

  it('updates racing across processes with the same resourceVersion: exactly one wins', async () => {
    const root = carsCopy();
    const storage = await openStorage({ root, scheme: carScheme(), watch: false });
    opened.push(storage);
    const base = await storage.get(carKey('foo'));
    const rv = base.metadata.resourceVersion;
    const children = ['V6', 'V8', 'V10'].map((engine) =>
      runChild({ op: 'update', root, name: 'foo', resourceVersion: rv, engine }),
    );
    const local = storage.update({ ...base, spec: { ...(base.spec as object), engine: 'local' } }).then(
      () => 'ok',
      (err: { code: string }) => err.code,
    );
    const results = [...(await Promise.all(children.map((c) => c.output))), await local];
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r === ErrorCodes.Conflict)).toHaveLength(3);
  });
});

describe('crash safety', () => {
  it('a writer killed with SIGKILL mid-write leaves the old file or the new one, never a mix', async () => {
    const root = tempDir();
    const size = 500_000;
    writeFileSync(
      join(root, 'big.yaml'),
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  namespace: default\ndata:\n  a: ${'z'.repeat(size)}\n  b: ${'z'.repeat(size)}\n`,
    );
    const seen = new Set<string>();
    for (let round = 0; round < 4; round += 1) {
      const child = runChild({ op: 'churn', root, name: 'big', size });
      expect(await child.firstLine).toBe('ready');
      // Wait for it to have written at least one version (however slow a loaded machine is),
      // then kill it somewhere in the middle of a later one.
      const before = readFileSync(join(root, 'big.yaml'), 'utf8');
      for (let i = 0; i < 6_000 && readFileSync(join(root, 'big.yaml'), 'utf8') === before; i++)
        await pause(10);
      await pause(Math.floor(Math.random() * 300));
      await child.kill();
      const text = readFileSync(join(root, 'big.yaml'), 'utf8');
      const value = jsYaml.load(text) as { data: { a: string; b: string } };
      expect(value.data.a).toHaveLength(size);
      expect(value.data.b).toBe(value.data.a);
      expect(new Set(value.data.a).size).toBe(1);
      seen.add(value.data.a[0]!);
    }
    // The writers did get versions written, so the kills did land among writes.
    expect([...seen].some((letter) => letter !== 'z')).toBe(true);
    // Its leftovers are hidden, so a storage opening the folder sees one clean object.
    const storage = await openStorage({ root, watch: false });
    opened.push(storage);
    expect(storage.problems()).toEqual([]);
    expect(await storage.count()).toBe(1);
    expect(readdirSync(root).filter((f) => !f.startsWith('.'))).toEqual(['big.yaml']);
    expect(readdirSync(join(root, '.libgitops')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // And the lock a killed writer may have left does not stop the next write.
    await storage.patch(
      { group: '', kind: 'ConfigMap', namespace: 'default', name: 'big' },
      { type: 'merge', patch: { data: { a: 'x' } } },
    );
  });
});
