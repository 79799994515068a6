/** Finding the manifest files a command was given: files as named, folders walked. */
import { readdir, stat } from 'node:fs/promises';
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
