/**
 * Edits near anchors and aliases. An anchored node and its aliases are one value in the text
 * but separate values once decoded, so an edit of one of them would silently change, or
 * orphan, the others. The anchored node is edited in place like any node (keeping `&name`).
 * Then each alias (`*name`) whose wanted value is the anchored node's new value stays an
 * alias; every other alias is the smallest safe node to rewrite: it is replaced by its wanted
 * value written out in full. A map that merges the anchor (`<<: *name`) is written out in full
 * when it or the anchor changes. When the anchored node itself is removed or rewritten, all
 * its users are written out.
 */
import { yaml } from '../../shared/yaml-lib.js';
import type { Node as AstNode } from 'yaml';
import { deepEqual, isPlainObject } from '../values.js';
import type { FieldPath, PathSegment } from '../values.js';
import { keyString } from './nodes.js';

export interface SharedValuePlan {
  /** Source paths (see pathKey) of aliases that follow their anchor's in-place edit. */
  readonly skip: ReadonlySet<string>;
  /** Source paths of nodes to write afresh (expanded, without aliases). */
  readonly rerender: ReadonlySet<string>;
  /** Ancestors of those nodes: walked into even when their value did not change. */
  readonly visit: ReadonlySet<string>;
}

export function pathKey(path: FieldPath): string {
  return JSON.stringify(path);
}

interface Group {
  anchorPath: PathSegment[];
  users: PathSegment[][];
  merged: boolean;
}

const MISSING = Symbol('missing');

function valueAt(value: unknown, path: FieldPath): unknown {
  let current: unknown = value;
  for (const segment of path) {
    if (typeof segment === 'number' && Array.isArray(current) && segment < current.length) {
      current = current[segment];
    } else if (typeof segment === 'string' && isPlainObject(current) && current[segment] !== undefined) {
      current = current[segment];
    } else return MISSING;
  }
  return current;
}

function sameKind(a: unknown, b: unknown): boolean {
  if (Array.isArray(a)) return Array.isArray(b);
  if (isPlainObject(a)) return isPlainObject(b);
  return !Array.isArray(b) && !isPlainObject(b);
}

function isPrefix(prefix: FieldPath, path: FieldPath): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => segment === path[i]);
}

function collectGroups(root: unknown): Group[] {
  const current = new Map<string, Group>();
  const groups: Group[] = [];
  const walk = (node: unknown, path: PathSegment[]): void => {
    if (node === null || node === undefined) return;
    if (yaml().isAlias(node)) {
      current.get(node.source)?.users.push(path);
      return;
    }
    const anchor = (node as AstNode & { anchor?: string }).anchor;
    if (anchor !== undefined) {
      const group: Group = { anchorPath: path, users: [], merged: false };
      current.set(anchor, group);
      groups.push(group);
    }
    if (yaml().isMap(node)) {
      for (const pair of node.items) {
        const key = !yaml().isScalar(pair.key)
          ? ''
          : pair.key.type === 'PLAIN'
            ? keyString('plain', pair.key.source ?? '')
            : String(pair.key.value);
        if (key === '<<') {
          // A merge copies the anchored map's keys into this map.
          const sources = yaml().isSeq(pair.value) ? pair.value.items : [pair.value];
          for (const source of sources) {
            if (!yaml().isAlias(source)) continue;
            const group = current.get(source.source);
            if (group) {
              group.users.push(path);
              group.merged = true;
            }
          }
          continue;
        }
        walk(pair.value, [...path, key]);
      }
    } else if (yaml().isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    }
  };
  walk(root, []);
  return groups.filter((group) => group.users.length > 0);
}

/** Decides, for every anchor with users, how an edit from `before` to `after` treats it. */
export function planSharedValues(root: unknown, before: unknown, after: unknown): SharedValuePlan {
  const groups = collectGroups(root);
  const skip = new Map<string, PathSegment[]>();
  const rerender = new Map<string, PathSegment[]>();
  const keepsAnchor = new Map<Group, boolean>();
  for (const group of groups) {
    const anchorBefore = valueAt(before, group.anchorPath);
    const anchorAfter = valueAt(after, group.anchorPath);
    // Edited in place (same kind of value), the anchored node keeps its `&name`.
    const kept = anchorAfter !== MISSING && sameKind(anchorBefore, anchorAfter);
    const changed = !kept || !deepEqual(anchorBefore, anchorAfter);
    keepsAnchor.set(group, kept);
    for (const path of group.users) {
      const wanted = valueAt(after, path);
      if (wanted === MISSING) continue;
      const follows = group.merged
        ? !changed && deepEqual(valueAt(before, path), wanted)
        : kept && deepEqual(wanted, anchorAfter);
      (follows ? skip : rerender).set(pathKey(path), path);
    }
  }
  // A node written afresh drops the anchors inside it: their users must be written out too.
  for (let grew = true; grew;) {
    grew = false;
    for (const group of groups) {
      const dropped = [...rerender.values()].some((path) => isPrefix(path, group.anchorPath));
      if (!dropped && keepsAnchor.get(group)) continue;
      for (const path of group.users) {
        const key = pathKey(path);
        if (rerender.has(key) || valueAt(after, path) === MISSING) continue;
        skip.delete(key);
        rerender.set(key, path);
        grew = true;
      }
    }
  }
  const visit = new Set<string>();
  for (const path of rerender.values()) {
    for (let i = 0; i < path.length; i++) visit.add(pathKey(path.slice(0, i)));
  }
  return { skip: new Set(skip.keys()), rerender: new Set(rerender.keys()), visit };
}
