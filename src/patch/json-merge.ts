/**
 * JSON Patch (RFC 6902), JSON Merge Patch (RFC 7386), and a field-level apply that sets exactly
 * the fields it names and removes nothing. The input is never changed; failures are Invalid
 * (or BadRequest for a malformed patch).
 */
import { deepCopy, deepEqual, ErrorCodes, GitOpsError, isPlainObject } from '../runtime/index.js';
import { PatchMeta } from './patch-meta.js';

export type JsonPatchOperation =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

function badPatch(message: string, field?: string): GitOpsError {
  return new GitOpsError(ErrorCodes.BadRequest, message, { details: field === undefined ? {} : { field } });
}

/** The reference tokens of a JSON Pointer (RFC 6901). */
function parsePointer(pointer: string): string[] {
  if (typeof pointer !== 'string') throw badPatch('a JSON Patch path must be a string');
  if (pointer === '') return [];
  if (!pointer.startsWith('/'))
    throw badPatch(`JSON Pointer ${JSON.stringify(pointer)} must start with "/"`, pointer);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~[^01]|~$/.test(token))
        throw badPatch(`JSON Pointer ${JSON.stringify(pointer)} has a bad "~" escape`, pointer);
      return token.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

function arrayIndex(token: string, length: number, forAdd: boolean, pointer: string): number {
  if (forAdd && token === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw invalidPath(pointer, `"${token}" is not a list index`);
  const index = Number(token);
  if (index > length || (!forAdd && index === length))
    throw invalidPath(pointer, `index ${index} is out of range`);
  return index;
}

function invalidPath(pointer: string, why: string): GitOpsError {
  return new GitOpsError(ErrorCodes.Invalid, `JSON Patch path ${JSON.stringify(pointer)}: ${why}`, {
    details: { field: pointer },
  });
}

/** The parent container and last token of a pointer, in `doc`. */
function locate(doc: unknown, pointer: string): { parent: unknown; token: string } {
  const tokens = parsePointer(pointer);
  const token = tokens.pop();
  if (token === undefined) throw invalidPath(pointer, 'the whole document cannot be the target here');
  let parent: unknown = doc;
  for (const t of tokens) {
    if (Array.isArray(parent)) parent = parent[arrayIndex(t, parent.length, false, pointer)];
    else if (isPlainObject(parent) && Object.prototype.hasOwnProperty.call(parent, t)) parent = parent[t];
    else throw invalidPath(pointer, `"${t}" does not exist`);
  }
  if (!Array.isArray(parent) && !isPlainObject(parent))
    throw invalidPath(pointer, 'its parent is not a map or list');
  return { parent, token };
}

function getAt(doc: unknown, pointer: string): unknown {
  let current = doc;
  for (const t of parsePointer(pointer)) {
    if (Array.isArray(current)) current = current[arrayIndex(t, current.length, false, pointer)];
    else if (isPlainObject(current) && Object.prototype.hasOwnProperty.call(current, t)) current = current[t];
    else throw invalidPath(pointer, `"${t}" does not exist`);
  }
  return current;
}

function removeAt(doc: unknown, pointer: string): unknown {
  const { parent, token } = locate(doc, pointer);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(token, parent.length, false, pointer), 1)[0];
  const map = parent as Record<string, unknown>;
  if (!Object.prototype.hasOwnProperty.call(map, token))
    throw invalidPath(pointer, `"${token}" does not exist`);
  const value = map[token];
  delete map[token];
  return value;
}

function addAt(doc: unknown, pointer: string, value: unknown, replace: boolean): unknown {
  if (pointer === '') return value;
  const { parent, token } = locate(doc, pointer);
  if (Array.isArray(parent)) {
    const index = arrayIndex(token, parent.length, !replace, pointer);
    parent.splice(index, replace ? 1 : 0, value);
  } else {
    const map = parent as Record<string, unknown>;
    if (replace && !Object.prototype.hasOwnProperty.call(map, token)) {
      throw invalidPath(pointer, `"${token}" does not exist, so it cannot be replaced (use "add")`);
    }
    Object.defineProperty(map, token, { value, enumerable: true, writable: true, configurable: true });
  }
  return doc;
}

/** RFC 6902: all operations or none (the input is never changed). */
export function applyJsonPatch<T>(target: T, operations: readonly JsonPatchOperation[]): T {
  if (!Array.isArray(operations)) throw badPatch('a JSON Patch is a list of operations');
  let doc: unknown = deepCopy(target);
  operations.forEach((operation, i) => {
    if (!isPlainObject(operation) || typeof operation.op !== 'string' || typeof operation.path !== 'string') {
      throw badPatch(`JSON Patch operation ${i} needs "op" and "path"`);
    }
    const op = operation as JsonPatchOperation;
    const opName: unknown = operation.op;
    switch (op.op) {
      case 'add':
      case 'replace':
        if (!('value' in op)) throw badPatch(`JSON Patch operation ${i} (${String(opName)}) needs a "value"`);
        doc = addAt(doc, op.path, deepCopy(op.value), op.op === 'replace');
        break;
      case 'remove':
        removeAt(doc, op.path);
        break;
      case 'move': {
        if (op.path.startsWith(`${op.from}/`))
          throw invalidPath(op.path, `cannot move ${op.from} into itself`);
        const value = op.from === '' ? doc : removeAt(doc, op.from);
        doc = addAt(doc, op.path, value, false);
        break;
      }
      case 'copy':
        doc = addAt(doc, op.path, deepCopy(getAt(doc, op.from)), false);
        break;
      case 'test':
        if (!deepEqual(getAt(doc, op.path), op.value)) {
          throw new GitOpsError(
            ErrorCodes.Invalid,
            `JSON Patch test failed: ${op.path || '/'} is not ${JSON.stringify(op.value)}`,
            { details: { field: op.path } },
          );
        }
        break;
      default:
        throw badPatch(`JSON Patch operation ${i} has an unknown op ${JSON.stringify(opName)}`);
    }
  });
  return doc as T;
}

/** RFC 7386: maps merge, `null` removes, anything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return deepCopy(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? deepCopy(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else setOwnValue(out, key, applyMergePatch(out[key], value));
  }
  return out;
}

/**
 * Sets every field `patch` names, keeps every other: maps merge recursively, lists merge item
 * by item on their field's merge key where the kind's patch metadata gives one (`name` for
 * containers, `containerPort` for ports, `mountPath` for volume mounts...), else on `name` when
 * every item has one; other lists and scalars replace.
 */
export function applyFields(target: unknown, patch: unknown, meta?: PatchMeta): unknown {
  const m =
    meta ??
    (isPlainObject(patch)
      ? PatchMeta.forKind(
          patch.apiVersion ?? (target as JsonMap | undefined)?.apiVersion,
          patch.kind ?? (target as JsonMap | undefined)?.kind,
        )
      : PatchMeta.none());
  return applyFieldsWith(target, patch, m, undefined);
}

type JsonMap = Record<string, unknown>;

function applyFieldsWith(
  target: unknown,
  patch: unknown,
  meta: PatchMeta,
  mergeKey: string | undefined,
): unknown {
  if (isPlainObject(patch)) {
    const out: Record<string, unknown> = isPlainObject(target) ? deepCopy(target) : {};
    for (const [key, value] of Object.entries(patch))
      setOwnValue(out, key, applyFieldsWith(out[key], value, meta.child(key), meta.mergeKey(key)));
    return out;
  }
  const key = mergeKey ?? 'name';
  if (Array.isArray(patch) && Array.isArray(target) && isKeyedList(patch, key) && isKeyedList(target, key)) {
    const out = target.map((item) => deepCopy(item)) as Record<string, unknown>[];
    for (const item of patch as Record<string, unknown>[]) {
      const at = out.findIndex((existing) => deepEqual(existing[key], item[key]));
      if (at >= 0) out[at] = applyFieldsWith(out[at], item, meta, undefined) as Record<string, unknown>;
      else out.push(deepCopy(item));
    }
    return out;
  }
  return deepCopy(patch);
}

function isKeyedList(list: unknown[], key: string): boolean {
  return list.every((item) => isPlainObject(item) && item[key] !== undefined && item[key] !== null);
}

function setOwnValue(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
