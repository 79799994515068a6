/**
 * One entry for every kind of patch: apply one (`applyPatch`) or make one from two objects
 * (`createPatch`, the counterpart of the Go library's Patcher.Create).
 */
import { deepCopy, deepEqual, ErrorCodes, GitOpsError, isPlainObject } from '../runtime/index.js';
import { applyFields, applyJsonPatch, applyMergePatch } from './json-merge.js';
import type { JsonPatchOperation } from './json-merge.js';
import { applyStrategicMergePatch, createStrategicMergePatch } from './strategic.js';

export type Patch =
  | { type: 'json'; operations: readonly JsonPatchOperation[] }
  | { type: 'merge'; patch: Record<string, unknown> }
  | { type: 'strategic'; patch: Record<string, unknown> }
  | { type: 'apply'; patch: Record<string, unknown> };

export type PatchType = Patch['type'];

export const PATCH_TYPES = ['json', 'merge', 'strategic', 'apply'] as const;

/** The patched copy of `target`. */
export function applyPatch<T>(target: T, patch: Patch): T {
  if (!isPlainObject(patch) || !PATCH_TYPES.includes(patch.type)) {
    throw new GitOpsError(
      ErrorCodes.BadRequest,
      `unknown patch type ${JSON.stringify((patch as { type?: unknown })?.type)}; use "json", "merge", "strategic" or "apply"`,
    );
  }
  switch (patch.type) {
    case 'json':
      return applyJsonPatch(target, patch.operations);
    case 'merge':
      return applyMergePatch(target, patch.patch) as T;
    case 'strategic':
      return applyStrategicMergePatch(target, patch.patch);
    case 'apply':
      return applyFields(target, patch.patch) as T;
  }
}

/**
 * A patch of `type` that turns `from` into `to` (applying it to `from` gives `to`). `apply`
 * cannot remove fields, so it is not offered here.
 */
export function createPatch(from: unknown, to: unknown, type: 'json' | 'merge' | 'strategic'): Patch {
  switch (type) {
    case 'json':
      return { type, operations: createJsonPatch(from, to) };
    case 'merge':
      if (!isPlainObject(from) || !isPlainObject(to))
        throw new GitOpsError(ErrorCodes.BadRequest, 'a merge patch is made between two maps');
      return { type, patch: createMergePatch(from, to) as Record<string, unknown> };
    case 'strategic':
      return { type, patch: createStrategicMergePatch(from, to) };
    default:
      throw new GitOpsError(
        ErrorCodes.BadRequest,
        `unknown patch type ${JSON.stringify(type)}; use "json", "merge" or "strategic"`,
      );
  }
}

/** RFC 7386: changed fields, `null` for removed ones; lists and scalars whole. */
export function createMergePatch(from: unknown, to: unknown): unknown {
  if (!isPlainObject(from) || !isPlainObject(to)) return deepCopy(to);
  const patch: Record<string, unknown> = {};
  const set = (key: string, value: unknown): void => {
    Object.defineProperty(patch, key, { value, enumerable: true, writable: true, configurable: true });
  };
  for (const key of Object.keys(from)) if (!Object.prototype.hasOwnProperty.call(to, key)) set(key, null);
  for (const [key, value] of Object.entries(to)) {
    const had = Object.prototype.hasOwnProperty.call(from, key);
    if (had && deepEqual(from[key], value)) continue;
    // A null value cannot be set by a merge patch (null means "remove").
    if (value === null) {
      throw new GitOpsError(
        ErrorCodes.BadRequest,
        `a merge patch cannot set ${key} to null; use a JSON patch`,
        { details: { field: key } },
      );
    }
    set(
      key,
      had && isPlainObject(from[key]) && isPlainObject(value)
        ? createMergePatch(from[key], value)
        : deepCopy(value),
    );
  }
  return patch;
}

function escapeToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** RFC 6902 operations: `remove`, `add` and `replace` per changed field; lists item by item. */
export function createJsonPatch(from: unknown, to: unknown, path = ''): JsonPatchOperation[] {
  if (deepEqual(from, to)) return [];
  if (isPlainObject(from) && isPlainObject(to)) {
    const ops: JsonPatchOperation[] = [];
    for (const key of Object.keys(from))
      if (!Object.prototype.hasOwnProperty.call(to, key))
        ops.push({ op: 'remove', path: `${path}/${escapeToken(key)}` });
    for (const [key, value] of Object.entries(to)) {
      const at = `${path}/${escapeToken(key)}`;
      if (!Object.prototype.hasOwnProperty.call(from, key))
        ops.push({ op: 'add', path: at, value: deepCopy(value) });
      else ops.push(...createJsonPatch(from[key], value, at));
    }
    return ops;
  }
  if (Array.isArray(from) && Array.isArray(to)) {
    const ops: JsonPatchOperation[] = [];
    const common = Math.min(from.length, to.length);
    for (let i = 0; i < common; i++) ops.push(...createJsonPatch(from[i], to[i], `${path}/${i}`));
    // Remove from the end, so every index still points at the item it names.
    for (let i = from.length - 1; i >= to.length; i--) ops.push({ op: 'remove', path: `${path}/${i}` });
    for (let i = common; i < to.length; i++)
      ops.push({ op: 'add', path: `${path}/-`, value: deepCopy(to[i]) });
    return ops;
  }
  return [{ op: 'replace', path, value: deepCopy(to) }];
}
