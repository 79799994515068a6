/**
 * Content hashes: what a file or a document is, independent of when it was written. Checksums
 * of files and resourceVersions of objects are both hashes of bytes, never mtimes, so a file
 * rewritten with the same bytes (a `git checkout`, a `cp`) counts as unchanged.
 */
import { createHash } from 'node:crypto';

/** The SHA-256 of a file's bytes, in hex. */
export function fileChecksum(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The resourceVersion of an object: a short hash of its document's text, plus its place among
 * a List's items (so items of one List document differ). 20 hex digits are plenty to tell
 * versions of one object apart.
 */
export function documentVersion(documentText: string, item?: number): string {
  const hash = createHash('sha256').update(documentText);
  if (item !== undefined) hash.update(`\0${item}`);
  return hash.digest('hex').slice(0, 20);
}
