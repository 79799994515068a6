import { spawn } from 'node:child_process';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';
import { FileLocks, lockPathOf } from '../../src/storage/file-lock.js';
import { pause, removeTempDirs, tempDir } from './helpers.js';

afterAll(() => removeTempDirs());

describe('FileLocks', () => {
  it('lets one writer at a time hold a file, in order, and removes the lock file after', async () => {
    const dir = tempDir();
    const target = join(dir, 'a.yaml');
    const locks = new FileLocks(dir);
    const order: string[] = [];
    const run = (name: string, ms: number) =>
      locks.withLock(target, 'a.yaml', async () => {
        order.push(`${name} in`);
        await pause(ms);
        order.push(`${name} out`);
      });
    await Promise.all([run('first', 30), run('second', 1), run('third', 1)]);
    expect(order).toEqual(['first in', 'first out', 'second in', 'second out', 'third in', 'third out']);
    expect(existsSync(lockPathOf(dir, target))).toBe(false);
  });

  it('excludes a second set of locks (another storage, another process) through the lock file', async () => {
    const dir = tempDir();
    const target = join(dir, 'a.yaml');
    const one = new FileLocks(dir);
    const two = new FileLocks(dir);
    let inside = 0;
    let most = 0;
    const run = (locks: FileLocks) =>
      locks.withLock(target, 'a.yaml', async () => {
        inside += 1;
        most = Math.max(most, inside);
        await pause(5);
        inside -= 1;
      });
    await Promise.all([run(one), run(two), run(one), run(two)]);
    expect(most).toBe(1);
  });

  it('takes over the lock of a writer that died (SIGKILL) holding it', async () => {
    const dir = tempDir();
    const target = join(dir, 'a.yaml');
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const pid = child.pid!;
    writeFileSync(lockPathOf(dir, target), `${pid} ${(await import('node:os')).hostname()} ${Date.now()}\n`);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const locks = new FileLocks(dir, { timeoutMs: 5_000 });
    expect(await locks.withLock(target, 'a.yaml', async () => 'got it')).toBe('got it');
  });

  it('takes over an empty lock left by a writer killed between creating it and writing its pid', async () => {
    const dir = tempDir();
    const target = join(dir, 'a.yaml');
    writeFileSync(lockPathOf(dir, target), '');
    const started = Date.now();
    const locks = new FileLocks(dir, { timeoutMs: 5_000 });
    expect(await locks.withLock(target, 'a.yaml', async () => 'got it')).toBe('got it');
    // Not at once: a live writer may be about to write its pid.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('never takes a lock from a live writer on this host, however long it holds it', async () => {
    const dir = tempDir();
    const target = join(dir, 'a.yaml');
    const lock = lockPathOf(dir, target);
    writeFileSync(lock, `${process.pid} ${hostname()} ${Date.now()}\n`);
    const longAgo = new Date(Date.now() - 600_000);
    utimesSync(lock, longAgo, longAgo);
    const locks = new FileLocks(dir, { timeoutMs: 200, staleMs: 50 });
    const error = await locks.withLock(target, 'a.yaml', async () => 'stolen').catch((e: unknown) => e);
    expect((error as GitOpsError).code).toBe(ErrorCodes.Timeout);
    expect(existsSync(lock)).toBe(true);
  });

  it('takes a lock whose pid now belongs to another process than the one that took it', async () => {
    const dir = tempDir();
    const target = join(dir, 'a.yaml');
    const ownStart = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[19]!;
    // This process is alive, but the lock says its holder started at another time: a reused pid.
    const otherStart = String(Number(ownStart) + 12345);
    writeFileSync(lockPathOf(dir, target), `${process.pid} ${hostname()} ${Date.now()} ${otherStart}\n`);
    const locks = new FileLocks(dir, { timeoutMs: 2_000 });
    expect(await locks.withLock(target, 'a.yaml', async () => 'got it')).toBe('got it');
    // With the holder's own start time the same lock is kept.
    writeFileSync(lockPathOf(dir, target), `${process.pid} ${hostname()} ${Date.now()} ${ownStart}\n`);
    const kept = await new FileLocks(dir, { timeoutMs: 150 })
      .withLock(target, 'a.yaml', async () => 'stolen')
      .catch((e: GitOpsError) => e.code);
    expect(kept).toBe(ErrorCodes.Timeout);
  });

  it('judges a lock of another host by its age only', async () => {
    const dir = tempDir();
    const target = join(dir, 'a.yaml');
    const lock = lockPathOf(dir, target);
    writeFileSync(lock, `${process.pid} some-other-host ${Date.now()}\n`);
    const fresh = new FileLocks(dir, { timeoutMs: 150, staleMs: 60_000 });
    expect(await fresh.withLock(target, 'a.yaml', async () => 'no').catch((e: GitOpsError) => e.code)).toBe(
      ErrorCodes.Timeout,
    );
    const longAgo = new Date(Date.now() - 120_000);
    utimesSync(lock, longAgo, longAgo);
    expect(await fresh.withLock(target, 'a.yaml', async () => 'got it')).toBe('got it');
  });

  it('gives up with Timeout when a live writer keeps the lock', async () => {
    const dir = tempDir();
    const target = join(dir, 'a.yaml');
    writeFileSync(
      lockPathOf(dir, target),
      `${process.pid} ${(await import('node:os')).hostname()} ${Date.now()}\n`,
    );
    const locks = new FileLocks(dir, { timeoutMs: 100 });
    const error = await locks.withLock(target, 'a.yaml', async () => 'no').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitOpsError);
    expect((error as GitOpsError).code).toBe(ErrorCodes.Timeout);
    expect((error as GitOpsError).message).toContain(lockPathOf(dir, target).split('/').pop()!);
  });
});
