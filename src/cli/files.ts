/** Finding the manifest files a command was given: files as named, folders walked. */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import { contentTypeOf } from '../serializer/index.js';

// Folders no one keeps manifests in, and that can be huge.
const SKIPPED_DIRS = new Set(['node_modules', '.git']);

/**
 * Every manifest file under the given paths, in a stable order. A file named explicitly is
 * taken whatever its extension; in folders only .yaml/.yml/.json files count, and hidden
 * files and folders are passed over.
 */
export async function collectManifestFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch((err: unknown) => {
      throw cannotRead(err, path);
    });
    if (info.isDirectory()) await walk(path, out);
    else out.push(path);
  }
  return out;
}

function cannotRead(err: unknown, path: string): GitOpsError {
  const errno = (err as NodeJS.ErrnoException).code;
  // The path is the line's prefix (details.file), so the message does not repeat it.
  const message = errno === 'ENOENT' ? 'no such file or folder' : `cannot read it: ${(err as Error).message}`;
  return new GitOpsError(ErrorCodes.IoError, message, {
    details: { file: path, errno },
    cause: err,
  });
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
    throw cannotRead(err, dir);
  });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.') || SKIPPED_DIRS.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path, out);
    else if (entry.isFile() && contentTypeOf(entry.name) !== undefined) out.push(path);
  }
}
