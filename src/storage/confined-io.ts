/**
 * File access that stays inside a folder even when symlinks are swapped in while it runs.
 * Checking a path and then using it leaves a window in which a folder or file can be replaced by
 * a symlink; so a file is opened first and then the opened file itself is checked (its real
 * path from /proc/self/fd, or its device and inode against the checked path where /proc is
 * missing). A file created in the wrong place is removed before anything is written to it. A
 * folder written into is opened and checked the same way, and the file renamed into (or removed
 * from) the opened folder itself, never into whatever its path leads to by then.
 */
import { constants } from 'node:fs';
import { lstat, open, readlink, realpath, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import { ioError, isInside, resolveInside } from './paths.js';

/** The real path of an open file, or undefined where the system does not say (no /proc). */
async function openedPath(handle: FileHandle, fallback: string): Promise<string | undefined> {
  const viaProc = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
  if (viaProc !== undefined) return viaProc;
  // No /proc: the checked path must still name the very file that was opened.
  const [opened, named] = await Promise.all([
    handle.stat(),
    realpath(fallback)
      .then((real) => stat(real).then((s) => ({ s, real })))
      .catch(() => undefined),
  ]);
  if (named === undefined || named.s.dev !== opened.dev || named.s.ino !== opened.ino) return undefined;
  return named.real;
}

function escaped(path: string, where: string | undefined): GitOpsError {
  return new GitOpsError(
    ErrorCodes.PathEscape,
    `the path ${JSON.stringify(path)} was swapped for a link to ${where === undefined ? 'an unknown place' : 'a place'} outside the storage root while it was opened`,
    { details: { file: path } },
  );
}

function folderSwapped(display: string): GitOpsError {
  return new GitOpsError(
    ErrorCodes.PathEscape,
    `the folder of ${JSON.stringify(display)} was replaced (by a symlink, or moved) after its path was checked; nothing is written through it`,
    { details: { file: display } },
  );
}

/**
 * The bytes of `path` under `root` (a real path), or undefined when there is no such file.
 * Refuses with PathEscape a file that turns out, once open, to lie outside the root.
 */
export async function readFileInside(root: string, path: string): Promise<Buffer | undefined> {
  const abs = await resolveInside(root, path);
  let handle: FileHandle;
  try {
    // Non-blocking: a FIFO swapped in answers at once instead of holding the read for ever.
    handle = await open(abs, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw ioError(err, 'read', path);
  }
  try {
    const real = await openedPath(handle, abs);
    if (real === undefined || !isInside(root, real)) throw escaped(path, real);
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new GitOpsError(ErrorCodes.IoError, `cannot read ${JSON.stringify(path)}: not a regular file`, {
        details: { file: path },
      });
    }
    return await handle.readFile();
  } catch (err) {
    if (err instanceof GitOpsError) throw err;
    throw ioError(err, 'read', path);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Checks that `folder` (an absolute path, real when it was made) is a plain folder at that very
 * path, not a symlink and not replaced by one. Called before every use of a work folder.
 */
export async function assertPlainFolder(folder: string, display: string): Promise<void> {
  const fail = (why: string): never => {
    throw new GitOpsError(ErrorCodes.PathEscape, `${display} in the storage root ${why}`, {
      details: { file: display },
    });
  };
  const info = await lstat(folder).catch((err: unknown) => {
    throw ioError(err, 'check', display);
  });
  if (info.isSymbolicLink()) fail('is a symlink; it is never followed');
  if (!info.isDirectory()) fail('is not a plain folder');
  const real = await realpath(folder).catch((err: unknown) => {
    throw ioError(err, 'check', display);
  });
  if (real !== folder) fail('resolves to another place');
}

/**
 * Creates `file` exclusively (never through a symlink at its own name) and checks the new file
 * is in `folder` (where that folder really was just before); one made elsewhere (the folder
 * swapped for a link meanwhile) is removed again, empty, and PathEscape thrown. `display`
 * names the file in errors.
 */
export async function createInside(
  file: string,
  folder: string,
  mode: number,
  display: string,
): Promise<FileHandle> {
  // Where the folder really is now; the new file is checked against it once it exists.
  const expected = await realpath(folder);
  const handle = await open(
    file,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    mode,
  );
  const real = await openedPath(handle, file).catch(() => undefined);
  if (real !== undefined && dirname(real) === expected) return handle;
  await handle.close().catch(() => undefined);
  // The name still leads where the file was made: removing it there leaves nothing behind.
  await unlink(file).catch(() => undefined);
  throw escaped(display, real);
}

/**
 * A folder opened and checked to be the one at its path: `entry(name)` names a file of that
 * very folder, so a rename or unlink through it reaches the opened folder even when its path
 * is swapped for a symlink afterwards.
 */
export interface OpenedFolder {
  /** The folder's path (real), as it was checked. */
  readonly path: string;
  /** A path for `name` in the opened folder (through /proc/self/fd where there is one). */
  entry(name: string): string;
  /**
   * Throws PathEscape when the folder's path no longer leads to the opened folder. Needed only
   * where /proc is missing (entry is then the plain path): call it after using an entry.
   */
  confirm(): Promise<void>;
  /** Flushes the folder's entries (a rename or an unlink) to disk; best effort. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens the folder `folder` (never through a symlink at its own name) and checks that what was
 * opened really is `folder` (a real path): PathEscape otherwise, e.g. when the folder was swapped
 * for a symlink, or its path leads through one, since the path was resolved. `display` names it
 * in errors.
 */
export async function openFolder(folder: string, display: string): Promise<OpenedFolder> {
  let handle: FileHandle;
  try {
    handle = await open(folder, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ELOOP: the folder itself is a symlink now; ENOTDIR: something else took its place.
    if (code === 'ELOOP' || code === 'ENOTDIR') throw folderSwapped(display);
    throw ioError(err, 'open the folder of', display);
  }
  try {
    const viaProc = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
    const opened = await handle.stat();
    const confirm = async (): Promise<void> => {
      if (viaProc !== undefined) return;
      // No /proc: the path must still lead, without a symlink, to the very folder opened.
      const [info, real] = await Promise.all([
        lstat(folder).catch(() => undefined),
        realpath(folder).catch(() => undefined),
      ]);
      if (info === undefined || info.dev !== opened.dev || info.ino !== opened.ino || real !== folder)
        throw folderSwapped(display);
    };
    if (viaProc !== undefined && viaProc !== folder) throw folderSwapped(display);
    await confirm();
    const fd = handle.fd;
    return {
      path: folder,
      entry: (name) => (viaProc !== undefined ? `/proc/self/fd/${fd}/${name}` : join(folder, name)),
      confirm,
      sync: async () => {
        // Some file systems refuse fsync on folders; the rename itself is still atomic.
        await handle.sync().catch(() => undefined);
      },
      close: async () => {
        await handle.close().catch(() => undefined);
      },
    };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}
