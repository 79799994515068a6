/**
 * Atomic file replacement: write a temporary file, flush it to disk, rename it over the
 * target, flush the folder. A crash at any point leaves the old file or the new one, never a
 * mix. The temporary file is made in the storage's own hidden work folder, so the target's
 * folder changes once per write (a file watcher on it rescans it once, not three times); a
 * work folder on another file system falls back to a hidden file beside the target. The
 * target's folder is opened and checked first, and the file renamed into that opened folder:
 * a folder swapped for a symlink at any moment of the write never lets it land elsewhere.
 */
import { randomBytes } from 'node:crypto';
import { lstat, readdir, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import { createInside, openFolder } from './confined-io.js';
import type { OpenedFolder } from './confined-io.js';
import { isInside } from './paths.js';

export interface AtomicWriteOptions {
  /**
   * The root `absPath` was resolved in (a real path), for a caller that resolved it: the
   * target's folder must then be exactly `dirname(absPath)`, inside the root, when it is opened.
   * Without it, the folder is the one `dirname(absPath)` really is when the write begins.
   */
  root?: string;
}

/**
 * Replaces `absPath` with `data`, keeping the old file's permissions. PathEscape, and nothing
 * written, when the target's folder is not (or no longer) the folder the path was resolved to.
 */
export async function writeFileAtomic(
  absPath: string,
  data: string | Uint8Array,
  workDir: string,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const name = basename(absPath);
  const expected = options.root === undefined ? await realpath(dirname(absPath)) : dirname(absPath);
  if (options.root !== undefined && !isInside(options.root, expected)) {
    throw new GitOpsError(ErrorCodes.PathEscape, `${JSON.stringify(absPath)} is outside the storage root`, {
      details: { file: name },
    });
  }
  const folder = await openFolder(expected, name);
  try {
    const mode = await stat(folder.entry(name)).then(
      (s) => s.mode & 0o7777,
      () => 0o644,
    );
    const temp = `${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeAndRename(workDir, temp, folder, name, data, mode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      await writeAndRename(folder.entry(''), `.${temp}`, folder, name, data, mode);
    }
    await folder.sync();
  } finally {
    await folder.close();
  }
}

/** Writes `data` to a new file `name` in `tempFolder`, flushes it and renames it to `target` in `folder`. */
async function writeAndRename(
  tempFolder: string,
  name: string,
  folder: OpenedFolder,
  target: string,
  data: string | Uint8Array,
  mode: number,
): Promise<void> {
  const temp = join(tempFolder, name);
  // Made in `tempFolder` itself or refused before a byte is written: never through a swapped-in link.
  const handle = await createInside(temp, tempFolder, mode, target);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, folder.entry(target));
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  // Without /proc the rename went by path: make sure that path still led to the checked folder.
  await folder.confirm();
}

/** Whether `folder` is a plain folder at that very path (no symlink in its place). */
async function isPlainFolder(folder: string): Promise<boolean> {
  const info = await lstat(folder).catch(() => undefined);
  if (info === undefined || info.isSymbolicLink() || !info.isDirectory()) return false;
  return (await realpath(folder).catch(() => undefined)) === folder;
}

/**
 * Removes temporary files that writers killed mid-write left in a work folder (a real path).
 * Never through a symlink: a work folder that is a link, or becomes one, is left alone.
 */
export async function removeLeftovers(workDir: string): Promise<number> {
  if (!(await isPlainFolder(workDir))) return 0;
  const names = await readdir(workDir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    const pid = /\.(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name)?.[1];
    if (pid === undefined || isAlive(Number(pid))) continue;
    if (!(await isPlainFolder(workDir))) break;
    if (
      await unlink(join(workDir, name)).then(
        () => true,
        () => false,
      )
    )
      removed += 1;
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
