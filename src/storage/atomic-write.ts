/**
 * Atomic file replacement: write a temporary file, flush it to disk, rename it over the
 * target, flush the folder. A crash at any point leaves the old file or the new one, never a
 * mix. The temporary file is made in the storage's own hidden work folder, so the target's
 * folder changes once per write (a file watcher on it rescans it once, not three times); a
 * work folder on another file system falls back to a hidden file beside the target.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

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
    await writeAndRename(join(workDir, name), absPath, data, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await writeAndRename(join(dirname(absPath), `.${name}`), absPath, data, mode);
  }
  await syncFolder(dirname(absPath));
}

async function writeAndRename(
  temp: string,
  target: string,
  data: string | Uint8Array,
  mode: number,
): Promise<void> {
  const handle = await open(temp, 'wx', mode);
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

/** Removes temporary files that writers killed mid-write left in a work folder. */
export async function removeLeftovers(workDir: string): Promise<number> {
  const names = await readdir(workDir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    const pid = /\.(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name)?.[1];
    if (pid === undefined || isAlive(Number(pid))) continue;
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
