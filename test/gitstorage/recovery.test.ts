/**
 * A transaction killed with SIGKILL (in its function, or after its push and before its pull
 * request) leaves a journal entry; the next start of a storage on the same clone undoes it:
 * the working tree, the local branch and the pushed branch are gone, nothing half-done stays.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { createBareRepo, headOf } from '../support/git-server/index.js';
import { branchesOf, carFiles, closeAll, openStorage, tempFolder } from './helpers.js';

afterEach(closeAll);

const CHILD = resolve(import.meta.dirname, 'fixtures/transaction-child.ts');

/** Runs the child until it prints its step, then kills it with SIGKILL; returns what it printed. */
async function killAtStep(
  remote: string,
  dir: string,
  step: 'in-function' | 'after-push',
): Promise<{ branch: string; id: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, remote, dir, step], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (err += text));
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  try {
    const line = await new Promise<string>((resolveLine, reject) => {
      const timer = setTimeout(() => reject(new Error(`the child never reached ${step}: ${err}`)), 60_000);
      child.stdout.setEncoding('utf8').on('data', (text: string) => {
        out += text;
        const done = out.split('\n').find((l) => l.startsWith(`${step} `));
        if (done !== undefined) {
          clearTimeout(timer);
          resolveLine(done);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the child exited (${code}) before ${step}: ${err}`));
      });
    });
    const [, branch = '', id = ''] = line.split(' ');
    return { branch, id };
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

describe('recovery after a killed transaction', () => {
  it('undoes a transaction killed inside its function: its files and journal entry go', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const dir = join(await tempFolder(), 'clone');
    const { branch, id } = await killAtStep(repo.path, dir, 'in-function');
    // The kill left the transaction half-done in the clone.
    const scratch = join(dir, 'libgitops', 'worktrees', id);
    expect(existsSync(scratch)).toBe(true);
    expect(readdirSync(join(dir, 'libgitops', 'transactions'))).toEqual([`${id}.json`]);

    const storage = await openStorage({ directory: { url: repo.path, dir, interval: 0 } });
    expect(storage.recovery.problems).toEqual([]);
    expect(storage.recovery.undone).toEqual([expect.objectContaining({ branch, phase: 'open' })]);
    expect(existsSync(scratch)).toBe(false);
    expect(branchesOf(dir)).toEqual(['main']);
    expect(readdirSync(join(dir, 'libgitops', 'transactions'))).toEqual([]);
    expect(branchesOf(repo.path)).toEqual(['main']);
    // The clone still works for the next transaction.
    const next = await storage.transaction({}, async (cars) => {
      const foo = await cars.get({
        group: 'sample-app.weave.works',
        kind: 'Car',
        namespace: 'default',
        name: 'foo',
      });
      await cars.update({ ...foo, spec: { ...(foo.spec as object), engine: 'rebuilt' } });
      return { title: 'After the crash' };
    });
    expect(await headOf(repo, next.branch)).toBe(next.commit);
  });

  it('deletes the branch a transaction pushed before it was killed, before its pull request', async () => {
    const repo = await createBareRepo({ files: carFiles() });
    const dir = join(await tempFolder(), 'clone');
    const { branch } = await killAtStep(repo.path, dir, 'after-push');
    expect(branchesOf(repo.path)).toEqual(['main', branch].sort());

    const storage = await openStorage({ directory: { url: repo.path, dir, interval: 0 } });
    expect(storage.recovery.undone).toEqual([expect.objectContaining({ branch, phase: 'pushed' })]);
    expect(branchesOf(repo.path)).toEqual(['main']);
    expect(branchesOf(dir)).toEqual(['main']);
    expect(readdirSync(join(dir, 'libgitops', 'worktrees'))).toEqual([]);
  });
});
