/**
 * One call to get an object storage over a folder: a layout (one object per file, at a path
 * its key decides) or `manifests` (a folder of any shape, many objects per file).
 */
import type { ContentType } from '../serializer/index.js';
import type { FileLockOptions } from './file-lock.js';
import { ObjectStorage } from './object-storage.js';
import type { ObjectStorageOptions } from './object-storage.js';
import { FileSystemRawStorage, ManifestDirectory } from './raw-storage.js';
import type { Layout, PlacementRule } from './raw-storage.js';

export interface StorageOptions extends ObjectStorageOptions {
  root: string;
  /** Default `manifests`. */
  layout?: Layout | 'manifests';
  /** Where `manifests` creates new objects. Default `object-per-file`. */
  placement?: PlacementRule;
  /** Content type of new files. Default `yaml`. */
  contentType?: ContentType;
  /** More paths (relative, with `/`) to leave alone, besides `.git/`, hidden and swap files. */
  ignore?: (path: string) => boolean;
  locks?: FileLockOptions;
}

export async function openStorage(options: StorageOptions): Promise<ObjectStorage> {
  const { root, layout = 'manifests', placement, contentType, ignore, locks, ...rest } = options;
  const directory = { root, contentType, ignore, locks };
  const raw =
    layout === 'manifests'
      ? await ManifestDirectory.open({ ...directory, placement })
      : await FileSystemRawStorage.open({ ...directory, layout });
  return ObjectStorage.open(raw, rest);
}
