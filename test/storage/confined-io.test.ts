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
import { ManifestDirectory, writeFileAtomic } from '../../src/storage/index.js';
import {
  assertPlainFolder,
  createInside,
  openFolder,
  readFileInside,
} from '../../src/storage/confined-io.js';
import { resolveInside } from '../../src/storage/paths.js';
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

describe('confined writes and removals', () => {
  it('a folder swapped for a link after the path was resolved is refused, and nothing lands outside', async () => {
    const root = tempDir();
    const outside = tempDir();
    const work = join(root, '.work');
    mkdirSync(work);
    mkdirSync(join(root, 'sub'));
    // Resolved (and checked) while `sub` is a plain folder ...
    const abs = await resolveInside(root, 'sub/a.yaml');
    // ... then `sub` becomes a link out of the root before the write renames its file there.
    renameSync(join(root, 'sub'), join(root, 'sub-was'));
    symlinkSync(outside, join(root, 'sub'));
    expect(await codeOf(writeFileAtomic(abs, 'a: 1\n', work, { root }))).toBe(ErrorCodes.PathEscape);
    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(work)).toEqual([]);
    // The same write with the folder in place lands where it was resolved.
    rmSync(join(root, 'sub'));
    renameSync(join(root, 'sub-was'), join(root, 'sub'));
    await writeFileAtomic(abs, 'a: 2\n', work, { root });
    expect(readFileSync(join(root, 'sub', 'a.yaml'), 'utf8')).toBe('a: 2\n');
  });

  it('renames into the opened folder itself, even when its path is swapped for a link afterwards', async () => {
    const root = tempDir();
    const outside = tempDir();
    mkdirSync(join(root, 'sub'));
    writeFileSync(join(root, 'new.tmp'), 'a: 1\n');
    const folder = await openFolder(join(root, 'sub'), 'sub/a.yaml');
    try {
      renameSync(join(root, 'sub'), join(root, 'sub-was'));
      symlinkSync(outside, join(root, 'sub'));
      renameSync(join(root, 'new.tmp'), folder.entry('a.yaml'));
    } finally {
      await folder.close();
    }
    expect(readdirSync(outside)).toEqual([]);
    expect(readFileSync(join(root, 'sub-was', 'a.yaml'), 'utf8')).toBe('a: 1\n');
    // A folder that is a link already, or whose path leads through one, is not opened at all.
    expect(await codeOf(openFolder(join(root, 'sub'), 'sub'))).toBe(ErrorCodes.PathEscape);
    mkdirSync(join(outside, 'deeper'));
    expect(await codeOf(openFolder(join(root, 'sub', 'deeper'), 'sub/deeper'))).toBe(ErrorCodes.PathEscape);
  });

  it('never writes or removes outside the root while a folder is swapped for a link (a real second process)', async () => {
    const root = tempDir();
    const outside = tempDir();
    writeFileSync(join(outside, 'a.yaml'), SECRET);
    mkdirSync(join(root, 'sub'));
    // A second process moves `sub` away, puts a link out of the root in its place, and back.
    const script = [
      `const fs = require('node:fs');`,
      `const root = ${JSON.stringify(root)};`,
      `const attempt = (fn) => { try { fn(); } catch {} };`,
      `process.stdout.write('ready\\n');`,
      `for (let i = 0; ; i++) {`,
      `  attempt(() => fs.renameSync(root + '/sub', root + '/held-' + i));`,
      `  attempt(() => fs.symlinkSync(${JSON.stringify(outside)}, root + '/sub'));`,
      `  attempt(() => fs.unlinkSync(root + '/sub'));`,
      `  attempt(() => fs.renameSync(root + '/held-' + i, root + '/sub'));`,
      `}`,
    ].join('\n');
    const swapper = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => swapper.stdout.once('data', () => resolve()));
    const raw = await ManifestDirectory.open({ root });
    const outcomes = new Map<string, number>();
    const count = (what: string): void => {
      outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
    };
    try {
      for (let i = 0; i < 1_000; i++) {
        await raw.write('sub/a.yaml', `a: ${i}\n`).then(
          () => count('written'),
          (err: unknown) => count(err instanceof GitOpsError ? err.code : String(err)),
        );
        await raw.remove('sub/a.yaml').then(
          (removed) => count(removed ? 'removed' : 'missing'),
          (err: unknown) => count(err instanceof GitOpsError ? err.code : String(err)),
        );
      }
    } finally {
      swapper.kill('SIGKILL');
      await new Promise((resolve) => swapper.once('exit', resolve));
    }
    expect(readdirSync(outside), JSON.stringify([...outcomes])).toEqual(['a.yaml']);
    expect(readFileSync(join(outside, 'a.yaml'), 'utf8')).toBe(SECRET);
    for (const key of outcomes.keys())
      expect(['written', 'removed', 'missing', ErrorCodes.PathEscape, ErrorCodes.IoError]).toContain(key);
    expect(outcomes.get('written') ?? 0).toBeGreaterThan(0);
  }, 120_000);
});
