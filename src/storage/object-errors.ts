/**
 * The errors the object storage's parts share (not found, already exists, stale
 * resourceVersion, not an object), worded once, and the key helpers they name objects with.
 */
import { ErrorCodes, GitOpsError, objectKeyToString, parseObjectKey } from '../runtime/index.js';
import type { ObjectKey } from '../runtime/index.js';
import type { KeyInput } from './object-api.js';

export function toKey(key: KeyInput): ObjectKey {
  return typeof key === 'string' ? parseObjectKey(key) : key;
}

/** `Kind namespace/name`, as messages name an object. */
export function describeKey(key: ObjectKey): string {
  return `${key.kind} ${key.namespace === undefined ? '' : `${key.namespace}/`}${key.name}`;
}

export function notFound(key: ObjectKey): GitOpsError {
  return new GitOpsError(ErrorCodes.NotFound, `${describeKey(key)} not found`, {
    details: { object: objectKeyToString(key) },
  });
}

export function alreadyExists(key: ObjectKey, path: string): GitOpsError {
  return new GitOpsError(ErrorCodes.AlreadyExists, `${describeKey(key)} already exists (in ${path})`, {
    details: { object: objectKeyToString(key), file: path },
  });
}

export function conflict(key: ObjectKey, given: string, actual: string): GitOpsError {
  return new GitOpsError(
    ErrorCodes.Conflict,
    `${describeKey(key)} has been modified (your resourceVersion ${given}, now ${actual}); ` +
      'get the latest version, apply your change to it and try again',
    { details: { object: objectKeyToString(key), resourceVersion: given, currentResourceVersion: actual } },
  );
}

export function badObject(what = 'the object'): GitOpsError {
  return new GitOpsError(ErrorCodes.BadRequest, `${what} must have apiVersion, kind and metadata`);
}
