/**
 * Object filters: the Go library's ObjectFilter (one object in, yes or no) and ListFilter (a
 * list in, the kept part out, like a pipe), as composable values. Each filter carries a
 * description, so "find matched nothing" can say what was looked for.
 */
import { makeError } from '../runtime/index.js';
import type { GitOpsError } from '../runtime/index.js';
import type { KubeObject } from '../runtime/index.js';
import { toFieldSelector } from './field-selector.js';
import type { FieldSelector } from './field-selector.js';
import { toLabelSelector } from './label-selector.js';
import type { LabelSelector, LabelSelectorSpec } from './label-selector.js';

export interface ObjectFilter {
  /** What the filter keeps, in words, e.g. `name=foo` or `labels owner=family`. */
  readonly description: string;
  matches(obj: KubeObject): boolean;
}

/** Keeps part of a list, in order. */
export type ListFilter = <T extends KubeObject>(objects: readonly T[]) => T[];

function filterError(message: string, field: string): GitOpsError {
  return makeError.BadRequest(message, { field });
}

/** Objects named `name`, or whose name starts with it when `prefix` is set. */
export function byName(name: string, options: { prefix?: boolean } = {}): ObjectFilter {
  if (typeof name !== 'string' || name === '') {
    throw filterError('a name filter needs a non-empty name (use no filter to match every name)', 'name');
  }
  const prefix = options.prefix === true;
  return {
    description: prefix ? `name starts with "${name}"` : `name=${name}`,
    matches: (obj) => {
      const actual = obj.metadata?.name;
      return typeof actual === 'string' && (prefix ? actual.startsWith(name) : actual === name);
    },
  };
}

/** Objects of one namespace; `''` selects cluster-scoped objects (which have none). */
export function byNamespace(namespace: string): ObjectFilter {
  return {
    description: namespace === '' ? 'cluster-scoped' : `namespace=${namespace}`,
    matches: (obj) => (obj.metadata?.namespace ?? '') === namespace,
  };
}

/** Objects whose metadata.uid is `uid`, or starts with it when `prefix` is set (like a short commit id). */
export function byUid(uid: string, options: { prefix?: boolean } = {}): ObjectFilter {
  if (typeof uid !== 'string' || uid === '') {
    throw filterError('a uid filter needs a non-empty uid', 'uid');
  }
  const prefix = options.prefix === true;
  return {
    description: prefix ? `uid starts with "${uid}"` : `uid=${uid}`,
    matches: (obj) => {
      const actual = obj.metadata?.uid;
      return typeof actual === 'string' && (prefix ? actual.startsWith(uid) : actual === uid);
    },
  };
}

/** Objects whose labels match a selector, in any of its forms. */
export function byLabels(selector: string | LabelSelectorSpec | LabelSelector): ObjectFilter {
  const compiled = toLabelSelector(selector);
  return {
    description: compiled.empty ? 'any labels' : `labels ${compiled.toString()}`,
    matches: (obj) => compiled.matches(obj.metadata?.labels),
  };
}

/** Objects whose fields match a field selector. */
export function byFields(selector: string | FieldSelector): ObjectFilter {
  const compiled = toFieldSelector(selector);
  return {
    description: compiled.empty ? 'any fields' : `fields ${compiled.toString()}`,
    matches: (obj) => compiled.matches(obj),
  };
}

/** Objects of one kind; `group` undefined matches the kind in any group, `''` is the core group. */
export function byKind(kind: string, group?: string): ObjectFilter {
  if (typeof kind !== 'string' || kind === '') throw filterError('a kind filter needs a kind', 'kind');
  return {
    description: group === undefined ? `kind=${kind}` : `kind=${group === '' ? kind : `${kind}.${group}`}`,
    matches: (obj) => {
      if (obj.kind !== kind) return false;
      if (group === undefined) return true;
      const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
      const slash = apiVersion.indexOf('/');
      return (slash < 0 ? '' : apiVersion.slice(0, slash)) === group;
    },
  };
}

/** Any predicate as a filter. */
export function where(predicate: (obj: KubeObject) => boolean, description = 'a predicate'): ObjectFilter {
  return { description, matches: predicate };
}

/** Objects every filter keeps; no filters keeps everything. */
export function allOf(...filters: ObjectFilter[]): ObjectFilter {
  if (filters.length === 1) return filters[0]!;
  return {
    description: filters.length === 0 ? 'everything' : filters.map((f) => f.description).join(', '),
    matches: (obj) => filters.every((f) => f.matches(obj)),
  };
}

/** Objects at least one filter keeps; no filters keeps nothing. */
export function anyOf(...filters: ObjectFilter[]): ObjectFilter {
  return {
    description: filters.length === 0 ? 'nothing' : `(${filters.map((f) => f.description).join(' or ')})`,
    matches: (obj) => filters.some((f) => f.matches(obj)),
  };
}

export function not(filter: ObjectFilter): ObjectFilter {
  return { description: `not (${filter.description})`, matches: (obj) => !filter.matches(obj) };
}

/** The ListFilter that keeps what an ObjectFilter matches (the Go library's ObjectToListFilter). */
export function toListFilter(filter: ObjectFilter): ListFilter {
  return <T extends KubeObject>(objects: readonly T[]): T[] => objects.filter((obj) => filter.matches(obj));
}

/** Runs list filters one after another, like a pipe. */
export function pipe(...filters: ListFilter[]): ListFilter {
  return <T extends KubeObject>(objects: readonly T[]): T[] =>
    filters.reduce<T[]>((kept, filter) => filter(kept), [...objects]);
}
