/**
 * The storage layer: manifest files on disk (layouts, manifest directories, atomic writes,
 * safe paths, content hashes), typed CRUD with optimistic concurrency over an in-memory
 * index, and change events from this storage and from everyone else.
 */
export type {
  FileContent,
  RawStorage,
  DirectoryOptions,
  FileSystemRawStorageOptions,
} from './raw-storage.js';
export type { Layout, PlacementRule, ManifestDirectoryOptions } from './raw-storage.js';
export { FileSystemRawStorage, ManifestDirectory, LAYOUTS } from './raw-storage.js';
export type { ObjectStorageOptions } from './object-storage.js';
export type {
  DeleteOptions,
  GetOptions,
  KeyInput,
  ObjectEvents,
  ObjectLocation,
  ObjectReader,
  ObjectWriter,
  PatchOptions,
  WriteOptions,
} from './object-api.js';
export { ObjectStorage } from './object-storage.js';
export type { StorageOptions } from './open-storage.js';
export { openStorage } from './open-storage.js';
export type {
  ChangeOrigin,
  ObjectEvent,
  ErrorEvent,
  StorageEvent,
  StorageListener,
  WatchOptions,
} from './storage-events.js';
export { StorageEventHub } from './storage-events.js';
export { fileChecksum, documentVersion } from './content-hash.js';
export { writeFileAtomic } from './atomic-write.js';
export type { AtomicWriteOptions } from './atomic-write.js';
export { checkKeyForPath, checkRelativePath, isIgnoredByDefault } from './paths.js';
export type { FileLockOptions } from './file-lock.js';
