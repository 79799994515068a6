/** Finding the manifest files a command was given: files as named, folders walked. */
import { constants } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
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

/** The largest file fmt and validate read; a manifest is never near this. */
export const MAX_MANIFEST_FILE_BYTES = 16 * 1024 * 1024;

/**
 * The text of one manifest file, refusing with a typed error: what is not a regular file (a
 * FIFO, a device such as /dev/zero: opened without blocking and never read), a file over
 * `maxBytes` (FileTooLarge, read no further than the limit), and bytes that are not UTF-8
 * (InvalidEncoding, with the byte offset), so nothing is silently turned into U+FFFD.
 */
export async function readManifestFile(path: string, maxBytes = MAX_MANIFEST_FILE_BYTES): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch((err: unknown) => {
    throw cannotRead(err, path);
  });
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new GitOpsError(
        ErrorCodes.IoError,
        'not a regular file (a FIFO, device or socket is never read)',
        {
          details: { file: path },
        },
      );
    }
    // Read at most one byte past the limit: a file growing meanwhile cannot get past it either.
    const buffer = Buffer.alloc(Math.min(info.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) {
        throw new GitOpsError(
          ErrorCodes.FileTooLarge,
          `larger than the ${maxBytes} bytes a manifest file may have`,
          {
            details: { file: path },
          },
        );
      }
      if (length === buffer.length) break;
    }
    const bytes = buffer.subarray(0, length);
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      const offset = firstInvalidUtf8(bytes);
      throw new GitOpsError(
        ErrorCodes.InvalidEncoding,
        `not valid UTF-8 (at byte ${offset}); the file is left as it is`,
        {
          details: { file: path, offset },
        },
      );
    }
  } catch (err) {
    if (err instanceof GitOpsError) throw err;
    throw cannotRead(err, path);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function firstInvalidUtf8(bytes: Uint8Array): number {
  let low = 0;
  let high = bytes.length;
  // The longest valid prefix, found by halving (a valid prefix may end inside a character).
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
      low = mid;
    } catch {
      high = mid - 1;
    }
  }
  return low;
}

/**
 * Why a file holds no Kubernetes objects though it is YAML or JSON (kustomize's, Helm's and
 * sops' own files), or undefined for a manifest file. Such files are skipped with a note, as
 * kubectl and the API server would never take them for objects.
 */
export function notManifestReason(path: string): string | undefined {
  const name = basename(path);
  if (/^(kustomization|Kustomization)\.ya?ml$/.test(name)) return 'a kustomize file, not Kubernetes objects';
  if (/^Chart\.(ya?ml|lock)$/.test(name)) return 'a Helm chart file, not Kubernetes objects';
  if (/^values([-._][^/]*)?\.(ya?ml|json)$/.test(name) || /\.values\.ya?ml$/.test(name))
    return 'Helm values, not Kubernetes objects';
  if (name === '.sops.yaml' || name === '.sops.yml') return 'a sops configuration, not Kubernetes objects';
  if (name === 'values.schema.json') return 'a Helm values schema, not Kubernetes objects';
  return undefined;
}
