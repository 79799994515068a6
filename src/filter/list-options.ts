/**
 * What `list`, `find` and `count` take: the usual Kubernetes list options plus any filters.
 * Compiling them gives one ObjectFilter and the exact values (kind, namespace, name) an index
 * can use to look at fewer objects.
 */
import type { KubeObject } from '../runtime/index.js';
import { toFieldSelector } from './field-selector.js';
import type { FieldSelector } from './field-selector.js';
import { toLabelSelector } from './label-selector.js';
import type { LabelSelector, LabelSelectorSpec } from './label-selector.js';
import { allOf, byFields, byKind, byLabels, byName, byNamespace, byUid } from './object-filter.js';
import type { ObjectFilter } from './object-filter.js';

export interface ListOptions {
  /** The API group of `kind`; `''` is the core group; absent matches `kind` in any group. */
  group?: string;
  kind?: string;
  /** `''` selects cluster-scoped objects. */
  namespace?: string;
  name?: string;
  namePrefix?: string;
  uid?: string;
  labelSelector?: string | LabelSelectorSpec | LabelSelector;
  fieldSelector?: string | FieldSelector;
  /** Further conditions, all of which must hold. */
  filter?: ObjectFilter | readonly ObjectFilter[];
}

export interface CompiledListOptions {
  /** Every condition of the options in one filter. */
  readonly filter: ObjectFilter;
  /** Exact values the options pin, for index lookups; the filter checks them again. */
  readonly group?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
  /** True when the options select everything. */
  readonly everything: boolean;
}

/** Checks and compiles list options; BadRequest for a selector or filter that cannot be. */
export function compileListOptions(options: ListOptions = {}): CompiledListOptions {
  const filters: ObjectFilter[] = [];
  if (options.kind !== undefined) filters.push(byKind(options.kind, options.group));
  if (options.namespace !== undefined) filters.push(byNamespace(options.namespace));
  if (options.name !== undefined) filters.push(byName(options.name));
  if (options.namePrefix !== undefined) filters.push(byName(options.namePrefix, { prefix: true }));
  if (options.uid !== undefined) filters.push(byUid(options.uid));
  let fields: FieldSelector | undefined;
  if (options.labelSelector !== undefined) {
    const labels = toLabelSelector(options.labelSelector);
    if (!labels.empty) filters.push(byLabels(labels));
  }
  if (options.fieldSelector !== undefined) {
    fields = toFieldSelector(options.fieldSelector);
    if (!fields.empty) filters.push(byFields(fields));
  }
  const extra = options.filter;
  if (extra !== undefined) filters.push(...(Array.isArray(extra) ? extra : [extra as ObjectFilter]));
  const compiled: {
    filter: ObjectFilter;
    everything: boolean;
    group?: string;
    kind?: string;
    namespace?: string;
    name?: string;
  } = { filter: allOf(...filters), everything: filters.length === 0 };
  if (options.kind !== undefined) compiled.kind = options.kind;
  if (options.kind !== undefined && options.group !== undefined) compiled.group = options.group;
  const namespace = options.namespace ?? fields?.exactValue('metadata.namespace');
  if (namespace !== undefined) compiled.namespace = namespace;
  const name = options.name ?? fields?.exactValue('metadata.name');
  if (name !== undefined) compiled.name = name;
  return compiled;
}

/** The objects the options select, in order. */
export function applyListOptions<T extends KubeObject>(
  objects: readonly T[],
  options: ListOptions = {},
): T[] {
  const { filter, everything } = compileListOptions(options);
  return everything ? [...objects] : objects.filter((obj) => filter.matches(obj));
}
