/**
 * Atomic file replacement: write a temporary file, flush it to disk, rename it over the
 * target, flush the folder. A crash at any point leaves the old file or the new one, never a
 * mix. The temporary file is made in the storage's own hidden work folder, so the target's
 * folder changes once per write (a file watcher on it rescans it once, not three times); a
 * work folder on another file system falls back to a hidden file beside the target.
 */
import { randomBytes } from 'node:crypto';
import { lstat, open, readdir, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { createInside } from './confined-io.js';

/** Replaces `absPath` with `data`, keeping the old file's permissions. */
export async function writeFileAtomic(
  absPath: string,
  data: string | Uint8Array,
  workDir: string,
): Promise<void> {
  const mode = await stat(absPath).then(
    (s) => s.mode & 0o7777,
    () => 0o644,
  );
  const name = `${basename(absPath)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeAndRename(workDir, name, absPath, data, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await writeAndRename(dirname(absPath), `.${name}`, absPath, data, mode);
  }
  await syncFolder(dirname(absPath));
}

async function writeAndRename(
  folder: string,
  name: string,
  target: string,
  data: string | Uint8Array,
  mode: number,
): Promise<void> {
  const temp = join(folder, name);
  // Made in `folder` itself or refused before a byte is written: never through a swapped-in link.
  const handle = await createInside(temp, folder, mode, basename(target));
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
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

/** Flushes a folder's entries (a rename or an unlink) to disk; best effort where unsupported. */
export async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (handle === undefined) return;
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on folders; the rename itself is still atomic.
  } finally {
    await handle.close();
  }
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
