import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';
import { ManifestDirectory } from '../../src/storage/index.js';
import { assertPlainFolder, createInside, readFileInside } from '../../src/storage/confined-io.js';
import { codeOf, removeTempDirs, tempDir } from './helpers.js';

afterAll(() => removeTempDirs());

const SECRET = 'password: outside-the-root\n';

describe('confined reads', () => {
  it('never returns a file outside the root while a symlink is swapped in and out (a real second process)', async () => {
    const root = tempDir();
    const outside = tempDir();
    writeFileSync(join(outside, 'secret.yaml'), SECRET);
    writeFileSync(join(root, 'a.yaml'), 'a: inside\n');
    // A second process swaps a.yaml between the plain file and a link out of the root, by rename.
    const script = [
      `const fs = require('node:fs');`,
      `const root = ${JSON.stringify(root)};`,
      `fs.writeFileSync(root + '/plain.yaml', 'a: inside\\n');`,
      `fs.symlinkSync(${JSON.stringify(join(outside, 'secret.yaml'))}, root + '/link.yaml');`,
      `process.stdout.write('ready\\n');`,
      `for (;;) {`,
      `  fs.copyFileSync(root + '/plain.yaml', root + '/next.yaml'); fs.renameSync(root + '/next.yaml', root + '/a.yaml');`,
      `  fs.symlinkSync(${JSON.stringify(join(outside, 'secret.yaml'))}, root + '/next.yaml'); fs.renameSync(root + '/next.yaml', root + '/a.yaml');`,
      `}`,
    ].join('\n');
    const swapper = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => swapper.stdout.once('data', () => resolve()));
    const raw = await ManifestDirectory.open({ root });
    const outcomes = new Map<string, number>();
    try {
      for (let i = 0; i < 3_000; i++) {
        let outcome: string;
        try {
          outcome = (await raw.read('a.yaml'))?.text ?? 'missing';
        } catch (err) {
          outcome = err instanceof GitOpsError ? err.code : String(err);
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
    } finally {
      swapper.kill('SIGKILL');
      await new Promise((resolve) => swapper.once('exit', resolve));
    }
    expect(outcomes.get(SECRET) ?? 0, JSON.stringify([...outcomes])).toBe(0);
    // Every read either saw the file inside or was refused as an escape.
    for (const key of outcomes.keys())
      expect(['a: inside\n', ErrorCodes.PathEscape, 'missing']).toContain(key);
    expect(outcomes.get('a: inside\n') ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('checks the file once open: one that lies outside the root is refused (read-then-verify)', async () => {
    const root = tempDir();
    const outside = tempDir();
    writeFileSync(join(outside, 'secret.yaml'), SECRET);
    mkdirSync(join(root, 'inside'));
    writeFileSync(join(root, 'inside', 'a.yaml'), 'a: 1\n');
    expect((await readFileInside(root, 'inside/a.yaml'))?.toString()).toBe('a: 1\n');
    // The folder already replaced: the path check refuses it before opening.
    rmSync(join(root, 'inside'), { recursive: true });
    symlinkSync(outside, join(root, 'inside'));
    expect(await codeOf(readFileInside(root, 'inside/secret.yaml'))).toBe(ErrorCodes.PathEscape);
    expect(await readFileInside(root, 'none.yaml')).toBeUndefined();
  });

  it('refuses what is not a regular file (a FIFO does not block the read)', async () => {
    const root = tempDir();
    const made = spawn('mkfifo', [join(root, 'pipe.yaml')]);
    expect(await new Promise((resolve) => made.once('exit', resolve))).toBe(0);
    expect(await codeOf(readFileInside(root, 'pipe.yaml'))).toBe(ErrorCodes.IoError);
  });
});

describe('the work folder', () => {
  it('is checked on every write: replaced by a symlink after the first write, nothing is created outside', async () => {
    const root = tempDir();
    const outside = tempDir();
    const raw = await ManifestDirectory.open({ root });
    await raw.write('a.yaml', 'a: 1\n');
    await raw.withLock('a.yaml', async () => raw.write('a.yaml', 'a: 2\n'));
    rmSync(join(root, '.libgitops'), { recursive: true });
    symlinkSync(outside, join(root, '.libgitops'));
    expect(await codeOf(raw.write('a.yaml', 'a: 3\n'))).toBe(ErrorCodes.PathEscape);
    expect(await codeOf(raw.withLock('a.yaml', async () => 'locked'))).toBe(ErrorCodes.PathEscape);
    expect(readdirSync(outside)).toEqual([]);
    expect(readFileSync(join(root, 'a.yaml'), 'utf8')).toBe('a: 2\n');
  });

  it('a file created through a folder swapped for a link is removed again, empty, with PathEscape', async () => {
    const work = tempDir();
    const outside = tempDir();
    const link = join(tempDir(), 'work');
    symlinkSync(outside, link);
    // `work` was checked; by the time the file is made, its name leads to `outside`.
    const err = await createInside(join(link, 'x.lock'), work, 0o644, 'x.lock').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitOpsError);
    expect((err as GitOpsError).code).toBe(ErrorCodes.PathEscape);
    expect(readdirSync(outside)).toEqual([]);
    const handle = await createInside(join(work, 'y.lock'), work, 0o644, 'y.lock');
    await handle.close();
    expect(readdirSync(work)).toEqual(['y.lock']);
  });

  it('is never a symlink, and never resolves elsewhere', async () => {
    const root = tempDir();
    const outside = tempDir();
    symlinkSync(outside, join(root, '.libgitops'));
    expect(await codeOf(assertPlainFolder(join(root, '.libgitops'), '.libgitops'))).toBe(
      ErrorCodes.PathEscape,
    );
    mkdirSync(join(root, 'real'));
    expect(await assertPlainFolder(join(root, 'real'), 'real')).toBeUndefined();
  });

  it('start-up clean-up never deletes through a symlinked work folder', async () => {
    const root = tempDir();
    const outside = tempDir();
    const victim = 'data.yaml.999999999.0123456789ab.tmp';
    writeFileSync(join(outside, victim), 'someone else’s file');
    symlinkSync(outside, join(root, '.libgitops'));
    const raw = await ManifestDirectory.open({ root });
    expect(existsSync(join(outside, victim))).toBe(true);
    expect(await codeOf(raw.write('a.yaml', 'a: 1\n'))).toBe(ErrorCodes.PathEscape);
    expect(readdirSync(outside)).toEqual([victim]);
    // A plain work folder is still cleaned of dead writers' leftovers.
    renameSync(join(root, '.libgitops'), join(root, 'gone'));
    mkdirSync(join(root, '.libgitops'));
    writeFileSync(join(root, '.libgitops', victim), 'half');
    await ManifestDirectory.open({ root });
    expect(readdirSync(join(root, '.libgitops'))).toEqual([]);
  });
});
