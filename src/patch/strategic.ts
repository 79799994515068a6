/**
 * Strategic merge patch as the API server applies it (k8s.io/apimachinery strategicpatch,
 * read for behaviour): maps merge, `null` deletes, lists whose field has the `merge` strategy
 * merge by their merge key (or as sets, for lists of scalars), other lists are replaced; the
 * directives `$patch: replace|delete|merge`, `$retainKeys`, `$setElementOrder/<field>` and
 * `$deleteFromPrimitiveList/<field>` work as documented. The merge keys come from PatchMeta:
 * a kind without metadata (a custom resource) merges like a JSON merge patch.
 */
import { deepCopy, deepEqual, ErrorCodes, GitOpsError, isPlainObject } from '../runtime/index.js';
import { PatchMeta } from './patch-meta.js';

type JsonMap = Record<string, unknown>;

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER = '$setElementOrder/';
const DELETE_FROM = '$deleteFromPrimitiveList/';

function badPatch(message: string): GitOpsError {
  return new GitOpsError(ErrorCodes.BadRequest, `strategic merge patch: ${message}`);
}

function setOwn(obj: JsonMap, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The patched copy of `target`; the input objects are never changed. */
export function applyStrategicMergePatch<T>(target: T, patch: unknown, meta?: PatchMeta): T {
  if (!isPlainObject(patch)) throw badPatch('a strategic merge patch is a map');
  const original: JsonMap = isPlainObject(target) ? target : {};
  const m = meta ?? PatchMeta.forKind(patch.apiVersion ?? original.apiVersion, patch.kind ?? original.kind);
  return (mergeMap(deepCopy(original), patch, m) ?? {}) as T;
}

/** `original` (owned) with `patch` merged in; undefined when the patch deletes the map. */
function mergeMap(original: JsonMap, patch: JsonMap, meta: PatchMeta): JsonMap | undefined {
  const directive = patch[DIRECTIVE];
  if (directive !== undefined) {
    if (directive === 'replace') return stripDirectives(withoutKey(patch, DIRECTIVE), meta) as JsonMap;
    if (directive === 'delete') return undefined;
    if (directive !== 'merge') throw badPatch(`unknown $patch ${JSON.stringify(directive)}`);
  }
  const retain = patch[RETAIN_KEYS];
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw badPatch('$retainKeys must be a list');
    for (const key of Object.keys(original)) if (!retain.includes(key)) delete original[key];
  }
  // $deleteFromPrimitiveList first, so that values the patch adds back stay.
  for (const [key, value] of Object.entries(patch)) {
    if (!key.startsWith(DELETE_FROM)) continue;
    const field = key.slice(DELETE_FROM.length);
    if (!Array.isArray(value)) throw badPatch(`${key} must be a list`);
    const current = original[field];
    if (Array.isArray(current))
      setOwn(
        original,
        field,
        current.filter((v) => !value.some((d) => deepEqual(d, v))),
      );
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS || key.startsWith(SET_ORDER) || key.startsWith(DELETE_FROM))
      continue;
    if (value === null) {
      delete original[key];
      continue;
    }
    const current = Object.prototype.hasOwnProperty.call(original, key) ? original[key] : undefined;
    const child = meta.child(key);
    if (isPlainObject(value)) {
      if (isPlainObject(current)) {
        const merged = mergeMap(current, value, child);
        if (merged === undefined) delete original[key];
        else setOwn(original, key, merged);
      } else {
        if (value[DIRECTIVE] === 'delete') delete original[key];
        else setOwn(original, key, mergeMap({}, value, child) ?? {});
      }
      continue;
    }
    if (Array.isArray(value) && meta.strategies(key).includes('merge')) {
      setOwn(
        original,
        key,
        mergeList(Array.isArray(current) ? current : [], value, meta.mergeKey(key), child),
      );
      continue;
    }
    setOwn(original, key, stripDirectives(deepCopy(value), child));
  }
  // $setElementOrder last: it orders the merged list.
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const field = key.slice(SET_ORDER.length);
    if (!Array.isArray(order)) throw badPatch(`${key} must be a list`);
    const list = original[field];
    if (Array.isArray(list)) setOwn(original, field, orderBy(list, order, meta.mergeKey(field), list));
  }
  return original;
}

/** A value set as is: directives inside it have no original to act on and go. */
function stripDirectives(value: unknown, meta: PatchMeta): unknown {
  if (Array.isArray(value)) {
    return value
      .filter((item) => !(isPlainObject(item) && DIRECTIVE in item && Object.keys(item).length === 1))
      .map((item) => stripDirectives(item, meta));
  }
  if (!isPlainObject(value)) return value;
  return mergeMap({}, value, meta) ?? {};
}

function withoutKey(map: JsonMap, key: string): JsonMap {
  const out: JsonMap = {};
  for (const [k, v] of Object.entries(map)) if (k !== key) setOwn(out, k, v);
  return out;
}

function keyOf(item: unknown, mergeKey: string | undefined): unknown {
  return mergeKey !== undefined && isPlainObject(item) ? item[mergeKey] : item;
}

function indexIn(list: readonly unknown[], item: unknown, mergeKey: string | undefined): number {
  const key = keyOf(item, mergeKey);
  return list.findIndex((x) => deepEqual(keyOf(x, mergeKey), key));
}

/** Merges a list field with the `merge` strategy: by merge key, or as a set of scalars. */
function mergeList(
  original: readonly unknown[],
  patch: readonly unknown[],
  mergeKey: string | undefined,
  itemMeta: PatchMeta,
): unknown[] {
  const maps = patch.some((p) => isPlainObject(p)) || original.some((o) => isPlainObject(o));
  let merged: unknown[];
  let patchItems: unknown[] = [...patch];
  if (!maps) {
    merged = [];
    for (const v of [...original, ...patch]) if (!merged.some((m) => deepEqual(m, v))) merged.push(v);
  } else {
    if (mergeKey === undefined) return stripDirectives(deepCopy(patch), itemMeta) as unknown[];
    let base = original.map((o) => deepCopy(o));
    const plain: unknown[] = [];
    let replace = false;
    for (const item of patch) {
      if (!isPlainObject(item)) throw badPatch(`a list merged by "${mergeKey}" holds a ${typeof item}`);
      const directive = item[DIRECTIVE];
      if (directive === undefined) {
        plain.push(item);
      } else if (directive === 'delete') {
        if (!(mergeKey in item)) throw badPatch(`a $patch: delete item needs its merge key "${mergeKey}"`);
        base = base.filter((o) => !deepEqual(keyOf(o, mergeKey), item[mergeKey]));
      } else if (directive === 'replace') {
        replace = true;
      } else {
        throw badPatch(`$patch ${JSON.stringify(directive)} cannot stand in a list`);
      }
    }
    if (replace) return plain.map((p) => stripDirectives(deepCopy(p), itemMeta));
    for (const item of plain as JsonMap[]) {
      if (!(mergeKey in item))
        throw badPatch(`an item of a list merged by "${mergeKey}" has no "${mergeKey}"`);
      const at = base.findIndex((o) => deepEqual(keyOf(o, mergeKey), item[mergeKey]));
      if (at >= 0) base[at] = mergeMap(base[at] as JsonMap, item, itemMeta) ?? {};
      else base.push(mergeMap({}, item, itemMeta) ?? {});
    }
    merged = base;
    patchItems = plain;
  }
  return orderBy(merged, patchItems, mergeKey, original);
}

/**
 * The API server's order of a merged list: the items the patch names in its order, the others
 * in the original's order, the two interleaved where the original orders them both (items new
 * to the list come before the original items still to place).
 */
function orderBy(
  merged: readonly unknown[],
  patchOrder: readonly unknown[],
  mergeKey: string | undefined,
  originalOrder: readonly unknown[],
): unknown[] {
  const named: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const item of merged) (indexIn(patchOrder, item, mergeKey) >= 0 ? named : serverOnly).push(item);
  const sortBy = (items: unknown[], order: readonly unknown[]): unknown[] =>
    items
      .map((item, i) => ({ item, i, at: indexIn(order, item, mergeKey) }))
      .sort((a, b) => (a.at >= 0 && b.at >= 0 ? a.at - b.at : a.i - b.i))
      .map((e) => e.item);
  const left = sortBy(serverOnly, originalOrder);
  const right = sortBy(named, patchOrder);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(originalOrder, left[i], mergeKey);
      const ri = indexIn(originalOrder, right[j], mergeKey);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/**
 * A strategic merge patch that turns `from` into `to`: changed fields, `null` for removed
 * ones, lists with a merge key as their changed and new items, `$patch: delete` for removed
 * items and `$setElementOrder` for their order; scalar sets with `$deleteFromPrimitiveList`.
 */
export function createStrategicMergePatch(from: unknown, to: unknown, meta?: PatchMeta): JsonMap {
  if (!isPlainObject(from) || !isPlainObject(to)) throw badPatch('both objects must be maps');
  const m = meta ?? PatchMeta.forKind(to.apiVersion ?? from.apiVersion, to.kind ?? from.kind);
  return diffMap(from, to, m);
}

function diffMap(from: JsonMap, to: JsonMap, meta: PatchMeta): JsonMap {
  const patch: JsonMap = {};
  for (const key of Object.keys(from))
    if (!Object.prototype.hasOwnProperty.call(to, key)) setOwn(patch, key, null);
  for (const [key, value] of Object.entries(to)) {
    const before = Object.prototype.hasOwnProperty.call(from, key) ? from[key] : undefined;
    if (before !== undefined && deepEqual(before, value)) continue;
    if (isPlainObject(value) && isPlainObject(before)) {
      const sub = diffMap(before, value, meta.child(key));
      if (Object.keys(sub).length > 0) setOwn(patch, key, sub);
      continue;
    }
    if (Array.isArray(value) && Array.isArray(before) && meta.strategies(key).includes('merge')) {
      diffList(patch, key, before, value, meta.mergeKey(key), meta.child(key));
      continue;
    }
    setOwn(patch, key, deepCopy(value));
  }
  return patch;
}

function diffList(
  patch: JsonMap,
  key: string,
  from: readonly unknown[],
  to: readonly unknown[],
  mergeKey: string | undefined,
  itemMeta: PatchMeta,
): void {
  const maps = to.some((v) => isPlainObject(v)) || from.some((v) => isPlainObject(v));
  if (!maps) {
    const added = to.filter((v) => !from.some((f) => deepEqual(f, v)));
    const gone = from.filter((v) => !to.some((t) => deepEqual(t, v)));
    // Duplicates cannot be told apart by a set merge: replace such a list as a whole.
    const unique = (l: readonly unknown[]): boolean =>
      l.every((v, i) => l.findIndex((w) => deepEqual(v, w)) === i);
    if (!unique(from) || !unique(to)) {
      setOwn(patch, key, deepCopy(to));
      return;
    }
    if (added.length > 0) setOwn(patch, key, deepCopy(added));
    if (gone.length > 0) setOwn(patch, `${DELETE_FROM}${key}`, deepCopy(gone));
    setOwn(patch, `${SET_ORDER}${key}`, deepCopy(to));
    return;
  }
  const keyed = (l: readonly unknown[]): boolean =>
    mergeKey !== undefined &&
    l.every((v) => isPlainObject(v) && v[mergeKey] !== undefined) &&
    l.every((v, i) => indexIn(l, v, mergeKey) === i);
  if (!keyed(from) || !keyed(to)) {
    // Without a merge key on every item the API server cannot merge it either: replace it.
    setOwn(patch, key, [...deepCopy(to), { [DIRECTIVE]: 'replace' }]);
    return;
  }
  const items: unknown[] = [];
  for (const item of to as JsonMap[]) {
    const at = indexIn(from, item, mergeKey);
    if (at < 0) items.push(deepCopy(item));
    else {
      const sub = diffMap(from[at] as JsonMap, item, itemMeta);
      if (Object.keys(sub).length > 0) items.push({ ...sub, [mergeKey!]: item[mergeKey!] });
    }
  }
  for (const item of from as JsonMap[]) {
    if (indexIn(to, item, mergeKey) < 0) items.push({ [DIRECTIVE]: 'delete', [mergeKey!]: item[mergeKey!] });
  }
  if (items.length > 0) setOwn(patch, key, items);
  setOwn(
    patch,
    `${SET_ORDER}${key}`,
    (to as JsonMap[]).map((item) => ({ [mergeKey!]: item[mergeKey!] })),
  );
}
