/**
 * Raw storage: manifest files as bytes in a folder. It knows which files are manifests, where a
 * new object goes, and how to read, replace (atomically) and remove a file without leaving the
 * root; it knows nothing of objects beyond their keys. Two kinds: FileSystemRawStorage, whose
 * layout gives each object a path of its own, and ManifestDirectory, for folders of any shape.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, realpath, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { ErrorCodes, GitOpsError } from '../runtime/index.js';
import type { KubeObject, ObjectKey } from '../runtime/index.js';
import { contentTypeOf } from '../serializer/index.js';
import type { ContentType } from '../serializer/index.js';
import { removeLeftovers, writeFileAtomic } from './atomic-write.js';
import { assertPlainFolder, openFolder, readFileInside } from './confined-io.js';
import type { OpenedFolder } from './confined-io.js';
import { fileChecksum } from './content-hash.js';
import { FileLocks } from './file-lock.js';
import type { FileLockOptions } from './file-lock.js';
import {
  checkKeyForPath,
  checkRelativePath,
  ensureParent,
  hasManifestExtension,
  ioError,
  isIgnoredByDefault,
  isInside,
  resolveInside,
} from './paths.js';

/** A file's text with the checksum of its bytes. */
export interface FileContent {
  readonly text: string;
  readonly checksum: string;
}

export interface RawStorage {
  /** The real, absolute path of the root folder. */
  readonly root: string;
  /** Whether one file may hold several objects (and new objects may join an existing file). */
  readonly multiObjectFiles: boolean;
  /** Whether a relative path (with `/`) is a manifest file of this storage. */
  isManifestPath(path: string): boolean;
  /** Every manifest file, as relative paths, sorted. */
  listFiles(signal?: AbortSignal): Promise<string[]>;
  /** A file's text and checksum, or undefined when it does not exist. */
  read(path: string): Promise<FileContent | undefined>;
  /** Replaces (or creates) a file atomically; returns the new checksum. */
  write(path: string, text: string): Promise<string>;
  /** Removes a file; false when it was not there. */
  remove(path: string): Promise<boolean>;
  /** The checksum (content hash) of a file, or undefined when it does not exist. */
  checksum(path: string): Promise<string | undefined>;
  contentType(path: string): ContentType;
  /** The file a new object goes to (it may exist already when multiObjectFiles is true). */
  fileFor(obj: KubeObject, key: ObjectKey): string;
  /** Whether the file at `path` may hold the object `key` (layouts: only at its own path). */
  mayHold(path: string, key: ObjectKey): boolean;
  /** Runs `fn` as the only writer of `path`, in this process and in others. */
  withLock<T>(path: string, fn: () => Promise<T>): Promise<T>;
}

export interface DirectoryOptions {
  /** The folder; created when missing. */
  root: string;
  /** More paths to leave alone, besides `.git/`, hidden files and editor swap files. */
  ignore?: (path: string) => boolean;
  /** Content type of new files. Default `yaml`. */
  contentType?: ContentType;
  locks?: FileLockOptions;
}

/**
 * The hidden folder in the root where writers keep temporary files and locks. Hidden, so it
 * is never read as manifests; empty whenever no write is under way.
 */
export const WORK_FOLDER = '.libgitops';

/** What both raw storages share: a root, safe paths, atomic writes and locks. */
abstract class DirectoryStorage implements RawStorage {
  readonly root: string;
  abstract readonly multiObjectFiles: boolean;
  protected readonly newContentType: ContentType;
  readonly #ignore: ((path: string) => boolean) | undefined;
  readonly #workDir: string;
  readonly #locks: FileLocks;
  readonly #pruneFolders: boolean;

  protected constructor(root: string, options: DirectoryOptions, pruneFolders: boolean) {
    this.root = root;
    this.newContentType = options.contentType ?? 'yaml';
    this.#ignore = options.ignore;
    this.#workDir = join(root, WORK_FOLDER);
    this.#locks = new FileLocks(this.#workDir, options.locks);
    this.#pruneFolders = pruneFolders;
  }

  /** The real path of a root folder, created when missing; leftovers of killed writers go. */
  protected static async realRoot(root: string): Promise<string> {
    let real: string;
    let isFolder: boolean;
    try {
      await mkdir(root, { recursive: true });
      real = await realpath(root);
      isFolder = (await stat(real)).isDirectory();
    } catch (err) {
      throw ioError(err, 'open the storage folder', root);
    }
    if (!isFolder) {
      throw new GitOpsError(
        ErrorCodes.IoError,
        `cannot open the storage folder ${JSON.stringify(root)}: not a folder`,
        {
          details: { file: root, errno: 'ENOTDIR' },
        },
      );
    }
    await removeLeftovers(join(real, WORK_FOLDER));
    return real;
  }

  /**
   * Creates the work folder when missing and checks it on every use: a symlink put in its place
   * at any time could carry lock and temporary files (whole manifests) out of the root.
   */
  async #ensureWorkDir(): Promise<void> {
    await mkdir(this.#workDir).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw ioError(err, 'create the work folder', WORK_FOLDER);
    });
    await assertPlainFolder(this.#workDir, WORK_FOLDER);
  }

  protected abstract fitsShape(path: string): boolean;
  abstract fileFor(obj: KubeObject, key: ObjectKey): string;
  abstract mayHold(path: string, key: ObjectKey): boolean;

  isManifestPath(path: string): boolean {
    return (
      hasManifestExtension(path) &&
      !isIgnoredByDefault(path) &&
      this.#ignore?.(path) !== true &&
      this.fitsShape(path)
    );
  }

  /** Whether the walk should go into a folder at all. */
  #skipsFolder(path: string): boolean {
    return isIgnoredByDefault(path) || this.#ignore?.(path) === true;
  }

  async listFiles(signal?: AbortSignal): Promise<string[]> {
    const files: string[] = [];
    const walk = async (abs: string, rel: string): Promise<void> => {
      signal?.throwIfAborted();
      let entries;
      try {
        entries = await readdir(abs, { withFileTypes: true });
      } catch (err) {
        // A folder that vanished while walking is simply not there any more.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw ioError(err, 'list', rel === '' ? '.' : rel);
      }
      for (const entry of entries) {
        const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
        const childAbs = join(abs, entry.name);
        if (entry.isDirectory()) {
          if (!this.#skipsFolder(childRel)) await walk(childAbs, childRel);
        } else if (entry.isFile()) {
          if (this.isManifestPath(childRel)) files.push(childRel);
        } else if (entry.isSymbolicLink() && this.isManifestPath(childRel)) {
          // Linked files count when they stay inside the root; linked folders are not followed.
          const target = await realpath(childAbs).catch(() => undefined);
          if (target === undefined || !isInside(this.root, target)) continue;
          if ((await stat(target).catch(() => undefined))?.isFile() === true) files.push(childRel);
        }
      }
    };
    await walk(this.root, '');
    return files.sort();
  }

  async read(path: string): Promise<FileContent | undefined> {
    // Opened, then the opened file checked: a symlink swapped in after a check is never followed out.
    const bytes = await readFileInside(this.root, path);
    if (bytes === undefined) return undefined;
    return { text: bytes.toString('utf8'), checksum: fileChecksum(bytes) };
  }

  async write(path: string, text: string): Promise<string> {
    this.#assertManifestPath(path);
    const abs = await resolveInside(this.root, path);
    await ensureParent(abs, path);
    await this.#ensureWorkDir();
    const bytes = Buffer.from(text, 'utf8');
    try {
      // Renamed into the folder checked when opened: a folder swapped for a link meanwhile is refused.
      await writeFileAtomic(abs, bytes, this.#workDir, { root: this.root });
    } catch (err) {
      if (err instanceof GitOpsError) throw err;
      throw ioError(err, 'write', path);
    }
    return fileChecksum(bytes);
  }

  async remove(path: string): Promise<boolean> {
    // Only what the storage reads may be removed through it: never .git/, README.md or an ignored file.
    this.#assertManifestPath(path);
    const abs = await resolveInside(this.root, path);
    let folder: OpenedFolder;
    try {
      // Removed from the folder checked when opened, never from one a swapped-in link leads to.
      folder = await openFolder(dirname(abs), path);
    } catch (err) {
      if ((err as GitOpsError).details?.errno === 'ENOENT') return false;
      throw err;
    }
    try {
      await unlink(folder.entry(basename(abs)));
      await folder.confirm();
      await folder.sync();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      if (err instanceof GitOpsError) throw err;
      throw ioError(err, 'remove', path);
    } finally {
      await folder.close();
    }
    if (this.#pruneFolders) await this.#prune(dirname(abs));
    return true;
  }

  // Removes folders the removal left empty, up to (never including) `stop` and the root.
  async #prune(folder: string, stop = this.root): Promise<void> {
    let current = folder;
    while (current !== this.root && current !== stop && current.startsWith(this.root + sep)) {
      try {
        await rmdir(current);
      } catch {
        return;
      }
      current = dirname(current);
    }
  }

  async checksum(path: string): Promise<string | undefined> {
    return (await this.read(path))?.checksum;
  }

  contentType(path: string): ContentType {
    return contentTypeOf(path) ?? this.newContentType;
  }

  async withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
    const abs = await resolveInside(this.root, path);
    // Folders made only for this write go again if it leaves no file in them.
    let kept = dirname(abs);
    while (kept !== this.root && !existsSync(kept)) kept = dirname(kept);
    await ensureParent(abs, path);
    await this.#ensureWorkDir();
    try {
      return await this.#locks.withLock(abs, path, fn);
    } finally {
      if (!existsSync(abs)) await this.#prune(dirname(abs), this.#pruneFolders ? this.root : kept);
    }
  }

  #assertManifestPath(path: string): void {
    checkRelativePath(path);
    if (!this.isManifestPath(path)) {
      throw new GitOpsError(
        ErrorCodes.BadRequest,
        `${JSON.stringify(path)} is not a manifest path of this storage (a .yaml, .yml or .json file, ` +
          'not hidden, not ignored, and of the storage layout)',
        { details: { file: path } },
      );
    }
  }

  protected extension(): string {
    return this.newContentType === 'json' ? 'json' : 'yaml';
  }
}

/** How a FileSystemRawStorage names the file of each object. */
export type Layout = 'kind-name' | 'kind-namespace-name' | 'group-kind-namespace-name';

export const LAYOUTS: readonly Layout[] = ['kind-name', 'kind-namespace-name', 'group-kind-namespace-name'];

// The folder of the core group in the group-aware layout ("" cannot be a folder name).
const CORE_GROUP_FOLDER = 'core';

/** The file of `key` in `layout`, without its extension. */
function layoutStem(layout: Layout, key: ObjectKey): string {
  switch (layout) {
    case 'kind-name':
      return `${key.kind}/${key.name}/metadata`;
    case 'kind-namespace-name':
      return key.namespace === undefined
        ? `${key.kind}/${key.name}/metadata`
        : `${key.kind}/${key.namespace}/${key.name}/metadata`;
    case 'group-kind-namespace-name': {
      const group = key.group === '' ? CORE_GROUP_FOLDER : key.group;
      return key.namespace === undefined
        ? `${group}/${key.kind}/${key.name}`
        : `${group}/${key.kind}/${key.namespace}/${key.name}`;
    }
  }
}

function withoutExtension(path: string): string {
  const dot = path.lastIndexOf('.');
  return dot > path.lastIndexOf('/') ? path.slice(0, dot) : path;
}

export interface FileSystemRawStorageOptions extends DirectoryOptions {
  /** Default `kind-namespace-name`. */
  layout?: Layout;
}

/**
 * One object per file, at a path its key decides:
 * - `kind-name`: `<Kind>/<name>/metadata.<ext>`, the Go library's layout (the namespace is
 *   not in the path, so one name per kind);
 * - `kind-namespace-name`: `<Kind>/<namespace>/<name>/metadata.<ext>`, and
 *   `<Kind>/<name>/metadata.<ext>` for cluster-scoped objects;
 * - `group-kind-namespace-name`: `<group>/<Kind>/[<namespace>/]<name>.<ext>` (`core` for the
 *   core group).
 * Files of any manifest extension are read; new files get the storage's content type.
 */
export class FileSystemRawStorage extends DirectoryStorage {
  readonly layout: Layout;
  readonly multiObjectFiles = false;

  private constructor(root: string, options: FileSystemRawStorageOptions) {
    super(root, options, true);
    this.layout = options.layout ?? 'kind-namespace-name';
    if (!LAYOUTS.includes(this.layout)) {
      throw new GitOpsError(
        ErrorCodes.BadRequest,
        `unknown layout ${JSON.stringify(this.layout)}; use one of ${LAYOUTS.join(', ')}`,
      );
    }
  }

  static async open(options: FileSystemRawStorageOptions): Promise<FileSystemRawStorage> {
    return new FileSystemRawStorage(await DirectoryStorage.realRoot(options.root), options);
  }

  protected fitsShape(path: string): boolean {
    const parts = path.split('/');
    const base = parts[parts.length - 1]!;
    if (this.layout === 'group-kind-namespace-name') return parts.length === 3 || parts.length === 4;
    const depthOk =
      this.layout === 'kind-name' ? parts.length === 3 : parts.length === 3 || parts.length === 4;
    return depthOk && withoutExtension(base) === 'metadata';
  }

  /** The path of `key`'s file in this layout (with the storage's extension). */
  pathFor(key: ObjectKey): string {
    checkKeyForPath(key);
    return `${layoutStem(this.layout, key)}.${this.extension()}`;
  }

  fileFor(_obj: KubeObject, key: ObjectKey): string {
    return this.pathFor(key);
  }

  mayHold(path: string, key: ObjectKey): boolean {
    return withoutExtension(path) === layoutStem(this.layout, key);
  }
}

/** Where a ManifestDirectory creates a new object. */
export type PlacementRule =
  /** `[<namespace>/]<kind>-<name>.yaml`, kind in lower case (the default). */
  | 'object-per-file'
  /** Every new object appended to this one file. */
  | { file: string }
  /** Any rule: a relative path; an existing file gets the object as a new document. */
  | ((obj: KubeObject, key: ObjectKey) => string)
  | Layout;

export interface ManifestDirectoryOptions extends DirectoryOptions {
  placement?: PlacementRule;
}

/**
 * A folder of manifests of any shape ("manifest directory"): any file names, nested folders,
 * many objects per file. Which object is where is learnt by reading the files; new objects
 * go where the placement rule says.
 */
export class ManifestDirectory extends DirectoryStorage {
  readonly multiObjectFiles = true;
  readonly #placement: PlacementRule;

  private constructor(root: string, options: ManifestDirectoryOptions) {
    super(root, options, false);
    this.#placement = options.placement ?? 'object-per-file';
  }

  static async open(options: ManifestDirectoryOptions): Promise<ManifestDirectory> {
    return new ManifestDirectory(await DirectoryStorage.realRoot(options.root), options);
  }

  protected fitsShape(): boolean {
    return true;
  }

  fileFor(obj: KubeObject, key: ObjectKey): string {
    checkKeyForPath(key);
    const rule = this.#placement;
    let path: string;
    if (typeof rule === 'function') path = rule(obj, key);
    else if (typeof rule === 'object') path = rule.file;
    else if (rule === 'object-per-file') {
      const file = `${key.kind.toLowerCase()}-${key.name}.${this.extension()}`;
      path = key.namespace === undefined ? file : `${key.namespace}/${file}`;
    } else path = `${layoutStem(rule, key)}.${this.extension()}`;
    checkRelativePath(path);
    if (!this.isManifestPath(path)) {
      throw new GitOpsError(
        ErrorCodes.BadRequest,
        `the placement rule chose ${JSON.stringify(path)}, which is not a manifest path ` +
          '(it needs a .yaml, .yml or .json name, and no hidden or ignored part)',
        { details: { file: path } },
      );
    }
    return path;
  }

  mayHold(): boolean {
    return true;
  }
}

/** The relative path (with `/`) of an absolute path under `root`, or undefined outside it. */
export function relativeInside(root: string, abs: string): string | undefined {
  const rel = relative(root, abs);
  // `..` as a whole first segment leaves the root; a name such as `..config.yaml` does not.
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  return rel.split(sep).join('/');
}
