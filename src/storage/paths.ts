/**
 * Path safety: every path the storage reads or writes is a relative path checked here, and
 * resolves (symlinks included) inside the storage root. Names that become path segments are
 * checked before they are used.
 */
import { lstat, mkdir, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ErrorCodes, GitOpsError, isValidGroup } from '../runtime/index.js';
import type { ObjectKey } from '../runtime/index.js';

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

// Editor leftovers: vim swap and backup files, emacs lock and auto-save files, vim's write test.
const SWAP_FILE = /(\.sw[a-p]|~|\.bak|\.orig|\.tmp)$|^#.*#$|^\.#|^4913$/;

/** Whether a file name looks like a manifest (by its extension). */
export function hasManifestExtension(path: string): boolean {
  const lower = path.toLowerCase();
  return MANIFEST_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/**
 * Whether a relative path (with `/`) is left alone by default: anything under `.git/` or any
 * hidden file or folder (our own temporary and lock files are hidden), and editor swap files.
 */
export function isIgnoredByDefault(path: string): boolean {
  const parts = path.split('/');
  return parts.some((part) => part.startsWith('.') || SWAP_FILE.test(part));
}

/**
 * A relative path in canonical form (`a/b.yaml`), or PathEscape: absolute paths, `..`, empty
 * segments, backslashes and NUL are refused outright, before any file system call.
 */
export function checkRelativePath(path: string): string {
  const fail = (why: string): never => {
    throw new GitOpsError(ErrorCodes.PathEscape, `the path ${JSON.stringify(path)} ${why}`, {
      details: { file: path },
    });
  };
  if (typeof path !== 'string' || path === '') fail('is empty');
  if (path.includes('\0')) fail('contains a NUL character');
  if (path.includes('\\')) fail('contains "\\"; use "/" between folders');
  if (isAbsolute(path) || path.startsWith('/')) fail('is absolute; paths are relative to the storage root');
  const parts = path.split('/');
  for (const part of parts) {
    if (part === '..') fail('goes up with ".." and would leave the storage root');
    if (part === '' || part === '.') fail('has an empty or "." segment');
  }
  return parts.join('/');
}

/** The absolute path of a checked relative path under `root` (no file system access). */
export function joinInside(root: string, path: string): string {
  const abs = resolve(root, ...checkRelativePath(path).split('/'));
  if (!isInside(root, abs)) {
    throw new GitOpsError(ErrorCodes.PathEscape, `the path ${JSON.stringify(path)} leaves the storage root`, {
      details: { file: path },
    });
  }
  return abs;
}

/** Whether the absolute path `abs` is `root` or under it (textually; symlinks are not followed). */
export function isInside(root: string, abs: string): boolean {
  return abs === root || abs.startsWith(root + sep);
}

/**
 * The absolute path of `path` after following symlinks, checked to be inside `root` (which
 * must itself be a real path). A path that does not exist yet is checked through its nearest
 * existing ancestor, so a symlinked folder cannot carry a new file out of the root.
 */
export async function resolveInside(root: string, path: string): Promise<string> {
  const abs = joinInside(root, path);
  let existing = abs;
  let rest = '';
  for (;;) {
    try {
      const real = await realpath(existing);
      if (!isInside(root, real)) {
        throw new GitOpsError(
          ErrorCodes.PathEscape,
          `the path ${JSON.stringify(path)} resolves through a symlink to ${JSON.stringify(real)}, outside the storage root`,
          { details: { file: path } },
        );
      }
      return rest === '' ? real : join(real, rest);
    } catch (err) {
      if (err instanceof GitOpsError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw ioError(err, 'resolve', path);
      // A dangling symlink is refused: where it would write is not known to be inside.
      const link = await lstat(existing).catch(() => undefined);
      if (link?.isSymbolicLink() === true) {
        throw new GitOpsError(
          ErrorCodes.PathEscape,
          `the path ${JSON.stringify(path)} goes through a symlink that points nowhere`,
          { details: { file: path } },
        );
      }
      const parent = dirname(existing);
      if (parent === existing || !isInside(root, parent)) throw ioError(err, 'resolve', path);
      rest = rest === '' ? relative(parent, existing) : join(relative(parent, existing), rest);
      existing = parent;
    }
  }
}

/** Creates the folders of `absFile` (already resolved inside the root). */
export async function ensureParent(absFile: string, path: string): Promise<void> {
  try {
    await mkdir(dirname(absFile), { recursive: true });
  } catch (err) {
    throw ioError(err, 'create the folder of', path);
  }
}

/** An IoError for a failed file system call, naming the file but never more than the relative path. */
export function ioError(err: unknown, action: string, path: string): GitOpsError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return new GitOpsError(
    ErrorCodes.IoError,
    `cannot ${action} ${JSON.stringify(path)}${code !== undefined ? ` (${code})` : ''}: ${(err as Error)?.message ?? String(err)}`,
    { details: { file: path, errno: code }, cause: err },
  );
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KIND = /^[A-Za-z][A-Za-z0-9]*$/;

// Kinds whose names Kubernetes checks only as path segments (e.g. ClusterRole "system:auth").
const PATH_SEGMENT_NAMED = new Set([
  'rbac.authorization.k8s.io/Role',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/RoleBinding',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
]);

/**
 * Checks the parts of a key that become file names: name (DNS-1123 subdomain, or a safe path
 * segment for the kinds Kubernetes allows that for), namespace (DNS-1123 label), kind, group.
 * Invalid with the field of the problem.
 */
export function checkKeyForPath(key: ObjectKey): void {
  const invalid = (field: string, message: string): never => {
    throw new GitOpsError(ErrorCodes.Invalid, `${field}: ${message}`, { details: { field } });
  };
  if (!KIND.test(key.kind))
    invalid('.kind', `${JSON.stringify(key.kind)} is not a kind (letters and digits)`);
  if (!isValidGroup(key.group))
    invalid('.apiVersion', `${JSON.stringify(key.group)} is not a valid API group`);
  const name = key.name;
  if (PATH_SEGMENT_NAMED.has(`${key.group}/${key.kind}`)) {
    if (name === '' || name === '.' || name === '..' || /[/%\\\0]/.test(name) || name.length > 253) {
      invalid(
        '.metadata.name',
        `${JSON.stringify(name)} may not be empty, ".", "..", or contain "/", "%" or "\\"`,
      );
    }
  } else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    invalid(
      '.metadata.name',
      `${JSON.stringify(name)} is not a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", ` +
        'starting and ending with a letter or digit, at most 253 characters (e.g. "my-car")',
    );
  }
  if (key.namespace !== undefined && (key.namespace.length > 63 || !DNS_LABEL.test(key.namespace))) {
    invalid(
      '.metadata.namespace',
      `${JSON.stringify(key.namespace)} is not a DNS-1123 label: lowercase letters, digits and "-", at most 63`,
    );
  }
}
